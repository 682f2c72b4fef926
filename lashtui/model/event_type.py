"""What a process declares of its events: the event types, each with its payload's schema
and its semantics (semantics §4): whether an event of it ends the process (`terminal`) or
wakes a session (`wake`), both computed from the payload through selectors; and lash's
seven core types, which every process declares.

Apart from event.py, which holds the events themselves and their appends, because a
declaration is part of a registration (record.py) and of materializing an event
(materialization.py), and reads no event.
"""

from typing import Literal

from pydantic import Field, JsonValue

from lashtui.model.output import ProcessTerminalState
from lashtui.model.schema import LashSchema
from lashtui.model.wire import ClosedWireModel, WireModel, omitted

# --- selectors: externally tagged, like serde's default enum representation ---------------


class PointerSelector(ClosedWireModel):
    pointer: str


class ConstSelector(ClosedWireModel):
    const: JsonValue


class ProcessTemplate(WireModel):
    template: str
    fields: "dict[str, ProcessValueSelector]" = Field(default_factory=dict)


class TemplateSelector(ClosedWireModel):
    template: ProcessTemplate


class PresentSelector(ClosedWireModel):
    present: str


ProcessValueSelector = (
    Literal["payload"] | PointerSelector | ConstSelector | TemplateSelector | PresentSelector
)
ProcessTemplate.model_rebuild()


class SelectorDedupeKey(ClosedWireModel):
    selector: ProcessValueSelector


class ConstDedupeKey(ClosedWireModel):
    const: str


ProcessWakeDedupeKey = Literal["event_identity"] | SelectorDedupeKey | ConstDedupeKey


class ProcessTerminalSpec(WireModel):
    state: ProcessTerminalState
    await_output: ProcessValueSelector | None = omitted()


class ProcessWakeSpec(WireModel):
    when: ProcessValueSelector | None = omitted()
    input: ProcessValueSelector
    dedupe_key: ProcessWakeDedupeKey = "event_identity"


class ProcessEventSemanticsSpec(WireModel):
    terminal: ProcessTerminalSpec | None = omitted()
    wake: ProcessWakeSpec | None = omitted()


class ProcessEventType(WireModel):
    name: str
    payload_schema: LashSchema = Field(default_factory=LashSchema.any)
    semantics: ProcessEventSemanticsSpec = Field(default_factory=ProcessEventSemanticsSpec)

    @classmethod
    def plain(cls, name: str, schema: dict[str, JsonValue] | None = None) -> "ProcessEventType":
        """A type with no semantics and the given payload schema (any when omitted)."""
        return cls(name=name, payload_schema=LashSchema(schema_=schema or {}))

    def is_terminal(self) -> bool:
        return self.semantics.terminal is not None


CANCEL_REQUESTED = "process.cancel_requested"
WAITING = "process.waiting"
RESUMED = "process.resumed"
TERMINAL_EVENT_TYPES = {state.event_type(): state for state in ProcessTerminalState}


def default_process_event_types() -> list[ProcessEventType]:
    """The seven core types every process declares (a new list each call; the types are
    frozen, so they are built once: every start and registration asks for them)."""
    return list(CORE_EVENT_TYPES)


def _core_event_types() -> tuple[ProcessEventType, ...]:
    plain = [ProcessEventType.plain(name) for name in (CANCEL_REQUESTED, WAITING, RESUMED)]
    terminal = [
        ProcessEventType(
            name=state.event_type(),
            semantics=ProcessEventSemanticsSpec(
                terminal=ProcessTerminalSpec(
                    state=state, await_output=PointerSelector(pointer="/await_output")
                )
            ),
        )
        for state in ProcessTerminalState
    ]
    return (*plain, *terminal)


CORE_EVENT_TYPES = _core_event_types()
