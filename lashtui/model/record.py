"""The durable row and the registration that creates it (semantics §3.5-§3.6, §3.10-§3.11;
a host's start request, §3.12, is start_request.py's).

A `ProcessRecord`'s JSON is the unit of storage: the store keeps it whole in `record_json`
and projects a few columns for queries. A `ProcessRegistration` becomes a record only after
`prepare()`: core event types added, rules checked, and its hash computed, which is what makes
a repeated start idempotent and a different start under the same id a conflict.
"""

import hashlib
import json
from collections.abc import Iterator
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, ValidationInfo, field_validator

from lashtui.errors import InvalidRequest
from lashtui.model import limit
from lashtui.model.event_type import CORE_EVENT_TYPES, ProcessEventType, default_process_event_types
from lashtui.model.input import (
    Engine,
    External,
    ProcessIdentity,
    ProcessInput,
    RecoveryDisposition,
    SessionTurn,
    ToolCall,
    needs_execution_env,
)
from lashtui.model.lease import LeaseOwnerIdentity
from lashtui.model.output import ProcessStatus
from lashtui.model.scope import ProcessProvenance, SessionScope
from lashtui.model.wire import (
    ClosedWireModel,
    JsonValue,
    StoredModel,
    WireModel,
    canonical_json,
    not_from_stored_json,
    omitted,
    sha256_hex,
)


class ExternalRef(WireModel):
    """Where an externally-owned process lives in its own backend. Set once."""

    backend: str
    id: str
    metadata: JsonValue | None = omitted()


class ProcessStarted(WireModel):
    """The first-started fact: which configured worker identity began executing, and when."""

    owner: LeaseOwnerIdentity
    started_at_ms: int


class AbandonRequest(WireModel):
    """An operator's durable, non-terminal request to abandon; the sweep reconciles it."""

    requested_by: str
    requested_at_ms: int
    reason: str | None = omitted()


class WaitKind(WireModel):
    """What a running process is parked on. lash has one kind: a signal ordinal."""

    kind: Literal["signal"] = "signal"
    name: str
    event_type: str
    key: str
    ordinal: int


class WaitState(WireModel):
    kind: WaitKind
    since_ms: int


class ProcessExecutionEnvSpec(ClosedWireModel):
    """The captured execution environment an engine or tool row runs in, content-addressed
    in the registry's env store as `process-env:sha256:<hex>`. Closed to unknown fields, as
    lash's is (`deny_unknown_fields`): its JSON is what the ref hashes."""

    plugin_options: dict[str, JsonValue] = Field(default_factory=dict)
    policy: dict[str, JsonValue] = Field(default_factory=dict)

    def stable_ref(self) -> str:
        if not self.plugin_options and not self.policy:
            return EMPTY_ENV_REF  # every engine row started without an env: most of them
        return _content_ref(self)


def _content_ref(spec: ProcessExecutionEnvSpec) -> str:
    return "process-env:sha256:" + sha256_hex(
        canonical_json(spec.model_dump(mode="json"), "an execution env")
    )


EMPTY_ENV_REF = _content_ref(ProcessExecutionEnvSpec())


_CORE_JSON = canonical_json([t.model_dump(mode="json") for t in CORE_EVENT_TYPES])
# The same list as a record's JSON writes it (fields in declaration order, not sorted).
_CORE_RECORD_JSON = "[" + ",".join(t.model_dump_json() for t in CORE_EVENT_TYPES) + "]"
_CORE_PLACEHOLDER = "lashtui:core-event-types:5f0c2a"
# The same list as JSON decodes it: what a stored record's `event_types` is compared with.
_CORE_DECODED = json.loads(_CORE_RECORD_JSON)
# How `ProcessRecord.stored_json` ends a record that declares the core types only.
_CORE_TAIL = f',"event_types":{_CORE_RECORD_JSON}}}'


def _core_interned(value: object, info: ValidationInfo) -> object:
    """A stored list that is exactly the core event types becomes the shared core objects
    instead of seven freshly validated ones: they were two thirds of reading a record
    (measured: 35 -> 17 us a record, the claim of every row a worker runs), and the record
    then passes `_only_core` by identity. Compared as decoded JSON (strings and objects
    only, so no `1 == true` coincidence): an extra key, a different schema or order, or a
    lash-written variant is validated as before. `_CORE_SPLICE` stands for them only in
    the text `from_stored_json` made and validates with `_SPLICED` (anywhere else it is a
    string, refused as one)."""
    if value.__class__ is str:
        if value == _CORE_SPLICE and info.context is _SPLICED:
            return list(CORE_EVENT_TYPES)
        return value
    if value == _CORE_DECODED:
        return list(CORE_EVENT_TYPES)
    return value


# `from_stored_json`'s stand-in for the core event types it stepped over, and the context
# that alone lets `_core_interned` read it as them.
_CORE_SPLICE = "lashtui:core-event-types:spliced"
_CORE_SPLICED_TAIL = f',"event_types":"{_CORE_SPLICE}"}}'
_SPLICED: dict[str, str] = {"event_types": _CORE_SPLICE}


def _only_core(event_types: list[ProcessEventType]) -> bool:
    """Whether these are exactly the core event types, as most processes declare: the same
    frozen objects, so the comparison is a few identity checks (equal copies decoded from
    JSON compare equal too, more slowly)."""
    return tuple(event_types) == CORE_EVENT_TYPES


class ProcessRegistration(WireModel):
    id: str
    input: ProcessInput
    disposition: RecoveryDisposition
    identity: ProcessIdentity
    event_types: list[ProcessEventType] = Field(default_factory=default_process_event_types)
    provenance: ProcessProvenance = Field(default_factory=ProcessProvenance.host)
    env_ref: str | None = omitted()
    wake_target: SessionScope | None = omitted()

    def prepare(self) -> "tuple[ProcessRegistration, str]":
        """Add missing core types, validate, and return the prepared registration with its
        hash (first failure wins, semantics §3.5). Every registration a registry stores
        comes through here, so here is where the limits are refused (lashtui.model.limit):
        the size is taken from the hashing form, encoded once for both."""
        prepared = self.with_core_event_types()
        prepared.validate_rules()
        prepared.check_limits()
        try:
            text = prepared._canonical_json()
        except InvalidRequest:
            # NaN or ±Infinity somewhere: named in the value the caller chose, where it is
            # one of them (an engine payload...), else in the registration.
            for what, value in prepared._json_values():
                limit.check_finite(what, value)
            raise
        data = limit.encode_json("a registration", text)
        return prepared, hashlib.sha256(data).hexdigest()

    def check_limits(self) -> None:
        """Lengths and JSON depth (lashtui.model.limit); the size is `prepare`'s."""
        limit.check_text("a process id", self.id, limit.MAX_ID_CHARS)
        limit.check_text("an engine kind", self.identity.kind, limit.MAX_NAME_CHARS)
        limit.check_text("a label", self.identity.label, limit.MAX_LABEL_CHARS)
        self.provenance.originator.check_limits()
        if self.wake_target is not None:
            self.wake_target.check_limits("the wake target")
        if isinstance(self.input, ToolCall):
            limit.check_text("a tool name", self.input.call.tool_name, limit.MAX_NAME_CHARS)
            limit.check_text("a tool call id", self.input.call.call_id, limit.MAX_ID_CHARS)
            limit.check_text("a tool id", self.input.call.tool_id, limit.MAX_NAME_CHARS)
        elif isinstance(self.input, Engine):
            limit.check_text("an engine kind", self.input.kind, limit.MAX_NAME_CHARS)
        limit.check_values(self._json_values())
        if not _only_core(self.event_types):
            for event_type in self.event_types:
                limit.check_text("an event type", event_type.name, limit.MAX_NAME_CHARS)
            # Rare (most rows declare the core types only), so the plain dump will do; the
            # declarations' own envelope counts toward the depth.
            limit.check_depth(
                "the declared event types",
                [t.model_dump(mode="json") for t in self.event_types],
            )

    def _json_values(self) -> Iterator[tuple[str, JsonValue]]:
        """The JSON values a caller chose, each named as the refusal names it."""
        process_input = self.input
        if isinstance(process_input, Engine):
            yield "an engine payload", process_input.payload
        elif isinstance(process_input, ToolCall):
            yield "tool call args", process_input.call.args
            yield "a tool call's replay metadata", process_input.call.replay
            yield "a tool call's prepared payload", process_input.call.prepared_payload
        elif isinstance(process_input, SessionTurn):
            yield "a session turn's create request", process_input.create_request
            yield "a session turn's input", process_input.turn_input
            yield "a session turn's output contract", process_input.output_contract
        elif isinstance(process_input, External):
            yield "external metadata", process_input.metadata
        yield "an identity definition", self.identity.definition

    def _canonical_json(self) -> str:
        """The hashing form. Most registrations declare exactly the core event types, and
        those are most of the JSON: their part is made once, and spliced in where its key
        sorts (the keys before it, `disposition` and `env_ref`, hold no text a caller
        chooses, so the placeholder's first occurrence is its own). Measured: 30 -> 8 us
        per start."""
        if not _only_core(self.event_types):
            return canonical_json(self.model_dump(mode="json"), "a registration")
        body = self.model_dump(mode="json", exclude={"event_types"})
        body["event_types"] = _CORE_PLACEHOLDER
        text = canonical_json(body, "a registration")
        return text.replace(f'"{_CORE_PLACEHOLDER}"', _CORE_JSON, 1)

    def with_core_event_types(self) -> "ProcessRegistration":
        if _only_core(self.event_types):  # most registrations: nothing to add
            return self
        names = {event_type.name for event_type in self.event_types}
        missing = [t for t in default_process_event_types() if t.name not in names]
        if not missing:
            return self
        return self.model_copy(update={"event_types": [*self.event_types, *missing]})

    def validate_rules(self) -> None:
        pid = self.id
        if not pid.strip():
            raise InvalidRequest("process id must be a non-empty string")
        if needs_execution_env(self.input) and self.env_ref is None:
            raise InvalidRequest(f"process `{pid}` requires a captured execution env")
        if not needs_execution_env(self.input) and self.env_ref is not None:
            raise InvalidRequest(
                f"process `{pid}` must not capture an execution env for this input kind"
            )
        if _only_core(self.event_types):
            return  # lash's own declarations, which pass every rule below
        seen: set[str] = set()
        for event_type in self.event_types:
            if not event_type.name.strip():
                raise InvalidRequest(f"process `{pid}` declares an empty event type")
            if event_type.name in seen:
                raise InvalidRequest(
                    f"process `{pid}` declares duplicate event type `{event_type.name}`"
                )
            seen.add(event_type.name)
        for event_type in self.event_types:
            terminal = event_type.semantics.terminal
            if terminal is not None and terminal.state != "completed" and not terminal.await_output:
                raise InvalidRequest(
                    f"terminal event `{event_type.name}` for process `{pid}` must declare "
                    "await output"
                )

    def event_type(self, name: str) -> ProcessEventType | None:
        return next((t for t in self.event_types if t.name == name), None)


# What `end_undecodable` (registry/sql/process.py) saves in place of a record it could not
# decode: the stand-in's placeholders (an external input, externally owned) under this kind
# and a label naming who ended it. Such a row's input and disposition are not its own, so
# it is not run again, and the views say they are unknown, not `externally_owned`.
UNDECODABLE_KIND = "undecodable"
ENDED_UNDECODABLE_LABEL = "undecodable record, ended by "


def ended_undecodable(
    identity: ProcessIdentity, process_input: ProcessInput, disposition: RecoveryDisposition
) -> bool:
    """Whether a decoded row is one `end_undecodable` ended: all of its placeholders, not
    the kind alone (a process may be started with an engine kind of that name)."""
    return (
        identity.kind == UNDECODABLE_KIND
        and (identity.label or "").startswith(ENDED_UNDECODABLE_LABEL)
        and isinstance(process_input, External)
        and disposition is RecoveryDisposition.EXTERNALLY_OWNED
    )


class ProcessRecord(StoredModel):
    """The durable process row (semantics §3.6)."""

    id: str
    registration_hash: str
    input: ProcessInput
    disposition: RecoveryDisposition
    identity: ProcessIdentity
    # serde defaults, as lash reads a record: no event types, times 0.
    event_types: Annotated[list[ProcessEventType], BeforeValidator(_core_interned)] = Field(
        default_factory=list
    )
    provenance: ProcessProvenance
    env_ref: str | None = omitted()
    wake_target: SessionScope | None = omitted()
    created_at_ms: int = 0
    updated_at_ms: int = 0
    external_ref: ExternalRef | None = omitted()
    first_started: ProcessStarted | None = omitted()
    abandon_request: AbandonRequest | None = omitted()
    wait: WaitState | None = omitted()
    status: ProcessStatus = Field(default_factory=ProcessStatus.running)
    # (`undecodable`, set only on the stand-in the registry reads for a row whose stored
    # record does not decode: `StoredModel`; a stand-in is never saved.)
    # True on the stand-in for a row whose status column holds no state at all (another
    # program wrote `'zombie'` or a blob there: sql/decoded_row.py `StatusMismatch`). Such a
    # stand-in's `status` is a placeholder (its record's state, or a failure when the
    # record does not decode either): every filter but `any` leaves the row out, the census
    # counts it apart, status order sorts it last, and the views say "no state". lashtui's
    # to set, as `undecodable` is: never read from stored JSON, never written.
    no_state: bool = Field(default=False, exclude=True)

    @field_validator("no_state", mode="before")
    @classmethod
    def _no_state_not_from_stored_json(cls, value: object, info: ValidationInfo) -> object:
        return not_from_stored_json(value, info, False)

    @classmethod
    def new(
        cls,
        prepared: ProcessRegistration,
        registration_hash: str,
        now_ms: int,
        first_started: ProcessStarted | None = None,
    ) -> "ProcessRecord":
        """The new row's record; `first_started` already in it when the caller recorded
        that fact in the insert (registry/sql/process.py `register_new`), where a copy of
        the record made to add it was ~1% of P1's instructions. (Named only when given, so
        the record's fields set is what the copy's was.)"""
        started = {} if first_started is None else {"first_started": first_started}
        return cls(
            id=prepared.id,
            registration_hash=registration_hash,
            input=prepared.input,
            disposition=prepared.disposition,
            identity=prepared.identity,
            event_types=prepared.event_types,
            provenance=prepared.provenance,
            env_ref=prepared.env_ref,
            wake_target=prepared.wake_target,
            created_at_ms=now_ms,
            updated_at_ms=now_ms,
            **started,
        )

    def stored_json(self) -> str:
        """The JSON the registry stores for a new row. Most records declare exactly the
        core event types, and those are two thirds of it: their part is made once and put
        last (measured: 11 -> 4 us a start). JSON objects are unordered, and lash's serde
        reads fields in any order; saves that edit the stored JSON in place (`save_changes`)
        already append the fields they add at its end."""
        if not _only_core(self.event_types):
            return self.model_dump_json()
        body = self.model_dump_json(exclude={"event_types"})
        return f'{body[:-1]},"event_types":{_CORE_RECORD_JSON}}}'

    @classmethod
    def from_stored_json(cls, text: str | bytes) -> "ProcessRecord":
        """`model_validate_json(text)`, the same record, faster for a text whose last member
        is exactly the core event types as `stored_json` writes them (a row started here and
        not edited since: a worker's claim decodes such rows). Those are two thirds of the
        text, and decoding them to compare (`_core_interned`) was 6.3 of a decode's 11.6 us.
        The rest is validated with a short stand-in in their place, which the validator
        reads as the shared core objects (`_core_interned`, under `_SPLICED`), as the full
        decode would: the member right before a JSON text's final `}` is the outer object's
        own (inside a string its quotes would be escaped), and where JSON repeats a key the
        last one counts. (The rest was validated alone and a copy made to put them in: the
        copy was ~1% of a drained row's instructions, benchmarks.p3_budget.) Anything else
        takes the full decode, which also makes its errors: a text that ends otherwise,
        another `"event_types"` anywhere in the rest (a payload's key of that name is only
        slower), a rest that does not validate, and bytes (a row another program stored as
        a blob, read as the read path finds it)."""
        if isinstance(text, str) and text.endswith(_CORE_TAIL):
            head = text[: -len(_CORE_TAIL)]
            if '"event_types"' not in head:
                try:
                    return cls.model_validate_json(head + _CORE_SPLICED_TAIL, context=_SPLICED)
                except ValueError:
                    pass
        return cls.model_validate_json(text)

    def is_terminal(self) -> bool:
        return self.status.is_terminal()

    def was_undecodable(self) -> bool:
        """Whether this is a row `end_undecodable` ended (`ended_undecodable`)."""
        return ended_undecodable(self.identity, self.input, self.disposition)

    def runs_on_recovery(self) -> bool:
        """Whether a worker holding its lease runs this row (semantics §8): a rerunnable row
        always, any other only if it never started."""
        return self.disposition is RecoveryDisposition.RERUNNABLE or self.first_started is None

    def originator_scope_id(self) -> str:
        return self.provenance.originator.scope_id()

    def event_type(self, name: str) -> ProcessEventType | None:
        return next((t for t in self.event_types if t.name == name), None)

    def registration(self) -> ProcessRegistration:
        """The registration this row was made from (the worker runs from it)."""
        return ProcessRegistration(
            id=self.id,
            input=self.input,
            disposition=self.disposition,
            identity=self.identity,
            event_types=self.event_types,
            provenance=self.provenance,
            env_ref=self.env_ref,
            wake_target=self.wake_target,
        )
