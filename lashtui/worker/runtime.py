"""What every part of a worker shares: the registry (ticking the change hub), the awaiter,
the clock, the lease timings, the configured owner and the handlers."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from lashtui.clock import Clock
from lashtui.errors import LashError, StoreError
from lashtui.model import LeaseOwnerIdentity, LeaseTimings
from lashtui.registry import ProcessRegistry
from lashtui.worker.awaiter import ProcessAwaiter
from lashtui.worker.engine import EngineRegistry, SessionTurnRunner, ToolRegistry
from lashtui.worker.hub import ChangeHub
from lashtui.worker.observer import WorkerObserver
from lashtui.worker.timers import GuardTimers

log = logging.getLogger("lashtui.worker")


class Verdict(StrEnum):
    """What one recovery attempt decided for one row (semantics §8), for the health view."""

    RAN = "ran"
    ABANDONED_BY_SWEEP = "abandoned_by_sweep"
    ABANDONED_RECONCILED = "abandoned_reconciled"
    LEFT_RUNNING = "left_running"
    BUSY = "busy"
    ALREADY_TERMINAL = "already_terminal"
    UNTOUCHED = "untouched"
    DEFERRED = "deferred"  # runnable, but this pass only sweeps (`lashtui sweep --once`)
    # The row's record cannot be decoded: left alone (never ended by the worker or sweep;
    # an operator ends it with `end_undecodable`), counted here and logged once per row.
    SKIPPED_UNDECODABLE = "skipped_undecodable"
    # The sweep decided to abandon the row, and the registry refused the terminal (a
    # warning says why): left running, its lease released; the next drive tries again.
    ABANDON_REFUSED = "abandon_refused"
    # The claim to run found the row's event log full (it ends at the largest sequence a
    # registry stores, which only another program writes): no run could record its
    # terminal, so it was not run (a warning says so), its lease given back, and this
    # worker claims it no more.
    NOT_RUN_LOG_FULL = "not_run_log_full"


class RunEnd(StrEnum):
    """How a run of a claimed row ended."""

    COMPLETED = "completed"
    LEASE_LOST = "lease_lost"
    STOPPED = "stopped"


class StartSlot:
    """One of a worker's few places for claiming and starting a row.

    A worker has one connection, so every registry call queues behind all the others; if it
    claimed every pending row at once, a backlog would make each row wait longer between
    its claim and its start than the lease lives. Bounding the claim-to-start phase keeps
    that short. The slot is released as soon as the handler runs, so a parent awaiting a
    child never holds the place the child needs.
    """

    def __init__(self, semaphore: asyncio.Semaphore) -> None:
        self._semaphore = semaphore
        self._held = False
        self.waited = False

    async def __aenter__(self) -> StartSlot:
        # Whether this slot had to wait for another: the row's state may have moved on.
        self.waited = self._semaphore.locked()
        await self._semaphore.acquire()
        self._held = True
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.release()

    def release(self) -> None:
        if self._held:
            self._held = False
            self._semaphore.release()


# How long a stopped run waits for its lease's release once the stop is hurried: a
# registry that cannot be reached held the exit for its connect timeout (10 s on
# PostgreSQL, twice over), a locked file for its busy timeout (15 s).
HURRIED_RELEASE_S = 1.0

# How many runs that lost their leases a worker names (`WorkerStats.lost_named`): a
# `--once` pass names them; a worker serving for months keeps no more.
LOST_NAMED = 10

# The most rows a worker has claimed and not yet started (see `StartSlot`), and so the most a
# batch claim takes (batch.py `BATCH_AT_MOST`, where the figures for 32 are).
START_SLOTS = 32


@dataclass
class WorkerStats:
    drives: int = 0
    last_drive_ms: int | None = None
    wakes: int = 0  # drives of what another connection's commit changed (wake.py)
    saturated: int = 0  # times it stopped following commits, its backlog loop saturated
    # Since when its backlog loop has been taking full batches (batch.py `_saturate`):
    # meanwhile other connections' commits are read at the backlog's end or at a drive.
    draining_since_ms: int | None = None
    # Live rows its drives and batch claims read to decide on, each counted once a read
    # (`worker.py` `drive_pending_processes`; a sweep's drive reads every live row): what a
    # `--once` pass says it looked at, so a pass that decided nothing says of how many.
    looked_at: int = 0
    verdicts: Counter[Verdict] = field(default_factory=Counter)
    runs: Counter[RunEnd] = field(default_factory=Counter)
    # Of `runs[STOPPED]`, those whose leases the registry did not take back in time (left
    # to lapse): a `--once` pass line said all stopped runs' leases were released.
    stopped_unreleased: int = 0
    # Of `runs[LEASE_LOST]`, those stopped because their leases expired unrenewed (guard.py
    # `_lapsed`); and the first `LOST_NAMED` runs that lost their lease any way, each as
    # (process id, why, whether it lapsed): a `--once` pass fails naming them, where one
    # whose run lost its lease (a lapse until 687f0a9, or still a refused renewal or write:
    # another worker held it) exited 0, counted in `run_lease_lost` alone.
    lapsed: int = 0
    lost_named: list[tuple[str, str, bool]] = field(default_factory=list)
    # Times the registry could not serve the worker (a `StoreError`: locked past its busy
    # timeout, a lost connection, a file replaced), and the last such error that left
    # something undone (a claim, a terminal write or a release refused; a lease that lapsed
    # after refused renewals): a `--once` pass that met one exits 1 with its sentence. A
    # renewal refused and made good by the next is counted, not kept: the run went on
    # under its lease (a pass whose run completed exited 1 for it).
    registry_errors: int = 0
    registry_error: StoreError | None = None

    def lease_lost(self, process_id: str, why: str, lapsed: bool) -> None:
        """Name a run that lost its lease (`lost_named`), and count it if it lapsed."""
        self.lapsed += lapsed
        if len(self.lost_named) < LOST_NAMED:
            self.lost_named.append((process_id, why, lapsed))


@dataclass
class WorkerRuntime:
    registry: ProcessRegistry
    hub: ChangeHub
    awaiter: ProcessAwaiter
    clock: Clock
    timings: LeaseTimings
    owner: LeaseOwnerIdentity
    engines: EngineRegistry
    tools: ToolRegistry
    session_runner: SessionTurnRunner | None = None
    stats: WorkerStats = field(default_factory=WorkerStats)
    starting: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(START_SLOTS))
    timers: GuardTimers = field(default_factory=GuardTimers)  # the runs' keepers and polls
    # Told each run's start and end, verdict, claim and lease renewal (observer.py).
    observer: WorkerObserver = field(default_factory=WorkerObserver)
    # The tasks of runs a stop gave up on (their handlers swallowed its cancellation): their
    # keepers renew no more, so their leases lapse (stop.py `stop`).
    left_to_lapse: set[asyncio.Task[Any]] = field(default_factory=set)
    # The rows whose runs have begun (run.py), as against those still being claimed.
    running: set[str] = field(default_factory=set)
    # Of those, the runs whose handlers have ended and which are writing their terminals
    # (or have, and are closing their lease keepers): a stop lets them end (stop.py).
    finishing: set[str] = field(default_factory=set)
    # Of those, the runs whose handlers are parked on a signal (`ProcessContext.wait_signal`),
    # and set each time one parks (its waiter clears it): a stop hands them back at once
    # (stop.py `settled`).
    parked: set[str] = field(default_factory=set)
    parking: asyncio.Event = field(default_factory=asyncio.Event)
    # The tasks of parked runs a stop has cancelled already (stop.py `hand_back_parked`):
    # `stop` waits for them without cancelling them again, which cut short the release of
    # their leases (the cancellation thrown into it): no `run ended`, the lease held.
    handed_back: set[asyncio.Task[Any]] = field(default_factory=set)
    # Set when the operator hurries a stop (a second signal: `ProcessWorker.hurried_by`):
    # a stopped run then waits at most `HURRIED_RELEASE_S` for its lease's release.
    hurried: asyncio.Event = field(default_factory=asyncio.Event)
    # Stopped runs whose leases were not released, and why: they are left to lapse.
    unreleased: dict[str, str] = field(default_factory=dict)
    # Rows whose terminal the registry can never take (their event log is full: run.py
    # `_complete`): this worker claims them no more. Released, a rerunnable one was claimed
    # and run again at every drive (once a second), each run refused the same way.
    unwritable: set[str] = field(default_factory=set)

    def start_slot(self) -> StartSlot:
        return StartSlot(self.starting)

    def park(self, process_id: str, parked: bool) -> None:
        """The run of `process_id` parked on a signal (True) or went on (False)."""
        if not parked:
            self.parked.discard(process_id)
            return
        self.parked.add(process_id)
        self.parking.set()

    def registry_failed(self, doing: str, error: LashError, *, undone: bool = True) -> None:
        """Count a registry call that failed because the registry could not serve (a
        `StoreError`; any other error is a verdict on the request, not on the registry),
        and tell the observers: an operator alerts on it. `undone=False` for a failure the
        worker tries again before anything is lost (a lease renewal, while the lease
        lasts): it is not the pass's `registry_error` unless it comes to that
        (`pass_failed`)."""
        if isinstance(error, StoreError):
            self.stats.registry_errors += 1
            if undone:
                self.stats.registry_error = error
            self.observer.registry_failed(doing, error)

    def pass_failed(self, error: LashError) -> None:
        """What the registry refused has cost the pass something (a lease lapsed after its
        renewals were refused): a `--once` pass exits 1 with it."""
        if isinstance(error, StoreError):
            self.stats.registry_error = error

    async def free_start_slots(self, most: int) -> list[StartSlot]:
        """One start slot (waiting for it), then, a turn of the loop later, as many more of
        those free then as make `most`: the places a batch claim fills, each held until its
        run's handler starts.

        The turn is for the runs the last batch spawned: they give their slots back as
        their handlers start, not all in the same turn, and the first one back wakes the
        claim. Taking only what was free at that moment split batches of 16 (the slots
        then) into one of 1-3 rows and one of 13-15 on PostgreSQL (a four-worker drain of
        2,000 rows: 250 claims, 8 rows each); after the turn 126 of 129 claims took all 16,
        and a drain there cost ~10% less CPU a row with 1, 2 and 4 workers (interleaved
        pairs, docs/performance-history.md)."""
        first = self.start_slot()
        await first.__aenter__()
        try:
            await asyncio.sleep(0)
        except BaseException:  # cancelled (the worker stopping): the slot is not kept
            first.release()
            raise
        slots = [first]
        while len(slots) < most and not self.starting.locked():
            slot = self.start_slot()
            await slot.__aenter__()  # free: returns without suspending
            slots.append(slot)
        return slots
