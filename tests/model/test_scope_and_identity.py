"""Scopes, originators, identity derivation and signal names (scenarios 8, 14, 95)."""

from __future__ import annotations

import re

import pytest
from pydantic import TypeAdapter

from lashtui.errors import InvalidRequest
from lashtui.model import (
    Engine,
    External,
    HostOriginator,
    PreparedToolCall,
    ProcessIdentity,
    ProcessInput,
    ProcessOriginator,
    SessionOriginator,
    SessionScope,
    SessionTurn,
    ToolCall,
    originator_from_scope_id,
    process_signal_event_type,
    process_signal_name_from_event_type,
    process_signal_wait_key,
    validate_process_signal_name,
)


def test_session_scope_ids() -> None:  # scenario 8
    assert SessionScope(session_id="s1").id() == "session:s1"
    assert SessionScope(session_id="s1", agent_frame_id="f1").id() == "session:s1/frame:f1"
    assert SessionScope(session_id="s1", agent_frame_id="").id() == "session:s1"
    assert SessionScope(session_id="").is_empty()


def test_originator_scope_ids() -> None:
    assert HostOriginator().scope_id() == "host"
    assert HostOriginator(scope="nightly").scope_id() == "host:nightly"
    scope = SessionScope(session_id="s1", agent_frame_id="f")
    assert SessionOriginator(scope=scope).scope_id() == "session:s1/frame:f"


def test_scope_ids_parse_back() -> None:
    for scope_id in ("host", "host:nightly", "session:s1", "session:s1/frame:f1"):
        assert originator_from_scope_id(scope_id).scope_id() == scope_id


@pytest.mark.parametrize("bad", ["", "sessions:x", "session:", "session:s/frame:", "h0st"])
def test_bad_scope_ids_name_the_value(bad: str) -> None:
    with pytest.raises(InvalidRequest, match=re.escape(f"got `{bad}`")):
        originator_from_scope_id(bad)


def test_originator_union_reads_lash_json() -> None:
    adapter = TypeAdapter[HostOriginator | SessionOriginator](ProcessOriginator)
    host = adapter.validate_python({"type": "host"})
    session = adapter.validate_json(
        '{"type":"session","scope":{"session_id":"s1","agent_frame_id":"f1"}}'
    )
    assert host.scope_id() == "host"
    assert session.scope_id() == "session:s1/frame:f1"
    assert adapter.dump_json(host) == b'{"type":"host"}'


def test_identity_from_inputs() -> None:  # scenario 14
    external = ProcessIdentity.from_process_input(External(metadata={"label": "external job"}))
    assert (external.kind, external.label) == ("external", "external job")
    by_name = ProcessIdentity.from_process_input(External(metadata={"name": "n", "title": "t"}))
    assert by_name.label == "n"
    tool = ProcessIdentity.from_process_input(
        ToolCall(
            call=PreparedToolCall(
                call_id="c1", tool_id="process_echo", tool_name="process_echo", args={}
            )
        )
    )
    assert (tool.kind, tool.label) == ("tool", "process_echo")
    engine = ProcessIdentity.from_process_input(Engine(kind="steps", payload={}))
    assert (engine.kind, engine.label) == ("steps", None)
    turn = SessionTurn(create_request={"session_id": "child-1"}, turn_input={}, output_contract={})
    assert ProcessIdentity.from_process_input(turn).label == "child-1"


def test_process_input_tags_round_trip() -> None:
    adapter = TypeAdapter[ToolCall | Engine | SessionTurn | External](ProcessInput)
    for text in (
        '{"type":"engine","kind":"steps","payload":{"steps":[{"wait_signal":"approve"},{"finish":1}]}}',
        '{"type":"external","metadata":{"label":"nightly import"}}',
        '{"type":"tool_call","call":{"call_id":"call-1","tool_id":"echo-v1",'
        '"tool_name":"process_echo","args":{"value":"x"}}}',
        '{"type":"engine","kind":"noop","payload":null}',
    ):
        assert adapter.dump_json(adapter.validate_json(text)).decode() == text


def test_a_tool_call_lashtui_wrote_before_issue_21_reads_in_lashs_shape() -> None:
    adapter = TypeAdapter[ToolCall | Engine | SessionTurn | External](ProcessInput)
    old = '{"type":"tool_call","call":{"id":"call-1","tool_name":"process_echo","args":{}}}'
    read = adapter.validate_json(old)
    assert isinstance(read, ToolCall)
    call = read.call
    assert (call.call_id, call.tool_id, call.id) == ("call-1", "process_echo", "call-1")
    assert adapter.dump_json(read).decode() == (
        '{"type":"tool_call","call":{"call_id":"call-1","tool_id":"process_echo",'
        '"tool_name":"process_echo","args":{}}}'
    )


def test_signal_names_and_keys() -> None:  # scenario 95
    assert process_signal_event_type("ready") == "signal.ready"
    assert process_signal_event_type("a_b-1") == "signal.a_b-1"
    assert process_signal_name_from_event_type("signal.ready") == "ready"
    assert process_signal_name_from_event_type("process.waiting") is None
    assert process_signal_wait_key("p", "ready", 2) == "process:p:signal.ready:2"
    for bad in ("", "a.b", "ready!", "é", "a b"):
        message = (
            "process signal name must be non-empty and contain only ASCII letters, digits, "
            f"`_`, or `-`, got `{bad}`"
        )
        with pytest.raises(InvalidRequest, match=re.escape(message)):
            validate_process_signal_name(bad)
        with pytest.raises(InvalidRequest):
            process_signal_event_type(bad)


def test_signal_wait_ordinals_start_at_one() -> None:
    with pytest.raises(InvalidRequest, match="ordinal starts at 1, got 0"):
        process_signal_wait_key("p", "ready", 0)


# --- issue 16, item 3: a scope id names exactly one scope ----------------------------------


@pytest.mark.parametrize(
    ("session_id", "frame"),
    [("v/frame:f", None), ("v/frame:f", "g"), ("a/b", None), ("/", None), ("", None)],
)
def test_a_session_id_that_could_name_another_scope_is_refused_at_entry(
    session_id: str, frame: str | None
) -> None:
    scope = SessionScope(session_id=session_id, agent_frame_id=frame)  # a stored row decodes
    with pytest.raises(InvalidRequest) as refused:
        scope.checked()
    message = str(refused.value)
    assert len(message.splitlines()) == 1
    assert (f"`{session_id}`" in message) if session_id else ("must not be empty" in message)


def test_the_colliding_pair_no_longer_shares_a_scope_id_through_any_entry() -> None:
    frame = SessionScope(session_id="v", agent_frame_id="f")
    assert frame.checked() == frame
    # Written as a scope id, `session:v/frame:f` is the frame: the only reading.
    assert SessionScope.parse("session:v/frame:f") == frame
    with pytest.raises(InvalidRequest, match=re.escape("session id `a/b` contains `/`")):
        SessionScope.parse("session:a/b")
    with pytest.raises(InvalidRequest, match=re.escape("session id `v/x` contains `/`")):
        originator_from_scope_id("session:v/x/frame:f")


def test_frame_ids_are_free_as_lash_writes_them() -> None:
    # lash's own registries (fixtures/lash/v6-agent-workbench.db) name frames like this.
    scope = SessionScope(
        session_id="workbench-b1dbe1913eae4f05", agent_frame_id="root:frame:initial"
    )
    assert scope.checked().id() == "session:workbench-b1dbe1913eae4f05/frame:root:frame:initial"
    assert SessionScope.parse(scope.id()) == scope
    odd = SessionScope(session_id="s", agent_frame_id="x/frame:y")
    assert SessionScope.parse(odd.checked().id()) == odd  # the first `/frame:` splits


def test_a_stored_colliding_scope_still_decodes() -> None:
    stored = {"type": "session", "scope": {"session_id": "v/frame:f"}}
    originator = TypeAdapter(ProcessOriginator).validate_python(stored)
    assert originator.scope_id() == "session:v/frame:f"
