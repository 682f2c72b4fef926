"""Running a claimed row (semantics §7.4-§7.5, §10; api.md §5).

What a handler returns or raises becomes the process's output; handler problems (no engine,
no tool, no session runner, an input lash never executes) are outputs, never crashes. A run
that loses its lease writes nothing and releases nothing; a run stopped by its worker writes
nothing and releases its lease; a cancel request ends a cooperative run as `cancelled`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from typing import Any

import pytest
from pydantic import JsonValue

from lashtui.clock import ManualClock
from lashtui.errors import ProcessConflict
from lashtui.model import (
    CANCEL_REQUESTED,
    AbandonedOutput,
    AbandonEvidence,
    AbandonWriter,
    CancelledOutput,
    External,
    FailureOutput,
    LeaseTimings,
    PreparedToolCall,
    ProcessAwaitOutput,
    ProcessLifecycleStatus,
    RecoveryDisposition,
    SessionTurn,
    SuccessOutput,
    ToolCall,
    ToolFailureClass,
)
from lashtui.registry import ProcessRegistry, open_registry
from lashtui.worker import ProcessContext, ProcessWorker
from lashtui.worker.runtime import RunEnd
from lashtui.worker.worker import STOP_GRACE_S
from tests.builders import ENV_REF, own, registration
from tests.worker.support import (
    GUARD_S,
    LIVE_TTL_MS,
    OB,
    PAST_TTL_MS,
    RR,
    TIMINGS,
    Blocking,
    Counting,
    Stubborn,
    Watching,
    cancel,
    engine_row,
    env_ref,
    event_types,
    idle,
    record,
    register,
    steps_row,
    terminal,
    worker_on,
    worker_owner,
)


async def run(worker: ProcessWorker, pid: str = "p") -> ProcessAwaitOutput:
    await worker.drive_pending_processes()
    return await terminal(worker, pid)


def failed(output: ProcessAwaitOutput, code: str) -> FailureOutput:
    assert isinstance(output, FailureOutput), output
    assert output.class_ is ToolFailureClass.EXECUTION
    assert output.code == code, output
    return output


# --- a run's life -------------------------------------------------------------------------- ---


async def test_first_started_is_recorded_under_the_runs_lease_before_the_handler_runs(
    registry: ProcessRegistry, clock: ManualClock, worker: ProcessWorker
) -> None:
    seen: dict[str, Any] = {}

    async def handler(ctx: ProcessContext, payload: JsonValue) -> str:
        seen["row"] = await ctx.registry.get_process(ctx.process_id)
        seen["lease"] = await ctx.registry.get_process_lease(ctx.process_id)
        return "ok"

    worker.engines.register("echo", handler)
    await register(registry, disposition=OB)

    assert await run(worker) == SuccessOutput(value="ok")

    started = seen["row"].first_started
    assert started is not None
    assert started.owner == worker.owner
    assert started.started_at_ms == clock.now_ms()
    lease = seen["lease"]
    assert lease is not None and lease.expires_at_epoch_ms > clock.now_ms()
    assert lease.owner.owner_id.startswith(f"{worker.owner.owner_id}:recovery:")
    assert await registry.get_process_lease("p") is None  # released with the terminal write


@pytest.mark.parametrize("value", [{"rows": [1, 2]}, "text", 0, None], ids=repr)
async def test_a_json_return_is_a_success_with_that_value(
    registry: ProcessRegistry, worker: ProcessWorker, value: JsonValue
) -> None:
    async def handler(ctx: ProcessContext, payload: JsonValue) -> JsonValue:
        return value

    worker.engines.register("echo", handler)
    await register(registry)

    assert await run(worker) == SuccessOutput(value=value)
    row = await record(registry, "p")
    assert row.status.state is ProcessLifecycleStatus.COMPLETED


@pytest.mark.parametrize(
    "output",
    [
        FailureOutput(
            class_=ToolFailureClass.TIMEOUT, code="upstream_timeout", message="slow", raw={"s": 9}
        ),
        CancelledOutput(message="gave up on its own"),
        SuccessOutput(value={"x": 1}, control={"stop": True}),
    ],
    ids=["failure", "cancelled", "success-with-control"],
)
async def test_a_returned_await_output_is_used_as_is(
    registry: ProcessRegistry, worker: ProcessWorker, output: ProcessAwaitOutput
) -> None:
    async def handler(ctx: ProcessContext, payload: JsonValue) -> ProcessAwaitOutput:
        return output

    worker.engines.register("echo", handler)
    await register(registry)

    assert await run(worker) == output
    assert (await record(registry, "p")).status.state is output.terminal_state().lifecycle()


@pytest.mark.parametrize("disposition", [OB, RR], ids=["owner_bound", "rerunnable"])
async def test_a_handler_cannot_report_abandonment(
    registry: ProcessRegistry, worker: ProcessWorker, disposition: RecoveryDisposition
) -> None:
    """Semantics §3.8: only recovery abandons; a handler that returns an abandoned output
    (here forging the sweep's evidence) fails its run instead."""
    forged = AbandonedOutput(evidence=AbandonEvidence(writer=AbandonWriter.SWEEP, epoch_ms=0))

    async def handler(ctx: ProcessContext, payload: JsonValue) -> ProcessAwaitOutput:
        return forged

    worker.engines.register("echo", handler)
    await register(registry, disposition=disposition)

    output = failed(await run(worker), "process_failed")
    assert output.message == (
        "a handler cannot report abandonment: only the sweep, an owner drain or a "
        "reconciled abandon request abandons a process"
    )
    assert (await record(registry, "p")).status.state is ProcessLifecycleStatus.FAILED
    assert (await event_types(registry, "p")) == ["process.failed"]
    assert await registry.get_process_lease("p") is None


async def test_a_handler_that_raises_fails_the_process_with_its_message(
    registry: ProcessRegistry, worker: ProcessWorker
) -> None:
    async def handler(ctx: ProcessContext, payload: JsonValue) -> None:
        raise RuntimeError("disk quota exceeded")

    worker.engines.register("echo", handler)
    await register(registry)

    output = failed(await run(worker), "process_failed")
    assert output.message == "disk quota exceeded"
    assert (await record(registry, "p")).status.state is ProcessLifecycleStatus.FAILED
    assert await registry.get_process_lease("p") is None


async def test_an_output_too_large_to_store_fails_the_process_once(
    registry: ProcessRegistry, worker: ProcessWorker
) -> None:
    """An event payload holds at most 1 MiB of JSON: a handler that returns more has
    failed, once. Taken for a worker stop, the row stayed running with its lease released
    and a rerunnable row ran again at every drive, each run refused the same way."""
    calls = 0

    async def handler(ctx: ProcessContext, payload: JsonValue) -> str:
        nonlocal calls
        calls += 1
        return "x" * (2 << 20)

    worker.engines.register("echo", handler)
    await register(registry, disposition=RR)

    output = failed(await run(worker), "process_failed")
    await worker.drive_pending_processes()  # a drive after it finds nothing to run again
    await idle(worker)

    assert output.message == (
        "an event payload may be at most 1.0 MiB of JSON; this one is 2.0 MiB"
    )
    assert calls == 1
    assert (await event_types(registry, "p")) == ["process.failed"]
    assert await registry.get_process_lease("p") is None


async def test_a_handler_that_ends_its_own_row_ends_its_run_and_releases_the_lease(
    registry: ProcessRegistry, worker: ProcessWorker
) -> None:
    """A handler may append a terminal event itself (`process.completed` is a type every
    process declares); the registry takes it, and then refuses the run's own terminal as
    « already terminal ». That refusal was taken for an outage: the run retried the write,
    renewing its lease on the ended row, until its worker stopped."""

    async def handler(ctx: ProcessContext, payload: JsonValue) -> str:
        await ctx.append_event(
            "process.completed", {"await_output": {"type": "success", "value": 5}}
        )
        return "the run's own"

    worker.engines.register("echo", handler)
    await register(registry, disposition=OB)

    assert await run(worker) == SuccessOutput(value=5)  # the handler's append stands
    await idle(worker)

    assert (await event_types(registry, "p")) == ["process.completed"]
    assert await registry.get_process_lease("p") is None
    assert worker.stats.runs[RunEnd.COMPLETED] == 1


async def test_a_context_kept_past_its_run_writes_nothing_more(
    registry: ProcessRegistry, worker: ProcessWorker
) -> None:
    """A handler may keep `ctx` (a task of its own, a callback) past its return. Its
    writes went through: an event after the process's terminal, unfenced by any lease."""
    kept: list[ProcessContext] = []

    async def handler(ctx: ProcessContext, payload: JsonValue) -> str:
        kept.append(ctx)
        return "done"

    worker.engines.register("echo", handler)
    await register(registry)
    assert await run(worker) == SuccessOutput(value="done")
    await idle(worker)

    sentence = "the run of process `p` has ended: its context writes nothing more"
    with pytest.raises(ProcessConflict, match=re.escape(sentence)):
        await kept[0].append_event("process.cancel_requested", {"reason": "late"})
    with pytest.raises(ProcessConflict, match=re.escape(sentence)):
        await kept[0].wait_signal("go")
    assert (await event_types(registry, "p")) == ["process.completed"]


@pytest.mark.parametrize("disposition", [OB, RR], ids=["owner_bound", "rerunnable"])
async def test_a_cancelled_error_the_handler_lets_out_fails_the_process(
    registry: ProcessRegistry, worker: ProcessWorker, disposition: RecoveryDisposition
) -> None:
    """Nothing cancelled the run (no request, no stop, no lost lease): the CancelledError
    is the handler's own, a failure like any other exception. Taken for a worker stop, a
    rerunnable row re-ran at once, forever, and an owner_bound one stayed running with its
    lease released."""
    calls = 0

    async def handler(ctx: ProcessContext, payload: JsonValue) -> None:
        nonlocal calls
        calls += 1
        sub = asyncio.create_task(asyncio.sleep(10))
        sub.cancel()
        await sub

    worker.engines.register("echo", handler)
    await register(registry, disposition=disposition)

    output = failed(await run(worker), "process_failed")
    await idle(worker)

    assert "CancelledError" in output.message
    assert calls == 1
    assert (await event_types(registry, "p")) == ["process.failed"]
    assert await registry.get_process_lease("p") is None


async def test_an_unknown_engine_kind_fails_with_engine_missing(
    registry: ProcessRegistry, worker: ProcessWorker
) -> None:
    other = Counting()
    worker.engines.register("echo", other)
    await register(registry, kind="no-such-engine")

    output = failed(await run(worker), "process_engine_missing")
    assert "no-such-engine" in output.message
    assert other.calls == 0


async def tool_row(registry: ProcessRegistry, pid: str, tool: str, args: JsonValue) -> None:
    call = ToolCall(
        call=PreparedToolCall(call_id="call-1", tool_id=tool, tool_name=tool, args=args)
    )
    await registry.register_process(registration(pid, call, RR, env_ref=await env_ref(registry)))


async def test_a_tool_call_runs_the_registered_tool_with_its_args(
    registry: ProcessRegistry, worker: ProcessWorker
) -> None:
    async def process_echo(ctx: ProcessContext, args: JsonValue) -> JsonValue:
        assert isinstance(args, dict)
        return {"echoed": args["value"], "by": ctx.process_id}

    worker.tools.register("process_echo", process_echo)
    await tool_row(registry, "t", "process_echo", {"value": "x"})

    assert await run(worker, "t") == SuccessOutput(value={"echoed": "x", "by": "t"})


async def test_an_unknown_tool_fails_with_engine_missing(
    registry: ProcessRegistry, worker: ProcessWorker
) -> None:
    await tool_row(registry, "t", "process_nope", {})

    output = failed(await run(worker, "t"), "process_engine_missing")
    assert "process_nope" in output.message


def session_turn() -> SessionTurn:
    return SessionTurn(
        create_request={"session_id": "child-1"},
        turn_input={"text": "summarise"},
        output_contract={"type": "text"},
    )


async def test_a_session_turn_without_a_session_runner_fails(
    registry: ProcessRegistry, worker: ProcessWorker
) -> None:
    await registry.register_process(registration("s", session_turn(), RR))

    failed(await run(worker, "s"), "process_session_turn_failed")


async def test_a_session_turn_runs_on_the_pluggable_session_runner(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    turns: list[SessionTurn] = []

    async def runner(ctx: ProcessContext, turn: SessionTurn) -> JsonValue:
        turns.append(turn)
        return {"reply": "summary", "session": turn.child_session_id()}

    await registry.register_process(registration("s", session_turn(), RR))
    async with worker_on(registry, clock, session_runner=runner) as worker:
        assert await run(worker, "s") == SuccessOutput(
            value={"reply": "summary", "session": "child-1"}
        )
    assert turns == [session_turn()]


async def test_a_session_runner_set_later_is_used(
    registry: ProcessRegistry, worker: ProcessWorker
) -> None:
    async def runner(ctx: ProcessContext, turn: SessionTurn) -> JsonValue:
        return "late runner"

    worker.set_session_runner(runner)
    await registry.register_process(registration("s", session_turn(), RR))

    assert await run(worker, "s") == SuccessOutput(value="late runner")


@pytest.mark.parametrize("disposition", [OB, RR], ids=["owner_bound", "rerunnable"])
async def test_an_external_input_is_never_executed_whatever_its_disposition(  # scenario 62
    registry: ProcessRegistry, worker: ProcessWorker, disposition: RecoveryDisposition
) -> None:
    anything = Counting()
    for kind in ("external", "echo", "steps"):
        worker.engines.register(kind, anything)
    await registry.register_process(registration("x", External(metadata={"job": 1}), disposition))

    output = await run(worker, "x")

    # Scenario 62: lash's worker fails building an External input's runtime, a run error
    # (semantics §7.4e; lash recovery_tests.rs owner_bound_unstarted_runs_once).
    output = failed(output, "process_recovery_failed")
    assert output.message == "process `x` is externally-owned and has no execution runtime"
    assert anything.calls == 0
    row = await record(registry, "x")
    assert row.status.state == ProcessLifecycleStatus.FAILED
    # A first run, not a re-run: first-started recorded, the row failed, never abandoned.
    assert row.first_started is not None


async def test_a_row_whose_captured_env_is_missing_fails_without_running(
    registry: ProcessRegistry, worker: ProcessWorker
) -> None:
    handler = Counting()
    worker.engines.register("echo", handler)
    await registry.register_process(engine_row("p", ENV_REF))  # never stored

    output = failed(await run(worker), "process_recovery_failed")
    assert output.message == "process `p` is missing a captured execution env"
    assert handler.calls == 0


async def test_running_drives_new_work_without_being_asked(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    async with worker_on(registry, clock) as worker:
        worker.engines.register("echo", Counting())
        async with worker.running():
            await register(registry, "late")  # registered after the first drive
            assert isinstance(await terminal(worker, "late"), SuccessOutput)


async def test_on_postgresql_work_started_elsewhere_is_driven_when_announced(
    postgres_schema: str, clock: ManualClock
) -> None:
    """The worker's interval is a minute; only the commit's NOTIFY can wake it in time."""
    minute = LeaseTimings(ttl_ms=180_000, renew_interval_ms=60_000)
    async with (
        open_registry(postgres_schema, clock=clock) as mine,
        open_registry(postgres_schema, clock=clock) as elsewhere,
    ):
        worker = ProcessWorker(mine, owner=worker_owner(), timings=minute, clock=clock)
        worker.engines.register("echo", Counting())
        try:
            async with worker.running():
                await register(elsewhere, "announced")
                assert isinstance(await terminal(worker, "announced"), SuccessOutput)
        finally:
            await worker.stop()


# --- a run that must stop -------------------------------------------------------------------- ---


async def test_a_run_that_loses_its_lease_is_cancelled_and_writes_nothing(
    registry: ProcessRegistry, clock: ManualClock, worker: ProcessWorker
) -> None:
    handler = Blocking()
    worker.engines.register("echo", handler)
    await register(registry)
    await worker.drive_pending_processes()
    await handler.wait_started()
    held = await registry.get_process_lease("p")

    clock.advance(PAST_TTL_MS)  # the next renewal is refused
    await idle(worker)

    assert handler.cancellations == 1
    assert (await record(registry, "p")).status.state is ProcessLifecycleStatus.RUNNING
    assert (await event_types(registry, "p")) == []
    # Not released: the expired lease is still the raw fact; whoever claims next is the writer.
    assert await registry.get_process_lease("p") == held
    async with worker_on(registry, clock, owner=own("next-owner")) as peer:
        rerun = Counting()
        peer.engines.register("echo", rerun)
        assert isinstance(await run(peer), SuccessOutput)
    assert rerun.calls == 1


async def test_stop_cancels_in_flight_runs_writes_no_terminal_and_releases_leases(
    registry: ProcessRegistry, clock: ManualClock, worker: ProcessWorker
) -> None:
    handlers = {"p1": Blocking(), "p2": Blocking()}
    for pid, handler in handlers.items():
        worker.engines.register(pid, handler)
        await register(registry, pid, kind=pid)
    await worker.drive_pending_processes()
    for handler in handlers.values():
        await handler.wait_started()

    await worker.stop()

    assert [h.cancellations for h in handlers.values()] == [1, 1]
    assert worker.in_flight == []
    for pid in ("p1", "p2"):
        assert (await record(registry, pid)).status.state is ProcessLifecycleStatus.RUNNING
        assert (await event_types(registry, pid)) == []
        assert await registry.get_process_lease(pid) is None
        # A peer may take it at once, without waiting out a TTL.
        outcome = await registry.claim_process_lease(pid, own("peer"), LIVE_TTL_MS)
        assert outcome.acquired() is not None


async def test_leaving_running_stops_in_flight_runs_the_same_way(
    registry: ProcessRegistry, worker: ProcessWorker
) -> None:
    handler = Blocking()
    worker.engines.register("echo", handler)
    await register(registry)

    async with worker.running():
        await handler.wait_started()

    assert handler.cancellations == 1
    assert (await record(registry, "p")).status.state is ProcessLifecycleStatus.RUNNING
    assert (await event_types(registry, "p")) == []
    assert await registry.get_process_lease("p") is None


async def test_leaving_running_gives_up_on_a_run_that_swallows_its_cancellation(
    registry: ProcessRegistry, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    """The stop waits its grace for a run it cancelled, then says which run it left and
    that its lease will lapse, and returns; the lease is renewed no more. It waited for as
    long as the handler ran: forever, here, until the test lets it end."""
    handler, watching = Stubborn(), Watching()
    async with worker_on(registry, clock, stop_grace_s=0.2) as worker:
        worker.engines.register("echo", handler)
        worker.add_observer(watching)
        await register(registry, "stubborn")

        async def leave_running() -> None:
            async with worker.running():
                await handler.started.wait()

        leaving = asyncio.create_task(leave_running())
        try:
            with caplog.at_level(logging.WARNING, logger="lashtui.worker"):
                left, _ = await asyncio.wait({leaving}, timeout=GUARD_S)
            assert left, "leaving running() hung on a run that swallows its cancellation"
            warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
            assert len(warnings) == 1, warnings
            assert "stubborn" in warnings[0] and "lapse" in warnings[0]
            assert worker.in_flight == ["stubborn"]  # still running, and the worker says so
            assert handler.cancellations >= 1
            # Its lease is held, not released, and no longer renewed: a window of three
            # renew intervals sees no renewal (only a negative needs a window).
            assert await registry.get_process_lease("stubborn") is not None
            # A renewal already sent when the stop gave up may be told after it (a fresh-
            # clone CI run on PostgreSQL saw one more, its round trip slowed by the load):
            # the window opens once as long again has passed. A keeper still renewing every
            # interval renews in the window as well.
            await asyncio.sleep(3 * TIMINGS.renew_interval_ms / 1000)
            seen = len(watching.renewed)
            await asyncio.sleep(3 * TIMINGS.renew_interval_ms / 1000)
            assert len(watching.renewed) == seen
        finally:
            handler.done.set()  # let it end, whatever happened above
            await asyncio.wait({leaving}, timeout=GUARD_S)
        await watching.wait_ended()  # `idle` does not wait for a run the stop gave up on

    # When the handler did end, its run was still a stopped one: no terminal, lease given back.
    assert (await record(registry, "stubborn")).status.state is ProcessLifecycleStatus.RUNNING
    assert (await event_types(registry, "stubborn")) == []
    assert await registry.get_process_lease("stubborn") is None


def test_the_stop_grace_is_the_worker_commands_default_grace() -> None:
    from lashtui.cli import build_parser

    assert build_parser().parse_args(["worker"]).grace == STOP_GRACE_S


async def test_a_second_drive_while_a_run_is_in_flight_does_not_start_a_second_run(
    registry: ProcessRegistry, clock: ManualClock, worker: ProcessWorker
) -> None:
    handler = Blocking(result="once")
    worker.engines.register("echo", handler)
    await register(registry)
    await worker.drive_pending_processes()
    await handler.wait_started()

    assert await worker.drive_pending_processes() == []
    async with worker_on(registry, clock, owner=own("peer")) as peer:
        peer.engines.register("echo", handler)
        await asyncio.gather(*await peer.drive_pending_processes())  # Busy: left to us
    handler.release.set()

    assert await terminal(worker, "p") == SuccessOutput(value="once")
    assert handler.calls == 1
    assert (await event_types(registry, "p")) == ["process.completed"]


# --- cancellation (semantics §10; scenarios 37, 101, 105) ---------------------------------- ---


async def test_a_waiting_steps_process_is_cancelled_within_a_second(
    registry: ProcessRegistry, worker: ProcessWorker
) -> None:
    ref = await env_ref(registry)
    await registry.register_process(
        steps_row("p", ref, [{"wait_signal": "approve"}], signals={"approve": None})
    )
    await worker.drive_pending_processes()
    async with asyncio.timeout(GUARD_S):
        await worker.await_event("p", "process.waiting", 0)

    await cancel(worker.registry, "p")
    async with asyncio.timeout(1.0):
        output = await worker.await_terminal("p")

    assert isinstance(output, CancelledOutput), output
    row = await record(registry, "p")
    assert row.status.state is ProcessLifecycleStatus.CANCELLED
    assert row.wait is None
    types = await event_types(registry, "p")
    assert types == ["process.waiting", CANCEL_REQUESTED, "process.cancelled"]
    assert await registry.get_process_lease("p") is None


async def test_a_cancel_requested_before_the_worker_claims_cancels_the_run_promptly(
    registry: ProcessRegistry, worker: ProcessWorker
) -> None:
    handler = Blocking()
    worker.engines.register("echo", handler)
    await register(registry)
    await cancel(worker.registry, "p", "not needed any more")

    await worker.drive_pending_processes()
    async with asyncio.timeout(1.0):
        output = await worker.await_terminal("p")

    assert isinstance(output, CancelledOutput), output
    assert handler.cancellations == handler.calls  # if it started at all, it was cancelled
    assert (await event_types(registry, "p")) == [CANCEL_REQUESTED, "process.cancelled"]


async def test_a_cooperative_handler_sees_ctx_cancelled_and_the_process_ends_cancelled(
    registry: ProcessRegistry, worker: ProcessWorker
) -> None:
    handler = Blocking()
    worker.engines.register("echo", handler)
    await register(registry)
    await worker.drive_pending_processes()
    await handler.wait_started()

    await cancel(worker.registry, "p")

    assert isinstance(await terminal(worker, "p"), CancelledOutput)
    assert handler.cancellations == 1
    assert handler.contexts[0].cancelled.is_set()
    assert await registry.get_process_lease("p") is None


async def test_a_handler_that_ignores_cancellation_may_still_complete(
    registry: ProcessRegistry, worker: ProcessWorker
) -> None:
    entered = asyncio.Event()

    async def stubborn(ctx: ProcessContext, payload: JsonValue) -> str:
        entered.set()
        with contextlib.suppress(asyncio.CancelledError):  # non-cooperative: carries on
            await asyncio.Event().wait()
        return "finished anyway"

    worker.engines.register("echo", stubborn)
    await register(registry)
    await worker.drive_pending_processes()
    async with asyncio.timeout(GUARD_S):
        await entered.wait()

    await cancel(worker.registry, "p")

    assert await terminal(worker, "p") == SuccessOutput(value="finished anyway")
    assert (await event_types(registry, "p")) == [CANCEL_REQUESTED, "process.completed"]


async def test_two_cancels_with_the_same_reason_collapse_into_one_request(
    registry: ProcessRegistry, worker: ProcessWorker
) -> None:
    handler = Blocking()
    worker.engines.register("echo", handler)
    await register(registry)

    first = await cancel(worker.registry, "p", "stop")
    again = await cancel(worker.registry, "p", "stop")
    other = await cancel(worker.registry, "p", "other")

    assert again.sequence == first.sequence
    assert other.sequence == first.sequence + 1
    requests = [e.payload for e in await registry.events_after("p", 0)]
    assert requests == [{"reason": "stop"}, {"reason": "other"}]

    await worker.drive_pending_processes()
    assert isinstance(await terminal(worker, "p"), CancelledOutput)
    assert (await event_types(registry, "p")).count(CANCEL_REQUESTED) == 2
