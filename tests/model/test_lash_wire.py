"""lash's exact wire shapes at its v10 commits (5b7ce08e0, 43e4b822f), and JSON lash wrote
(issue 21): every shape reads, unknown fields are kept, and what lashtui writes is lash's.

The fixtures are registries lash itself wrote (tests/lash/fixtures/, see its README):
each test copies the file before reading it with the standard library's sqlite3.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import types
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from lashtui.errors import InvalidRequest
from lashtui.model import (
    CausalRef,
    EffectCause,
    EffectSubject,
    LeaseOwnerIdentity,
    ProcessCause,
    ProcessEvent,
    ProcessEventCause,
    ProcessEventSubject,
    ProcessExecutionEnvSpec,
    ProcessHandleDescriptor,
    ProcessProvenance,
    ProcessRecord,
    ProcessWakeDelivery,
    RuntimeInvocation,
    RuntimeScope,
    SessionNodeCause,
    ToolCallCause,
    TriggerOccurrenceCause,
    TurnCause,
)
from lashtui.model.event import PointerSelector, event_invocation
from lashtui.model.limit import MAX_JSON_BYTES, MAX_JSON_DEPTH, MAX_NAME_CHARS

FIXTURES = Path(__file__).resolve().parents[1] / "lash" / "fixtures"
CAUSES = TypeAdapter[Any](CausalRef)


def _copy(name: str, tmp_path: Path) -> Path:
    source = FIXTURES / name
    assert source.exists(), f"lash's fixture {source} is missing from the repository"
    copy = tmp_path / name
    shutil.copyfile(source, copy)
    return copy


def _rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return conn.execute(sql).fetchall()


# --- JSON lash wrote ------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["v6-agent-workbench.db"])
def test_every_event_lash_wrote_round_trips_as_the_same_json_value(
    fixture: str, tmp_path: Path
) -> None:
    rows = _rows(_copy(fixture, tmp_path), "SELECT event_json FROM process_events")
    assert len(rows) == 110
    for (text,) in rows:
        event = ProcessEvent.model_validate_json(text)
        assert json.loads(event.to_json()) == json.loads(text)


def test_the_v6_registrys_effect_causes_read_and_round_trip(tmp_path: Path) -> None:
    rows = _rows(
        _copy("v6-agent-workbench.db", tmp_path),
        "SELECT json_extract(record_json, '$.provenance.caused_by') FROM processes "
        "WHERE json_extract(record_json, '$.provenance.caused_by') IS NOT NULL",
    )
    causes = [CAUSES.validate_json(text) for (text,) in rows]
    effects = [cause for cause in causes if isinstance(cause, EffectCause)]
    assert len(effects) == 15
    assert effects[0].turn_id and effects[0].effect_id
    for (text,), cause in zip(rows, causes, strict=True):
        assert json.loads(CAUSES.dump_json(cause)) == json.loads(text)


def test_events_lash_wrote_at_v24_name_the_runtime_session(tmp_path: Path) -> None:
    rows = _rows(
        _copy("v24-durable-read.db", tmp_path),
        "SELECT json_extract(event_json, '$.invocation') FROM process_events",
    )
    for (text,) in rows:
        invocation = RuntimeInvocation.model_validate_json(text)
        assert invocation.scope == RuntimeScope(session_id="runtime")
        assert json.loads(invocation.to_json()) == json.loads(text)


# --- what lashtui writes --------------------------------------------------------------------


def test_an_appended_event_is_written_as_lash_writes_it() -> None:
    invocation = event_invocation("p", 2, "process.completed", "k")
    assert json.loads(invocation.to_json()) == {
        "scope": {"session_id": "runtime"},
        "subject": {
            "type": "process_event",
            "process_id": "p",
            "sequence": 2,
            "event_type": "process.completed",
        },
        "caused_by": {"type": "process", "process_id": "p"},
        "replay": {"key": "k"},
    }


def test_invocations_lashtui_wrote_before_issue_21_still_read() -> None:
    subject = {"type": "process_event", "process_id": "p", "sequence": 1, "event_type": "x"}
    cause = {"type": "process", "process_id": "p"}
    bare = RuntimeInvocation.model_validate(
        {"scope": "runtime", "subject": subject, "caused_by": cause}
    )
    assert bare.scope == RuntimeScope(session_id="runtime")
    session = RuntimeInvocation.model_validate(
        {
            "scope": {"session_id": "s1", "agent_frame_id": "f1"},
            "subject": subject,
            "caused_by": cause,
        }
    )
    assert session.scope.session_id == "s1"
    # The frame is no field of lash's RuntimeScope: kept, and written back.
    assert json.loads(session.to_json())["scope"] == {"session_id": "s1", "agent_frame_id": "f1"}


def test_turn_scopes_effect_subjects_and_a_missing_cause_read() -> None:
    text = (
        '{"scope":{"session_id":"s","turn_id":"t","turn_index":1,"protocol_iteration":0},'
        '"subject":{"type":"effect","effect_id":"e1","kind":"process"},'
        '"replay":{"key":"s:e1"}}'
    )
    invocation = RuntimeInvocation.model_validate_json(text)
    assert invocation.scope == RuntimeScope(
        session_id="s", turn_id="t", turn_index=1, protocol_iteration=0
    )
    assert invocation.subject == EffectSubject(effect_id="e1", kind="process")
    assert invocation.caused_by is None
    assert invocation.to_json() == text
    assert isinstance(event_invocation("p", 1, "x", None).subject, ProcessEventSubject)


@pytest.mark.parametrize(
    ("value", "model"),
    [
        ({"type": "turn", "session_id": "s", "turn_id": "t"}, TurnCause),
        ({"type": "effect", "session_id": "s", "effect_id": "e"}, EffectCause),
        ({"type": "effect", "session_id": "s", "turn_id": "t", "effect_id": "e"}, EffectCause),
        ({"type": "tool_call", "session_id": "s", "call_id": "c"}, ToolCallCause),
        ({"type": "process", "process_id": "p"}, ProcessCause),
        ({"type": "process_event", "process_id": "p", "sequence": 3}, ProcessEventCause),
        ({"type": "trigger_occurrence", "occurrence_id": "o"}, TriggerOccurrenceCause),
        (
            {"type": "trigger_occurrence", "occurrence_id": "o", "subscription_id": "s"},
            TriggerOccurrenceCause,
        ),
        ({"type": "session_node", "session_id": "s", "node_id": "n"}, SessionNodeCause),
    ],
)
def test_every_cause_lash_has_reads_and_writes_back_unchanged(
    value: dict[str, Any], model: type
) -> None:
    cause = CAUSES.validate_python(value)
    assert isinstance(cause, model)
    assert CAUSES.dump_python(cause, mode="json") == value


def test_a_provenance_without_a_cause_reads() -> None:
    provenance = ProcessProvenance.model_validate({"originator": {"type": "host"}})
    assert provenance.caused_by is None


def test_a_wake_delivery_without_its_event_fields_reads_with_lashs_defaults() -> None:
    delivery = ProcessWakeDelivery.model_validate(
        {
            "wake_id": "w",
            "target_session_id": "s",
            "target_scope_id": "session:s",
            "process_id": "p",
            "sequence": 1,
            "dedupe_key": "p:1",
            "input": "hi",
            "created_at_ms": 5,
        }
    )
    assert delivery.event_type == "process.wake"
    assert delivery.event_invocation.scope.session_id == ""


# --- unknown fields: ignored like serde, kept through a round trip, held to the limits --------


RECORD = {
    "id": "p",
    "registration_hash": "h",
    "input": {"type": "external", "metadata": None, "added_later": [1]},
    "disposition": "externally_owned",
    "identity": {"kind": "external"},
    "event_types": [],
    "provenance": {"originator": {"type": "host"}, "note": {"deep": {"er": True}}},
    "created_at_ms": 1,
    "updated_at_ms": 2,
    "status": {"state": "running"},
    "future_field": {"a": [1, {"b": None}]},
}


def test_unknown_fields_are_kept_through_a_round_trip() -> None:
    record = ProcessRecord.model_validate_json(json.dumps(RECORD))
    assert record.model_extra == {"future_field": {"a": [1, {"b": None}]}}
    assert json.loads(record.to_json()) == RECORD
    assert json.loads(record.stored_json()) == RECORD
    # ...and through an edit, as a save makes one.
    edited = record.model_copy(update={"updated_at_ms": 3})
    assert json.loads(edited.to_json()) == {**RECORD, "updated_at_ms": 3}


def test_a_record_without_lashs_defaulted_fields_reads() -> None:
    bare = {
        key: RECORD[key]
        for key in ("id", "registration_hash", "input", "disposition", "identity", "provenance")
    }
    record = ProcessRecord.model_validate(bare)
    assert (record.event_types, record.created_at_ms, record.updated_at_ms) == ([], 0, 0)
    assert record.status.state == "running"


def test_an_unknown_field_nested_past_the_limit_is_refused_at_read() -> None:
    deep: Any = "x"
    for _ in range(MAX_JSON_DEPTH + 1):
        deep = [deep]
    with pytest.raises(ValidationError, match=f"may nest at most {MAX_JSON_DEPTH} levels"):
        ProcessRecord.model_validate({**RECORD, "future_field": deep})
    fits = deep
    for _ in range(2):
        fits = fits[0]
    assert ProcessRecord.model_validate({**RECORD, "future_field": fits}).model_extra


def test_an_unknown_field_given_from_python_is_a_json_value() -> None:
    """Stored JSON holds nothing else; a model built in Python is checked for it (the
    extras' validator is made once in wire.py, not from JsonValue for each model)."""
    for value in ({1, 2}, (1, 2), b"x", {1: "a"}, [object()]):
        with pytest.raises(ValidationError, match=r"not a valid JSON value|valid string"):
            ProcessRecord.model_validate({**RECORD, "future_field": value})
    kept = ProcessRecord.model_validate({**RECORD, "future_field": {"a": [1, 2.5, None, True]}})
    assert kept.model_extra == {"future_field": {"a": [1, 2.5, None, True]}}


def test_an_unknown_field_name_is_held_to_the_name_limit() -> None:
    with pytest.raises(ValidationError, match=f"at most {MAX_NAME_CHARS} characters"):
        ProcessRecord.model_validate({**RECORD, "f" * (MAX_NAME_CHARS + 1): 1})
    with pytest.raises(ValidationError, match="NUL"):
        ProcessRecord.model_validate({**RECORD, "a\x00b": 1})


def test_externally_tagged_variants_and_the_env_spec_stay_closed() -> None:
    with pytest.raises(ValidationError):
        PointerSelector.model_validate({"pointer": "/a", "const": 1})
    with pytest.raises(ValidationError):
        ProcessExecutionEnvSpec.model_validate({"plugin_options": {}, "other": 1})


def test_unknown_fields_count_toward_a_writes_size() -> None:
    big = "x" * MAX_JSON_BYTES
    descriptor = ProcessHandleDescriptor.model_validate({"label": "l", "later": big})
    with pytest.raises(InvalidRequest, match=r"a handle's descriptor may be at most 1\.0 MiB"):
        descriptor.check_limits()
    owner = LeaseOwnerIdentity.model_validate(
        {"owner_id": "o", "incarnation_id": "i", "liveness": {"kind": "opaque", "note": big}}
    )
    with pytest.raises(InvalidRequest, match=r"a lease owner may be at most 1\.0 MiB"):
        owner.check_limits()
    ProcessHandleDescriptor.model_validate({"label": "l", "later": "small"}).check_limits()


def test_an_omitted_field_is_left_out_only_when_none_by_a_predicate_of_c() -> None:
    # pydantic calls it for every omitted field at every serialisation: a Python
    # function's frame there cost more than the test (wire.py `_is_none`).
    from lashtui.model.wire import _is_none

    assert not isinstance(_is_none, types.FunctionType)
    assert _is_none(None)
    others: tuple[object, ...] = (0, False, "", [], {}, float("nan"))
    assert not any(_is_none(value) for value in others)
