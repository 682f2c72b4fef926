"""The row's stored JSON (`ProcessRecord.stored_json`): for a record that declares exactly
the core event types, their JSON is made once and put last. It must hold the same JSON
value as the record's own serialisation, decode to an equal record, and leave any other
record's JSON exactly as it serialises."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings

from lashtui.model import ProcessRecord, ProcessStarted, SuccessOutput
from lashtui.model.event import CORE_EVENT_TYPES
from lashtui.model.output import ProcessStatus
from tests.builders import own
from tests.model.test_registration_hash import CASES
from tests.registry.test_prepared_completion import JSON, TEXT


def record_of(name: str) -> ProcessRecord:
    prepared, digest = CASES[name].prepare()
    return ProcessRecord.new(prepared, digest, 1_700_000_000_000)


@pytest.mark.parametrize("name", CASES)
def test_the_stored_json_is_the_records_json_value(name: str) -> None:
    record = record_of(name)
    stored = record.stored_json()
    assert json.loads(stored) == json.loads(record.model_dump_json())
    assert ProcessRecord.model_validate_json(stored) == record


def test_core_event_types_go_last_and_others_keep_the_declared_order() -> None:
    core = record_of("engine")
    assert tuple(core.event_types) == CORE_EVENT_TYPES
    assert list(json.loads(core.stored_json()))[-1] == "event_types"
    custom = record_of("custom event types")
    assert custom.stored_json() == custom.model_dump_json()


def test_a_record_with_every_optional_field_set_round_trips() -> None:
    record = record_of("session originator and wake target").model_copy(
        update={
            "first_started": ProcessStarted(owner=own("w"), started_at_ms=5),
            "status": ProcessStatus.terminal(SuccessOutput(value={"ü": [1, None]})),
        }
    )
    stored = record.stored_json()
    assert json.loads(stored) == json.loads(record.model_dump_json())
    assert ProcessRecord.model_validate_json(stored) == record


def test_a_stored_core_list_decodes_to_the_shared_core_types() -> None:
    # Read back, the core list is the shared frozen objects, not seven new ones.
    decoded = ProcessRecord.model_validate_json(record_of("engine").stored_json())
    assert all(a is b for a, b in zip(decoded.event_types, CORE_EVENT_TYPES, strict=True))


def _with_event_types(event_types: object) -> str:
    body = json.loads(record_of("engine").stored_json())
    body["event_types"] = event_types
    return json.dumps(body)


@pytest.mark.parametrize(
    "change",
    [
        "extra key",
        "reordered",
        "one missing",
        "different pointer",
    ],
)
def test_a_list_that_only_looks_core_is_validated_as_it_stands(change: str) -> None:
    # What the interning must not swallow: each of these decodes to what it says (an extra
    # key kept, the stored order kept, a different selector), never to the core objects.
    core = json.loads(record_of("engine").stored_json())["event_types"]
    varied = [dict(t) for t in core]
    if change == "extra key":
        varied[0]["note"] = "kept"
    elif change == "reordered":
        varied.reverse()
    elif change == "one missing":
        varied.pop()
    else:
        varied[3] = json.loads(json.dumps(varied[3]).replace("/await_output", "/other"))
    decoded = ProcessRecord.model_validate_json(_with_event_types(varied))
    assert [t.model_dump(mode="json") for t in decoded.event_types] == varied
    assert not any(a is b for a, b in zip(decoded.event_types, CORE_EVENT_TYPES, strict=False))


# --- reading it back: `ProcessRecord.from_stored_json` must be `model_validate_json`


def _same_decode(text: str) -> None:
    """Both decodes give an equal record (fields, which were set, extras) or both refuse."""
    try:
        expected = ProcessRecord.model_validate_json(text)
    except ValueError as error:
        with pytest.raises(type(error)) as raised:
            ProcessRecord.from_stored_json(text)
        assert str(raised.value) == str(error)
        return
    decoded = ProcessRecord.from_stored_json(text)
    assert decoded == expected
    assert decoded.model_fields_set == expected.model_fields_set
    assert decoded.model_extra == expected.model_extra
    if all(a is b for a, b in zip(expected.event_types, CORE_EVENT_TYPES, strict=False)):
        # the shared core objects, as the full decode interns them (`_only_core` then
        # tells them by identity)
        assert all(a is b for a, b in zip(decoded.event_types, expected.event_types, strict=True))


def _ending(name: str = "engine") -> tuple[str, str]:
    """A stored record with the core types last, split before its `"event_types"` member."""
    stored = record_of(name).stored_json()
    at = stored.rindex(',"event_types":')
    return stored[:at], stored[at:]


@pytest.mark.parametrize("name", CASES)
def test_every_stored_record_reads_back_as_the_models_read_it(name: str) -> None:
    _same_decode(record_of(name).stored_json())


@pytest.mark.parametrize(
    "edit",
    [
        # an edit that appends a member after the event types (json_set's first_started)
        lambda head, tail: f'{head}{tail[:-1]},"first_started":{{"owner":{{"owner_id":"w",'
        '"incarnation_id":"w:1"}},"started_at_ms":5}}',
        # a duplicate of the key earlier on, valid and not (the last one counts)
        lambda head, tail: f'{head},"event_types":[]{tail}',
        lambda head, tail: f'{head},"event_types":7{tail}',
        lambda head, tail: f'{head},"event_\\u0074ypes":[{{"name":"x"}}]{tail}',
        # the stand-in `from_stored_json` splices in, stored by another program: a string
        lambda head, tail: f'{head},"event_types":"lashtui:core-event-types:spliced"}}',
        lambda head, tail: f'{head},"event_types":"lashtui:core-event-types:spliced"{tail}',
        lambda head, tail: f'{head}{tail[:-1]},"event_types":"lashtui:core-event-types:spliced"}}',
        # an unknown field, and one the rest does not validate with
        lambda head, tail: f'{head},"added_by_a_newer_lash":{{"a":[1]}}{tail}',
        lambda head, tail: f'{head},"created_at_ms":"soon"{tail}',
        # whitespace, a truncated text, text after the object, not JSON at all
        lambda head, tail: f"{head}{tail[:-1]} }}",
        lambda head, tail: f"{head}{tail[:-2]}}}",
        lambda head, tail: f"{head}{tail} ",
        lambda head, tail: f"[{tail[1:]}",
        lambda head, tail: tail[1:],
        lambda head, tail: "{" + tail[1:],
        # the tail inside a payload's string, and as a payload's own member
        lambda head, tail: head.replace('"payload":{}', '"payload":' + json.dumps(tail))
        + tail,
        lambda head, tail: head.replace('"payload":{}', '"payload":{"x":1' + tail) + tail,
    ],
)
def test_edited_and_hostile_texts_read_back_as_the_models_read_them(edit: object) -> None:
    head, tail = _ending()
    assert '"payload":{}' in head  # (the edits above that need it find it)
    _same_decode(edit(head, tail))  # type: ignore[operator]


@settings(max_examples=200, deadline=None)
@given(payload=JSON, label=TEXT)
def test_any_payload_reads_back_as_the_models_read_it(payload: object, label: str) -> None:
    record = record_of("engine")
    record = record.model_copy(
        update={"input": record.input.model_copy(update={"payload": payload})}
    )
    text = record.stored_json()
    _same_decode(text)
    head, tail = text[: text.rindex(',"event_types":')], text[text.rindex(',"event_types":'):]
    _same_decode(f'{head},"label_{json.dumps(label)[1:]}:{json.dumps(label)}{tail}')


def test_a_stored_core_record_is_read_without_its_event_types(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The faster path is the one taken for what `stored_json` writes (the tests above
    would pass with the full decode alone)."""
    read: list[str] = []
    full = ProcessRecord.model_validate_json

    def spy(cls: type[ProcessRecord], /, text: str, **kw: object) -> ProcessRecord:
        read.append(text)
        return full(text, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(ProcessRecord, "model_validate_json", classmethod(spy))
    # Nor is a copy made to put the core types in (~1% of a drained row, p3_budget).
    copies: list[object] = []
    monkeypatch.setattr(ProcessRecord, "model_copy", lambda *a, **kw: copies.append(a))
    record = ProcessRecord.from_stored_json(record_of("engine").stored_json())
    assert len(read) == 1 and CORE_EVENT_TYPES[0].name not in read[0] and not copies
    assert all(a is b for a, b in zip(record.event_types, CORE_EVENT_TYPES, strict=True))


def test_a_stored_record_as_bytes_reads_back_as_the_models_read_it() -> None:
    # Another program may store the JSON as a blob; the read path hands it on as bytes.
    text = record_of("engine").stored_json()
    assert ProcessRecord.from_stored_json(text.encode()) == ProcessRecord.model_validate_json(
        text.encode()
    )
