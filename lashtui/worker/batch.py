"""The backlog loop: free rerunnable rows claimed several at a time, as many as there are
free start slots, picked in SQL by the claim itself (`claim_processes_for_run`), each run
spawned with the slot it took; and the saturation that stops the worker following other
connections' commits while its claims keep taking every slot (follow.py `_drive_forever`).
`BatchClaims` is mixed into `ProcessWorker` (worker.py); its base (part.py) types what it
uses of the worker.
"""

from __future__ import annotations

import asyncio
from typing import Any

from lashtui.errors import LashError
from lashtui.model import ProcessRunClaim, ProcessStarted, ProcessWorkItem, RecoveryDisposition
from lashtui.worker.identity import attempt_identity
from lashtui.worker.part import WorkerPart
from lashtui.worker.runtime import StartSlot, Verdict
from lashtui.worker.sweep import run_claimed


class BatchClaims(WorkerPart):
    """The worker's backlog loop (see the module docstring)."""

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
            skip = sorted(self._skipped | rt.unwritable)
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
