"""Await outputs, statuses and list filters (scenarios 9-13)."""

from __future__ import annotations

import re

import pytest
from pydantic import TypeAdapter

from lashtui.errors import InvalidRequest
from lashtui.model import (
    AbandonedOutput,
    AbandonEvidence,
    AbandonWriter,
    CancelledOutput,
    FailureOutput,
    ProcessAwaitOutput,
    ProcessListFilter,
    ProcessListMode,
    ProcessStatus,
    ProcessStatusFilter,
    ProcessTerminalState,
    SuccessOutput,
    ToolFailureClass,
)
from tests.builders import own

OUTPUT = TypeAdapter[SuccessOutput | FailureOutput | CancelledOutput | AbandonedOutput](
    ProcessAwaitOutput
)
STATUS_ERROR = (
    "processes.list status must be `running`, `completed`, `failed`, `cancelled`, "
    "`abandoned`, or `any`, got `{}`"
)


def test_failure_output_uses_lash_field_names() -> None:
    text = '{"type":"failure","class":"execution","code":"process_runtime_error","message":"boom"}'
    output = OUTPUT.validate_json(text)
    assert isinstance(output, FailureOutput)
    assert output.class_ is ToolFailureClass.EXECUTION
    assert OUTPUT.dump_json(output).decode() == text
    assert output.terminal_state() is ProcessTerminalState.FAILED


def test_success_keeps_a_null_value_on_the_wire() -> None:
    assert SuccessOutput(value=None).model_dump_json() == '{"type":"success","value":null}'


@pytest.mark.parametrize(
    ("writer", "message"),
    [
        (
            AbandonWriter.OWNER_DRAIN,
            "process abandoned: owner drained without recording an outcome",
        ),
        (AbandonWriter.SWEEP, "process abandoned: recovery observed the owner provably dead"),
        (
            AbandonWriter.RECONCILED_REQUEST,
            "process abandoned: reconciled abandon request after the lease lapsed",
        ),
    ],
)
def test_abandoned_becomes_an_external_failure_for_callers(
    writer: AbandonWriter, message: str
) -> None:  # scenario 13
    evidence = AbandonEvidence(writer=writer, owner=own("dead-owner"), epoch_ms=999)
    tool = AbandonedOutput(evidence=evidence).into_tool_output()
    assert isinstance(tool, FailureOutput)
    assert (tool.class_, tool.code, tool.message) == (
        ToolFailureClass.EXTERNAL,
        "process_abandoned",
        message,
    )
    assert tool.raw == evidence.model_dump(mode="json")


def test_other_outputs_map_to_themselves() -> None:
    for output in (SuccessOutput(value=1), CancelledOutput(message="stop")):
        assert output.into_tool_output() == output


def test_status_wire_shapes() -> None:
    assert ProcessStatus.running().model_dump_json() == '{"state":"running"}'
    done = ProcessStatus.terminal(SuccessOutput(value=True))
    assert done.model_dump_json() == (
        '{"state":"completed","await_output":{"type":"success","value":true}}'
    )
    assert done.is_terminal()


def test_the_running_status_is_one_shared_frozen_object() -> None:
    # Every new record's default status: built once, not once per start (P1).
    running = ProcessStatus.running()
    assert running is ProcessStatus.running() and running == ProcessStatus()
    assert not running.is_terminal() and running.await_output is None
    with pytest.raises(ValueError):
        running.state = ProcessStatus.terminal(SuccessOutput(value=1)).state  # type: ignore[misc]


def test_status_refuses_a_terminal_without_output() -> None:
    with pytest.raises(ValueError):
        ProcessStatus.model_validate({"state": "failed"})


def test_filter_decode_defaults_and_modes() -> None:  # scenario 9
    assert ProcessListFilter.decode({}).status is ProcessStatusFilter.RUNNING
    assert ProcessListFilter.decode({}).mode() is ProcessListMode.LIVE
    assert ProcessListFilter.decode({"status": "completed"}).mode() is ProcessListMode.ALL
    assert ProcessListFilter.decode({"status": "abandoned"}).status is ProcessStatusFilter.ABANDONED
    assert ProcessListFilter.decode({"waiting": True}).mode() is ProcessListMode.LIVE


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ({"status": "bogus"}, STATUS_ERROR.format("bogus")),
        ({"status": 5}, STATUS_ERROR.format("5")),  # port decision 5: not read as running
        ([], "processes.list expects a record of process filters"),
        ("running", "processes.list expects a record of process filters"),
        ({"foo": 1}, "processes.list unknown filter `foo`"),
        ({"waiting": "yes"}, "processes.list `waiting` filter must be a boolean"),
        ({"identity_kind": 3}, "processes.list `identity_kind` filter must be a string"),
        (
            {"created_at_start_ms": -1},
            "processes.list `created_at_start_ms` filter must be an integer",
        ),
        (
            {"created_at_end_ms": "1"},
            "processes.list `created_at_end_ms` filter must be an integer",
        ),
    ],
)
def test_filter_decode_errors(obj: object, message: str) -> None:  # scenario 10
    with pytest.raises(InvalidRequest, match=re.escape(message)):
        ProcessListFilter.decode(obj)


def test_status_filter_decode() -> None:
    assert ProcessStatusFilter.decode("any") is ProcessStatusFilter.ANY
    with pytest.raises(InvalidRequest, match=re.escape(STATUS_ERROR.format("null"))):
        ProcessStatusFilter.decode(None)
