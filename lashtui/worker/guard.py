"""The lease keeper and the cancel watcher of one run (semantics §7.4, steps 2 and 4).

Both watch a handler that runs in the run's own task, and stop it by cancelling that task.
Neither is a task of its own until it has something to do: the keeper is a timer that fires
every `renew_interval`, and the watcher is a subscription to the change hub (a cancel
request made in this OS process ticks it) plus a timer that polls the registry for requests
made by other OS processes, 25 ms doubling to 1 s like the awaiter. The timers are entries
in the worker's `GuardTimers` (timers.py), not loop timers of their own. Most runs end before
either fires. Measured on P1, two tasks made, started and cancelled for every run (the
keeper sleeping, the watcher reading and waiting) cost more than the run's own
first-started transaction.

A renewal that fails for another reason than a lost lease (the file locked, the server out
of reach) is counted as the registry failing (`WorkerRuntime.registry_failed`: the metric
`lashtui_worker_registry_errors_total`) and tried again, but only while the lease lasts by
this worker's clock. A later renewal that goes through makes it good: the run went on
under its lease, and a `--once` pass is not failed by it (it exited 1 with the run
completed); a lease that lapses after it fails the pass, as a refused claim or terminal
write does (`WorkerRuntime.pass_failed`), and one that lapses to a renewal that was only
slow fails it too (`WorkerStats.lapsed`, which `worker --once` reads). The keeper wakes at
the lease's expiry at the latest, and each attempt may take only the time the lease has
left. Past it, the run is stopped as a lost lease (semantics §7.4: a failed renewal
cancels the run), whatever the store says later: another worker may claim the row from
that moment on, and a handler still running then would run beside its new owner's. (A
PostgreSQL renewal with the server gone takes ~10 s to fail, the pool's connect timeout,
longer than a short TTL; a SQLite one waits for the write lock up to its busy timeout,
15 s.)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from lashtui.errors import LashError, LeaseLost
from lashtui.model import CANCEL_REQUESTED, ProcessEvent, ProcessLease, ProcessRunClaim
from lashtui.worker.awaiter import BACKOFF_CAP_S, BACKOFF_START_S
from lashtui.worker.context import ProcessContext
from lashtui.worker.runtime import WorkerRuntime, log


def lost(rt: WorkerRuntime, state: RunState, process_id: str, why: str, then: str = "") -> None:
    """Tell a run's lost lease (the `lease_lost` line, its metric, `why` and what the
    worker does `then`) and keep how it was lost for the run's end to count
    (`WorkerStats.lease_lost`), whoever found it out."""
    state.lost_why = why
    rt.observer.lease_lost(process_id, f"{why}{then}")


@dataclass
class RunState:
    """What the guards found, for the run to decide how it ends."""

    lease: ProcessLease
    lease_lost: bool = False
    lapsed: bool = False  # lost because it expired unrenewed (`RunGuard._lapsed`)
    lost_why: str | None = None  # how it was lost, as the `lease_lost` line says (`lost`)
    cancel_reason: str | None = None


class RunGuard:
    def __init__(
        self, rt: WorkerRuntime, ctx: ProcessContext, state: RunState, run: asyncio.Task[Any]
    ) -> None:
        self._rt = rt
        self.ctx = ctx
        self.state = state
        self.task = run  # the run's own task, where its handler runs
        self._loop = asyncio.get_running_loop()
        self._timers = rt.timers
        self._tasks: set[asyncio.Task[None]] = set()
        self._watching = False
        self._poll_s = BACKOFF_START_S
        # The hub's count for this row when the run began, right after its claim: made in
        # the same step as the claim's return, so it holds that claim's own tick and no
        # later one (callers resume in the order their writes ran).
        self._claimed_at = rt.hub.version(ctx.process_id)
        self.handler_running = False  # only a running handler is stopped by cancelling
        self.fired = False  # whether this guard cancelled the run's task
        # The last renewal the registry refused since one went through (module docstring).
        self._refused: LashError | None = None

    # --- the keeper

    def keep_lease(self) -> None:
        """Renew every `renew_interval` until `close`: through the handler and the terminal
        write after it, which may queue behind other writes for longer than the lease has
        left. After failed renewals the next try comes no later than the lease's expiry,
        where the run is stopped if none succeeded (module docstring)."""
        delay_s = min(self._rt.timings.renew_interval_ms / 1000, self._lease_left_s())
        self._timers.set((self, "renew"), max(delay_s, 0.0), lambda: self._spawn(self._renew))

    def _lease_left_s(self) -> float:
        """How long the lease lasts yet, by this worker's clock (the one the store stamps
        expiries with, in this process)."""
        return (self.state.lease.expires_at_epoch_ms - self._rt.clock.now_ms()) / 1000

    async def _renew(self) -> None:
        state = self.state
        if self.task in self._rt.left_to_lapse:
            return  # a stop gave up on this run: its lease lapses (stop.py `stop`)
        began = time.monotonic()
        left_s = self._lease_left_s()
        try:
            if left_s <= 0:
                raise TimeoutError
            # An attempt outlasting the lease is a lost lease, even if it commits later.
            async with asyncio.timeout(left_s):
                state.lease = await self._rt.registry.renew_process_lease(
                    state.lease, self._rt.timings.ttl_ms
                )
        except LeaseLost:
            self._lose(
                "at renewal, which the registry refused: the lease is no longer this "
                "worker's (another worker took it, or it was released)"
            )
            return
        except TimeoutError:
            self._lapsed(None)
            return
        except LashError as error:  # e.g. the file is locked for a moment: retry
            # Counted as the registry failing (a `StoreError`), as a refused claim or
            # terminal write is: an operator alerts on it before leases start to lapse.
            # Not yet the pass's failure: the next renewal may make it good.
            self._rt.registry_failed("renewing a lease", error, undone=False)
            self._refused = error
            log.warning("could not renew the lease of %s: %s", state.lease.process_id, error)
            if self._lease_left_s() <= 0:
                self._lapsed(error)
                return
        else:
            self._refused = None
            self._rt.observer.lease_renewed(state.lease.process_id, time.monotonic() - began)
        self.keep_lease()

    def _lapsed(self, error: LashError | None) -> None:
        why = f" (the last attempt: {error})" if error is not None else ""
        if self._refused is not None:  # the registry's refusals cost the run its lease
            self._rt.pass_failed(self._refused)
        self.state.lapsed = True
        self._lose(f"when it expired unrenewed{why}")

    def _lose(self, why: str) -> None:
        lost(self._rt, self.state, self.state.lease.process_id, why, "; cancelling its run")
        self.state.lease_lost = True
        self._stop_handler()

    # --- the watcher

    async def watch_cancel(self, claimed: ProcessRunClaim | None = None) -> bool:
        """Start watching for a cancel request; True if one is there already (one appended
        before the run started counts). Subscribe first, then read, so a request committed
        in between still ticks. A claim to run has read the log in its own transaction:
        that read stands, unless this process ticked since (the claim's own tick aside),
        and a request committed by another OS process meanwhile is the first poll's."""
        pid, hub = self.ctx.process_id, self._rt.hub
        self._watching = True
        hub.subscribe(pid, self._ticked)
        if claimed is not None and claimed.started and hub.version(pid) == self._claimed_at:
            event = claimed.cancel_requested
        else:
            event = await self._rt.registry.first_event_after(pid, CANCEL_REQUESTED, 0)
        if event is not None:
            # No cancelling: the caller has not started the handler, and stops here.
            self._cancel_requested(event, stop=False)
            return True
        self._arm_poll()
        return False

    def stop_watching(self) -> None:
        if self._watching:
            self._watching = False
            self._rt.hub.unsubscribe(self.ctx.process_id, self._ticked)
            self._timers.cancel((self, "poll"))

    def _ticked(self) -> None:
        self._poll_s = BACKOFF_START_S
        self._spawn(self._check)

    def _arm_poll(self) -> None:
        self._timers.set((self, "poll"), self._poll_s, lambda: self._spawn(self._poll))

    async def _poll(self) -> None:
        self._poll_s = min(self._poll_s * 2, BACKOFF_CAP_S)
        if await self._check():
            return
        if self._watching:
            self._arm_poll()

    async def _check(self) -> bool:
        try:
            event = await self._rt.registry.first_event_after(
                self.ctx.process_id, CANCEL_REQUESTED, 0
            )
        except LashError as error:  # the next poll tries again
            # Counted as the registry failing, as a failed renewal is: a server out of
            # reach shows here first while a run waits, and the metric stayed at 0.
            self._rt.registry_failed("reading cancel requests", error)
            log.warning("could not read the cancel requests of %s: %s", self.ctx.process_id,
                        error)
            return False
        if event is None or not self._watching:
            return False
        self._cancel_requested(event)
        return True

    def _cancel_requested(self, event: ProcessEvent, stop: bool = True) -> None:
        payload = event.payload
        reason = payload.get("reason") if isinstance(payload, dict) else None
        self.state.cancel_reason = str(reason) if reason is not None else "cancel requested"
        self.ctx.cancelled.set()
        self.stop_watching()
        if stop:
            self._stop_handler()

    # --- both

    def _stop_handler(self) -> None:
        if self.handler_running and not self.fired:
            self.fired = True
            self.task.cancel()

    def _spawn(self, work: Callable[[], Coroutine[Any, Any, Any]]) -> None:
        task = self._loop.create_task(work())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Stop both: a renewal or a check under way is cancelled, and waited for."""
        self.stop_watching()
        self._timers.cancel((self, "renew"))
        if self._tasks:
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
