"""`WorkerObserver`: the moments of a worker's work that an operator watches, as hooks.

The engine calls these hooks where the moment happens (a run starts and ends, the sweep
reaches a verdict, a claim is refused or comes to a run, an abandon or a release, a lease
is renewed or lost, another connection's commit wakes the worker) and does nothing else
about them: what to make of a moment is the observer's. The worker's log lines are one
observer (`LogObserver`, logline.py), always there; Prometheus series are another
(`WorkerMetrics`, metric.py), added only when asked for. `Observers` hands every moment to
several.

The base class does nothing, so a hook nobody listens to costs one method call. Hooks run on
the event loop, inside the engine's own steps: they must be quick and must not raise.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from lashtui.model import ProcessRecord

if TYPE_CHECKING:
    from lashtui.errors import StoreError
    from lashtui.worker.runtime import Verdict


class ClaimResult(StrEnum):
    """What one claim of a row's lease came to, told once it is known (`claimed`). A claim
    taken is not work done: the sweep claims a silent owner_bound row every drive only to
    release it (semantics §8, `left_running`), and that was told as `won`, beside the
    claims that ran something, though the worker did nothing with it."""

    WON = "won"  # taken, and the row runs under it
    ABANDONED = "abandoned"  # taken, and an `abandoned` terminal written under it
    # Taken and given back with nothing run or written: a row left running (no live
    # lease, nothing proves its owner dead), one already ended, undecodable, a sweep's
    # runnable row (`deferred`), an abandon the registry refused.
    RELEASED = "released"
    LOST = "lost"  # refused: a live holder; or taken and lost before its terminal write


class WorkerObserver:
    """Every hook; each does nothing until a subclass says otherwise."""

    def run_started(self, record: ProcessRecord) -> None:
        """A claimed row's run begins (its handler is about to be prepared)."""

    def run_ended(self, record: ProcessRecord, outcome: str, duration_s: float) -> None:
        """A run ended: `outcome` is the terminal state it wrote (`completed`, `failed`,
        `cancelled`, `abandoned`), or `lease_lost` (it wrote nothing: someone else is the
        writer now), or `stopped` (its worker stopped it; it wrote no terminal and released
        its lease, or left it to lapse when the registry did not take the release)."""

    def verdict(self, process_id: str, verdict: Verdict) -> None:
        """One recovery attempt's verdict for one row (semantics §8)."""

    def claimed(self, process_id: str, result: ClaimResult) -> None:
        """A claim of a row's lease, and what it came to: refused (Busy), or taken and then
        run under, used to write an abandon, or given back unused (`ClaimResult`). Told
        when that is known: as the run begins, not when it ends."""

    def lease_renewed(self, process_id: str, seconds: float) -> None:
        """A run's lease was renewed; the renewal took `seconds`."""

    def lease_lost(self, process_id: str, why: str) -> None:
        """A run lost its lease: it stops and writes nothing more. `why` says when."""

    def registry_failed(self, doing: str, error: StoreError) -> None:
        """The registry could not serve the worker `doing` something (a drive, a claim, a
        lease renewal, a terminal write, a lease release): locked past its busy timeout, a
        lost connection, a file replaced."""

    def commit_seen(self) -> None:
        """Another connection committed to the registry, and woke the worker (wake.py)."""

    def draining_backlog(self, draining: bool) -> None:
        """The worker's backlog loop began (True) or stopped (False) taking full batches.
        Meanwhile the worker does not follow other connections' commits: what they commit
        is read when the backlog ends, or by the drive every renew interval (follow.py
        `_drive_forever`)."""


class Observers(WorkerObserver):
    """Several observers, each told every moment, in order."""

    def __init__(self, *observers: WorkerObserver) -> None:
        self.observers = observers

    def run_started(self, record: ProcessRecord) -> None:
        for observer in self.observers:
            observer.run_started(record)

    def run_ended(self, record: ProcessRecord, outcome: str, duration_s: float) -> None:
        for observer in self.observers:
            observer.run_ended(record, outcome, duration_s)

    def verdict(self, process_id: str, verdict: Verdict) -> None:
        for observer in self.observers:
            observer.verdict(process_id, verdict)

    def claimed(self, process_id: str, result: ClaimResult) -> None:
        for observer in self.observers:
            observer.claimed(process_id, result)

    def lease_renewed(self, process_id: str, seconds: float) -> None:
        for observer in self.observers:
            observer.lease_renewed(process_id, seconds)

    def lease_lost(self, process_id: str, why: str) -> None:
        for observer in self.observers:
            observer.lease_lost(process_id, why)

    def registry_failed(self, doing: str, error: StoreError) -> None:
        for observer in self.observers:
            observer.registry_failed(doing, error)

    def commit_seen(self) -> None:
        for observer in self.observers:
            observer.commit_seen()

    def draining_backlog(self, draining: bool) -> None:
        for observer in self.observers:
            observer.draining_backlog(draining)
