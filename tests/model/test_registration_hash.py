"""The registration hash's shortcut (`ProcessRegistration._canonical_json`): the core event
types' JSON made once and spliced in must give exactly the canonical JSON of the whole
registration, whatever else it holds, text that looks like the placeholder included."""

from __future__ import annotations

import pytest

from lashtui.model import (
    Engine,
    ProcessEventType,
    ProcessProvenance,
    ProcessRegistration,
    RecoveryDisposition,
    SessionOriginator,
    SessionScope,
)
from lashtui.model.record import _CORE_PLACEHOLDER
from lashtui.model.wire import canonical_json
from tests.builders import ENV_REF, ext, registration, rr

SCOPE = SessionScope(session_id="s-ü", agent_frame_id="f")

CASES = {
    "external": ext("x"),
    "engine": rr("r"),
    "session originator and wake target": registration(
        "s",
        Engine(kind="echo", payload={"z": [1, 2], "a": None, "text": "ü \\"}),
        RecoveryDisposition.OWNER_BOUND,
        provenance=ProcessProvenance(originator=SessionOriginator(scope=SCOPE)),
        wake_target=SCOPE,
        env_ref=ENV_REF,
    ),
    "the placeholder's text in the payload and the id": registration(
        f'"{_CORE_PLACEHOLDER}"',
        Engine(kind="echo", payload={"p": f'"{_CORE_PLACEHOLDER}"'}),
        RecoveryDisposition.RERUNNABLE,
        env_ref=ENV_REF,
    ),
    "custom event types": ext(
        "c", event_types=[ProcessEventType.plain("signal.approve", {"type": "object"})]
    ),
}


@pytest.mark.parametrize("name", CASES)
def test_the_spliced_hashing_form_is_the_plain_one(name: str) -> None:
    prepared, _ = CASES[name].prepare()
    assert prepared._canonical_json() == canonical_json(prepared.model_dump(mode="json"))


def test_core_types_rebuilt_from_the_wire_still_hash_the_same() -> None:
    """Equal but not the same objects (a registration decoded from JSON): the slow path,
    the same answer."""
    prepared, digest = rr("r").prepare()
    again = ProcessRegistration.model_validate_json(prepared.model_dump_json())
    assert again.prepare()[1] == digest


def test_the_core_event_types_pass_every_rule_the_shortcut_skips(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`validate_rules` and `with_core_event_types` skip their loops for a registration
    that declares exactly the core types: with the shortcut off, the same registration
    must pass and need nothing added."""
    prepared, _ = rr("r").prepare()
    monkeypatch.setattr("lashtui.model.record.CORE_EVENT_TYPES", ())
    prepared.validate_rules()
    assert prepared.with_core_event_types() is prepared
