"""Who a process relates to: session scopes, originators and provenance (semantics §2, §3.4).

Three independent edges tie a process to sessions: the immutable originator (lineage), the
wake target, and handle grants (who may address it). Scopes are compared by their canonical
scope-id strings, which is also how the store keys grants and originators.

Because grants and lenses match by scope id, two scopes with one id are one scope: a
session `v/frame:f` would see and cancel what session `v`, frame `f` holds. The rule that
keeps scope ids unique: **a session id is non-empty and contains no `/`** (the frame part
starts at the first `/` then, so a scope id names one session and frame; frame ids are free,
and lash's own registries use frames such as `root:frame:initial`). It is checked where a
scope enters (`SessionScope.checked`, called by `parse`, the facade and the command line;
the rule itself, with the scope id's grammar, is lashtui/scope.py's, which reads a scope
without pydantic), not when a stored row is decoded: a row another program wrote with
such an id still reads.
"""

from typing import Annotated, Literal

from pydantic import Field

from lashtui.errors import InvalidRequest
from lashtui.model import limit
from lashtui.model.wire import WireModel, omitted
from lashtui.scope import check_session_id, parse_scope, session_scope_id


class SessionScope(WireModel):
    """A session, optionally narrowed to one agent frame."""

    session_id: str
    agent_frame_id: str | None = omitted()

    def id(self) -> str:
        """`session:<id>`, or `session:<id>/frame:<frame>` when a non-empty frame is named."""
        return session_scope_id(self.session_id, self.agent_frame_id)

    def is_empty(self) -> bool:
        return self.session_id == ""

    def check_limits(self, what: str = "a session scope") -> None:
        """Refuse ids past `limit.MAX_SCOPE_CHARS` (see lashtui.model.limit)."""
        limit.check_text(f"{what}'s session id", self.session_id, limit.MAX_SCOPE_CHARS)
        limit.check_text(f"{what}'s frame id", self.agent_frame_id, limit.MAX_SCOPE_CHARS)

    def check_destination(self) -> None:
        """A grant transfer's destination, held to the limits the registry's transfer holds
        it to (the dashboard's form checks it before it asks, not after Yes)."""
        self.check_limits("the destination scope")

    def checked(self) -> "SessionScope":
        """This scope, if its id can name no other scope (see the module docstring); else
        an `InvalidRequest` naming the session id."""
        check_session_id(self.session_id, self.agent_frame_id)
        return self

    def root(self) -> "SessionScope":
        """The session's root scope (no frame)."""
        return SessionScope(session_id=self.session_id)

    @classmethod
    def parse(cls, scope_id: str) -> "SessionScope":
        """Read a scope id back: `session:ID` or `session:ID/frame:F` (lashtui/scope.py
        `parse_scope`: the grammar and its sentences, which the command line reads without
        the models)."""
        read = parse_scope(scope_id)
        return cls(session_id=read.session_id, agent_frame_id=read.agent_frame_id)


class HostOriginator(WireModel):
    """Started by the host itself (optionally a named host scope, ADR 0022)."""

    type: Literal["host"] = "host"
    scope: str | None = omitted()

    def scope_id(self) -> str:
        return f"host:{self.scope}" if self.scope else "host"

    def check_limits(self) -> None:
        limit.check_text("a host scope name", self.scope, limit.MAX_SCOPE_CHARS)


class SessionOriginator(WireModel):
    """Started from inside a session (and frame)."""

    type: Literal["session"] = "session"
    scope: SessionScope

    def scope_id(self) -> str:
        return self.scope.id()

    def check_limits(self) -> None:
        self.scope.check_limits("the originator scope")


ProcessOriginator = Annotated[HostOriginator | SessionOriginator, Field(discriminator="type")]


def originator_from_scope_id(scope_id: str) -> HostOriginator | SessionOriginator:
    """The originator a scope id names: `host`, `host:NAME`, `session:ID[/frame:F]`."""
    if scope_id == "host":
        return HostOriginator()
    if scope_id.startswith("host:") and len(scope_id) > len("host:"):
        return HostOriginator(scope=scope_id.removeprefix("host:"))
    if scope_id.startswith("session:"):
        return SessionOriginator(scope=SessionScope.parse(scope_id))
    raise InvalidRequest(
        f"a scope is written `host`, `session:ID` or `session:ID/frame:F`, got `{scope_id}`"
    )


# --- causes: lash's CausalRef, all seven variants (tag `type`) ------------------------------


class TurnCause(WireModel):
    type: Literal["turn"] = "turn"
    session_id: str
    turn_id: str


class EffectCause(WireModel):
    type: Literal["effect"] = "effect"
    session_id: str
    turn_id: str | None = omitted()
    effect_id: str


class ToolCallCause(WireModel):
    type: Literal["tool_call"] = "tool_call"
    session_id: str
    call_id: str


class ProcessCause(WireModel):
    type: Literal["process"] = "process"
    process_id: str


class ProcessEventCause(WireModel):
    type: Literal["process_event"] = "process_event"
    process_id: str
    sequence: int


class TriggerOccurrenceCause(WireModel):
    """lash added `subscription_id` (optional) at 43e4b822f; rows before it have none."""

    type: Literal["trigger_occurrence"] = "trigger_occurrence"
    occurrence_id: str
    subscription_id: str | None = omitted()


class SessionNodeCause(WireModel):
    type: Literal["session_node"] = "session_node"
    session_id: str
    node_id: str


CausalRef = Annotated[
    TurnCause
    | EffectCause
    | ToolCallCause
    | ProcessCause
    | ProcessEventCause
    | TriggerOccurrenceCause
    | SessionNodeCause,
    Field(discriminator="type"),
]


class ProcessProvenance(WireModel):
    """Lineage of a process: who started it and, optionally, what caused it. Immutable."""

    originator: ProcessOriginator
    caused_by: CausalRef | None = omitted()

    @classmethod
    def host(cls) -> "ProcessProvenance":
        return cls(originator=HostOriginator())
