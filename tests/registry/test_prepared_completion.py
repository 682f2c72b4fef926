"""The terminal event of a core terminal type built without the models (sql/prepared.py
`_core_completion`): for every output and every process id it must be, byte for byte, what
the models build (`_modelled_completion`): the event's JSON, its payload hash, replay key
and sequence, the record edit and the record it leaves; and it must refuse what the models
refuse (the limits), so that the transaction's own path reports it as before."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lashtui.model import (
    AbandonedOutput,
    CancelledOutput,
    ProcessRecord,
    SuccessOutput,
    failure,
)
from lashtui.model.lease import LeaseOwnerIdentity
from lashtui.model.limit import MAX_JSON_DEPTH
from lashtui.model.output import AbandonEvidence, AbandonWriter, ProcessAwaitOutput
from lashtui.registry.sql import event_json, prepared
from lashtui.registry.sql.json_edit import JsonEdit
from lashtui.registry.sql.record_cache import RecordCache
from tests.builders import rr

NOW = 1_780_000_000_123

# JSON the way an engine returns it: text with quotes, escapes, control characters and
# characters past ASCII; integers past 32 bits; floats; nesting.
TEXT = st.text(
    alphabet=st.characters(exclude_categories=["Cs"]), max_size=12
) | st.sampled_from(['"', "\\", "\n\t\x00\x1f\x7f", "ü€𝄞", "</script>", "\u2028"])
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=12,
)


def _abandoned(epoch: int) -> AbandonedOutput:
    owner = LeaseOwnerIdentity.opaque("w", "w:1")
    evidence = AbandonEvidence(writer=AbandonWriter.OWNER_DRAIN, owner=owner, epoch_ms=epoch)
    return AbandonedOutput(evidence=evidence)


OUTPUTS = st.one_of(
    st.builds(lambda value: SuccessOutput(value=value), JSON),
    st.builds(lambda value, control: SuccessOutput(value=value, control=control), JSON, JSON),
    st.builds(lambda code, message, raw: failure(code, message, raw=raw), TEXT, TEXT, JSON),
    st.builds(lambda message, raw: CancelledOutput(message=message, raw=raw), TEXT, JSON),
    st.builds(_abandoned, st.integers(min_value=0, max_value=2**53)),
)
IDS = TEXT


def _record(pid: str) -> ProcessRecord:
    # Any id a row may hold (another program's), not only those a start accepts.
    prepared_, digest = rr("p").prepare()
    return ProcessRecord.new(prepared_, digest, 1_700_000_000_000).model_copy(update={"id": pid})


def _outcome(build: Any) -> object:
    """What a build returns, or the sentence it refuses with."""
    try:
        return build()
    except Exception as error:  # the refusal is what is compared
        return f"{type(error).__name__}: {error}"


def _both(pid: str, output: ProcessAwaitOutput, now: int, sequence: int = 0) -> tuple[Any, Any]:
    record = _record(pid)
    cache = RecordCache()
    cache.sequences[pid] = sequence
    text = record.stored_json()
    event_type = output.terminal_state().event_type()
    assert record.event_type(event_type) is prepared._CORE_TERMINALS[event_type]
    core = _outcome(
        lambda: prepared._core_completion(text, record, cache, output, event_type, now)
    )
    modelled = _outcome(lambda: prepared._modelled_completion(text, record, cache, output, now))
    return core, modelled


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pid=IDS, output=OUTPUTS, now=st.integers(0, 2**62), seq=st.integers(0, 2**31))
def test_a_core_terminal_is_built_as_the_models_build_it(
    pid: str, output: ProcessAwaitOutput, now: int, seq: int
) -> None:
    core, modelled = _both(pid, output, now, seq)
    assert core == modelled  # every field: event JSON, hash, key, sequence, edit, record


@pytest.mark.parametrize(
    "output",
    [
        SuccessOutput(value=[[[]]]),
        SuccessOutput(value={"a": {"b": 1.5e300, "c": -0.0, "d": 10**19}}),
        failure("process_failed", 'quote " and \\ and \n', raw={"ü": None}),
        CancelledOutput(message="process was cancelled: by operator"),
        _abandoned(0),
    ],
)
def test_outputs_by_hand_are_built_as_the_models_build_them(output: ProcessAwaitOutput) -> None:
    core, modelled = _both('odd "id" \\ ü\u2028', output, NOW, 41)
    assert core == modelled


def _nested(depth: int) -> object:
    value: object = 1
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("pid", "output"),
    [
        ("p", SuccessOutput(value=_nested(MAX_JSON_DEPTH + 1))),  # nested past the limit
        ("p", SuccessOutput(value="x" * (1 << 20))),  # a payload past the size limit
        ("p" * 2100, SuccessOutput(value=1)),  # a replay key past its length limit
    ],
)
def test_what_the_models_refuse_the_core_build_refuses(
    pid: str, output: ProcessAwaitOutput
) -> None:
    core, modelled = _both(pid, output, NOW)
    assert isinstance(core, str) and core == modelled


# --- the record edit: a field the stored text does not hold is not removed (json_edit.py JsonEdit)

OBJECTS = st.dictionaries(TEXT, JSON, max_size=6).filter(lambda value: "wait" not in value)
STATUS = '{"completed":{"await_output":{"type":"success","value":1}}}'


def _edited(text: str, remove: bool) -> object:
    """The terminal's edit of `text` as SQLite runs it, with or without the `json_remove`
    of `wait`, or the error it raises."""
    stored = "json_remove(?1, '$.wait')" if remove else "?1"
    with sqlite3.connect(":memory:") as conn:
        try:
            return conn.execute(
                f"SELECT json_set({stored}, '$.updated_at_ms', 7, '$.status', json(?2))",
                (text, STATUS),
            ).fetchone()[0]
        except sqlite3.Error as error:
            return str(error)


@settings(max_examples=300, deadline=None)
@given(
    value=OBJECTS,
    indent=st.sampled_from([None, 0, 2]),
    ascii_only=st.booleans(),
    spaced=st.booleans(),
)
def test_an_edit_without_the_removal_writes_the_same_bytes(
    value: dict[str, Any], indent: int | None, ascii_only: bool, spaced: bool
) -> None:
    """Any object another program may have stored, in any layout (indented, escaped or
    not): where its text does not hold `"wait"`, the edit without `json_remove` is the
    same bytes, as `JsonEdit.of` assumes when it leaves the removal out."""
    separators = (", ", ": ") if spaced else (",", ":")
    text = json.dumps(value, indent=indent, ensure_ascii=ascii_only, separators=separators)
    if '"wait"' in text:
        return  # a string value spelled `"wait"`: the edit keeps its removal
    assert _edited(text, remove=False) == _edited(text, remove=True)


@pytest.mark.parametrize(
    "text",
    [
        _record("p").stored_json(),
        # A duplicate key. (Not an escaped `wait`: SQLite 3.40 leaves it, later versions
        # may remove it; a row holding one is saved whole: json_edit.py `removes_a_field`.)
        '{"a": 1, "a": 2, "w": {"x": 1}}',
        '{"a": [1, 2.50, -0E0, 1e999]}',  # numbers kept as written
        "not json",
        "[1, 2]",
    ],
)
def test_the_edit_writes_the_same_bytes_for_awkward_records(text: str) -> None:
    assert _edited(text, remove=False) == _edited(text, remove=True)


def test_the_removal_is_left_out_only_where_the_text_cannot_hold_the_field() -> None:
    record = _record("p")
    changes: dict[str, Any] = {"wait": None}
    assert "json_remove" in JsonEdit.of(record, changes).sql  # the stored text unknown
    assert "json_remove" in JsonEdit.of(record, changes, held='{"wait":null}').sql
    assert "json_remove" in JsonEdit.of(record, changes, held='{"label":"wait"}').sql
    assert "json_remove" not in JsonEdit.of(record, changes, held=record.stored_json()).sql


# --- a string's JSON without the models (event_json.py `string_json`)


@pytest.mark.parametrize("char", [chr(code) for code in range(128)])
def test_each_ascii_character_is_encoded_as_the_models_encode_it(char: str) -> None:
    for text in (char, f"p-{char}-1", char * 3):
        assert event_json.string_json(text) == event_json._STRING.dump_json(text).decode()


@settings(max_examples=300, deadline=None)
@given(text=st.text() | TEXT)
def test_any_text_is_encoded_as_the_models_encode_it(text: str) -> None:
    expected = _outcome(lambda: event_json._STRING.dump_json(text).decode())
    assert _outcome(lambda: event_json.string_json(text)) == expected
