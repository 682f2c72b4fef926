"""Signals, waits and the built-in `steps` engine (semantics §11, api.md §5; scenarios 96-100).

A process parks on `wait_signal(name)`: the row stays running with `wait` set, a
`process.waiting` event is logged, and the n-th wait on a name resolves with the n-th
`signal.<name>` event (count based, §11.4), whether it arrived before or after the wait.
Replay keys make a re-execution after a crash re-derive the same waits without conflicts.
"""

from __future__ import annotations

import pytest
from pydantic import JsonValue

from lashtui.clock import ManualClock
from lashtui.errors import LashError, ProcessConflict
from lashtui.model import (
    RESUMED,
    WAITING,
    FailureOutput,
    ProcessEventType,
    ProcessLifecycleStatus,
    ProcessListFilter,
    ProcessStatusFilter,
    SuccessOutput,
    ToolFailureClass,
    WaitState,
    process_signal_wait_key,
)
from lashtui.registry import ProcessRegistry
from lashtui.worker import ProcessWorker, context
from tests.builders import ext, local
from tests.worker.support import (
    PAST_TTL_MS,
    env_ref,
    event_types,
    idle,
    next_event,
    record,
    send_signal,
    steps_row,
    terminal,
    worker_on,
)

LINE = ProcessEventType.plain("producer.line", {"type": "object", "required": ["line"]})


async def start_steps(
    registry: ProcessRegistry,
    worker: ProcessWorker | None,
    steps: list[JsonValue],
    signals: dict[str, dict[str, JsonValue] | None] | None = None,
    pid: str = "p",
) -> None:
    """Register a steps process (declaring `signals` and `producer.line`) and drive it."""
    ref = await env_ref(registry)
    await registry.register_process(steps_row(pid, ref, steps, signals=signals, extra_types=[LINE]))
    if worker is not None:
        await worker.drive_pending_processes()


async def waiting_list(registry: ProcessRegistry, waiting: bool) -> list[str]:
    rows = await registry.list_processes(
        ProcessListFilter(status=ProcessStatusFilter.RUNNING, waiting=waiting)
    )
    return [row.id for row in rows]


async def resumed_ordinals(registry: ProcessRegistry, pid: str = "p") -> list[JsonValue]:
    events = await registry.events_after(pid, 0)
    return [e.payload["ordinal"] for e in events if e.event_type == RESUMED]  # type: ignore[index,call-overload]


# --- one wait -------------------------------------------------------------------------------- ---


async def test_a_waiting_process_shows_its_wait_and_resumes_with_the_signal_payload(
    registry: ProcessRegistry, clock: ManualClock, worker: ProcessWorker
) -> None:
    await registry.register_process(ext("idle"))
    await start_steps(registry, worker, [{"wait_signal": "approve"}], {"approve": None})
    waiting = await next_event(worker, "p", WAITING)

    row = await record(registry, "p")
    assert row.status.state is ProcessLifecycleStatus.RUNNING
    assert row.wait is not None
    assert row.wait.kind.name == "approve"
    assert row.wait.kind.event_type == "signal.approve"
    assert row.wait.kind.key == "process:p:signal.approve:1"
    assert row.wait.kind.ordinal == 1
    assert row.wait.since_ms == clock.now_ms()
    assert waiting.payload == {"wait": row.wait.model_dump(mode="json")}
    assert await waiting_list(registry, True) == ["p"]
    assert await waiting_list(registry, False) == ["idle"]

    await send_signal(worker.registry, "p", "approve", "sig-1", {"by": "ops"})

    assert await terminal(worker, "p") == SuccessOutput(value={"by": "ops"})
    row = await record(registry, "p")
    assert row.wait is None
    assert await waiting_list(registry, True) == []
    assert await event_types(registry, "p") == [
        WAITING,
        "signal.approve",
        RESUMED,
        "process.completed",
    ]
    resumed = (await registry.events_after("p", 0))[2]
    assert resumed.payload == {
        "signal": "approve",
        "key": "process:p:signal.approve:1",
        "ordinal": 1,
    }


@pytest.mark.parametrize(
    "steps",
    [
        [{"wait_signal": "ready"}, {"wait_signal": "ready"}],
        [{"loop": 2, "steps": [{"wait_signal": "ready"}]}],
    ],
    ids=["sequential", "loop"],
)
async def test_two_sequential_waits_get_ordinals_one_and_two(
    registry: ProcessRegistry, worker: ProcessWorker, steps: list[JsonValue]
) -> None:
    await start_steps(registry, worker, steps, {"ready": None})
    first = await next_event(worker, "p", WAITING)
    row = await record(registry, "p")
    assert row.wait is not None and row.wait.kind.ordinal == 1
    assert row.wait.kind.key.endswith(":1")

    await send_signal(worker.registry, "p", "ready", "1", 1)
    await next_event(worker, "p", WAITING, after=first.sequence)
    row = await record(registry, "p")
    assert row.wait is not None and row.wait.kind.ordinal == 2
    assert row.wait.kind.key == process_signal_wait_key("p", "ready", 2)

    await send_signal(worker.registry, "p", "ready", "2", 2)

    assert await terminal(worker, "p") == SuccessOutput(value=2)
    types = await event_types(registry, "p")
    assert types.count(WAITING) == 2
    assert types.count(RESUMED) == 2
    assert types == [WAITING, "signal.ready", RESUMED] * 2 + ["process.completed"]
    assert await resumed_ordinals(registry) == [1, 2]


async def test_an_undeclared_or_invalid_signal_is_refused_and_the_process_keeps_waiting(
    registry: ProcessRegistry, worker: ProcessWorker
) -> None:
    await start_steps(registry, worker, [{"wait_signal": "ready"}], {"ready": {"type": "string"}})
    await next_event(worker, "p", WAITING)

    with pytest.raises(LashError, match="undeclared"):
        await send_signal(worker.registry, "p", "nope", "s1", "done")
    with pytest.raises(LashError, match=r"invalid `signal\.ready` payload"):
        await send_signal(worker.registry, "p", "ready", "s2", {"not": "a string"})

    row = await record(registry, "p")
    assert row.status.state is ProcessLifecycleStatus.RUNNING
    assert row.wait is not None and row.wait.kind.ordinal == 1
    assert await event_types(registry, "p") == [WAITING]

    await send_signal(worker.registry, "p", "ready", "s3", "done")
    assert await terminal(worker, "p") == SuccessOutput(value="done")


async def test_resending_a_signal_id_is_idempotent_and_a_different_payload_conflicts(
    registry: ProcessRegistry, worker: ProcessWorker
) -> None:
    steps: list[JsonValue] = [{"wait_signal": "approve"}, {"wait_signal": "approve"}]
    await start_steps(registry, worker, steps, {"approve": None})
    first_wait = await next_event(worker, "p", WAITING)

    sent = await send_signal(worker.registry, "p", "approve", "s1", "a")
    await next_event(worker, "p", WAITING, after=first_wait.sequence)
    again = await send_signal(worker.registry, "p", "approve", "s1", "a")

    assert again.sequence == sent.sequence
    assert (await event_types(registry, "p")).count("signal.approve") == 1
    # The resend did not satisfy the second wait.
    row = await record(registry, "p")
    assert row.wait is not None and row.wait.kind.ordinal == 2

    with pytest.raises(ProcessConflict, match="conflicts with an existing event"):
        await send_signal(worker.registry, "p", "approve", "s1", "b")
    assert (await record(registry, "p")).wait is not None

    await send_signal(worker.registry, "p", "approve", "s2", "b")
    assert await terminal(worker, "p") == SuccessOutput(value="b")


async def test_a_signal_sent_before_the_wait_resolves_it(
    registry: ProcessRegistry, worker: ProcessWorker
) -> None:
    await start_steps(registry, None, [{"wait_signal": "approve"}], {"approve": None})
    await send_signal(worker.registry, "p", "approve", "early", "go")

    await worker.drive_pending_processes()

    assert await terminal(worker, "p") == SuccessOutput(value="go")
    assert await event_types(registry, "p") == [
        "signal.approve",
        WAITING,
        RESUMED,
        "process.completed",
    ]


async def test_early_signals_bind_to_waits_in_the_order_they_were_sent(
    registry: ProcessRegistry, worker: ProcessWorker
) -> None:
    steps: list[JsonValue] = [
        {"wait_signal": "approve"},
        {"emit": {"type": "producer.line", "payload": {"line": "between"}}},
        {"wait_signal": "approve"},
    ]
    await start_steps(registry, None, steps, {"approve": None})
    await send_signal(worker.registry, "p", "approve", "x", "first")
    await send_signal(worker.registry, "p", "approve", "y", "second")

    await worker.drive_pending_processes()

    assert await terminal(worker, "p") == SuccessOutput(value="second")
    assert await resumed_ordinals(registry) == [1, 2]


# --- the steps engine ------------------------------------------------------------------------- ---


async def test_steps_emit_in_a_loop_and_finish_ends_the_run(
    registry: ProcessRegistry, worker: ProcessWorker
) -> None:
    emit: JsonValue = {"emit": {"type": "producer.line", "payload": {"line": "tick"}}}
    after: JsonValue = {"emit": {"type": "producer.line", "payload": {"line": "after finish"}}}
    await start_steps(registry, worker, [{"loop": 3, "steps": [emit]}, {"finish": "done"}, after])

    assert await terminal(worker, "p") == SuccessOutput(value="done")
    events = await registry.events_after("p", 0)
    assert [e.payload for e in events if e.event_type == "producer.line"] == [{"line": "tick"}] * 3
    assert [e.event_type for e in events][-1] == "process.completed"


async def test_steps_fail_ends_the_run_with_that_failure(
    registry: ProcessRegistry, worker: ProcessWorker
) -> None:
    steps: list[JsonValue] = [
        {"fail": {"code": "bad_input", "message": "no rows to import"}},
        {"finish": "unreachable"},
    ]
    await start_steps(registry, worker, steps)

    output = await terminal(worker, "p")
    assert isinstance(output, FailureOutput), output
    assert (output.class_, output.code, output.message) == (
        ToolFailureClass.EXECUTION,
        "bad_input",
        "no rows to import",
    )
    assert (await record(registry, "p")).status.state is ProcessLifecycleStatus.FAILED


async def test_steps_sleep_then_finish(registry: ProcessRegistry, worker: ProcessWorker) -> None:
    await start_steps(registry, worker, [{"sleep_ms": 30}, {"finish": {"slept": True}}])

    assert await terminal(worker, "p") == SuccessOutput(value={"slept": True})


async def test_steps_that_run_out_finish_with_null(
    registry: ProcessRegistry, worker: ProcessWorker
) -> None:
    await start_steps(registry, worker, [{"sleep_ms": 1}])

    assert await terminal(worker, "p") == SuccessOutput(value=None)


@pytest.mark.parametrize(
    ("steps", "fragment"),
    [
        ([{"dance": 1}], "dance"),
        ([{"wait_signal": "undeclared"}], "signal.undeclared"),
        ([{"emit": {"type": "producer.unknown", "payload": 1}}], "undeclared event type"),
        ([{"emit": {"type": "producer.line", "payload": {"no": "line"}}}], "producer.line"),
    ],
    ids=["unknown-step", "wait-on-undeclared-signal", "emit-undeclared", "emit-invalid"],
)
async def test_a_broken_steps_program_fails_the_process_with_a_message(
    registry: ProcessRegistry, worker: ProcessWorker, steps: list[JsonValue], fragment: str
) -> None:
    await start_steps(registry, worker, steps)

    output = await terminal(worker, "p")
    assert isinstance(output, FailureOutput), output
    assert output.code == "process_failed"
    assert fragment in output.message


# --- re-execution after a crash --------------------------------------------------------------- ---


# The re-run finds each wait's first `since_ms` reading the log back from its end a page at
# a time (`context.SINCE_PAGE`): here also one event a page.
@pytest.mark.parametrize("since_page", [context.SINCE_PAGE, 1])
async def test_a_rerun_after_a_crash_rederives_the_same_waits_and_resumes_on_earlier_signals(
    registry: ProcessRegistry, clock: ManualClock, since_page: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(context, "SINCE_PAGE", since_page)
    steps: list[JsonValue] = [
        {"emit": {"type": "producer.line", "payload": {"line": "before"}}},
        {"wait_signal": "approve"},
        {"wait_signal": "approve"},
    ]
    await start_steps(registry, None, steps, {"approve": None})
    async with worker_on(registry, clock, owner=local("worker-1")) as first:
        await first.drive_pending_processes()
        wait_1 = await next_event(first, "p", WAITING)
        await send_signal(first.registry, "p", "approve", "s1", "first")
        await next_event(first, "p", WAITING, after=wait_1.sequence)
        parked = await record(registry, "p")
        log_before = await registry.events_after("p", 0)

        clock.advance(PAST_TTL_MS)  # worker-1 goes silent: its claim expires
        await idle(first)

    row = await record(registry, "p")
    assert row.status.state is ProcessLifecycleStatus.RUNNING
    assert row.wait == parked.wait  # still parked on ordinal 2
    await send_signal(registry, "p", "approve", "s2", "second")  # nobody is running it

    async with worker_on(registry, clock, owner=local("worker-2")) as second:
        await second.drive_pending_processes()
        output = await terminal(second, "p")

    assert output == SuccessOutput(value="second")  # no replay conflict on the way
    log = await registry.events_after("p", 0)
    assert log[: len(log_before)] == log_before  # the first run's events were replayed, not redone
    assert [e.event_type for e in log] == [
        "producer.line",
        WAITING,
        "signal.approve",
        RESUMED,
        WAITING,
        "signal.approve",
        RESUMED,
        "process.completed",
    ]
    waits = [WaitState.model_validate(e.payload["wait"]) for e in log if e.event_type == WAITING]  # type: ignore[index,call-overload]
    assert [w.kind.key for w in waits] == [
        process_signal_wait_key("p", "approve", 1),
        process_signal_wait_key("p", "approve", 2),
    ]
    assert await resumed_ordinals(registry) == [1, 2]
    final = await record(registry, "p")
    assert final.first_started is not None and final.first_started.owner == local("worker-1")
