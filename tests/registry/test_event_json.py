"""An appended event whose type declares neither a terminal nor a wake is built as JSON
first (sql/event_json.py, event.py `_new_event_json`): for every process id, event type,
payload, replay key, sequence and time it must be, byte for byte, what the models write
(`new_event(...).model_dump_json()`), the event read back from it must equal the models'
event, and a value the models cannot encode must fail it as it fails them. Through the
store, an append returns the event it stored."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import JsonValue

from lashtui.model import (
    ProcessEventAppendRequest,
    ProcessEventType,
    ProcessRecord,
    SuccessOutput,
    default_process_event_types,
)
from lashtui.registry import ProcessRegistry
from lashtui.registry.sql import event
from tests.builders import rr
from tests.registry.test_prepared_completion import JSON, TEXT, _outcome

NOW = 1_780_000_000_123
PLAIN = ProcessEventType.plain("bench.tick")


def _record(pid: str) -> ProcessRecord:
    # Any id a row may hold (another program's), not only those a start accepts.
    prepared, digest = rr("p").prepare()
    return ProcessRecord.new(prepared, digest, 1_700_000_000_000).model_copy(update={"id": pid})


def _both(
    pid: str, event_type: str, payload: Any, key: str | None, sequence: int, now: int
) -> tuple[Any, Any]:
    """(the built event and JSON, the models' event and JSON), or what each raised."""
    record = _record(pid)
    declared = PLAIN.model_copy(update={"name": event_type})
    request = ProcessEventAppendRequest.model_construct(
        event_type=event_type, payload=payload, replay=None
    )
    if key is not None:
        request = ProcessEventAppendRequest.new(event_type, payload, key)

    def modelled() -> tuple[Any, str]:
        made = event.new_event(record, request, declared, sequence, now)
        return made, made.model_dump_json()

    built = _outcome(lambda: event._new_event_json(record, request, declared, sequence, now))
    return built, _outcome(modelled)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pid=TEXT,
    event_type=TEXT,
    payload=JSON,
    key=st.none() | TEXT,
    sequence=st.integers(1, 2**62),
    now=st.integers(0, 2**62),
)
def test_a_plain_event_is_built_as_the_models_build_it(
    pid: str, event_type: str, payload: Any, key: str | None, sequence: int, now: int
) -> None:
    built, modelled = _both(pid, event_type, payload, key, sequence, now)
    assert built == modelled  # the event read back equals the models', and the bytes match


@pytest.mark.parametrize(
    "payload",
    [
        None,
        [[[]]],
        {"a": {"b": 1.5e300, "c": -0.0, "d": 10**19, "e": -(2**63)}},
        {"quote": '" and \\ and \n', "ü": "\u2028</script>", "": [True, False, None]},
        "x" * 10_000,
    ],
)
def test_payloads_by_hand_are_built_as_the_models_build_them(payload: Any) -> None:
    built, modelled = _both('odd "id" \\ ü\u2028', "bench.tick", payload, "key:1", 41, NOW)
    assert built == modelled and not isinstance(built, str)


@pytest.mark.parametrize(
    ("pid", "payload"),
    [
        ("p", {"lone": "\udcff"}),  # a lone surrogate: the models cannot encode it
        ("p\udcff", 1),  # an id read back from bytes that are not UTF-8
    ],
)
def test_what_the_models_cannot_encode_the_build_cannot_either(pid: str, payload: Any) -> None:
    built, modelled = _both(pid, "bench.tick", payload, None, 1, NOW)
    assert isinstance(built, str) and built == modelled


def test_a_type_with_semantics_is_built_by_the_models() -> None:
    """A terminal or wake type materialises from its payload: the models build it."""
    record = _record("p")
    request = ProcessEventAppendRequest.terminal("p", SuccessOutput(value=1))
    terminal = record.event_type(request.event_type)
    assert terminal is not None and terminal.is_terminal()
    made, text = event._new_event_json(record, request, terminal, 3, NOW)
    assert made.semantics.terminal is not None
    assert text == event.new_event(record, request, terminal, 3, NOW).model_dump_json()


async def test_an_append_returns_the_event_it_stored(registry: ProcessRegistry) -> None:
    registration = rr("plain", event_types=[*default_process_event_types(), PLAIN])
    await registry.register_process(registration)
    payload: JsonValue = {"n": 1, "text": 'a "quoted" ü', "float": 0.1}
    result = await registry.append_event(
        "plain", ProcessEventAppendRequest.new("bench.tick", payload)
    )
    stored = await registry.events_after("plain", result.event.sequence - 1)
    assert stored == [result.event]
    assert result.event.payload == payload and result.event.semantics.terminal is None
