"""Stopping a worker well (lashtui/worker/shutdown.py), in this process on both stores: it
claims nothing more, runs in flight finish within the grace period, the rest are stopped
with their leases released, a hurry ends the grace at once, and a drain is run only when
asked. (tests/cli/test_worker_service.py does the same through signals to a real
`lashtui worker` process.)"""

from __future__ import annotations

import asyncio

from lashtui.clock import ManualClock
from lashtui.model import ProcessLifecycleStatus
from lashtui.registry import ProcessRegistry
from lashtui.worker import ProcessWorker, Verdict
from lashtui.worker.shutdown import shut_down
from tests.builders import local
from tests.worker.support import (
    GUARD_S,
    OB,
    Blocking,
    Stubborn,
    Watching,
    record,
    register,
    sweep,
    worker_on,
)


async def _running(worker: ProcessWorker, *pids: str) -> dict[str, Blocking]:
    """A blocking handler per row (its engine kind is its id), each started."""
    handlers = {pid: Blocking() for pid in pids}
    for pid, handler in handlers.items():
        worker.engines.register(pid, handler)
    await worker.drive_pending_processes()
    for handler in handlers.values():
        await handler.wait_started()
    assert worker.in_flight == sorted(pids)
    return handlers


async def test_runs_in_flight_finish_within_the_grace_and_nothing_new_is_claimed(
    registry: ProcessRegistry, worker: ProcessWorker
) -> None:
    await register(registry, "a", kind="a")
    handler = (await _running(worker, "a"))["a"]

    async def finish_soon() -> None:
        await asyncio.sleep(0.1)
        await register(registry, "late")  # must not be claimed: the worker is stopping
        await worker.drive_pending_processes()
        handler.release.set()

    releasing = asyncio.create_task(finish_soon())
    report = await shut_down(worker, grace_s=GUARD_S, hurry=asyncio.Event(), drain=False,
                             why="SIGTERM")  # fmt: skip
    await releasing

    assert (report.finished, report.stopped, report.drained) == (["a"], [], None)
    assert (await record(registry, "a")).status.state is ProcessLifecycleStatus.COMPLETED
    assert (await record(registry, "late")).status.state is ProcessLifecycleStatus.RUNNING
    assert await registry.get_process_lease("late") is None
    assert handler.calls == 1


async def test_when_the_grace_runs_out_the_rest_are_stopped_and_their_leases_released(
    registry: ProcessRegistry, worker: ProcessWorker
) -> None:
    await register(registry, "slow", kind="slow")
    handler = (await _running(worker, "slow"))["slow"]

    report = await shut_down(worker, grace_s=0.05, hurry=asyncio.Event(), drain=False,
                             why="SIGTERM")  # fmt: skip

    assert (report.finished, report.stopped, report.hurried) == ([], ["slow"], False)
    assert handler.cancellations == 1
    assert (await record(registry, "slow")).status.state is ProcessLifecycleStatus.RUNNING
    assert await registry.get_process_lease("slow") is None


async def test_a_hurry_ends_the_grace_at_once_and_skips_the_drain(
    registry: ProcessRegistry, clock: ManualClock, worker: ProcessWorker
) -> None:
    await register(registry, "slow", kind="slow", disposition=OB)
    await _running(worker, "slow")
    hurry = asyncio.Event()
    asyncio.get_running_loop().call_later(0.05, hurry.set)

    async with asyncio.timeout(GUARD_S):  # a grace of an hour, cut short
        report = await shut_down(worker, grace_s=3600, hurry=hurry, drain=True, why="SIGINT")

    assert (report.stopped, report.hurried, report.drained) == (["slow"], True, None)
    assert await registry.get_process_lease("slow") is None
    # Started by this worker and owner_bound: without the drain it stays running, and with
    # its lease released there is no holder to prove dead, so a peer's sweep leaves it
    # running too ("silent, not dead"): an operator's to abandon.
    assert (await record(registry, "slow")).status.state is ProcessLifecycleStatus.RUNNING
    async with worker_on(registry, clock, owner=local("peer")) as peer:
        assert await sweep(peer) == {"slow": Verdict.LEFT_RUNNING}


async def test_drain_abandons_the_owner_bound_work_the_stop_left_started(
    registry: ProcessRegistry, worker: ProcessWorker
) -> None:
    await register(registry, "mine", kind="mine", disposition=OB)
    await register(registry, "rerun", kind="rerun")  # rerunnable: stopped, never drained
    await _running(worker, "mine", "rerun")

    report = await shut_down(worker, grace_s=0.05, hurry=asyncio.Event(), drain=True,
                             why="SIGTERM")  # fmt: skip

    assert report.drained == ["mine"]
    assert (await record(registry, "mine")).status.state is ProcessLifecycleStatus.ABANDONED
    assert (await record(registry, "rerun")).status.state is ProcessLifecycleStatus.RUNNING
    assert await registry.get_process_lease("rerun") is None  # a peer may take it at once
    assert sorted(report.stopped) == ["mine", "rerun"]


async def test_a_run_that_swallows_its_cancellation_is_left_to_its_lease_lapsing(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    """The stop gives up on it after its own grace: the shutdown ends, its report says the
    run was left (not stopped, its lease not released). It hung for as long as the run."""
    handler, watching = Stubborn(), Watching()
    async with worker_on(registry, clock, stop_grace_s=0.1) as worker:
        worker.engines.register("stubborn", handler)
        worker.add_observer(watching)
        await register(registry, "stubborn", kind="stubborn")
        await worker.drive_pending_processes()
        async with asyncio.timeout(GUARD_S):
            await handler.started.wait()

        shutting = asyncio.create_task(
            shut_down(worker, grace_s=0.05, hurry=asyncio.Event(), drain=False, why="SIGTERM")
        )
        try:
            ended, _ = await asyncio.wait({shutting}, timeout=GUARD_S)
            assert ended, "the shutdown hung on a run that swallows its cancellation"
            report = shutting.result()
            assert (report.finished, report.stopped, report.left) == ([], [], ["stubborn"])
            assert await registry.get_process_lease("stubborn") is not None
        finally:
            handler.done.set()  # let it end, whatever happened above
            await asyncio.wait({shutting}, timeout=GUARD_S)
        await watching.wait_ended()
