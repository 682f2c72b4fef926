"""What a process runs, and how it is named (semantics §3.1-§3.3).

`ProcessInput` is tagged by `type`. lashtui executes `engine` rows with a registered engine
(the built-in `steps` engine among them) and `tool_call` rows with a registered tool;
`session_turn` rows need a pluggable session runner; `external` rows are never executed.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, JsonValue

from lashtui.model.wire import WireModel, omitted


class RecoveryDisposition(StrEnum):
    """What recovery may do after the owner is lost (ADR 0019). There is no default."""

    RERUNNABLE = "rerunnable"
    OWNER_BOUND = "owner_bound"
    EXTERNALLY_OWNED = "externally_owned"


class PreparedToolCall(WireModel):
    """The minimal prepared tool call: lash's richer fields are kept as they come."""

    model_config = ConfigDict(extra="allow")

    id: str
    tool_name: str
    args: JsonValue = Field(default_factory=dict)


class ToolCall(WireModel):
    type: Literal["tool_call"] = "tool_call"
    call: PreparedToolCall

    def engine_kind(self) -> str:
        return "tool"


class Engine(WireModel):
    type: Literal["engine"] = "engine"
    kind: str
    payload: JsonValue = None

    def engine_kind(self) -> str:
        return "engine"


class SessionTurn(WireModel):
    type: Literal["session_turn"] = "session_turn"
    create_request: JsonValue
    turn_input: JsonValue
    output_contract: JsonValue

    def engine_kind(self) -> str:
        return "session_turn"

    def child_session_id(self) -> str | None:
        request = self.create_request
        if isinstance(request, dict):
            value = request.get("session_id")
            if isinstance(value, str):
                return value
        return None


class External(WireModel):
    type: Literal["external"] = "external"
    metadata: JsonValue = None

    def engine_kind(self) -> str:
        return "external"


ProcessInput = Annotated[ToolCall | Engine | SessionTurn | External, Field(discriminator="type")]


def needs_execution_env(process_input: ToolCall | Engine | SessionTurn | External) -> bool:
    """tool_call and engine rows run in a captured env; session turns and externals must not."""
    return isinstance(process_input, ToolCall | Engine)


def _first_string(value: JsonValue, keys: tuple[str, ...]) -> str | None:
    if not isinstance(value, dict):
        return None
    for key in keys:
        found = value.get(key)
        if isinstance(found, str):
            return found
    return None


class ProcessIdentity(WireModel):
    """How lists and filters name a process, without decoding its input."""

    kind: str
    label: str | None = omitted()
    definition: JsonValue | None = omitted()

    @classmethod
    def from_process_input(
        cls, process_input: ToolCall | Engine | SessionTurn | External
    ) -> ProcessIdentity:
        match process_input:
            case ToolCall(call=call):
                return cls(kind="tool", label=call.tool_name)
            case Engine(kind=kind):
                return cls(kind=kind)
            case SessionTurn():
                request = process_input.create_request
                label = _first_string(request, ("capability", "usage_source"))
                return cls(kind="session_turn", label=label or process_input.child_session_id())
            case External(metadata=metadata):
                return cls(
                    kind="external", label=_first_string(metadata, ("label", "name", "title"))
                )
        raise AssertionError(f"unhandled process input {process_input!r}")
