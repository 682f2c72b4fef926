"""What a process runs, and how it is named (semantics §3.1-§3.3).

`ProcessInput` is tagged by `type`. lashtui executes `engine` rows with a registered engine
(the built-in `steps` engine among them) and `tool_call` rows with a registered tool;
`session_turn` rows need a pluggable session runner; `external` rows are never executed.
"""

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, JsonValue, model_validator

from lashtui.model.wire import WireModel, omitted


class RecoveryDisposition(StrEnum):
    """What recovery may do after the owner is lost (ADR 0019). There is no default."""

    RERUNNABLE = "rerunnable"
    OWNER_BOUND = "owner_bound"
    EXTERNALLY_OWNED = "externally_owned"


def _is_null(value: object) -> bool:
    return value is None


class PreparedToolCall(WireModel):
    """lash's PreparedToolCall: the call's id, the tool's id and name, its args, and the
    provider's replay metadata and prepared payload when present. lashtui before issue 21
    wrote `id` for `call_id` and no `tool_id`: such a row reads with `call_id` from `id`
    and `tool_id` = its tool name, and is written back in lash's shape."""

    call_id: str = Field(validation_alias=AliasChoices("call_id", "id"))
    tool_id: str
    tool_name: str
    args: JsonValue = Field(default_factory=dict)
    replay: JsonValue | None = omitted()
    # serde: `skip_serializing_if = "Value::is_null"`, default null.
    prepared_payload: JsonValue = Field(default=None, exclude_if=_is_null)

    @model_validator(mode="before")
    @classmethod
    def _tool_id_from_name(cls, data: Any) -> Any:
        if isinstance(data, dict) and "tool_id" not in data and "tool_name" in data:
            return {**data, "tool_id": data["tool_name"]}
        return data

    @property
    def id(self) -> str:
        """The call's id (lash's `call_id`; this name is lashtui's older one)."""
        return self.call_id


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
    ) -> "ProcessIdentity":
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
