"""The terminal event of a core terminal type built without the models (sql/prepared.py
`_core_completion`): for every output and every process id it must be, byte for byte, what
the models build (`_modelled_completion`): the event's JSON, its payload hash, replay key
and sequence, the record edit and the record it leaves; and it must refuse what the models
refuse (the limits), so that the transaction's own path reports it as before."""

from __future__ import annotations

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
from lashtui.registry.sql import prepared
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
