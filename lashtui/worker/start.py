"""A start through a worker (`Processes.start` with one): the row claimed in the start's own
transaction and its run spawned at once, when a start slot is free; and a start whose
caller was cancelled while it committed, followed to its end by a task of its own.
`Starts` is mixed into `ProcessWorker` (worker.py); its base (part.py) types what it uses
of the worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from typing import Any

from lashtui.errors import LashError
from lashtui.model import (
    ProcessLease,
    ProcessRecord,
    ProcessRunClaim,
    ProcessStarted,
    ProcessStartRequest,
)
from lashtui.registry.kept import KEEPING, Kept
from lashtui.worker.identity import attempt_identity
from lashtui.worker.part import WorkerPart
from lashtui.worker.runtime import StartSlot


class Starts(WorkerPart):
    """The worker's starts through the facade (see the module docstring)."""

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

    @property
    def starts_followed(self) -> int:
        """Starts whose callers were cancelled while they committed, still followed to their
        end (`_end_orphan`): a stop waits for them, and what a stop left, it says."""
        return sum(not task.done() for task in self._orphans)

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
