"""The row's stored JSON (`ProcessRecord.stored_json`): for a record that declares exactly
the core event types, their JSON is made once and put last. It must hold the same JSON
value as the record's own serialisation, decode to an equal record, and leave any other
record's JSON exactly as it serialises."""

from __future__ import annotations

import json

import pytest

from lashtui.model import ProcessRecord, ProcessStarted, SuccessOutput
from lashtui.model.event import CORE_EVENT_TYPES
from lashtui.model.output import ProcessStatus
from tests.builders import own
from tests.model.test_registration_hash import CASES


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
