"""`ProcessWorker`: the embedded executor of a registry's non-terminal rows (semantics §7).

lash has no daemon: hosts drive the queue. This worker drives it at start, after every start
through the facade, every `renew_interval` while `running()`, and in between whenever
another connection commits (`wake.py`: only the rows that commit changed). Each drive
spawns one task per row (never sequentially: a parent awaiting a child it started would
deadlock) and skips rows it is already working on; the lease, not this bookkeeping, is what
keeps a row from running twice.

The worker's parts beside it, each a mixin of `ProcessWorker` in a module of its own:
start.py (a start through the facade, claimed in its own transaction), batch.py (the
backlog loop's batch claims), follow.py (the drive loop and the commits it follows),
stop.py (stopping the runs); part.py types what they use of the worker.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from lashtui.clock import Clock, SystemClock
from lashtui.errors import LashError, RegistryGone
from lashtui.model import (
    LeaseOwnerIdentity,
    LeaseTimings,
    ProcessAwaitOutput,
    ProcessEvent,
    ProcessRecord,
    ProcessWorkItem,
    RecoveryDisposition,
)
from lashtui.registry import ProcessRegistry
from lashtui.worker import argument
from lashtui.worker.awaiter import ProcessAwaiter
from lashtui.worker.batch import BatchClaims
from lashtui.worker.drain import DrainReport, drain_owner_bound_work
from lashtui.worker.engine import EngineRegistry, SessionTurnRunner, ToolRegistry
from lashtui.worker.follow import Following
from lashtui.worker.hub import ChangeHub, notifying
from lashtui.worker.identity import RECOVERY_SUFFIX_CHARS, default_owner
from lashtui.worker.logline import LogObserver
from lashtui.worker.observer import Observers, WorkerObserver
from lashtui.worker.runtime import Verdict, WorkerRuntime, WorkerStats, log
from lashtui.worker.start import Starts
from lashtui.worker.steps import steps_engine
from lashtui.worker.stop import Stopping
from lashtui.worker.sweep import recover, stand_in_why
from lashtui.worker.wake import CommitWake

# How long `stop` waits for the runs it cancelled to end before it gives up on them: the
# default grace a SIGTERM gives a `lashtui worker`'s runs in flight (`--grace`, spelt out in
# lashtui/parser/worker.py, which imports no engine module; tests/worker/test_runs.py checks
# they agree).
STOP_GRACE_S = 30.0


class ProcessWorker(Starts, BatchClaims, Following, Stopping):
    def __init__(
        self,
        registry: ProcessRegistry,
        *,
        owner: LeaseOwnerIdentity | None = None,
        timings: LeaseTimings | None = None,
        clock: Clock | None = None,
        hub: ChangeHub | None = None,
        session_runner: SessionTurnRunner | None = None,
        stop_grace_s: float = STOP_GRACE_S,
    ) -> None:
        where = "ProcessWorker"
        argument.check_registry(where, registry)
        argument.check_writable(where, registry)
        argument.check_instance(where, "owner", owner, LeaseOwnerIdentity)
        argument.check_instance(where, "timings", timings, LeaseTimings)
        argument.check_clock(where, clock)
        argument.check_instance(where, "hub", hub, ChangeHub)
        argument.check_callable(where, "session_runner", session_runner, optional=True)
        stop_grace_s = argument.check_seconds(where, "stop_grace_s", stop_grace_s)
        owner = owner or default_owner()
        # Refused here, not at its first claim: every claim it makes would be refused.
        owner.check_limits(reserve=RECOVERY_SUFFIX_CHARS)
        self.hub = hub or ChangeHub()
        self.registry = notifying(registry, self.hub)
        self.awaiter = ProcessAwaiter(self.registry, self.hub)
        self.engines = EngineRegistry()
        self.engines.register("steps", steps_engine)
        self.tools = ToolRegistry()
        self._rt = WorkerRuntime(
            registry=self.registry,
            hub=self.hub,
            awaiter=self.awaiter,
            clock=clock or SystemClock(),
            timings=timings or LeaseTimings(),
            owner=owner,
            engines=self.engines,
            tools=self.tools,
            session_runner=session_runner,
            observer=LogObserver(),
        )
        self._claiming = True  # until `stop_claiming`
        self._tasks: dict[str, asyncio.Task[Verdict | None]] = {}
        self._skipped: set[str] = set()  # undecodable rows already logged
        self._unsaid: list[str] = []  # ... of which these are still to be (`_say_skipped`)
        # The backlog loop (`_claim_batches`) and whether a drive has handed it rows since
        # its last claim; runs it spawned for a row that already had a task of this worker.
        self._batches: asyncio.Task[None] | None = None
        self._batch_more = False
        self._extra: set[asyncio.Task[Verdict | None]] = set()
        self._batch_runs: set[asyncio.Task[Verdict | None]] = set()  # in flight
        self._full_batches = 0  # claims in a row that took every slot (`_saturated`)
        # Set while the backlog loop's last `SATURATED_AFTER` claims or more were full.
        self._saturation = asyncio.Event()
        self._wake: CommitWake | None = None  # while following other connections' commits
        self._stops = 0  # `stop` calls so far: a start through this worker checks it
        # Starts whose callers were cancelled while they committed, followed to their end.
        self._orphans: set[asyncio.Task[None]] = set()
        self.stop_grace_s = stop_grace_s  # how long `stop` waits for the runs it cancels
        # Pulsed when a stop gives up on runs that will not end, so that `idle` stops
        # waiting for them too.
        self._gave_up = asyncio.Event()
        self.gone: RegistryGone | None = None  # `_failed`
        self._gone = asyncio.Event()
        registry.before_close(self._registry_closing)

    @property
    def owner(self) -> LeaseOwnerIdentity:
        return self._rt.owner

    @property
    def timings(self) -> LeaseTimings:
        return self._rt.timings

    @property
    def stats(self) -> WorkerStats:
        return self._rt.stats

    @property
    def following(self) -> bool:
        """Whether another connection's commit wakes this worker now: its drive loop runs
        (`running`) and is not draining a backlog in full batches (`_drive_forever`)."""
        return self._wake is not None

    @property
    def in_flight(self) -> list[str]:
        """Ids of the rows this worker is working on now: not a run that has ended, whose
        entry goes once the loop runs its done callbacks."""
        return sorted(pid for pid, task in self._tasks.items() if not task.done())

    @property
    def runs_begun(self) -> list[str]:
        """Ids of the rows whose runs have begun (of `in_flight`, those not being claimed)."""
        return sorted(self._rt.running)

    def set_session_runner(self, runner: SessionTurnRunner | None) -> None:
        self._rt.session_runner = runner

    def add_observer(self, observer: WorkerObserver) -> None:
        """Tell `observer` too what this worker does (its log lines are always told)."""
        self._rt.observer = Observers(self._rt.observer, observer)

    def stop_claiming(self) -> None:
        """Claim no more rows: drives from now on spawn nothing, and runs in flight go on.
        The first step of a graceful stop (shutdown.py)."""
        self._claiming = False

    async def drive_pending_processes(
        self, *, run: bool = True, count_every_row: bool = False
    ) -> list[asyncio.Task[Verdict | None]]:
        """One sweep pass; returns the tasks it spawned, not awaited. A row the pass drives
        itself gets a task `recover:<id>` whose result is its verdict (None if the registry
        failed it). Free rerunnable rows handed to the batch claim (`_hand_to_batches`),
        which picks its rows in SQL as it claims, get no task each: one more task,
        `batches-settled`, result None, ends when that claim and its runs have. `run=False`
        applies the sweep's verdicts without running any work (and hands nothing over).

        `count_every_row` (a pass whose counts are reported: `worker --once`) reads too the
        rows a running worker's drive leaves in SQL because it could only leave them alone
        (held by a live lease it cannot prove dead, externally owned without an abandon
        request), so that `_wants` counts them `busy` and `untouched`: `worker --once`
        beside a live worker said `0 rows looked at` of the rows that worker held. A
        periodic drive does not: it runs every renew interval, and in a fleet most running
        rows are those (drive.py `drive_work_items`)."""
        if not self._claiming:
            return []
        now = self._rt.clock.now_ms()
        # Running, the backlog is the batch claim's: the drive reads only its first rows.
        if run:
            claimant = None if count_every_row else self.owner
            items = await self.registry.list_drive_work_items(now, claimant)
        else:
            items = await self.registry.list_work_items()
        wanted = [item for item in items if self._wants(item, now, count_passed=True)]
        await self._say_skipped()
        batched = False
        handed = 0
        if run:
            before = len(wanted)
            wanted = self._hand_to_batches(wanted, now)
            handed = before - len(wanted)
            batched = handed > 0
        # The rows handed to the batch claim are counted when it takes them (with the rest
        # of the backlog the drive did not read), not twice.
        self.stats.looked_at += len(items) - handed
        spawned = [self._spawn(item, run) for item in wanted]
        if batched:  # one task for what the backlog loop claims and runs of it
            spawned.append(asyncio.create_task(self._batches_settled(), name="batches-settled"))
        self.stats.drives += 1
        self.stats.last_drive_ms = now
        return spawned

    def drive_started(self, record: ProcessRecord) -> asyncio.Task[Verdict | None] | None:
        """Drive one row just started through the facade, so its first run is prompt. The
        rest of the worklist is the periodic drive's: reading all of it after every start
        would make starting n processes cost n^2. The row's lease is not read first: a
        start that found its row already there and held gets Busy from the claim, which is
        the check that counts anyway."""
        if record.is_terminal():
            return None
        item = ProcessWorkItem(
            process_id=record.id,
            disposition=record.disposition,
            abandon_requested=record.abandon_request is not None,
        )
        now = self._rt.clock.now_ms()
        if not self._wants(item, now) or not self._hand_to_batches([item], now):
            return None
        return self._spawn(item)

    def _wants(self, item: ProcessWorkItem, now: int, count_passed: bool = False) -> bool:
        """Whether to claim `item`. With `count_passed` (a full drive, not a wake), a row it
        leaves alone is counted under the verdict a claim would have reached, as an
        undecodable one always is: an externally-owned row without an abandon request
        `untouched`, a row held by a live lease `busy`. A pass's counts then add up to the
        rows it looked at: `sweep` beside a running worker said `3 rows looked at: nothing
        decided (nothing to recover or run)` of two rows the worker held and one externally
        owned. (A row already in hand is counted when its recovery ends; the metrics count
        only the verdicts a recovery reached.)"""
        if item.process_id in self._tasks or not self._claiming:
            return False
        if item.process_id in self._rt.unwritable:  # (its terminal can never be written)
            return False
        if item.undecodable:  # counted, logged once, never claimed (sweep.recover)
            self._rt.stats.verdicts[Verdict.SKIPPED_UNDECODABLE] += 1
            if item.process_id not in self._skipped:
                self._skipped.add(item.process_id)
                self._unsaid.append(item.process_id)  # (`_say_skipped`: why, once read)
            return False
        # An externally-owned row without an abandon request is never even claimed.
        if item.disposition is RecoveryDisposition.EXTERNALLY_OWNED and not item.abandon_requested:
            passed = Verdict.UNTOUCHED
        # Nor is a row whose live holder we cannot prove dead: the claim would only say Busy,
        # and every try is a write transaction on a shared file.
        elif item.lease is not None and item.lease.bars(self.owner, now):
            passed = Verdict.BUSY
        else:
            return True
        if count_passed:
            self._rt.stats.verdicts[passed] += 1
        return False

    async def _say_skipped(self) -> None:
        """Log each undecodable row `_wants` skipped for the first time, with why, as its
        stand-in says: a work item only says that it is one, and the log said "its record
        could not be decoded" of a row keyed by a blob too (registry/sql/blob_id.py), whose
        record is never read: the reason is its id column. One read a row, once a worker."""
        while self._unsaid:
            process_id = self._unsaid.pop(0)
            log.warning("skipped %s: %s", process_id, await stand_in_why(self._rt, process_id))

    def _spawn(self, item: ProcessWorkItem, run: bool = True) -> asyncio.Task[Verdict | None]:
        pid = item.process_id
        task = asyncio.create_task(self._recover(item, run), name=f"recover:{pid}")
        self._tasks[pid] = task

        def forget(done: asyncio.Task[Verdict | None]) -> None:
            if self._tasks.get(pid) is done:
                del self._tasks[pid]

        task.add_done_callback(forget)
        return task

    async def _recover(self, item: ProcessWorkItem, run: bool) -> Verdict | None:
        try:
            return await recover(self._rt, item, run=run)
        except LashError as error:
            self._failed(f"recovery of {item.process_id}", error)
            return None

    def _failed(self, doing: str, error: LashError) -> None:
        """Say that `doing` failed, and count it when the registry could not serve (a
        `StoreError`), for `--once`'s exit status and an operator's alert. A registry
        file no longer at its path can never be served again through this handle: `gone`
        is set, for `lashtui worker` to exit on."""
        self._rt.registry_failed(doing, error)
        if isinstance(error, RegistryGone) and self.gone is None:
            self.gone = error
            self._gone.set()
        log.warning("%s failed: %s", doing, error)  # (the dashboard's Health shows it)

    async def until_gone(self) -> RegistryGone:
        """Until the registry's file is found no longer at its path (`_failed`)."""
        await self._gone.wait()
        assert self.gone is not None
        return self.gone

    async def idle(self) -> None:
        """Until no run spawned by this worker is in flight (but those a stop gave up on:
        `stop`), nor a batch being claimed."""
        left = self._rt.left_to_lapse
        while True:
            waiting: list[asyncio.Future[Any]] = [
                task for task in (*self._tasks.values(), *self._extra) if task not in left
            ]
            if self._batches is not None and not self._batches.done():
                waiting.append(self._batches)
            # A cancelled start's run is spawned once it ends (but one a stop gave up on).
            waiting.extend(task for task in self._orphans if task not in left)
            if not waiting:
                return
            # Not cancelled when this wait is: gathering the runs shields them (shut_down.py
            # cancels nothing through it); a stop giving up on one ends the wait.
            settled = asyncio.gather(*waiting, return_exceptions=True)
            gave_up = asyncio.ensure_future(self._gave_up.wait())
            either: set[asyncio.Future[Any]] = {settled, gave_up}
            try:
                await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
            finally:
                gave_up.cancel()

    async def drain_owner_bound_work(self) -> DrainReport:
        return await drain_owner_bound_work(self._rt)

    async def await_terminal(self, process_id: str) -> ProcessAwaitOutput:
        return await self.awaiter.await_terminal(process_id)

    async def await_event(
        self, process_id: str, event_type: str, after_sequence: int
    ) -> ProcessEvent:
        return await self.awaiter.await_event(process_id, event_type, after_sequence)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[ProcessWorker]:
        """Drive now, every renew interval and on other connections' commits until the block
        exits, then stop."""
        driver = asyncio.create_task(self._drive_forever(), name="lashtui-worker-drive")
        try:
            yield self
        finally:
            driver.cancel()
            await asyncio.gather(driver, return_exceptions=True)
            await self.stop()
