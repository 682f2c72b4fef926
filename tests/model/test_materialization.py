"""Selectors and terminal/wake materialization, as pure functions (semantics §4.5-§4.6)."""

from __future__ import annotations

import re

import pytest
from pydantic import JsonValue

from lashtui.errors import InvalidRequest
from lashtui.model import (
    AbandonedOutput,
    CancelledOutput,
    ConstSelector,
    FailureOutput,
    PointerSelector,
    PresentSelector,
    ProcessTemplate,
    ProcessTerminalState,
    ProcessWakeSpec,
    SuccessOutput,
    TemplateSelector,
)
from lashtui.model.materialization import is_truthy, materialize_terminal, materialize_wake, select


def test_selectors() -> None:
    payload: JsonValue = {"a": {"b": [10, 20]}, "s": "x~y", "sl/ash": 1}
    assert select("payload", payload) == payload
    assert select(PointerSelector(pointer="/a/b/1"), payload) == 20
    assert select(PointerSelector(pointer="/sl~1ash"), payload) == 1
    assert select(ConstSelector(const=None), payload) is None
    assert select(PresentSelector(present="/a/b"), payload) is True
    assert select(PresentSelector(present="/zzz"), payload) is False
    template = ProcessTemplate(
        template="b={b} s={s}",
        fields={"b": PointerSelector(pointer="/a/b"), "s": PointerSelector(pointer="/s")},
    )
    assert select(TemplateSelector(template=template), payload) == "b=[10,20] s=x~y"


def test_a_pointer_that_does_not_resolve_names_itself() -> None:
    with pytest.raises(InvalidRequest, match=re.escape("payload pointer `/nope` did not match")):
        select(PointerSelector(pointer="/nope"), {"a": 1})


def test_truthiness() -> None:
    values: list[JsonValue] = [None, False, "", [], {}, 0, True, "x", [0], {"a": 1}]
    assert [is_truthy(v) for v in values] == [
        False,
        False,
        False,
        False,
        False,
        True,
        True,
        True,
        True,
        True,
    ]


def test_terminal_outputs_and_raw_wrapping() -> None:
    pointer = PointerSelector(pointer="/await_output")
    failed = materialize_terminal(ProcessTerminalState.FAILED, pointer, {"await_output": {"e": 1}})
    assert isinstance(failed, FailureOutput)
    assert (failed.code, failed.message, failed.raw) == ("process_failed", '{"e":1}', {"e": 1})
    cancelled = materialize_terminal(
        ProcessTerminalState.CANCELLED, pointer, {"await_output": "stop"}
    )
    assert isinstance(cancelled, CancelledOutput) and cancelled.message == "stop"
    done = materialize_terminal(ProcessTerminalState.COMPLETED, None, {"x": 1})
    assert done == SuccessOutput(value={"x": 1})
    typed: JsonValue = {"await_output": {"type": "success", "value": 7}}
    assert materialize_terminal(ProcessTerminalState.COMPLETED, pointer, typed) == SuccessOutput(
        value=7
    )
    abandoned = materialize_terminal(ProcessTerminalState.ABANDONED, pointer, {"await_output": 1})
    assert isinstance(abandoned, AbandonedOutput)
    assert abandoned.evidence.writer == "owner_drain" and abandoned.evidence.epoch_ms == 0


def test_failed_terminal_without_selector_is_refused() -> None:
    with pytest.raises(
        InvalidRequest, match="failed or cancelled terminal events must declare await output"
    ):
        materialize_terminal(ProcessTerminalState.FAILED, None, {})


def test_wake_when_input_and_dedupe() -> None:
    spec = ProcessWakeSpec(
        when=PresentSelector(present="/wake_input"), input=PointerSelector(pointer="/wake_input")
    )
    wake = materialize_wake(spec, "p", 1, {"wake_input": "Process event: deploy failed"})
    assert wake is not None
    assert (wake.input, wake.dedupe_key) == ("Process event: deploy failed", "p:1")
    assert materialize_wake(spec, "p", 2, {"other": 1}) is None
