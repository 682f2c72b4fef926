"""Stopping a worker's runs: cancelled, their terminals left unwritten and their leases
released; those whose handlers have ended let finish first; those that swallow the
cancellation given up on after the grace (their leases left to lapse, and said so); and the
same stop when the registry closes under the worker. `Stopping` is mixed into
`ProcessWorker` (worker.py); its base (part.py) types what it uses of the worker.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from lashtui.worker.part import WorkerPart
from lashtui.worker.runtime import HURRIED_RELEASE_S, log


class Stopping(WorkerPart):
    """The worker's stop of its runs (see the module docstring)."""

    async def stop(self, grace_s: float | None = None) -> list[str]:
        """Cancel in-flight runs: they write no terminal and release their leases. Wait at
        most `grace_s` (default `stop_grace_s`) for them to end, then give up on the runs
        whose handlers swallowed the cancellation: say which, in one warning, stop renewing
        their leases (which lapse within the TTL) and return their ids. Waiting for them
        hung the stop, and so the exit from `running()`, for as long as they ran. Runs whose
        handlers have ended are let write their terminals first (`_let_finish`)."""
        self._stops += 1
        grace = self.stop_grace_s if grace_s is None else grace_s
        await self._settle_orphans(grace)
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
            if task not in self._rt.handed_back:  # (cancelled once: giving its lease back)
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

    async def _settle_orphans(self, grace: float) -> None:
        """Wait for the starts whose callers were cancelled while they committed (start.py
        `_end_orphan`): each ends without spawning a run once it sees the stop, releasing
        its claim; not waited for, one committing meanwhile kept its lease to the TTL. They
        are waited for as stopped runs are (`_settle`: the grace, or a hurried release's
        wait): their commits wait for the write lock, and waited for without bound or
        hurry, a lock held elsewhere held the dashboard's exit for what was left of that
        wait and then of its release's (15 s each), the screen blank and Ctrl-C unheard. One
        still pending is left, as a run given up on is (not waited for again by a later
        stop, nor by `idle`): its claim, if it commits, lapses at the TTL."""
        left = self._rt.left_to_lapse
        orphans = [task for task in self._orphans if task not in left]
        if not orphans:
            return
        await self._settle(list(orphans), grace)
        given_up = [task for task in orphans if not task.done()]
        for task in given_up:
            left.add(task)
            task.add_done_callback(left.discard)
        if given_up:
            self._gave_up.set()
            self._gave_up.clear()  # a pulse, as `_leave_to_lapse` gives: `idle` sees it

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

    async def hand_back_parked(self, handed: list[str]) -> None:
        """Until cancelled (a stop's grace, shutdown.py): stop each run parked on a signal,
        now and as others park, appending its id to `handed`. A parked run does no work
        while it waits, and its signal may never come: the grace, 30 s by default, was spent
        whole on it, then it was stopped all the same. Stopped now, it writes no terminal
        and releases its lease, as a run the grace ran out on does: a rerunnable row is run
        again by the next worker, which parks at the same wait (its keys are the run's
        ordinals, semantics §11.3); a started owner_bound row stays running, its lease
        released, for `--drain` or an operator (semantics §9). A run that computes keeps
        its grace."""
        while True:
            self._rt.parking.clear()  # (set again by any run that parks from here on)
            for pid in sorted(self._rt.parked):
                task = self._tasks.get(pid)
                if task is not None and not task.done() and pid not in handed:
                    handed.append(pid)
                    task.cancel()
                    self._rt.handed_back.add(task)
                    task.add_done_callback(self._rt.handed_back.discard)
            await self._rt.parking.wait()

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
