"""Turning an appended payload into event semantics (semantics §4.5, §4.6).

Pure functions: the store calls them inside its write transaction, and a selector that does
not resolve aborts the append with lash's message before anything is written.
"""

from pydantic import TypeAdapter, ValidationError

from lashtui.errors import InvalidRequest
from lashtui.model.event import (
    MaterializedTerminal,
    MaterializedWake,
    ProcessEventSemantics,
    ProcessWakeDelivery,
    RuntimeInvocation,
)
from lashtui.model.event_type import (
    ConstDedupeKey,
    ConstSelector,
    PointerSelector,
    PresentSelector,
    ProcessEventType,
    ProcessValueSelector,
    ProcessWakeDedupeKey,
    ProcessWakeSpec,
    SelectorDedupeKey,
    TemplateSelector,
)
from lashtui.model.output import (
    AbandonedOutput,
    AbandonEvidence,
    AbandonWriter,
    CancelledOutput,
    ProcessAwaitOutput,
    ProcessTerminalState,
    SuccessOutput,
    failure,
)
from lashtui.model.scope import CausalRef, SessionScope
from lashtui.model.wire import JsonValue, lenient_json, sha256_hex, string_form

_OUTPUT = TypeAdapter[ProcessAwaitOutput](ProcessAwaitOutput)
_MISSING = object()


def resolve_pointer(value: JsonValue, pointer: str) -> object:
    """RFC 6901 lookup; `_MISSING` when any step does not exist."""
    if pointer == "":
        return value
    if not pointer.startswith("/"):
        return _MISSING
    current: object = value
    for raw in pointer[1:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(current, dict):
            if token not in current:
                return _MISSING
            current = current[token]
        elif isinstance(current, list) and token.isdigit() and int(token) < len(current):
            current = current[int(token)]
        else:
            return _MISSING
    return current


def select(selector: ProcessValueSelector, payload: JsonValue) -> JsonValue:
    if selector == "payload":
        return payload
    if isinstance(selector, PointerSelector):
        found = resolve_pointer(payload, selector.pointer)
        if found is _MISSING:
            raise InvalidRequest(f"payload pointer `{selector.pointer}` did not match")
        return found  # type: ignore[return-value]
    if isinstance(selector, ConstSelector):
        return selector.const
    if isinstance(selector, PresentSelector):
        return resolve_pointer(payload, selector.present) is not _MISSING
    assert isinstance(selector, TemplateSelector)
    text = selector.template.template
    for name, field in selector.template.fields.items():
        text = text.replace("{" + name + "}", string_form(select(field, payload)))
    return text


def is_truthy(value: JsonValue) -> bool:
    """Non-null, true, any number, or a non-empty string, array or object."""
    if value is None or value is False:
        return False
    if isinstance(value, str | list | dict):
        return len(value) > 0
    return True


def materialize_terminal(
    state: ProcessTerminalState, selector: ProcessValueSelector | None, payload: JsonValue
) -> ProcessAwaitOutput:
    if selector is None:
        if state is not ProcessTerminalState.COMPLETED:
            raise InvalidRequest("failed or cancelled terminal events must declare await output")
        return SuccessOutput(value=payload)
    value = select(selector, payload)
    try:
        output = _OUTPUT.validate_python(value)
    except ValidationError:
        output = None
    if output is not None and output.terminal_state() is state:
        return output
    match state:
        case ProcessTerminalState.COMPLETED:
            return SuccessOutput(value=value)
        case ProcessTerminalState.FAILED:
            return failure("process_failed", string_form(value), raw=value)
        case ProcessTerminalState.CANCELLED:
            return CancelledOutput(message=string_form(value), raw=value)
        case ProcessTerminalState.ABANDONED:
            evidence = AbandonEvidence(writer=AbandonWriter.OWNER_DRAIN, epoch_ms=0)
            return AbandonedOutput(evidence=evidence)
    raise AssertionError(state)


def _dedupe_key(
    key: ProcessWakeDedupeKey, process_id: str, sequence: int, payload: JsonValue
) -> str:
    if key == "event_identity":
        return f"{process_id}:{sequence}"
    if isinstance(key, SelectorDedupeKey):
        return string_form(select(key.selector, payload))
    assert isinstance(key, ConstDedupeKey)
    return key.const


def materialize_wake(
    spec: ProcessWakeSpec, process_id: str, sequence: int, payload: JsonValue
) -> MaterializedWake | None:
    if spec.when is not None and not is_truthy(select(spec.when, payload)):
        return None
    return MaterializedWake(
        input=string_form(select(spec.input, payload)),
        dedupe_key=_dedupe_key(spec.dedupe_key, process_id, sequence, payload),
    )


def materialize(
    event_type: ProcessEventType, process_id: str, sequence: int, payload: JsonValue
) -> ProcessEventSemantics:
    spec = event_type.semantics
    terminal = None
    if spec.terminal is not None:
        output = materialize_terminal(spec.terminal.state, spec.terminal.await_output, payload)
        terminal = MaterializedTerminal(state=spec.terminal.state, await_output=output)
    wake = None
    if spec.wake is not None:
        wake = materialize_wake(spec.wake, process_id, sequence, payload)
    return ProcessEventSemantics(terminal=terminal, wake=wake)


def wake_delivery(
    *,
    process_id: str,
    sequence: int,
    event_type: str,
    wake: MaterializedWake | None,
    invocation: RuntimeInvocation,
    target: SessionScope | None,
    caused_by: CausalRef | None,
    created_at_ms: int,
) -> ProcessWakeDelivery | None:
    """A delivery exists only for a wake-bearing event with somewhere to go. Its id depends
    on (target scope, dedupe key) alone, so consumers can dedupe repeats."""
    if wake is None or target is None:
        return None
    scope_id = target.id()
    return ProcessWakeDelivery(
        wake_id="wake:" + sha256_hex(lenient_json([scope_id, wake.dedupe_key])),
        target_session_id=target.session_id,
        target_scope_id=scope_id,
        process_id=process_id,
        sequence=sequence,
        event_type=event_type,
        event_invocation=invocation,
        process_caused_by=caused_by,
        dedupe_key=wake.dedupe_key,
        input=wake.input,
        created_at_ms=created_at_ms,
    )
