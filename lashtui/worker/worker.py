"""`ProcessWorker`: the embedded executor of a registry's non-terminal rows (semantics §7).

lash has no daemon: hosts drive the queue. This worker drives it at start, after every start
through the facade, every `renew_interval` while `running()`, and in between whenever
another connection commits (`wake.py`: only the rows that commit changed). Each drive
spawns one task per row (never sequentially: a parent awaiting a child it started would
deadlock) and skips rows it is already working on; the lease, not this bookkeeping, is what
keeps a row from running twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import time
from collections.abc import AsyncIterator
from typing import Any

from lashtui.clock import Clock, SystemClock
from lashtui.errors import LashError, RegistryGone
from lashtui.model import (
    LeaseOwnerIdentity,
    LeaseTimings,
    ProcessAwaitOutput,
    ProcessEvent,
    ProcessLease,
    ProcessRecord,
    ProcessRunClaim,
    ProcessStarted,
    ProcessStartRequest,
    ProcessWorkItem,
    RecoveryDisposition,
)
from lashtui.registry import ProcessRegistry
from lashtui.registry.kept import KEEPING, Kept
from lashtui.registry.sql.blob_id import is_blob_row
from lashtui.registry.sql.long_id import CUT_ID_WORDS
from lashtui.worker import argument
from lashtui.worker.awaiter import ProcessAwaiter
from lashtui.worker.drain import DrainReport, drain_owner_bound_work
from lashtui.worker.engine import EngineRegistry, SessionTurnRunner, ToolRegistry
from lashtui.worker.hub import ChangeHub, notifying
from lashtui.worker.identity import RECOVERY_SUFFIX_CHARS, attempt_identity, default_owner
from lashtui.worker.logline import LogObserver
from lashtui.worker.observer import Observers, WorkerObserver
from lashtui.worker.runtime import (
    HURRIED_RELEASE_S,
    StartSlot,
    Verdict,
    WorkerRuntime,
    WorkerStats,
    log,
)
from lashtui.worker.steps import steps_engine
from lashtui.worker.sweep import recover, run_claimed
from lashtui.worker.wake import CommitWake

# How long `stop` waits for the runs it cancelled to end before it gives up on them: the
# default grace a SIGTERM gives a `lashtui worker`'s runs in flight (`--grace`, spelt out in
# cli.py, which imports no engine module; tests/worker/test_runs.py checks they agree).
STOP_GRACE_S = 30.0


class ProcessWorker:
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
        self, *, run: bool = True
    ) -> list[asyncio.Task[Verdict | None]]:
        """One sweep pass; returns the tasks it spawned, not awaited. A row the pass drives
        itself gets a task `recover:<id>` whose result is its verdict (None if the registry
        failed it). Free rerunnable rows handed to the batch claim (`_hand_to_batches`),
        which picks its rows in SQL as it claims, get no task each: one more task,
        `batches-settled`, result None, ends when that claim and its runs have. `run=False`
        applies the sweep's verdicts without running any work (and hands nothing over)."""
        if not self._claiming:
            return []
        now = self._rt.clock.now_ms()
        # Running, the backlog is the batch claim's: the drive reads only its first rows.
        if run:
            items = await self.registry.list_drive_work_items(now, self.owner)
        else:
            items = await self.registry.list_work_items()
        wanted = [item for item in items if self._wants(item, now)]
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

    async def start_and_run(self, request: ProcessStartRequest) -> ProcessRecord:
        """Start a process and, when this worker would run it now, claim it in the start's
        own transaction and run it (`start_process_for_run`): what `Processes.start` does
        with a worker. Otherwise (no start slot free, not claiming, a replayed start, a row
        no worker runs) a plain start, then `drive_started` as before."""
        rt = self._rt
        if not self._claiming or rt.starting.locked() or request.id in self._tasks:
            record = await self.registry.start_process(request)
            self.drive_started(record)
            return record
        slot = rt.start_slot()
        await slot.__aenter__()  # free (checked above): returns without suspending
        stops = self._stops
        kept = Kept()
        keeping = KEEPING.set(kept)
        try:
            owner = attempt_identity(rt.owner)
            started = ProcessStarted(owner=rt.owner, started_at_ms=rt.clock.now_ms())
            record, claimed = await self.registry.start_process_for_run(
                request, owner, rt.timings.ttl_ms, started
            )
        except asyncio.CancelledError:
            # The caller was cancelled (`asyncio.wait_for(start, t)`, Ctrl-C) while the
            # start committed, which it does anyway: left there, its row stayed claimed to
            # the TTL with no run, an owner_bound row "silent, not dead" though its handler
            # never ran. The store kept the write's outcome (kept.py); a task of its own
            # ends the start as the caller would have. Only this rare path makes one.
            slot.release()
            if kept.outcome is not None:
                self._follow_orphan(kept.outcome, stops)
            raise
        except BaseException:
            slot.release()
            raise
        finally:
            KEEPING.reset(keeping)
        if (lease := self._started(record, claimed, slot, stops)) is not None:
            with contextlib.suppress(LashError):
                await self.registry.release_process_lease(lease)
        return record

    def _started(
        self,
        record: ProcessRecord,
        claimed: ProcessRunClaim | None,
        slot: StartSlot,
        stops: int,
    ) -> ProcessLease | None:
        """End a start whose transaction committed: spawn the run it claimed, holding
        `slot`; or, when it claimed nothing, drive the row as any start does. Returns the
        lease to give back when the worker stopped meanwhile. (Not a coroutine: this is
        every start's path, P1's.)"""
        if claimed is None:
            slot.release()
            self.drive_started(record)
            return None
        if self._stops != stops:
            # The worker stopped while the start committed: its run is not spawned after
            # the stop cancelled the others, and its lease is given back as theirs are
            # (the row is left running, for the next worker to claim).
            slot.release()
            return claimed.outcome.acquired()
        self._spawn_claimed(record.id, claimed, slot)
        return None

    def _follow_orphan(self, outcome: asyncio.Future[Any], stops: int) -> None:
        # In a context of its own where no outcome is kept: made inside the start's, the
        # task (and the run it spawns, which copies its context) would have every later
        # short write of theirs kept and committed when cancelled, a stopped run's too.
        context = contextvars.copy_context()
        context.run(KEEPING.set, None)
        task = asyncio.create_task(
            self._end_orphan(outcome, stops), name="lashtui-cancelled-start", context=context
        )
        self._orphans.add(task)
        task.add_done_callback(self._orphans.discard)

    async def _end_orphan(self, outcome: asyncio.Future[Any], stops: int) -> None:
        """Wait for the outcome of a start whose caller was cancelled, then end it as
        `_started` would have: its claimed row runs here (once a start slot is free) or,
        the worker stopped meanwhile, is given back."""
        try:
            record, claimed = await outcome
        except (asyncio.CancelledError, Exception):
            return  # nothing committed (a failed group writes nothing), or the loop ends
        slot = self._rt.start_slot()
        if claimed is not None and self._stops == stops:
            await slot.__aenter__()  # as a start holds one from its claim to its run
        if (lease := self._started(record, claimed, slot, stops)) is not None:
            with contextlib.suppress(LashError):
                await self.registry.release_process_lease(lease)

    def _wants(self, item: ProcessWorkItem, now: int) -> bool:
        if item.process_id in self._tasks or not self._claiming:
            return False
        if item.undecodable:  # counted, logged once, never claimed (sweep.recover)
            self._rt.stats.verdicts[Verdict.SKIPPED_UNDECODABLE] += 1
            if item.process_id not in self._skipped:
                self._skipped.add(item.process_id)
                self._unsaid.append(item.process_id)  # (`_say_skipped`: why, once read)
            return False
        # An externally-owned row without an abandon request is never even claimed.
        if item.disposition is RecoveryDisposition.EXTERNALLY_OWNED and not item.abandon_requested:
            return False
        # Nor is a row whose live holder we cannot prove dead: the claim would only say Busy,
        # and every try is a write transaction on a shared file.
        return item.lease is None or not item.lease.bars(self.owner, now)

    async def _say_skipped(self) -> None:
        """Log each undecodable row `_wants` skipped for the first time, with why, as its
        stand-in says: a work item only says that it is one, and the log said "its record
        could not be decoded" of a row keyed by a blob too (registry/sql/blob_id.py), whose
        record is never read: the reason is its id column. One read a row, once a worker."""
        while self._unsaid:
            process_id = self._unsaid.pop(0)
            why = "its record could not be decoded"
            with contextlib.suppress(LashError):  # (gone or unreadable since: those words)
                stand_in = await self.registry.get_process(process_id)
                if stand_in is not None and stand_in.undecodable is not None:
                    said = stand_in.undecodable
                    # Its id's reason stands alone; a record's (pydantic's) needs saying so.
                    id_words = is_blob_row(said) or said.startswith(CUT_ID_WORDS)
                    why = said if id_words else f"{why} ({said})"
            log.warning("skipped %s: %s", process_id, why)

    def _hand_to_batches(self, items: list[ProcessWorkItem], now: int) -> list[ProcessWorkItem]:
        """The items left for the one-row path. Free rerunnable rows are the backlog loop's
        when there are two or more of them, or when it is already running: it claims them
        several at a time, picking in SQL the rows no other worker holds
        (`claim_processes_for_run`). A single new row keeps the one-row path, whose claim
        reads nothing first."""
        batchable = [item for item in items if _batchable(item, now)]
        if not batchable or (len(batchable) < 2 and not self._batching()):
            return items
        self._batch_more = True
        if not self._batching():
            self._batches = asyncio.create_task(self._claim_batches(), name="lashtui-batches")
        return [item for item in items if not _batchable(item, now)]

    async def _batches_settled(self) -> Verdict | None:
        """Until the backlog loop has stopped claiming and every run it spawned has ended
        (what a caller of `drive_pending_processes` awaits for the rows it handed over)."""
        while self._batching() or self._batch_runs:
            waiting: list[asyncio.Future[Any]] = list(self._batch_runs)
            if self._batches is not None and not self._batches.done():
                waiting.append(self._batches)
            await asyncio.gather(*waiting, return_exceptions=True)
        return None

    def _batching(self) -> bool:
        return self._batches is not None and not self._batches.done()

    async def _claim_batches(self) -> None:
        """Claim free rerunnable rows, as many at a time as there are free start slots,
        until a claim finds fewer than it asked for and no drive has handed over more."""
        try:
            await self._claim_until_short()
        finally:
            self._saturate(False)

    async def _claim_until_short(self) -> None:
        rt = self._rt
        while self._claiming and self._batch_more:
            self._batch_more = False
            slots = await rt.free_start_slots(BATCH_AT_MOST)
            started = ProcessStarted(owner=rt.owner, started_at_ms=rt.clock.now_ms())
            owners = [attempt_identity(rt.owner) for _ in slots]
            skip = sorted(self._skipped)
            claims: list[tuple[str, ProcessRunClaim | None]] = []
            try:
                if self._claiming:
                    claims = await self.registry.claim_processes_for_run(
                        owners, rt.timings.ttl_ms, started, skip
                    )
            except LashError as error:
                self._failed("claiming a batch of rows", error)
            finally:
                for slot in slots[len(claims) :]:
                    slot.release()
            self.stats.looked_at += len(claims)
            for slot, (process_id, claimed) in zip(slots, claims, strict=False):
                if claimed is None:
                    self._skipped.add(process_id)
                self._spawn_claimed(process_id, claimed, slot)
            if claims and len(claims) == len(slots):
                self._batch_more = True
                self._full_batches += 1
                if self._full_batches == SATURATED_AFTER:
                    self._saturate(True)
                    if self._wake is not None:
                        self._wake.interrupt()  # stop following (`_drive_forever`)
            else:
                self._saturate(False)

    def _saturate(self, saturated: bool) -> None:
        """Set or clear the backlog loop's saturation (`_saturated`), and on a change say
        so: the stats' `draining_since_ms` (the Health view's line) and the observers'
        `draining_backlog` (a log line, a metric), so that an operator sees why this worker
        reads other connections' commits only at the backlog's end or at a drive. Clearing
        it starts the count of full batches in a row again."""
        if not saturated:
            self._full_batches = 0
        if saturated == self._saturation.is_set():
            return
        if saturated:
            self._saturation.set()
            self.stats.draining_since_ms = self._rt.clock.now_ms()
        else:
            self._saturation.clear()
            self.stats.draining_since_ms = None
        self._rt.observer.draining_backlog(saturated)

    def _spawn_claimed(
        self, process_id: str, claimed: ProcessRunClaim | None, slot: StartSlot
    ) -> None:
        task = asyncio.create_task(
            self._run_claimed(process_id, claimed, slot), name=f"run:{process_id}"
        )
        self._batch_runs.add(task)
        task.add_done_callback(self._batch_runs.discard)
        if process_id in self._tasks:  # a one-row task waiting for a slot: it will find Busy
            self._extra.add(task)
            task.add_done_callback(self._extra.discard)
            return
        self._tasks[process_id] = task

        def forget(done: asyncio.Task[Verdict | None]) -> None:
            if self._tasks.get(process_id) is done:
                del self._tasks[process_id]

        task.add_done_callback(forget)

    async def _run_claimed(
        self, process_id: str, claimed: ProcessRunClaim | None, slot: StartSlot
    ) -> Verdict | None:
        try:
            return await run_claimed(self._rt, process_id, claimed, slot)
        except LashError as error:
            self._failed(f"recovery of {process_id}", error)
            return None

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
            waiting.extend(self._orphans)  # a cancelled start's run is spawned once it ends
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

    async def stop(self, grace_s: float | None = None) -> list[str]:
        """Cancel in-flight runs: they write no terminal and release their leases. Wait at
        most `grace_s` (default `stop_grace_s`) for them to end, then give up on the runs
        whose handlers swallowed the cancellation: say which, in one warning, stop renewing
        their leases (which lapse within the TTL) and return their ids. Waiting for them
        hung the stop, and so the exit from `running()`, for as long as they ran. Runs whose
        handlers have ended are let write their terminals first (`_let_finish`)."""
        self._stops += 1
        if self._orphans:
            # Each ends without spawning a run once it sees the stop, releasing its claim:
            # not waited for, one committing meanwhile kept its lease to the TTL.
            await asyncio.wait(set(self._orphans))
        grace = self.stop_grace_s if grace_s is None else grace_s
        await self._let_finish(grace)
        left = self._rt.left_to_lapse  # given up on by an earlier stop: not waited for again
        runs = {task: pid for pid, task in self._tasks.items() if task not in left}
        runs.update(
            {task: task.get_name().removeprefix("run:") for task in self._extra if task not in left}
        )
        tasks: list[asyncio.Task[Any]] = list(runs)
        if self._batches is not None:
            tasks.append(self._batches)
        for task in tasks:
            task.cancel()
        if not tasks:
            return []
        pending = await self._settle(tasks, grace)
        for task in tasks:
            if task.done() and not task.cancelled():
                task.exception()  # retrieved, as gathering them did: a stop reports none
        stuck = sorted({runs[task] for task in pending if task in runs})
        if stuck:
            self._leave_to_lapse([task for task in pending if task in runs], stuck, grace)
        return stuck

    async def _let_finish(self, grace: float) -> None:
        """Wait at most `grace` (less once the stop is hurried) for the runs whose handlers
        have ended and which are writing their terminals: a stop has nothing left to stop
        in them. Cancelled there, a run's write committed all the same (it runs on the
        registry's thread), yet the run was counted among those the stop ended without a
        terminal ("the registry is closing with 1 run ... in flight ... they write no
        terminal", after `await_output` had returned its output) and counted as stopped."""
        finishing: set[asyncio.Future[Any]] = {
            task for pid, task in self._tasks.items() if pid in self._rt.finishing
        }
        if not finishing:
            return
        deadline = time.monotonic() + grace
        hurried = asyncio.ensure_future(self._rt.hurried.wait())
        try:
            while finishing and not hurried.done() and (left := deadline - time.monotonic()) > 0:
                await asyncio.wait(
                    {*finishing, hurried}, timeout=left, return_when=asyncio.FIRST_COMPLETED
                )
                finishing = {task for task in finishing if not task.done()}
        finally:
            hurried.cancel()

    async def _settle(
        self, tasks: list[asyncio.Task[Any]], grace: float
    ) -> set[asyncio.Future[Any]]:
        """Wait for `tasks` at most `grace`, and once the stop is hurried (`hurried_by`)
        only as long as a stopped run waits for its release (a little more, so that each
        says whether it released): the tasks still pending."""
        bound = HURRIED_RELEASE_S + 0.25
        pending: set[asyncio.Future[Any]] = set(tasks)
        deadline = time.monotonic() + grace
        hurried: asyncio.Future[Any] | None = None
        if self._rt.hurried.is_set():
            deadline = min(deadline, time.monotonic() + bound)
        else:
            hurried = asyncio.ensure_future(self._rt.hurried.wait())
        try:
            while pending and (left := deadline - time.monotonic()) > 0:
                waits = pending if hurried is None else {*pending, hurried}
                _, pending = await asyncio.wait(
                    waits, timeout=left, return_when=asyncio.FIRST_COMPLETED
                )
                if hurried is not None:
                    pending.discard(hurried)
                    if hurried.done():
                        hurried = None
                        deadline = min(deadline, time.monotonic() + bound)
        finally:
            if hurried is not None:
                hurried.cancel()
        return pending

    def hurried_by(self, hurry: asyncio.Event) -> None:
        """Take `hurry` (the operator's second signal) as the stop's: once set, a stop
        waits no longer for its runs than their releases, which wait `HURRIED_RELEASE_S`
        at most; a lease not released by then is left to lapse, and said so."""
        self._rt.hurried = hurry

    @property
    def unreleased(self) -> dict[str, str]:
        """The rows whose runs were stopped without their leases released, and why."""
        return dict(self._rt.unreleased)

    def _leave_to_lapse(
        self, tasks: list[asyncio.Task[Any]], pids: list[str], grace: float
    ) -> None:
        """Stop renewing the leases of runs a stop gave up on (guard.py checks), and say so."""
        left = self._rt.left_to_lapse
        for task in tasks:
            left.add(task)
            task.add_done_callback(left.discard)
        self._gave_up.set()
        self._gave_up.clear()  # a pulse: `idle`'s waits so far have seen it
        ttl_s = self.timings.ttl_ms / 1000
        log.warning(
            "stopped waiting for %d run%s still running %.3gs after being cancelled (their "
            "handlers swallowed the cancellation): %s; their leases are no longer renewed and "
            "lapse within %.3gs, after which another worker may claim them",
            len(pids), "" if len(pids) == 1 else "s", grace, ", ".join(pids), ttl_s,
            extra={"fields": {"event": "stop_gave_up", "process_ids": pids, "grace_s": grace,
                              "ttl_s": ttl_s}},
        )  # fmt: skip

    async def _registry_closing(self) -> None:
        """The registry is closing under this worker (its `open_registry` block ends) while
        runs it started may be in flight: a facade's start runs its row without `running()`.
        Stop them now, as leaving `running()` would, while they can still release their
        leases: left to run on, each failed every later write ("... is closed") and kept its
        lease until the TTL, and nothing said why."""
        self.stop_claiming()  # nothing more can be claimed through a closed registry
        await self._let_finish(self.stop_grace_s)
        in_flight = self.in_flight
        if in_flight:
            log.warning(
                "the registry is closing with %d run%s of this worker in flight (%s): "
                "stopping them first; they write no terminal and release their leases",
                len(in_flight), "" if len(in_flight) == 1 else "s", ", ".join(in_flight),
                extra={"fields": {"event": "registry_closing", "in_flight": in_flight}},
            )  # fmt: skip
        await self.stop()

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

    async def _drive_forever(self) -> None:
        """Drive the whole worklist every renew interval, and in between, whenever another
        connection commits, the rows that commit changed (`wake`).

        Except while the backlog loop is saturated (`_saturated`): a worker whose claims
        keep taking every slot it has cannot run more than it does, and following the
        others' commits then only cost it CPU. On SQLite every commit wakes every worker
        (the file changed), and each wake's change-feed read walks every row the others
        claimed or ended since the last one; with four workers draining 10,000 rows on two
        vCPUs the watch and the reads were ~30 us of CPU a row, 10-12% of the drain's rate
        (interleaved pairs, 2026-12-05). So the worker stops following until the loop ends
        or the interval passes, then follows again from a full drive, whose cursor is read
        once the watch is armed again (`CommitWake.following`): nothing committed
        meanwhile is missed, only seen later. New rerunnable rows are the loop's next
        claims anyway; other work (an owner_bound start, an abandon request) waits for the
        end of the backlog or the next interval, as all work did before wakes (issue 18)."""
        interval = self.timings.renew_interval_ms / 1000
        starting = True
        while True:
            async with CommitWake.following(
                self.registry, interval, lambda: self._rt.observer.commit_seen(), self.owner
            ) as wake:
                self._wake = wake
                try:
                    if not (starting and await self._backlog_first()):
                        await self._follow(wake, interval)
                finally:
                    self._wake = None
            starting = False
            self.stats.saturated += 1
            log.debug("draining a backlog: other connections' commits unheeded until it ends")
            if self._batches is not None:
                await asyncio.wait({self._batches}, timeout=interval)

    async def _backlog_first(self) -> bool:
        """At start, claim the backlog before reading the worklist; True when the claims
        saturate the worker (the first full drive then waits for the backlog's end, as any
        drive does while saturated: `_drive_forever`). A full drive tests every running
        row's record in SQL to tell the backlog from the rest, ~35 ms of CPU over 10,000
        rows, and four workers starting on one backlog each made it before claiming
        anything (~5% of their drain's CPU, 2026-12-05); after the backlog it reads the
        few rows left. A start with no backlog claims nothing and drives as before."""
        if not self._claiming:
            return False
        self._batch_more = True
        if not self._batching():
            self._batches = asyncio.create_task(self._claim_batches(), name="lashtui-batches")
        assert self._batches is not None
        saturated = asyncio.ensure_future(self._saturation.wait())
        try:
            await asyncio.wait({self._batches, saturated}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            saturated.cancel()
        return self._saturated()

    async def _follow(self, wake: CommitWake, interval: float) -> None:
        """Full drives every `interval` and the rows other connections' commits change in
        between, until the backlog loop is saturated."""
        while True:
            try:
                await self.drive_pending_processes()
            except LashError as error:
                self._failed("drive", error)
            deadline = time.monotonic() + interval
            retry: float | None = None  # after a failed read of the changes: when to try again
            while (left := deadline - time.monotonic()) > 0:
                if self._saturated():
                    return
                woke = await wake.wait(left if retry is None else min(left, retry))
                if not woke and (retry is None or wake.cursor is None):
                    continue  # the interval ran out, or the loop has just saturated
                try:
                    await self._drive_changed(wake)
                    retry = None
                except LashError as error:
                    # Tried again soon, not at the next wake: the commit that woke it may
                    # be the last for a while (a start after an outage waited the interval).
                    self._failed("drive after a commit", error)
                    retry = RETRY_CHANGED_S if retry is None else min(retry * 2, interval)
            if self._saturated():
                return

    def _saturated(self) -> bool:
        """Whether the backlog loop is claiming full batches, `SATURATED_AFTER` in a row."""
        return self._saturation.is_set()

    async def _drive_changed(self, wake: CommitWake) -> None:
        """Drive the rows another connection's commit changed (and any others that changed
        since the last wake): new work, abandon requests, released leases."""
        self.stats.wakes += 1
        async with contextlib.aclosing(wake.changed()) as pages:
            async for items in pages:
                now = self._rt.clock.now_ms()
                wanted = [item for item in items if self._wants(item, now)]
                await self._say_skipped()
                for item in self._hand_to_batches(wanted, now):
                    self._spawn(item)


# How soon a worker reads the changes again after that read failed (doubling, up to its
# drive interval): the commit that woke it may be the last for a while.
RETRY_CHANGED_S = 0.5


# Rows one batch claims at most: its transaction holds the registry's write lock while it
# claims them, and other worker processes wait that long. With 16, one of four workers in
# tests/worker/test_crash.py's four-worker test was once held off the lock for 2 s and its
# runs' 1.5 s leases lapsed; what held it off was SQLite's busy handler, replaced since by
# short tries (sqlite/lock_wait.py `_retrying`). Measured on a quiet machine (2026-12-04),
# four workers draining 10,000 rows: 8 -> 2,713-2,827 rows/s, 16 -> 3,294-3,348; 24 and 32
# no better then. Measured again once a claim waited a turn for its slots
# (runtime.py `free_start_slots`, thirteenth session), interleaved pairs, 32 against 16:
# on PostgreSQL faster in 8 of 8 (one, two and four workers), on SQLite in 9 of 12 (two
# workers +16-27%), with fewer instructions a row (one worker, benchmarks/p3_budget.py:
# SQLite -3%, PostgreSQL -2%): fewer claims and commits a row, and with several workers
# fewer times each finds the others' commits in its way. 32 is also a worker's start slots
# (runtime.py `START_SLOTS`), the most a batch can take.
BATCH_AT_MOST = 32
# Full batches in a row after which the backlog loop is saturated and the worker stops
# following other connections' commits (`_drive_forever`): two (64 rows) so that a burst of a
# few rows, which one or two claims take, does not stop and restart the watch.
SATURATED_AFTER = 2


def _batchable(item: ProcessWorkItem, now: int) -> bool:
    """A row `claim_processes_for_run` would pick: rerunnable, free (or its lease lapsed),
    no abandon request, decodable."""
    return (
        item.disposition is RecoveryDisposition.RERUNNABLE
        and not item.abandon_requested
        and not item.undecodable
        and (item.lease is None or not item.lease.is_live_at(now))
    )
