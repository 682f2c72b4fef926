"""Registering processes through the registry (semantics §3.5, §5.1; scenarios A1-A7) and the
captured execution env store (`put/get_process_execution_env`).

Covers what a new row looks like, how the seven core event types are completed after the
caller's own, the validation rules in their order with lash's exact messages (§15), idempotent
re-registration, the registration hash conflict, and that a refused registration leaves no
trace: no row, no change-feed entry.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable

import pytest

from lashtui.errors import InvalidRequest, LashError, ProcessConflict, StoreError
from lashtui.model import (
    Engine,
    External,
    PointerSelector,
    PreparedToolCall,
    ProcessEventSemanticsSpec,
    ProcessEventType,
    ProcessExecutionEnvSpec,
    ProcessRegistration,
    ProcessStatus,
    ProcessTerminalSpec,
    ProcessTerminalState,
    RecoveryDisposition,
    SessionTurn,
    ToolCall,
)
from lashtui.registry import ProcessRegistry, open_registry
from lashtui.registry.sql.store import SqlProcessRegistry
from tests.builders import ENV_REF, ext, ob, registration, rr
from tests.registry.rows import ANY, feed_end, scope, success

CORE = [
    "process.cancel_requested",
    "process.waiting",
    "process.resumed",
    "process.completed",
    "process.failed",
    "process.cancelled",
    "process.abandoned",
]
HEX64 = "[0-9a-f]{64}"


def plain(name: str) -> ProcessEventType:
    return ProcessEventType.plain(name)


def terminal_type(name: str, state: ProcessTerminalState, selector: bool) -> ProcessEventType:
    spec = ProcessTerminalSpec(
        state=state, await_output=PointerSelector(pointer="/out") if selector else None
    )
    return ProcessEventType(name=name, semantics=ProcessEventSemanticsSpec(terminal=spec))


def engine_without_env(pid: str, **kw: object) -> ProcessRegistration:
    return registration(pid, Engine(kind="echo"), RecoveryDisposition.RERUNNABLE, **kw)  # type: ignore[arg-type]


def tool_without_env(pid: str) -> ProcessRegistration:
    call = PreparedToolCall(
        call_id="call-1", tool_id="process_echo", tool_name="process_echo", args={"value": "x"}
    )
    return registration(pid, ToolCall(call=call), RecoveryDisposition.OWNER_BOUND)


def session_turn_with_env(pid: str) -> ProcessRegistration:
    turn = SessionTurn(
        create_request={"session_id": "child"}, turn_input="hi", output_contract=None
    )
    return registration(pid, turn, RecoveryDisposition.RERUNNABLE, env_ref=ENV_REF)


async def assert_nothing_written(registry: ProcessRegistry, process_id: str, cursor: int) -> None:
    assert await registry.get_process(process_id) is None
    assert await registry.processes_changed_since(cursor, 100) == ([], cursor)


# --- a new row ---------------------------------------------------------------------------------


async def test_new_row_is_running_with_no_facts_and_the_seven_core_types(registry, clock):
    # scenario 1
    record = await registry.register_process(ext("p1"))

    assert record.status == ProcessStatus.running()
    assert record.disposition is RecoveryDisposition.EXTERNALLY_OWNED
    assert record.first_started is None
    assert record.abandon_request is None
    assert record.wait is None
    assert record.external_ref is None
    assert record.created_at_ms == record.updated_at_ms == clock.now_ms()
    assert [t.name for t in record.event_types] == CORE
    assert re.fullmatch(HEX64, record.registration_hash)
    assert await registry.get_process("p1") == record


async def test_core_types_are_appended_after_the_callers_types_in_the_callers_order(registry):
    waiting = ProcessEventType.plain("process.waiting", {"type": "string"})
    declared = [plain("producer.b"), waiting, plain("producer.a")]

    record = await registry.register_process(ext("p", event_types=declared))

    assert [t.name for t in record.event_types] == [
        "producer.b",
        "process.waiting",
        "producer.a",
        "process.cancel_requested",
        "process.resumed",
        "process.completed",
        "process.failed",
        "process.cancelled",
        "process.abandoned",
    ]
    # a core type the caller declared is kept as the caller declared it
    assert record.event_types[1] == waiting


async def test_a_completed_custom_terminal_needs_no_await_output_selector(registry):
    done = terminal_type("job.done", ProcessTerminalState.COMPLETED, selector=False)
    record = await registry.register_process(ext("p", event_types=[done]))
    assert record.event_types[0] == done


async def test_rows_needing_an_env_register_with_one_and_keep_it(registry):
    engine = await registry.register_process(rr("engine"))
    turn = await registry.register_process(
        registration(
            "turn",
            SessionTurn(create_request={"session_id": "c"}, turn_input="x", output_contract=None),
            RecoveryDisposition.RERUNNABLE,
        )
    )
    assert engine.env_ref == ENV_REF
    assert turn.env_ref is None


# --- idempotent re-registration and conflicts -------------------------------------------------


async def test_registering_the_same_process_twice_returns_the_existing_record(registry, clock):
    # scenario 2
    first = await registry.register_process(ext("proc-idempotent"))
    cursor = await feed_end(registry)
    clock.advance(5_000)

    again = await registry.register_process(ext("proc-idempotent"))

    assert again == first
    assert again.registration_hash == first.registration_hash
    assert again.created_at_ms == again.updated_at_ms == first.created_at_ms
    assert await registry.get_process("proc-idempotent") == first
    assert await registry.processes_changed_since(cursor, 100) == ([], cursor)


async def test_re_registration_is_idempotent_after_the_row_has_moved_on(registry, clock):
    first = await registry.register_process(ext("p"))
    clock.advance(1_000)
    completed = await registry.complete_process("p", success())
    clock.advance(1_000)

    again = await registry.register_process(ext("p"))

    assert again == completed
    assert again.registration_hash == first.registration_hash


async def test_omitting_the_core_types_hashes_like_listing_them(registry):
    first = await registry.register_process(ext("p"))
    again = await registry.register_process(ext("p", event_types=[]))
    assert again.registration_hash == first.registration_hash


async def test_inputs_that_are_equal_as_json_are_the_same_registration(registry):
    # semantics §3.1: input equality is JSON equality, so key order does not matter
    def external(metadata: dict[str, object]) -> ProcessRegistration:
        return registration(
            "p",
            External(metadata=metadata),
            RecoveryDisposition.EXTERNALLY_OWNED,  # type: ignore[arg-type]
        )

    first = await registry.register_process(external({"label": "job", "attempt": 1}))
    again = await registry.register_process(external({"attempt": 1, "label": "job"}))

    assert again == first


async def test_re_registration_through_another_handle_is_idempotent(
    registry, registry_target, clock
):
    first = await registry.register_process(ext("p", wake_target=scope("s1", "f1")))
    clock.advance(1_000)

    async with open_registry(registry_target, clock=clock) as other:
        again = await other.register_process(ext("p", wake_target=scope("s1", "f1")))

    assert again == first


CONFLICTING: dict[str, Callable[[str], ProcessRegistration]] = {
    "extra event type": lambda pid: ext(pid, event_types=[plain("producer.wake")]),  # scenario 3
    "other disposition": lambda pid: ob(pid),
    "other input": lambda pid: registration(
        pid, External(metadata={"label": "x"}), RecoveryDisposition.EXTERNALLY_OWNED
    ),
    "other wake target": lambda pid: ext(pid, wake_target=scope("s1")),
}


@pytest.mark.parametrize("variant", CONFLICTING.values(), ids=CONFLICTING.keys())
async def test_a_different_registration_under_an_existing_id_is_a_hash_conflict(registry, variant):
    existing = await registry.register_process(ext("proc-idempotent"))
    cursor = await feed_end(registry)
    conflicting = variant("proc-idempotent")
    _, new_hash = conflicting.prepare()

    with pytest.raises(ProcessConflict) as raised:
        await registry.register_process(conflicting)

    assert str(raised.value) == (
        f"process `proc-idempotent` registration hash conflict: "
        f"existing {existing.registration_hash}, new {new_hash}"
    )
    assert re.fullmatch(HEX64, new_hash) and new_hash != existing.registration_hash
    assert await registry.get_process("proc-idempotent") == existing
    assert await registry.processes_changed_since(cursor, 100) == ([], cursor)


# --- validation, in order, with lash's messages -------------------------------------------------

INVALID: dict[str, tuple[Callable[[], ProcessRegistration], str, str]] = {
    # scenario 4
    "empty id": (lambda: ext(""), "", "process id must be a non-empty string"),
    "blank id": (lambda: ext("   "), "   ", "process id must be a non-empty string"),
    "whitespace id": (lambda: ext("\t\n"), "\t\n", "process id must be a non-empty string"),
    # scenario 5
    "engine without env": (
        lambda: engine_without_env("p"),
        "p",
        "process `p` requires a captured execution env",
    ),
    "tool call without env": (
        lambda: tool_without_env("p"),
        "p",
        "process `p` requires a captured execution env",
    ),
    "external with env": (
        lambda: ext("p", env_ref=ENV_REF),
        "p",
        "process `p` must not capture an execution env for this input kind",
    ),
    "session turn with env": (
        lambda: session_turn_with_env("p"),
        "p",
        "process `p` must not capture an execution env for this input kind",
    ),
    # scenario 6
    "duplicate type": (
        lambda: ext("p", event_types=[plain("x"), plain("x")]),
        "p",
        "process `p` declares duplicate event type `x`",
    ),
    "duplicate of a core type": (
        lambda: ext("p", event_types=[plain("process.waiting"), plain("process.waiting")]),
        "p",
        "process `p` declares duplicate event type `process.waiting`",
    ),
    "empty type name": (
        lambda: ext("p", event_types=[plain("")]),
        "p",
        "process `p` declares an empty event type",
    ),
    "blank type name": (
        lambda: ext("p", event_types=[plain("  ")]),
        "p",
        "process `p` declares an empty event type",
    ),
    # scenario 7
    "failed terminal without selector": (
        lambda: ext(
            "p", event_types=[terminal_type("job.failed", ProcessTerminalState.FAILED, False)]
        ),
        "p",
        "terminal event `job.failed` for process `p` must declare await output",
    ),
    "cancelled terminal without selector": (
        lambda: ext(
            "p",
            event_types=[terminal_type("job.stopped", ProcessTerminalState.CANCELLED, False)],
        ),
        "p",
        "terminal event `job.stopped` for process `p` must declare await output",
    ),
    # first failure wins: id, then env, then names, then terminal selectors
    "blank id beats missing env": (
        lambda: engine_without_env(" ", event_types=[plain("x"), plain("x")]),
        " ",
        "process id must be a non-empty string",
    ),
    "missing env beats duplicate names": (
        lambda: engine_without_env("p", event_types=[plain("x"), plain("x")]),
        "p",
        "process `p` requires a captured execution env",
    ),
    "forbidden env beats empty name": (
        lambda: ext("p", env_ref=ENV_REF, event_types=[plain("")]),
        "p",
        "process `p` must not capture an execution env for this input kind",
    ),
    "empty name before its duplicates": (
        lambda: ext("p", event_types=[plain(""), plain("x"), plain("x")]),
        "p",
        "process `p` declares an empty event type",
    ),
    "duplicate names beat a terminal without selector": (
        lambda: ext(
            "p",
            event_types=[
                plain("x"),
                plain("x"),
                terminal_type("job.failed", ProcessTerminalState.FAILED, False),
            ],
        ),
        "p",
        "process `p` declares duplicate event type `x`",
    ),
}


@pytest.mark.parametrize(("build", "pid", "message"), INVALID.values(), ids=INVALID.keys())
async def test_an_invalid_registration_is_refused_with_lashs_message_and_writes_nothing(
    registry, build, pid, message
):
    cursor = await feed_end(registry)

    with pytest.raises(InvalidRequest, match=f"^{re.escape(message)}$"):
        await registry.register_process(build())

    await assert_nothing_written(registry, pid, cursor)
    assert await registry.list_processes(ANY) == []


async def test_a_refused_registration_leaves_other_rows_and_the_feed_alone(registry, clock):
    existing = await registry.register_process(ext("kept"))
    cursor = await feed_end(registry)
    clock.advance(100)

    with pytest.raises(InvalidRequest):
        await registry.register_process(engine_without_env("refused"))

    await assert_nothing_written(registry, "refused", cursor)
    assert await registry.list_processes(ANY) == [existing]


# --- the captured execution env store ---------------------------------------------------------


def env(**policy: object) -> ProcessExecutionEnvSpec:
    return ProcessExecutionEnvSpec(plugin_options={"shell": {"cwd": "/srv"}}, policy=policy)  # type: ignore[arg-type]


async def test_put_env_returns_a_content_address_that_get_env_resolves(registry):
    spec = env(network=False, max_ms=1000)

    env_ref = await registry.put_process_execution_env(spec)

    assert re.fullmatch(f"process-env:sha256:{HEX64}", env_ref)
    assert await registry.get_process_execution_env(env_ref) == spec


async def test_the_empty_env_is_stored_under_the_hash_of_its_json(registry):
    # Its key is a constant (no checks, no hashing at each start): the same content address.
    canonical = b'{"plugin_options":{},"policy":{}}'
    expected = "process-env:sha256:" + hashlib.sha256(canonical).hexdigest()
    assert await registry.put_process_execution_env(ProcessExecutionEnvSpec()) == expected
    assert await registry.get_process_execution_env(expected) == ProcessExecutionEnvSpec()


async def test_equal_env_specs_get_the_same_ref_and_different_ones_do_not(registry):
    first = await registry.put_process_execution_env(env(network=False, max_ms=1000))
    same = await registry.put_process_execution_env(env(max_ms=1000, network=False))
    other = await registry.put_process_execution_env(env(network=True, max_ms=1000))

    assert same == first
    assert other != first
    assert await registry.get_process_execution_env(other) == env(network=True, max_ms=1000)


async def test_a_row_can_reference_a_stored_env(registry):
    env_ref = await registry.put_process_execution_env(env(network=False))

    record = await registry.register_process(rr("p", env_ref=env_ref))

    assert record.env_ref == env_ref
    assert await registry.get_process_execution_env(record.env_ref) == env(network=False)


async def test_an_unknown_env_ref_is_an_error_naming_it(registry):
    unknown = "process-env:sha256:" + "f" * 64
    with pytest.raises(LashError, match=re.escape(unknown)):
        await registry.get_process_execution_env(unknown)


async def test_a_closed_handle_refuses_even_an_env_it_has_stored(registry_target):
    """A handle answers envs it has stored without a read (they never change), but once
    closed it answers nothing."""
    async with open_registry(registry_target) as registry:
        env_ref = await registry.put_process_execution_env(env(network=False))
        assert await registry.get_process_execution_env(env_ref) == env(network=False)
        assert isinstance(registry, SqlProcessRegistry)
        await registry.close()
        with pytest.raises(StoreError, match="closed"):
            await registry.get_process_execution_env(env_ref)
