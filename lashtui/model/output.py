"""What a process ends with: await outputs, terminal states and status (semantics §3.7-§3.9).

`ProcessStatus` is `{"state":"running"}` or a terminal state with its `await_output`.
Abandoned is a terminal only the owner's drain or the sweep can write; shown to a tool caller
it becomes a failure (`into_tool_output`), and nothing ever turns back into `abandoned`.
"""

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, JsonValue, model_validator

from lashtui.model.lease import LeaseOwnerIdentity
from lashtui.model.wire import WireModel, omitted


class ProcessLifecycleStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    ABANDONED = "abandoned"

    @property
    def is_terminal(self) -> bool:
        return self is not ProcessLifecycleStatus.RUNNING


class ProcessTerminalState(StrEnum):
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    ABANDONED = "abandoned"

    def event_type(self) -> str:
        """The core terminal event that writes this state (`process.completed`, ...)."""
        return f"process.{self.value}"

    def lifecycle(self) -> ProcessLifecycleStatus:
        return ProcessLifecycleStatus(self.value)


class ToolFailureClass(StrEnum):
    INVALID_REQUEST = "invalid_request"
    UNAVAILABLE = "unavailable"
    PERMISSION_DENIED = "permission_denied"
    TIMEOUT = "timeout"
    EXECUTION = "execution"
    EXTERNAL = "external"
    RESOURCE_LIMIT = "resource_limit"
    INTERNAL = "internal"


class AbandonWriter(StrEnum):
    """Who may write `abandoned`: the owner draining, the sweep with death proof, or the sweep
    reconciling an operator's request after the lease lapsed."""

    OWNER_DRAIN = "owner_drain"
    SWEEP = "sweep"
    RECONCILED_REQUEST = "reconciled_request"


_ABANDONED_MESSAGES = {
    AbandonWriter.OWNER_DRAIN: "process abandoned: owner drained without recording an outcome",
    AbandonWriter.SWEEP: "process abandoned: recovery observed the owner provably dead",
    AbandonWriter.RECONCILED_REQUEST: (
        "process abandoned: reconciled abandon request after the lease lapsed"
    ),
}


class AbandonEvidence(WireModel):
    writer: AbandonWriter
    owner: LeaseOwnerIdentity | None = omitted()
    epoch_ms: int


class SuccessOutput(WireModel):
    type: Literal["success"] = "success"
    value: JsonValue
    control: JsonValue | None = omitted()

    def terminal_state(self) -> ProcessTerminalState:
        return ProcessTerminalState.COMPLETED

    def into_tool_output(self) -> "ToolOutput":
        return self


class FailureOutput(WireModel):
    type: Literal["failure"] = "failure"
    class_: ToolFailureClass = Field(alias="class")
    code: str
    message: str
    raw: JsonValue | None = omitted()
    control: JsonValue | None = omitted()

    def terminal_state(self) -> ProcessTerminalState:
        return ProcessTerminalState.FAILED

    def into_tool_output(self) -> "ToolOutput":
        return self


class CancelledOutput(WireModel):
    type: Literal["cancelled"] = "cancelled"
    message: str
    raw: JsonValue | None = omitted()
    control: JsonValue | None = omitted()

    def terminal_state(self) -> ProcessTerminalState:
        return ProcessTerminalState.CANCELLED

    def into_tool_output(self) -> "ToolOutput":
        return self


class AbandonedOutput(WireModel):
    type: Literal["abandoned"] = "abandoned"
    evidence: AbandonEvidence
    control: JsonValue | None = omitted()

    def terminal_state(self) -> ProcessTerminalState:
        return ProcessTerminalState.ABANDONED

    def into_tool_output(self) -> "ToolOutput":
        """A tool can't report abandonment: it reaches callers as an external failure."""
        return FailureOutput(
            class_=ToolFailureClass.EXTERNAL,
            code="process_abandoned",
            message=_ABANDONED_MESSAGES[self.evidence.writer],
            raw=self.evidence.model_dump(mode="json"),
            control=self.control,
        )


ProcessAwaitOutput = Annotated[
    SuccessOutput | FailureOutput | CancelledOutput | AbandonedOutput,
    Field(discriminator="type"),
]
ToolOutput = SuccessOutput | FailureOutput | CancelledOutput


def failure(code: str, message: str, *, raw: JsonValue | None = None) -> FailureOutput:
    """An `execution` failure, the class every worker-written failure carries."""
    return FailureOutput(class_=ToolFailureClass.EXECUTION, code=code, message=message, raw=raw)


class ProcessStatus(WireModel):
    """`{"state":"running"}` or `{"state":<terminal>,"await_output":{...}}`."""

    state: ProcessLifecycleStatus = ProcessLifecycleStatus.RUNNING
    await_output: ProcessAwaitOutput | None = omitted()

    @classmethod
    def running(cls) -> "ProcessStatus":
        """`{"state":"running"}`: one object, shared (frozen, it cannot change). Every new
        record takes it as its default status, where building and checking one was ~1.4 us
        of each start (benchmarks.p1_budget)."""
        return _RUNNING

    @classmethod
    def terminal(
        cls, output: SuccessOutput | FailureOutput | CancelledOutput | AbandonedOutput
    ) -> "ProcessStatus":
        return cls(state=output.terminal_state().lifecycle(), await_output=output)

    @model_validator(mode="after")
    def _output_iff_terminal(self) -> "ProcessStatus":
        if self.state.is_terminal != (self.await_output is not None):
            raise ValueError("a terminal status carries an await_output; running carries none")
        output = self.await_output
        if output is not None and output.terminal_state().lifecycle() is not self.state:
            raise ValueError("the await_output does not match the terminal state")
        return self

    def is_terminal(self) -> bool:
        return self.state.is_terminal


_RUNNING = ProcessStatus()
