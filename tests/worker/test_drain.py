"""Owner drain: a worker going away abandons the owner_bound work it started, and nothing
else (semantics §9).

"Started by this worker" is full identity equality with the worker's configured owner; the
drain claims plainly and defers on Busy, so it never races a run that is still alive, not
even one whose holder is provably dead.
"""

from __future__ import annotations

import asyncio

import pytest

from lashtui.clock import ManualClock
from lashtui.model import (
    AbandonedOutput,
    AbandonWriter,
    LeaseOwnerIdentity,
    ProcessLifecycleStatus,
    RecoveryDisposition,
    SuccessOutput,
)
from lashtui.registry import ProcessRegistry
from lashtui.worker import ProcessWorker, drain
from tests.builders import ext, own
from tests.worker.support import (
    GUARD_S,
    OB,
    RR,
    Blocking,
    dead_holder,
    engine_row,
    env_ref,
    event_types,
    idle,
    record,
    started_by,
    terminal,
    worker_on,
)


async def register(registry: ProcessRegistry, pid: str, disposition: RecoveryDisposition) -> None:
    await registry.register_process(
        engine_row(pid, await env_ref(registry), disposition=disposition)
    )


def other_incarnation(owner: LeaseOwnerIdentity) -> LeaseOwnerIdentity:
    return owner.model_copy(update={"incarnation_id": "an-earlier-incarnation"})


async def assert_untouched(registry: ProcessRegistry, pid: str) -> None:
    row = await record(registry, pid)
    assert row.status.state is ProcessLifecycleStatus.RUNNING, pid
    assert (await event_types(registry, pid)) == [], pid


@pytest.mark.parametrize("page", [drain.DRAIN_PAGE, 1], ids=["one-page", "page-of-one"])
async def test_drain_abandons_only_owner_bound_rows_this_worker_started(
    registry: ProcessRegistry,
    clock: ManualClock,
    worker: ProcessWorker,
    page: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Its candidates are read a page at a time from the records' JSON (`list_started_by`:
    the rows some identity with this owner id started), each then checked whole."""
    monkeypatch.setattr(drain, "DRAIN_PAGE", page)
    me = worker.owner
    await register(registry, "a-mine", OB)
    await started_by(registry, clock, "a-mine", me, lease="released")
    await register(registry, "aa-mine-too", OB)
    await started_by(registry, clock, "aa-mine-too", me, lease="released")
    await register(registry, "b-unstarted", OB)
    await register(registry, "c-others", OB)
    await started_by(registry, clock, "c-others", own("other-worker"), lease="released")
    await register(registry, "d-my-earlier-incarnation", OB)
    await started_by(
        registry, clock, "d-my-earlier-incarnation", other_incarnation(me), lease="released"
    )
    await register(registry, "e-rerunnable", RR)
    await started_by(registry, clock, "e-rerunnable", me, lease="released")
    await registry.register_process(ext("f-external"))
    await started_by(registry, clock, "f-external", me, lease="released")

    await register(registry, "g-mine-ended", OB)
    held = await started_by(registry, clock, "g-mine-ended", me, lease="live")
    await registry.complete_process_with_lease(held, SuccessOutput(value=None))
    # The candidates: every row some identity with this owner id started, the rest never.
    assert await registry.list_started_by(me.owner_id) == [
        "a-mine", "aa-mine-too", "d-my-earlier-incarnation",
    ]
    assert await registry.list_started_by(me.owner_id, after_id="a-mine", limit=1) == [
        "aa-mine-too"
    ]

    report = await worker.drain_owner_bound_work()

    assert report.abandoned == ["a-mine", "aa-mine-too"]
    output = await terminal(worker, "a-mine")
    assert isinstance(output, AbandonedOutput), output
    assert output.evidence.writer is AbandonWriter.OWNER_DRAIN
    assert output.evidence.owner == me
    assert output.evidence.epoch_ms == clock.now_ms()
    assert await registry.get_process_lease("a-mine") is None
    for pid in (
        "b-unstarted",
        "c-others",
        "d-my-earlier-incarnation",
        "e-rerunnable",
        "f-external",
    ):
        await assert_untouched(registry, pid)
    # Nothing was run while draining.
    assert worker.in_flight == []


@pytest.mark.parametrize(
    "holder", [own("still-running"), dead_holder()], ids=["live-holder", "dead-holder"]
)
async def test_drain_defers_a_row_whose_lease_is_held(
    registry: ProcessRegistry, clock: ManualClock, worker: ProcessWorker, holder: LeaseOwnerIdentity
) -> None:
    await register(registry, "p", OB)
    held = await started_by(registry, clock, "p", worker.owner, holder=holder, lease="live")

    report = await worker.drain_owner_bound_work()

    assert report.abandoned == []
    await assert_untouched(registry, "p")
    assert await registry.get_process_lease("p") == held  # never reclaimed, even from the dead
    # Once the holder lets go, a later drain does abandon it.
    await registry.release_process_lease(held)
    assert (await worker.drain_owner_bound_work()).abandoned == ["p"]


async def test_a_pending_await_on_a_drained_row_resolves_to_the_abandoned_output(
    registry: ProcessRegistry, clock: ManualClock, worker: ProcessWorker
) -> None:
    await register(registry, "p", OB)
    await started_by(registry, clock, "p", worker.owner, lease="released")
    waiter = asyncio.create_task(worker.await_terminal("p"))
    await asyncio.sleep(0)  # let it park on the running row
    assert not waiter.done()

    await worker.drain_owner_bound_work()

    async with asyncio.timeout(GUARD_S):
        output = await waiter
    assert isinstance(output, AbandonedOutput)
    assert output.evidence.writer is AbandonWriter.OWNER_DRAIN
    assert output == (await record(registry, "p")).status.await_output
    # Mapped for a tool caller, it is the owner-drain failure (semantics §3.8).
    tool = output.into_tool_output()
    assert tool.code == "process_abandoned"  # type: ignore[union-attr]
    assert tool.message == "process abandoned: owner drained without recording an outcome"  # type: ignore[union-attr]


async def test_drain_defers_an_in_flight_run_and_abandons_it_once_the_worker_stopped(
    registry: ProcessRegistry, worker: ProcessWorker
) -> None:
    handler = Blocking()
    worker.engines.register("echo", handler)
    await register(registry, "p", OB)
    await worker.drive_pending_processes()
    await handler.wait_started()

    first = await worker.drain_owner_bound_work()  # the run still holds its lease
    assert first.abandoned == []
    assert handler.cancellations == 0

    await worker.stop()  # the intended order: stop admitting, stop runs, then drain
    await idle(worker)
    assert handler.cancellations == 1
    second = await worker.drain_owner_bound_work()

    assert second.abandoned == ["p"]
    output = await terminal(worker, "p")
    assert isinstance(output, AbandonedOutput)
    assert output.evidence.owner == worker.owner
    assert handler.calls == 1
    assert (await event_types(registry, "p")) == ["process.abandoned"]


async def test_a_stopped_rerunnable_run_is_not_drained_and_a_peer_reruns_it(
    registry: ProcessRegistry, clock: ManualClock, worker: ProcessWorker
) -> None:
    handler = Blocking()
    worker.engines.register("echo", handler)
    await register(registry, "p", RR)
    await worker.drive_pending_processes()
    await handler.wait_started()
    await worker.stop()

    assert (await worker.drain_owner_bound_work()).abandoned == []
    await assert_untouched(registry, "p")

    async with worker_on(registry, clock, owner=own("peer")) as peer:
        rerun = Blocking(result="rerun")
        rerun.release.set()
        peer.engines.register("echo", rerun)
        await peer.drive_pending_processes()
        assert await terminal(peer, "p") == SuccessOutput(value="rerun")
