"""A run's lease keeper and cancel watcher (lashtui/worker/guard.py): timers and a change-hub
subscription rather than tasks, so what they must still do is checked here: renew a long
run's lease, see a cancel request that never ticks this worker's hub, stop only the handler,
and leave nothing behind when the run ends."""

from __future__ import annotations

import asyncio

from lashtui.clock import ManualClock
from lashtui.model import CancelledOutput, ProcessLifecycleStatus, SuccessOutput
from lashtui.registry import ProcessRegistry
from lashtui.worker import ProcessWorker
from tests.worker.support import (
    GUARD_S,
    TIMINGS,
    Blocking,
    Counting,
    cancel,
    event_types,
    record,
    register,
    terminal,
)


async def start(registry: ProcessRegistry, worker: ProcessWorker, pid: str = "p") -> None:
    await register(registry, pid)
    await worker.drive_pending_processes()


async def test_the_keeper_renews_a_long_runs_lease_until_it_ends(
    registry: ProcessRegistry, clock: ManualClock, worker: ProcessWorker
) -> None:
    handler = Blocking()
    worker.engines.register("echo", handler)
    await start(registry, worker)
    await handler.wait_started()
    first = await registry.get_process_lease("p")
    assert first is not None
    # Well past the first lease's expiry (TTL 300 ms), a renewal every 100 ms keeps it.
    for _ in range(6):
        clock.advance(TIMINGS.renew_interval_ms)
        await asyncio.sleep(TIMINGS.renew_interval_ms / 1000 * 1.5)
    held = await registry.get_process_lease("p")
    assert held is not None and held.lease_token == first.lease_token
    assert held.expires_at_epoch_ms > first.expires_at_epoch_ms + 3 * TIMINGS.renew_interval_ms
    handler.release.set()
    assert isinstance(await terminal(worker, "p"), SuccessOutput)
    assert handler.cancellations == 0


async def test_a_cancel_that_never_ticks_this_workers_hub_is_found_by_the_poll(
    registry: ProcessRegistry, worker: ProcessWorker
) -> None:
    """`registry` is the bare store: its append is what another OS process's would be, seen
    only by reading the registry."""
    handler = Blocking()
    worker.engines.register("echo", handler)
    await start(registry, worker)
    await handler.wait_started()
    await asyncio.sleep(0.3)  # the poll has backed off a few times
    await cancel(registry, "p", "from elsewhere")
    async with asyncio.timeout(1.5):  # the poll backs off to 1 s at most
        output = await terminal(worker, "p")
    assert isinstance(output, CancelledOutput), output
    assert output.message == "process was cancelled: from elsewhere"
    assert handler.cancellations == 1
    assert (await record(registry, "p")).status.state is ProcessLifecycleStatus.CANCELLED


async def test_a_cancel_stops_the_handler_and_the_terminal_is_still_written(
    registry: ProcessRegistry, worker: ProcessWorker
) -> None:
    """The watcher cancels the run's own task; the run must take that cancellation back
    (`Task.uncancel`) before it writes, or the terminal write would be cancelled too."""
    handler = Blocking()
    worker.engines.register("echo", handler)
    await start(registry, worker)
    await handler.wait_started()
    await cancel(worker.registry, "p")
    output = await terminal(worker, "p")
    assert isinstance(output, CancelledOutput), output
    assert (await event_types(registry, "p"))[-1] == "process.cancelled"
    assert await registry.get_process_lease("p") is None  # released with the terminal


async def test_runs_leave_no_task_timer_or_subscription_behind(
    registry: ProcessRegistry, worker: ProcessWorker
) -> None:
    quick = Counting()
    worker.engines.register("echo", quick)
    for n in range(20):
        await register(registry, f"p{n}")
    before = asyncio.all_tasks()
    async with asyncio.timeout(GUARD_S):
        await asyncio.gather(*await worker.drive_pending_processes())
    assert quick.calls == 20
    await asyncio.sleep(TIMINGS.renew_interval_ms / 1000 * 2)  # a keeper left armed would fire
    # No task the runs started is left (one the registry had in flight before, such as
    # PostgreSQL's group-commit flusher of the registrations, may have ended meanwhile).
    assert asyncio.all_tasks() <= before
    assert not worker.hub._listeners
    assert len(worker._rt.timers) == 0  # every keeper and poll cancelled
    for n in range(20):
        assert await registry.get_process_lease(f"p{n}") is None
