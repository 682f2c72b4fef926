"""The event log of a process: appends, replays, terminals and wakes.

Covers scenarios.md group B (18-34 and 37; 35-36 need an awaiter and are not here) and the
rules of semantics §4.3-§4.6, §5.9, §5.17 and §5.18: sequence numbering, the exact order of the
append checks (replay lookup first), declared types, replay keys, payload schemas, terminal
materialization through selectors, wake deliveries and acks, and the read queries over the log.
Every failing append is also checked to leave the database exactly as it was.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

import pytest

from lashtui.clock import ManualClock
from lashtui.errors import InvalidRequest, LashError, ProcessConflict, UnknownProcess
from lashtui.model import (
    AbandonedOutput,
    CancelledOutput,
    FailureOutput,
    ProcessAwaitOutput,
    ProcessEvent,
    ProcessEventAppendRequest,
    ProcessEventAppendResult,
    ProcessEventType,
    ProcessProvenance,
    ProcessRecord,
    SessionScope,
    SuccessOutput,
    TriggerOccurrenceCause,
    WaitKind,
    WaitState,
)
from lashtui.registry import ProcessRegistry
from tests.builders import ext
from tests.raw import raw_connection

LINE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"line": {"type": "string"}},
    "required": ["line"],
}


# --- helpers ---------------------------------------------------------------------------------


def event_type(
    name: str, semantics: dict[str, Any] | None = None, schema: dict[str, Any] | None = None
) -> ProcessEventType:
    """A declared event type from its lash wire form."""
    return ProcessEventType.model_validate(
        {"name": name, "payload_schema": {"schema": schema or {}}, "semantics": semantics or {}}
    )


def terminal_type(name: str, state: str, await_output: Any = None, **kw: Any) -> ProcessEventType:
    terminal: dict[str, Any] = {"state": state}
    if await_output is not None:
        terminal["await_output"] = await_output
    return event_type(name, {"terminal": terminal}, **kw)


def wake_type(name: str, input: Any, when: Any = None, dedupe_key: Any = None) -> ProcessEventType:
    wake: dict[str, Any] = {"input": input}
    if when is not None:
        wake["when"] = when
    if dedupe_key is not None:
        wake["dedupe_key"] = dedupe_key
    return event_type(name, {"wake": wake})


def line_type() -> ProcessEventType:
    return event_type("producer.line", schema=LINE_SCHEMA)


def req(
    event_type: str,
    payload: Any = None,
    key: str | None = None,
    target: SessionScope | None = None,
) -> ProcessEventAppendRequest:
    request = ProcessEventAppendRequest.new(event_type, payload, key)
    if target is not None:
        request = request.model_copy(update={"wake_target_scope": target})
    return request


async def start(
    registry: ProcessRegistry, pid: str = "p", *types: ProcessEventType, **kw: Any
) -> ProcessRecord:
    """Register an externally-owned row declaring `types` (plus the core types)."""
    return await registry.register_process(ext(pid, event_types=list(types), **kw))


async def record_of(registry: ProcessRegistry, pid: str) -> ProcessRecord:
    record = await registry.get_process(pid)
    assert record is not None, f"process {pid} should exist"
    return record


async def sequences(registry: ProcessRegistry, pid: str, after: int = 0) -> list[int]:
    return [event.sequence for event in await registry.events_after(pid, after)]


@dataclass(frozen=True)
class Snapshot:
    """What a user can observe of one row: the record, its log, and the change feed."""

    record: dict[str, Any]
    events: list[dict[str, Any]]
    change_cursor: int
    wake_sequences: list[int]


async def snapshot(registry: ProcessRegistry, pid: str) -> Snapshot:
    _, cursor = await registry.processes_changed_since(0, 1_000_000)
    return Snapshot(
        record=(await record_of(registry, pid)).model_dump(mode="json"),
        events=[event.model_dump(mode="json") for event in await registry.events_after(pid, 0)],
        change_cursor=cursor,
        wake_sequences=[e.sequence for e in await registry.wake_events_after(pid, 0)],
    )


async def assert_append_fails(
    registry: ProcessRegistry,
    clock: ManualClock,
    pid: str,
    request: ProcessEventAppendRequest,
    error: type[LashError],
    message: str,
) -> str:
    """The append raises `error` with `message` and changes nothing: no event row, no
    `updated_at_ms` bump, no change-feed entry (the clock moves first so a bump would show).
    Returns the full error text."""
    before = await snapshot(registry, pid)
    clock.advance(1_000)
    with pytest.raises(error, match=re.escape(message)) as raised:
        await registry.append_event(pid, request)
    assert await snapshot(registry, pid) == before
    return str(raised.value)


def terminal_output(record: ProcessRecord) -> ProcessAwaitOutput | None:
    return record.status.await_output


def rewind_row(db_path: str, record: ProcessRecord) -> None:
    """Put an older copy of the `processes` row back, as if the process had crashed after the
    event insert and before the row update (semantics §4.4 step 2 "repair")."""
    with raw_connection(db_path) as conn:
        conn.execute(
            "UPDATE processes SET status = ?, updated_at_ms = ?, record_json = ? "
            "WHERE process_id = ?",
            (
                record.status.state.value,
                record.updated_at_ms,
                record.model_dump_json(),
                record.id,
            ),
        )


def sha256_json(value: Any) -> str:
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


# --- sequence numbering (§4.3) and events_after (§5.17) ----------------------------------------


async def test_first_event_is_sequence_one_and_schema_failure_stores_nothing(
    registry: ProcessRegistry, clock: ManualClock
) -> None:  # scenario 18
    await start(registry, "p", line_type())
    result = await registry.append_event("p", req("producer.line", {"line": "hello"}))
    assert result.event.sequence == 1
    assert result.event.payload == {"line": "hello"}
    await assert_append_fails(
        registry,
        clock,
        "p",
        req("producer.line", {"text": "no line"}),
        InvalidRequest,
        "invalid `producer.line` payload: ",
    )
    assert await sequences(registry, "p") == [1]


async def test_schema_error_names_the_offending_field(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    await start(registry, "p", line_type())
    message = await assert_append_fails(
        registry,
        clock,
        "p",
        req("producer.line", {"line": 7}),
        InvalidRequest,
        "invalid `producer.line` payload: ",
    )
    assert message.startswith("invalid `producer.line` payload: ")
    assert "line" in message.removeprefix("invalid `producer.line` payload: ")
    assert await sequences(registry, "p") == []


async def test_events_after_returns_strictly_later_events_in_order(
    registry: ProcessRegistry,
) -> None:  # scenario 19
    await start(registry, "p", line_type())
    for line in ("one", "two", "three"):
        await registry.append_event("p", req("producer.line", {"line": line}))
    later = await registry.events_after("p", 1)
    assert [e.sequence for e in later] == [2, 3]
    assert [e.payload for e in later] == [{"line": "two"}, {"line": "three"}]
    assert await registry.events_after("p", 3) == []
    assert await sequences(registry, "p", 0) == [1, 2, 3]


async def test_events_after_reads_a_page_of_a_long_log(registry: ProcessRegistry) -> None:
    """`limit` (a lashtui extension): the first `limit` later events, so a long log is read
    in pages; a limit that is not a whole number >= 1 is refused in one sentence."""
    await start(registry, "p", line_type())
    for line in ("one", "two", "three", "four", "five"):
        await registry.append_event("p", req("producer.line", {"line": line}))
    assert [e.sequence for e in await registry.events_after("p", 0, limit=2)] == [1, 2]
    assert [e.sequence for e in await registry.events_after("p", 2, limit=2)] == [3, 4]
    assert [e.sequence for e in await registry.events_after("p", 4, limit=2)] == [5]
    assert await registry.events_after("p", 5, limit=2) == []
    for bad in (0, -1, True, 1.5):
        with pytest.raises(InvalidRequest, match=re.escape(f"got `{bad}`")):
            await registry.events_after("p", 0, limit=bad)  # type: ignore[arg-type]
    with pytest.raises(UnknownProcess):
        await registry.events_after("missing", 0, limit=2)


async def test_first_event_after_is_events_after_filtered_to_one_type(
    registry: ProcessRegistry,
) -> None:
    await start(registry, "p", line_type())
    await registry.append_event("p", req("producer.line", {"line": "a"}))
    await registry.append_event("p", req("process.waiting", {"n": 1}))
    await registry.append_event("p", req("producer.line", {"line": "b"}))
    first = await registry.first_event_after("p", "producer.line", 0)
    assert first is not None and (first.sequence, first.payload) == (1, {"line": "a"})
    second = await registry.first_event_after("p", "producer.line", 1)
    assert second is not None and (second.sequence, second.payload) == (3, {"line": "b"})
    assert await registry.first_event_after("p", "producer.line", 3) is None
    assert await registry.first_event_after("p", "process.resumed", 0) is None
    with pytest.raises(UnknownProcess, match="unknown process `nope`"):
        await registry.first_event_after("nope", "producer.line", 0)


async def test_sequences_are_contiguous_across_types_and_per_process(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    await start(registry, "p", line_type())
    await start(registry, "q", line_type())
    await registry.append_event("p", req("producer.line", {"line": "a"}))
    await registry.append_event("p", req("process.waiting", {"n": 1}))
    await registry.append_event("q", req("producer.line", {"line": "b"}))
    await assert_append_fails(
        registry,
        clock,
        "p",
        req("producer.line", {}),
        InvalidRequest,
        "invalid `producer.line` payload: ",
    )
    await registry.append_event("p", req("process.resumed", None))
    assert await sequences(registry, "p") == [1, 2, 3]
    assert await sequences(registry, "q") == [1]


async def test_replays_never_consume_a_sequence(registry: ProcessRegistry) -> None:
    await start(registry, "p", line_type())
    first = await registry.append_event("p", req("producer.line", {"line": "x"}, key="k1"))
    again = await registry.append_event("p", req("producer.line", {"line": "x"}, key="k1"))
    nxt = await registry.append_event("p", req("producer.line", {"line": "y"}))
    assert (first.event.sequence, again.event.sequence, nxt.event.sequence) == (1, 1, 2)


async def test_event_envelope_records_subject_cause_replay_key_and_time(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    await start(registry, "p", line_type())
    clock.advance(1_234)
    keyed = (await registry.append_event("p", req("producer.line", {"line": "a"}, "k"))).event
    plain = (await registry.append_event("p", req("producer.line", {"line": "b"}))).event
    assert keyed.occurred_at_ms == clock.now_ms()
    wire = keyed.model_dump(mode="json")
    assert wire["invocation"]["subject"] == {
        "type": "process_event",
        "process_id": "p",
        "sequence": 1,
        "event_type": "producer.line",
    }
    assert wire["invocation"]["caused_by"] == {"type": "process", "process_id": "p"}
    assert wire["invocation"]["replay"] == {"key": "k"}
    assert "replay" not in plain.model_dump(mode="json")["invocation"]
    assert keyed.replay_key == "k" and plain.replay_key is None


async def test_successful_append_bumps_updated_at_and_the_change_feed(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    await start(registry, "p", line_type())
    _, cursor = await registry.processes_changed_since(0, 100)
    now = clock.advance(500)
    await registry.append_event("p", req("producer.line", {"line": "a"}))
    assert (await record_of(registry, "p")).updated_at_ms == now
    changed, _ = await registry.processes_changed_since(cursor, 100)
    assert [r.id for r in changed] == ["p"]


@pytest.mark.parametrize(
    "call",
    [
        lambda r: r.append_event("missing", req("process.waiting")),
        lambda r: r.events_after("missing", 0),
        lambda r: r.count_events_through("missing", "process.waiting", 10),
        lambda r: r.recent_events("missing", 5),
        lambda r: r.wake_events_after("missing", 0),
        lambda r: r.ack_wake("missing", 1),
        lambda r: r.complete_process("missing", SuccessOutput(value=1)),
    ],
    ids=["append", "events_after", "count", "recent", "wake_events_after", "ack", "complete"],
)
async def test_log_operations_on_an_unknown_process_fail(registry: ProcessRegistry, call) -> None:
    with pytest.raises(UnknownProcess, match=re.escape("unknown process `missing`")):
        await call(registry)


# --- declared types and replay keys (§4.4 steps 3-4) -----------------------------------------


async def test_undeclared_event_type_is_rejected(
    registry: ProcessRegistry, clock: ManualClock
) -> None:  # scenario 20
    await start(registry, "p")
    await assert_append_fails(
        registry,
        clock,
        "p",
        req("producer.nope", {"x": 1}),
        InvalidRequest,
        "process `p` emitted undeclared event type `producer.nope`",
    )


async def test_cancel_request_requires_a_replay_key(
    registry: ProcessRegistry, clock: ManualClock
) -> None:  # scenario 21
    await start(registry, "p")
    message = "process `p` event `process.cancel_requested` requires a deterministic replay key"
    await assert_append_fails(
        registry,
        clock,
        "p",
        req("process.cancel_requested", {"reason": "stop"}),
        InvalidRequest,
        message,
    )
    result = await registry.append_event(
        "p", ProcessEventAppendRequest.cancel_requested("p", "stop")
    )
    assert result.event.event_type == "process.cancel_requested"
    assert result.event.payload == {"reason": "stop"}
    assert await sequences(registry, "p") == [1]


@pytest.mark.parametrize("terminal", ["completed", "failed", "cancelled", "abandoned"])
async def test_terminal_events_require_a_replay_key(
    registry: ProcessRegistry, clock: ManualClock, terminal: str
) -> None:  # scenario 22
    await start(registry, "p")
    output = {"await_output": {"type": "success", "value": True}}
    await assert_append_fails(
        registry,
        clock,
        "p",
        req(f"process.{terminal}", output),
        InvalidRequest,
        f"process `p` event `process.{terminal}` requires a deterministic replay key",
    )
    assert not (await record_of(registry, "p")).is_terminal()


@pytest.mark.parametrize("event", ["process.completed", "process.cancel_requested"])
async def test_empty_replay_key_counts_as_missing(
    registry: ProcessRegistry, clock: ManualClock, event: str
) -> None:
    await start(registry, "p")
    await assert_append_fails(
        registry,
        clock,
        "p",
        req(event, {"await_output": {"type": "success", "value": 1}}, ""),
        InvalidRequest,
        f"process `p` event `{event}` requires a deterministic replay key",
    )


async def test_custom_terminal_types_also_require_a_replay_key(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    await start(registry, "p", terminal_type("job.done", "completed"))
    await assert_append_fails(
        registry,
        clock,
        "p",
        req("job.done", {"ok": True}),
        InvalidRequest,
        "process `p` event `job.done` requires a deterministic replay key",
    )


async def test_non_terminal_events_need_no_replay_key(registry: ProcessRegistry) -> None:
    await start(registry, "p", line_type())
    await registry.append_event("p", req("producer.line", {"line": "a"}))
    await registry.append_event("p", req("process.waiting", {"on": "x"}))
    await registry.append_event("p", req("process.resumed"))
    assert await sequences(registry, "p") == [1, 2, 3]


async def test_undeclared_type_is_checked_before_the_replay_key_requirement(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    await start(registry, "p")
    await assert_append_fails(
        registry,
        clock,
        "p",
        req("custom.terminalish", {}),
        InvalidRequest,
        "process `p` emitted undeclared event type `custom.terminalish`",
    )


async def test_replay_key_requirement_is_checked_before_the_schema(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    await start(registry, "p", terminal_type("job.done", "completed", schema=LINE_SCHEMA))
    await assert_append_fails(
        registry,
        clock,
        "p",
        req("job.done", {"no": "line"}),
        InvalidRequest,
        "process `p` event `job.done` requires a deterministic replay key",
    )


async def test_schema_is_checked_before_selectors(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    await start(
        registry,
        "p",
        terminal_type("job.failed", "failed", {"pointer": "/line"}, schema=LINE_SCHEMA),
    )
    await assert_append_fails(
        registry,
        clock,
        "p",
        req("job.failed", {}, "k"),
        InvalidRequest,
        "invalid `job.failed` payload: ",
    )


# --- replay (§4.4 step 2) -------------------------------------------------------------------


async def test_same_key_and_payload_replays_the_stored_event(
    registry: ProcessRegistry, clock: ManualClock
) -> None:  # scenario 23
    await start(registry, "p", line_type())
    first = await registry.append_event("p", req("producer.line", {"line": "a"}, "line-1"))
    before = await snapshot(registry, "p")
    clock.advance(5_000)
    again = await registry.append_event("p", req("producer.line", {"line": "a"}, "line-1"))
    assert again.event == first.event  # original sequence and timestamp
    assert await snapshot(registry, "p") == before  # no new row, no bump, no change entry


async def test_same_key_with_different_payload_conflicts(
    registry: ProcessRegistry, clock: ManualClock
) -> None:  # scenario 23
    await start(registry, "p", line_type())
    await registry.append_event("p", req("producer.line", {"line": "a"}, "line-1"))
    await assert_append_fails(
        registry,
        clock,
        "p",
        req("producer.line", {"line": "b"}, "line-1"),
        ProcessConflict,
        "process `p` event replay key `line-1` conflicts with an existing event",
    )


async def test_same_key_with_different_event_type_conflicts(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    # The replay hash covers [event_type, payload], not just the payload.
    await start(registry, "p", line_type(), event_type("producer.other"))
    await registry.append_event("p", req("producer.line", {"line": "a"}, "k"))
    await assert_append_fails(
        registry,
        clock,
        "p",
        req("producer.other", {"line": "a"}, "k"),
        ProcessConflict,
        "process `p` event replay key `k` conflicts with an existing event",
    )


async def test_replay_conflict_is_reported_before_any_other_check(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    await start(registry, "p", line_type())
    await registry.append_event("p", req("producer.line", {"line": "a"}, "k"))
    conflict = "process `p` event replay key `k` conflicts with an existing event"
    # an undeclared type and a schema-invalid payload under a used key: the replay lookup wins
    await assert_append_fails(
        registry,
        clock,
        "p",
        req("producer.undeclared", {"line": "a"}, "k"),
        ProcessConflict,
        conflict,
    )
    await assert_append_fails(
        registry, clock, "p", req("producer.line", {"line": 1}, "k"), ProcessConflict, conflict
    )


async def test_identical_terminal_replay_succeeds_on_terminal_row(
    registry: ProcessRegistry, clock: ManualClock
) -> None:  # scenario 25
    await start(registry, "p")
    output = SuccessOutput(value={"ok": True})
    done = await registry.complete_process("p", output)
    before = await snapshot(registry, "p")
    clock.advance(1_000)
    again = await registry.complete_process("p", output)
    assert again == done
    assert await snapshot(registry, "p") == before
    replay = await registry.append_event("p", ProcessEventAppendRequest.terminal("p", output))
    assert replay.event.sequence == 1
    assert await snapshot(registry, "p") == before


async def test_identical_non_terminal_replay_succeeds_on_terminal_row(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    await start(registry, "p", line_type())
    first = await registry.append_event("p", req("producer.line", {"line": "a"}, "k"))
    await registry.complete_process("p", SuccessOutput(value=1))
    before = await snapshot(registry, "p")
    clock.advance(1_000)
    again = await registry.append_event("p", req("producer.line", {"line": "a"}, "k"))
    assert again.event == first.event
    assert await snapshot(registry, "p") == before


async def test_replay_of_stored_terminal_repairs_a_running_row(
    registry: ProcessRegistry, clock: ManualClock, registry_target: str
) -> None:  # scenario 27
    await start(registry, "p")
    running = await record_of(registry, "p")
    output = SuccessOutput(value="done")
    clock.advance(100)
    completed = await registry.complete_process("p", output)
    [terminal] = await registry.events_after("p", 0)
    rewind_row(registry_target, running)  # crash between event insert and row update
    assert (await record_of(registry, "p")).status.state == "running"

    clock.advance(10_000)
    replay = await registry.append_event("p", ProcessEventAppendRequest.terminal("p", output))
    assert replay.event == terminal  # original sequence and time
    repaired = await record_of(registry, "p")
    assert repaired.status.state == "completed"
    assert repaired.status.await_output == output
    assert repaired.status == completed.status
    assert await sequences(registry, "p") == [1]
    assert [r.id for r in await registry.list_non_terminal()] == []


async def test_replaying_a_completion_repairs_a_running_row(
    registry: ProcessRegistry, clock: ManualClock, registry_target: str
) -> None:  # scenario 27, through complete_process
    await start(registry, "p")
    running = await record_of(registry, "p")
    output = FailureOutput.model_validate(
        {"class": "execution", "code": "boom", "message": "it broke"}
    )
    await registry.complete_process("p", output)
    rewind_row(registry_target, running)
    clock.advance(10_000)
    repaired = await registry.complete_process("p", output)
    assert repaired.status.state == "failed"
    assert repaired.status.await_output == output
    assert (await record_of(registry, "p")).status.state == "failed"
    assert await sequences(registry, "p") == [1]


# --- terminals (§4.4 steps 7, 9; §4.5; §5.10) -------------------------------------------------


async def test_complete_process_writes_one_terminal_event_and_clears_wait(
    registry: ProcessRegistry, clock: ManualClock
) -> None:  # scenario 24
    await start(registry, "p")
    wait = WaitState(
        kind=WaitKind(
            name="ready", event_type="signal.ready", key="process:p:signal.ready:1", ordinal=1
        ),
        since_ms=clock.now_ms(),
    )
    await registry.set_process_wait("p", wait)
    now = clock.advance(2_000)
    output = SuccessOutput(value={"ok": True})
    record = await registry.complete_process("p", output)
    assert record.status.state == "completed"
    assert record.status.await_output == output
    assert record.wait is None
    assert record.updated_at_ms == now
    [event] = await registry.events_after("p", 0)
    assert event.event_type == "process.completed"
    assert event.payload == {"await_output": {"type": "success", "value": {"ok": True}}}
    assert event.replay_key == "process:p:terminal:process.completed"
    assert event.semantics.terminal is not None
    assert event.semantics.terminal.await_output == output
    assert await record_of(registry, "p") == record


async def test_completing_again_differently(
    registry: ProcessRegistry, clock: ManualClock
) -> None:  # scenario 25
    await start(registry, "p")
    await registry.complete_process("p", SuccessOutput(value={"ok": True}))
    before = await snapshot(registry, "p")
    with pytest.raises(
        ProcessConflict,
        match=re.escape(
            "process `p` event replay key `process:p:terminal:process.completed` conflicts with an "
            "existing event"
        ),
    ):
        await registry.complete_process("p", SuccessOutput(value={"other": 1}))
    for other in (
        FailureOutput.model_validate({"class": "execution", "code": "x", "message": "m"}),
        CancelledOutput(message="stop"),
    ):
        clock.advance(1_000)
        with pytest.raises(ProcessConflict, match=re.escape("process `p` is already terminal")):
            await registry.complete_process("p", other)
    assert await snapshot(registry, "p") == before


async def test_different_terminal_type_on_terminal_row_is_already_terminal(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    await start(registry, "p", terminal_type("job.done", "completed"))
    await registry.complete_process("p", CancelledOutput(message="stop"))
    await assert_append_fails(
        registry,
        clock,
        "p",
        req("job.done", {"x": 1}, "job-done"),
        ProcessConflict,
        "process `p` is already terminal",
    )
    assert (await record_of(registry, "p")).status.state == "cancelled"


async def test_selector_failure_is_reported_before_already_terminal(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    await start(registry, "p", terminal_type("job.failed", "failed", {"pointer": "/error"}))
    await registry.complete_process("p", SuccessOutput(value=1))
    await assert_append_fails(
        registry,
        clock,
        "p",
        req("job.failed", {}, "job-failed"),
        InvalidRequest,
        "payload pointer `/error` did not match",
    )


async def test_non_terminal_event_accepted_on_terminal_row_and_bumps_updated_at(
    registry: ProcessRegistry, clock: ManualClock
) -> None:  # scenario 26
    await start(registry, "p", line_type())
    done = await registry.complete_process("p", SuccessOutput(value=1))
    now = clock.advance(3_000)
    result = await registry.append_event("p", req("producer.line", {"line": "late"}))
    assert result.event.sequence == 2
    cancel = await registry.append_event(
        "p", ProcessEventAppendRequest.cancel_requested("p", "too late")
    )
    assert cancel.event.sequence == 3
    after = await record_of(registry, "p")
    assert after.updated_at_ms == now > done.updated_at_ms
    assert after.status == done.status


async def test_terminal_pointer_that_does_not_resolve_aborts_the_append(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    await start(registry, "p", terminal_type("job.done", "completed", {"pointer": "/x"}))
    await assert_append_fails(
        registry,
        clock,
        "p",
        req("job.done", {"y": 1}, "done"),
        InvalidRequest,
        "payload pointer `/x` did not match",
    )
    assert not (await record_of(registry, "p")).is_terminal()


async def append_terminal(
    registry: ProcessRegistry, type_: ProcessEventType, payload: Any
) -> ProcessRecord:
    """Register `p` with `type_`, append one `type_` event, return the terminal record."""
    await start(registry, "p", type_)
    result = await registry.append_event("p", req(type_.name, payload, f"p:{type_.name}"))
    record = await record_of(registry, "p")
    assert result.event.semantics.terminal is not None
    assert result.event.semantics.terminal.await_output == record.status.await_output
    return record


@pytest.mark.parametrize(
    ("raw", "message"),
    [("disk full", "disk full"), ({"errno": 28}, '{"errno":28}'), (17, "17")],
    ids=["string", "object", "number"],
)
async def test_raw_failed_value_is_wrapped_as_process_failed(
    registry: ProcessRegistry, raw: Any, message: str
) -> None:
    record = await append_terminal(
        registry, terminal_type("job.failed", "failed", {"pointer": "/error"}), {"error": raw}
    )
    assert record.status.state == "failed"
    assert record.status.await_output == FailureOutput.model_validate(
        {"class": "execution", "code": "process_failed", "message": message, "raw": raw}
    )


@pytest.mark.parametrize(("raw", "message"), [("user stop", "user stop"), ([1, "a"], '[1,"a"]')])
async def test_raw_cancelled_value_is_wrapped(
    registry: ProcessRegistry, raw: Any, message: str
) -> None:
    record = await append_terminal(
        registry, terminal_type("job.cancelled", "cancelled", {"pointer": "/why"}), {"why": raw}
    )
    assert record.status.state == "cancelled"
    assert record.status.await_output == CancelledOutput(message=message, raw=raw)


async def test_raw_completed_value_is_wrapped_as_success(registry: ProcessRegistry) -> None:
    record = await append_terminal(
        registry, terminal_type("job.done", "completed", {"pointer": "/result"}), {"result": 42}
    )
    assert record.status.await_output == SuccessOutput(value=42)


async def test_raw_abandoned_value_is_wrapped_defensively(registry: ProcessRegistry) -> None:
    record = await append_terminal(
        registry, terminal_type("job.gone", "abandoned", {"pointer": "/x"}), {"x": "whatever"}
    )
    assert record.status.state == "abandoned"
    assert record.status.await_output == AbandonedOutput.model_validate(
        {"evidence": {"writer": "owner_drain", "epoch_ms": 0}}
    )


async def test_core_terminal_with_raw_await_output_is_wrapped(
    registry: ProcessRegistry,
) -> None:
    await start(registry, "p")
    await registry.append_event(
        "p", req("process.failed", {"await_output": "boom"}, "process:p:terminal:process.failed")
    )
    record = await record_of(registry, "p")
    assert record.status.await_output == FailureOutput.model_validate(
        {"class": "execution", "code": "process_failed", "message": "boom", "raw": "boom"}
    )


async def test_await_output_that_is_already_an_output_is_used_as_is(
    registry: ProcessRegistry,
) -> None:
    output = {"type": "failure", "class": "timeout", "code": "slow", "message": "took too long"}
    record = await append_terminal(
        registry, terminal_type("job.failed", "failed", {"pointer": "/out"}), {"out": output}
    )
    assert record.status.await_output == FailureOutput.model_validate(output)


async def test_completed_terminal_without_selector_succeeds_with_the_whole_payload(
    registry: ProcessRegistry,
) -> None:
    record = await append_terminal(
        registry, terminal_type("job.done", "completed"), {"rows": 3, "ok": True}
    )
    assert record.status.await_output == SuccessOutput(value={"rows": 3, "ok": True})


@pytest.mark.parametrize(
    ("selector", "payload", "value"),
    [
        ("payload", {"a": 1}, {"a": 1}),
        ({"const": {"fixed": True}}, {"a": 1}, {"fixed": True}),
        (
            {
                "template": {
                    "template": "line {line} #{n}",
                    "fields": {"line": {"pointer": "/line"}, "n": {"pointer": "/n"}},
                }
            },
            {"line": "done", "n": 7},
            "line done #7",
        ),
        ({"present": "/flag"}, {"flag": None}, True),
        ({"present": "/flag"}, {"other": 1}, False),
        ({"pointer": "/a/b/1"}, {"a": {"b": ["x", "y"]}}, "y"),
    ],
    ids=["payload", "const", "template", "present", "absent", "nested-pointer"],
)
async def test_terminal_selectors(
    registry: ProcessRegistry, selector: Any, payload: Any, value: Any
) -> None:
    record = await append_terminal(
        registry, terminal_type("job.done", "completed", selector), payload
    )
    assert record.status.await_output == SuccessOutput(value=value)


async def test_template_field_that_does_not_resolve_aborts_the_append(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    selector = {"template": {"template": "v={v}", "fields": {"v": {"pointer": "/v"}}}}
    await start(registry, "p", terminal_type("job.done", "completed", selector))
    await assert_append_fails(
        registry,
        clock,
        "p",
        req("job.done", {}, "k"),
        InvalidRequest,
        "payload pointer `/v` did not match",
    )


# --- wakes (§4.6, §5.18) ----------------------------------------------------------------------


def deploy_wake_type() -> ProcessEventType:
    return wake_type(
        "producer.line", input={"pointer": "/wake_input"}, when={"present": "/wake_input"}
    )


def expected_wake_id(scope_id: str, dedupe_key: str) -> str:
    return "wake:" + sha256_json([scope_id, dedupe_key])


async def test_wake_delivery_to_the_request_target(registry: ProcessRegistry) -> None:  # 28
    await start(registry, "p", deploy_wake_type())
    payload = {"line": "deploy failed", "wake_input": "Process event: deploy failed"}
    result = await registry.append_event(
        "p", req("producer.line", payload, target=SessionScope(session_id="s1"))
    )
    assert result.event.sequence == 1
    assert result.event.semantics.wake is not None
    assert result.event.semantics.wake.input == "Process event: deploy failed"
    delivery = result.wake_delivery
    assert delivery is not None
    assert delivery.input == "Process event: deploy failed"
    assert delivery.dedupe_key == "p:1"
    assert delivery.target_scope_id == "session:s1"
    assert delivery.target_session_id == "s1"
    assert delivery.wake_id == expected_wake_id("session:s1", "p:1")
    assert [e.sequence for e in await registry.wake_events_after("p", 0)] == [1]


async def test_wake_when_absent_gives_no_wake(registry: ProcessRegistry) -> None:
    await start(registry, "p", deploy_wake_type())
    result = await registry.append_event(
        "p", req("producer.line", {"line": "ok"}, target=SessionScope(session_id="s1"))
    )
    assert result.event.semantics.wake is None
    assert result.wake_delivery is None
    assert await registry.wake_events_after("p", 0) == []


async def test_wake_without_any_target_stores_the_event_but_delivers_nothing(
    registry: ProcessRegistry,
) -> None:  # scenario 29
    await start(registry, "p", deploy_wake_type())
    result = await registry.append_event(
        "p", req("producer.line", {"wake_input": "Process event: deploy failed"})
    )
    assert result.wake_delivery is None
    assert result.event.semantics.wake is not None
    assert await sequences(registry, "p") == [1]
    assert [e.sequence for e in await registry.wake_events_after("p", 0)] == [1]


async def test_wake_goes_to_the_record_target_unless_the_request_names_one(
    registry: ProcessRegistry,
) -> None:
    await start(
        registry,
        "p",
        deploy_wake_type(),
        wake_target=SessionScope(session_id="s2", agent_frame_id="f"),
    )
    payload = {"wake_input": "hi"}
    to_record = await registry.append_event("p", req("producer.line", payload))
    assert to_record.wake_delivery is not None
    assert to_record.wake_delivery.target_scope_id == "session:s2/frame:f"
    assert to_record.wake_delivery.target_session_id == "s2"
    to_request = await registry.append_event(
        "p", req("producer.line", payload, target=SessionScope(session_id="s3"))
    )
    assert to_request.wake_delivery is not None
    assert to_request.wake_delivery.target_scope_id == "session:s3"


async def wake_result(
    registry: ProcessRegistry, event: str, payload: Any
) -> ProcessEventAppendResult:
    return await registry.append_event(
        "p", req(event, payload, target=SessionScope(session_id="s1"))
    )


async def test_wake_matrix(registry: ProcessRegistry) -> None:  # scenario 30
    await start(
        registry,
        "p",
        wake_type("wake.never", input={"const": "never"}, when={"const": False}),
        wake_type("wake.payload", input="payload"),
        wake_type("wake.const", input={"const": "const wake"}),
        wake_type(
            "wake.template",
            input={
                "template": {
                    "template": "line {line} #{n}",
                    "fields": {"line": {"pointer": "/line"}, "n": {"pointer": "/n"}},
                }
            },
        ),
        wake_type(
            "wake.selector", input={"const": "s"}, dedupe_key={"selector": {"pointer": "/dedupe"}}
        ),
        wake_type("wake.constkey", input={"const": "c"}, dedupe_key={"const": "same-key"}),
        event_type("plain"),
    )
    never = await wake_result(registry, "wake.never", "x")  # seq 1
    assert never.event.semantics.wake is None and never.wake_delivery is None

    from_payload = await wake_result(registry, "wake.payload", "payload wake")  # seq 2
    assert from_payload.wake_delivery is not None
    assert from_payload.wake_delivery.input == "payload wake"
    assert from_payload.wake_delivery.dedupe_key == "p:2"

    const = await wake_result(registry, "wake.const", {"ignored": True})  # seq 3
    assert const.wake_delivery is not None and const.wake_delivery.input == "const wake"

    template = await wake_result(registry, "wake.template", {"line": "done", "n": 7})  # seq 4
    assert template.wake_delivery is not None
    assert template.wake_delivery.input == "line done #7"

    await wake_result(registry, "plain", {})  # seq 5: no wake semantics at all

    first = await wake_result(registry, "wake.selector", {"dedupe": "job-9"})  # seq 6
    second = await wake_result(registry, "wake.selector", {"dedupe": "job-9"})  # seq 7
    other = await wake_result(registry, "wake.selector", {"dedupe": "job-10"})  # seq 8
    assert first.wake_delivery and second.wake_delivery and other.wake_delivery
    assert first.wake_delivery.dedupe_key == "job-9"
    assert first.wake_delivery.wake_id == second.wake_delivery.wake_id
    assert first.wake_delivery.wake_id != other.wake_delivery.wake_id
    assert first.wake_delivery.sequence == 6 and second.wake_delivery.sequence == 7

    k1 = await wake_result(registry, "wake.constkey", {"a": 1})  # seq 9
    k2 = await wake_result(registry, "wake.constkey", {"a": 2})  # seq 10
    assert k1.wake_delivery and k2.wake_delivery
    assert k1.wake_delivery.dedupe_key == "same-key"
    assert (
        k1.wake_delivery.wake_id
        == k2.wake_delivery.wake_id
        == expected_wake_id("session:s1", "same-key")
    )

    listed = [e.sequence for e in await registry.wake_events_after("p", 0)]
    assert listed == [2, 3, 4, 6, 7, 8, 9, 10]


@pytest.mark.parametrize(
    ("value", "wakes"),
    [
        (None, False),
        (False, False),
        ("", False),
        ([], False),
        ({}, False),
        (True, True),
        (0, True),
        (0.5, True),
        ("x", True),
        ([0], True),
        ({"a": None}, True),
    ],
)
async def test_wake_when_truthiness(registry: ProcessRegistry, value: Any, wakes: bool) -> None:
    await start(registry, "p", wake_type("w", input={"const": "go"}, when={"pointer": "/go"}))
    result = await wake_result(registry, "w", {"go": value})
    assert (result.wake_delivery is not None) == wakes
    assert (result.event.semantics.wake is not None) == wakes


async def test_wake_input_and_dedupe_use_the_string_form_of_json_values(
    registry: ProcessRegistry,
) -> None:
    await start(
        registry,
        "p",
        wake_type("w", input={"pointer": "/obj"}, dedupe_key={"selector": {"pointer": "/n"}}),
    )
    result = await wake_result(registry, "w", {"obj": {"b": [1, 2], "a": "x"}, "n": 12})
    assert result.wake_delivery is not None
    assert json.loads(result.wake_delivery.input) == {"b": [1, 2], "a": "x"}
    assert " " not in result.wake_delivery.input  # compact JSON text
    assert result.wake_delivery.dedupe_key == "12"


async def test_wake_selector_that_does_not_resolve_aborts_the_append(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    await start(registry, "p", wake_type("w", input={"pointer": "/wake_input"}))
    await assert_append_fails(
        registry,
        clock,
        "p",
        req("w", {"line": "x"}, target=SessionScope(session_id="s1")),
        InvalidRequest,
        "payload pointer `/wake_input` did not match",
    )


async def test_acked_wakes_are_no_longer_listed(registry: ProcessRegistry) -> None:  # 31
    await start(registry, "p", wake_type("w", input="payload"))
    for text in ("one", "two", "three"):
        await registry.append_event("p", req("w", text))
    assert [e.sequence for e in await registry.wake_events_after("p", 0)] == [1, 2, 3]
    await registry.ack_wake("p", 1)
    await registry.ack_wake("p", 1)  # idempotent
    assert [e.sequence for e in await registry.wake_events_after("p", 0)] == [2, 3]
    assert [e.sequence for e in await registry.wake_events_after("p", 2)] == [3]
    assert await sequences(registry, "p") == [1, 2, 3]  # acking never deletes events


async def test_replayed_wake_event_returns_the_same_delivery(
    registry: ProcessRegistry, clock: ManualClock
) -> None:  # scenario 32
    cause = TriggerOccurrenceCause(occurrence_id="occ-1", subscription_id="sub-1")
    provenance = ProcessProvenance.host().model_copy(update={"caused_by": cause})
    await start(registry, "p", deploy_wake_type(), provenance=provenance)
    request = req(
        "producer.line",
        {"wake_input": "Process event: deploy failed"},
        "line-1",
        target=SessionScope(session_id="s1", agent_frame_id="f1"),
    )
    first = await registry.append_event("p", request)
    clock.advance(9_000)
    again = await registry.append_event("p", request)
    assert first.wake_delivery is not None and again.wake_delivery is not None
    assert again.wake_delivery == first.wake_delivery
    delivery = again.wake_delivery
    assert delivery.event_type == "producer.line"
    assert delivery.sequence == 1
    assert delivery.process_id == "p"
    assert delivery.process_caused_by == cause
    assert delivery.target_session_id == "s1"
    assert delivery.target_scope_id == "session:s1/frame:f1"
    assert delivery.created_at_ms == first.event.occurred_at_ms
    assert delivery.event_invocation == first.event.invocation
    assert await sequences(registry, "p") == [1]


# --- count_events_through / recent_events (§5.17) ---------------------------------------------


async def five_events(registry: ProcessRegistry) -> None:
    await start(registry, "p", event_type("signal.a"), event_type("b"))
    for name in ("signal.a", "b", "signal.a", "signal.a", "b"):
        await registry.append_event("p", req(name, {"n": name}))


async def test_count_events_through(registry: ProcessRegistry) -> None:  # scenario 33
    await five_events(registry)
    assert await registry.count_events_through("p", "signal.a", 5) == 3
    assert await registry.count_events_through("p", "signal.a", 3) == 2
    assert await registry.count_events_through("p", "signal.a", 1) == 1  # inclusive
    assert await registry.count_events_through("p", "b", 5) == 2
    assert await registry.count_events_through("p", "signal.zzz", 5) == 0
    with pytest.raises(UnknownProcess, match=re.escape("unknown process `nope`")):
        await registry.count_events_through("nope", "signal.a", 5)


async def test_recent_events(registry: ProcessRegistry) -> None:  # scenario 34
    await five_events(registry)
    assert [e.sequence for e in await registry.recent_events("p", 2)] == [4, 5]
    assert [e.sequence for e in await registry.recent_events("p", 100)] == [1, 2, 3, 4, 5]
    with pytest.raises(UnknownProcess, match=re.escape("unknown process `nope`")):
        await registry.recent_events("nope", 2)


# --- cancel requests (§4.7) ------------------------------------------------------------------


async def test_cancel_requests_collapse_by_reason(registry: ProcessRegistry) -> None:  # 37
    await start(registry, "p")
    first = await registry.append_event(
        "p", ProcessEventAppendRequest.cancel_requested("p", "stop")
    )
    second = await registry.append_event(
        "p", ProcessEventAppendRequest.cancel_requested("p", "stop")
    )
    third = await registry.append_event(
        "p", ProcessEventAppendRequest.cancel_requested("p", "other")
    )
    assert (first.event.sequence, second.event.sequence, third.event.sequence) == (1, 1, 2)
    events: list[ProcessEvent] = await registry.events_after("p", 0)
    assert [e.event_type for e in events] == ["process.cancel_requested"] * 2
    assert [e.payload for e in events] == [{"reason": "stop"}, {"reason": "other"}]
    assert not (await record_of(registry, "p")).is_terminal()


async def test_cancel_request_replay_key_follows_the_lash_convention(
    registry: ProcessRegistry,
) -> None:
    await start(registry, "p")
    result = await registry.append_event(
        "p", ProcessEventAppendRequest.cancel_requested("p", "stop")
    )
    digest = sha256_json(["process.cancel_requested", {"reason": "stop"}])
    assert result.event.replay_key == f"process:p:cancel_requested:{digest}"
