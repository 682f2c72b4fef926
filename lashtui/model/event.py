"""The event log: events, their subjects and invocations, and the appends that write them
(semantics §4, §11.1).

A process may append only the event types it declares; what it declares (the types, their
semantics and selectors, the seven core types) is event_type.py's, and the signals' names
and keys are signal.py's.
"""

import hashlib
from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    Field,
    JsonValue,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from lashtui.errors import InvalidRequest
from lashtui.model import limit
from lashtui.model.event_type import (
    CANCEL_REQUESTED,
    CORE_EVENT_TYPES,
    PointerSelector,
    ProcessEventSemanticsSpec,
    ProcessWakeSpec,
)
from lashtui.model.output import ProcessAwaitOutput, ProcessTerminalState
from lashtui.model.scope import CausalRef, ProcessCause, SessionScope
from lashtui.model.signal import SIGNAL_PREFIX, process_signal_replay_key
from lashtui.model.wire import (
    StoredModel,
    WireModel,
    canonical_json,
    not_from_stored_json,
    omitted,
)

# What event_type.py and signal.py now own that the registry, the facade, the dashboard and
# the tests have always imported from here.
__all__ = [
    "CORE_EVENT_TYPES",
    "SIGNAL_PREFIX",
    "PointerSelector",
    "ProcessEventSemanticsSpec",
    "ProcessWakeSpec",
    "process_signal_replay_key",
]

# --- events ---------------------------------------------------------------------------------


class ReplayKey(WireModel):
    key: str


class ProcessEventSubject(WireModel):
    type: Literal["process_event"] = "process_event"
    process_id: str
    sequence: int
    event_type: str


class EffectSubject(WireModel):
    type: Literal["effect"] = "effect"
    effect_id: str
    kind: str  # lash's RuntimeEffectKind (`process`, `tool_attempt`, ...), read as text


class ProcessSubject(WireModel):
    type: Literal["process"] = "process"
    process_id: str


class TriggerOccurrenceSubject(WireModel):
    type: Literal["trigger_occurrence"] = "trigger_occurrence"
    occurrence_id: str


class SessionNodeSubject(WireModel):
    type: Literal["session_node"] = "session_node"
    node_id: str


# lash's RuntimeSubject. An event lashtui appends is always about itself (`process_event`);
# the others are read so that any invocation lash wrote decodes.
RuntimeSubject = Annotated[
    ProcessEventSubject
    | EffectSubject
    | ProcessSubject
    | TriggerOccurrenceSubject
    | SessionNodeSubject,
    Field(discriminator="type"),
]


class RuntimeScope(WireModel):
    """lash's RuntimeScope: the session an invocation ran in, and for one made inside an
    agent turn, that turn. Process events name the session `runtime`."""

    session_id: str
    turn_id: str | None = omitted()
    turn_index: int | None = omitted()
    protocol_iteration: int | None = omitted()


RUNTIME_SESSION = "runtime"


def _scope_from_stored(value: Any) -> Any:
    """lashtui before issue 21 wrote a scope as the bare string `"runtime"` (and, for a
    session-originated row, as the originator's SessionScope, which reads as a RuntimeScope
    keeping its `agent_frame_id` as an unknown field): read it as lash's shape."""
    return {"session_id": value} if value == RUNTIME_SESSION else value


class RuntimeInvocation(WireModel):
    """The causal envelope of an event: where it happened, what it is, what caused it, and
    the replay key that makes its append idempotent. lashtui writes lash's
    `{"session_id":"runtime"}` scope and a `process` cause naming the process."""

    scope: Annotated[RuntimeScope, BeforeValidator(_scope_from_stored)]
    subject: RuntimeSubject
    caused_by: CausalRef | None = omitted()
    replay: ReplayKey | None = omitted()


class MaterializedTerminal(WireModel):
    state: ProcessTerminalState
    await_output: ProcessAwaitOutput


class MaterializedWake(WireModel):
    input: str
    dedupe_key: str


class ProcessEventSemantics(WireModel):
    """Semantics computed from one event's payload: its terminal output, its wake input."""

    terminal: MaterializedTerminal | None = omitted()
    wake: MaterializedWake | None = omitted()


class SystemTime(WireModel):
    """serde's encoding of std::time::SystemTime."""

    secs_since_epoch: int
    nanos_since_epoch: int

    @classmethod
    def from_ms(cls, epoch_ms: int) -> "SystemTime":
        return cls(secs_since_epoch=epoch_ms // 1000, nanos_since_epoch=epoch_ms % 1000 * 1_000_000)

    def to_ms(self) -> int:
        return self.secs_since_epoch * 1000 + self.nanos_since_epoch // 1_000_000


class ProcessEvent(StoredModel):
    process_id: str
    sequence: int
    event_type: str
    payload: JsonValue
    invocation: RuntimeInvocation
    semantics: ProcessEventSemantics = Field(default_factory=ProcessEventSemantics)
    occurred_at: SystemTime
    # (`undecodable`, set only on the stand-in the registry reads for an event whose stored
    # JSON does not decode: `StoredModel`.)
    # True on such a stand-in whose time column holds no whole number either (another
    # program wrote it): its `occurred_at` is then a placeholder (0, 1970), and the views
    # say the time is unknown. lashtui's to set, as `undecodable` is: never read from
    # stored JSON, never written.
    time_unknown: bool = Field(default=False, exclude=True)

    @field_validator("time_unknown", mode="before")
    @classmethod
    def _time_unknown_not_from_stored_json(cls, value: object, info: ValidationInfo) -> object:
        return not_from_stored_json(value, info, False)

    @property
    def occurred_at_ms(self) -> int:
        return self.occurred_at.to_ms()

    @property
    def replay_key(self) -> str | None:
        return self.invocation.replay.key if self.invocation.replay else None


def event_payload_hash(event_type: str, payload: JsonValue) -> str:
    """What replay compares: SHA-256 of the compact JSON `[event_type, payload]`. Every
    append computes it first, so it is also where an event payload's size is refused
    (lashtui.model.limit): the text is encoded once for both. And where NaN and ±Infinity
    are refused (`canonical_json`), named where they are in the payload."""
    try:
        text = canonical_json([event_type, payload])
    except InvalidRequest:
        limit.check_finite("an event payload", payload)
        raise
    data = limit.encode_json("an event payload", text)
    return hashlib.sha256(data).hexdigest()


class ProcessEventAppendRequest(WireModel):
    event_type: str
    payload: JsonValue = None
    replay: ReplayKey | None = omitted()
    wake_target_scope: SessionScope | None = omitted()

    @classmethod
    def new(
        cls, event_type: str, payload: JsonValue = None, replay_key: str | None = None
    ) -> "ProcessEventAppendRequest":
        replay = ReplayKey(key=replay_key) if replay_key is not None else None
        try:
            return cls(event_type=event_type, payload=payload, replay=replay)
        except ValidationError:
            # pydantic refuses a payload nested past ~255 levels with a traceback's worth of
            # locations; say which limit instead (free on the way that succeeds).
            limit.check_depth("an event payload", payload)
            raise

    @classmethod
    def checked(
        cls, event_type: str, payload: JsonValue = None, replay_key: str | None = None
    ) -> "ProcessEventAppendRequest":
        """`new`, held to every limit the registry's append holds it to (`check_limits`,
        and the payload's size, NaN and text through `event_payload_hash`): what an
        operator's event is checked with before anything is asked or written, by the
        facade and by the dashboard's signal form alike."""
        request = cls.new(event_type, payload, replay_key)
        request.check_limits()
        event_payload_hash(event_type, payload)
        return request

    @classmethod
    def cancel_requested(cls, process_id: str, reason: str | None) -> "ProcessEventAppendRequest":
        """The standard cancel request; the same reason always gives the same replay key."""
        limit.check_text("a cancel reason", reason, limit.MAX_CANCEL_REASON_CHARS)
        payload: JsonValue = {"reason": reason}
        digest = event_payload_hash(CANCEL_REQUESTED, payload)
        return cls.new(CANCEL_REQUESTED, payload, f"process:{process_id}:cancel_requested:{digest}")

    @classmethod
    def terminal(
        cls,
        process_id: str,
        output: ProcessAwaitOutput,
    ) -> "ProcessEventAppendRequest":
        """The terminal event a completion appends: `{"await_output": ...}` under the
        `process:<pid>:terminal:<type>` key, so an identical completion replays."""
        event_type = output.terminal_state().event_type()
        return cls.new(
            event_type,
            {"await_output": output.model_dump(mode="json")},
            f"process:{process_id}:terminal:{event_type}",
        )

    @property
    def replay_key(self) -> str | None:
        return self.replay.key if self.replay else None

    def check_limits(self) -> None:
        """Lengths and payload depth (lashtui.model.limit); the payload's size is refused
        by `event_payload_hash`, which every append computes."""
        limit.check_text("an event type", self.event_type, limit.MAX_NAME_CHARS)
        limit.check_text("a replay key", self.replay_key, limit.MAX_KEY_CHARS)
        limit.check_depth("an event payload", self.payload)
        if self.wake_target_scope is not None:
            self.wake_target_scope.check_limits("the wake target")


def _default_wake_invocation() -> RuntimeInvocation:
    """serde's default for a delivery stored before lash recorded its event's invocation."""
    subject = ProcessEventSubject(process_id="", sequence=0, event_type="process.wake")
    return RuntimeInvocation(scope=RuntimeScope(session_id=""), subject=subject)


class ProcessWakeDelivery(WireModel):
    wake_id: str
    target_session_id: str
    target_scope_id: str
    process_id: str
    sequence: int
    event_type: str = "process.wake"
    event_invocation: RuntimeInvocation = Field(default_factory=_default_wake_invocation)
    process_caused_by: CausalRef | None = omitted()
    dedupe_key: str
    input: str
    created_at_ms: int


class ProcessEventAppendResult(WireModel):
    event: ProcessEvent
    wake_delivery: ProcessWakeDelivery | None = omitted()


_RUNTIME_SCOPE = RuntimeScope(session_id=RUNTIME_SESSION)


def event_invocation(
    process_id: str,
    sequence: int,
    event_type: str,
    replay_key: str | None,
) -> RuntimeInvocation:
    """The invocation lash's `process_event_invocation` builds for an appended event."""
    return RuntimeInvocation(
        scope=_RUNTIME_SCOPE,
        subject=ProcessEventSubject(
            process_id=process_id, sequence=sequence, event_type=event_type
        ),
        caused_by=ProcessCause(process_id=process_id),
        replay=ReplayKey(key=replay_key) if replay_key is not None else None,
    )
