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
