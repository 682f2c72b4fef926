"""The read model an operator sees (semantics §3.19): a record joined with its lease facts.

Lease holder and expiry are raw facts; the lease may already have lapsed. lash derives no
"stuck" verdict here, and neither do we: the dashboard classifies from these facts.
"""

import operator

from pydantic import Field, JsonValue

from lashtui.model.event import ProcessEvent
from lashtui.model.input import ProcessIdentity, ProcessInput, RecoveryDisposition, SessionTurn
from lashtui.model.lease import LeaseOwnerIdentity, ProcessLease
from lashtui.model.output import (
    CancelledOutput,
    FailureOutput,
    ProcessLifecycleStatus,
    ProcessStatus,
)
from lashtui.model.record import (
    AbandonRequest,
    ExternalRef,
    ProcessRecord,
    ProcessStarted,
    WaitState,
    ended_undecodable,
)
from lashtui.model.scope import CausalRef, ProcessOriginator, SessionScope
from lashtui.model.signal import SIGNAL_PREFIX
from lashtui.model.wire import WireModel, omitted


class ObservedProcess(WireModel):
    process_id: str
    graph_key: str
    kind: str
    lifecycle: ProcessLifecycleStatus
    identity: ProcessIdentity
    status_label: str
    terminal: bool
    disposition: RecoveryDisposition
    error: str | None = omitted()
    created_at_ms: int
    updated_at_ms: int
    first_started: ProcessStarted | None = omitted()
    lease_holder: LeaseOwnerIdentity | None = omitted()
    lease_expires_at_ms: int | None = omitted()
    abandon_request: AbandonRequest | None = omitted()
    input: ProcessInput
    originator: ProcessOriginator
    env_ref: str | None = omitted()
    wake_target: SessionScope | None = omitted()
    caused_by: CausalRef | None = omitted()
    external_ref: ExternalRef | None = omitted()
    wait: WaitState | None = omitted()
    child_session_id: str | None = omitted()
    label: str
    status: ProcessStatus
    # Why the row's stored record could not be decoded, on the stand-in the registry shows
    # for it (everything else then comes from the SQL columns: id, status, originator,
    # times; kind `undecodable`, label `undecodable: <why>`). Omitted otherwise, so lash's
    # shape is unchanged.
    undecodable: str | None = omitted()
    # Why the row's lease could not be decoded (another program stored something other than
    # a whole number in its fence or times): its holder is then the owner stored, its
    # expiry unknown (None), and no worker or sweep acts on it. Omitted otherwise.
    lease_undecodable: str | None = omitted()
    # False where the registry keeps no disposition (a lash v6 registry, read-only):
    # `disposition` then holds `externally_owned` and is shown as "not recorded". Omitted
    # when true, so lash's shape is unchanged. Said by the registry, never by a record (it
    # was a record's field, which any stored record could set: `from_record`).
    disposition_recorded: bool = Field(default=True, exclude_if=bool)
    # True when the row's status column holds no state at all (another program wrote it):
    # `lifecycle` and `status` are then the stand-in's placeholders (`ProcessRecord.no_state`)
    # and the views say "no state". Omitted when false, so lash's shape is unchanged.
    no_state: bool = Field(default=False, exclude_if=operator.not_)
    # The signal names the record declares (its `signal.<name>` event types): what a signal
    # to the row may name, so the dashboard offers `s` only where one could be sent. None
    # where it is not known. lashtui's own, never serialized: lash's shape is unchanged.
    signals: tuple[str, ...] | None = Field(default=None, exclude=True)
    # True on a live row whose log holds a `process.cancel_requested` no one has acted on yet
    # (the row would have ended): an event, not a field of the record, so the facade reads
    # it for the rows it observes, in one read (`Processes._observe_all`). Omitted when
    # false, so lash's shape is unchanged.
    cancel_requested: bool = Field(default=False, exclude_if=operator.not_)

    def disposition_text(self) -> str:
        """The disposition as the views show it (see `disposition_recorded`); "unknown" on
        an undecodable row's stand-in, whose disposition is a placeholder (it is in the
        record that could not be decoded), and on a row `end_undecodable` ended, which
        keeps that placeholder (`placeholders`)."""
        if self.placeholders():
            return "unknown"
        return self.disposition.value if self.disposition_recorded else "not recorded"

    def placeholders(self) -> bool:
        """Whether this row's input and disposition are placeholders, not its own: an
        undecodable row's stand-in, or a row `end_undecodable` ended (record.py
        `ended_undecodable`), whose output, the failure that ended it, is its own."""
        return self.undecodable is not None or ended_undecodable(
            self.identity, self.input, self.disposition
        )

    @classmethod
    def from_record(
        cls,
        record: ProcessRecord,
        lease: ProcessLease | None,
        *,
        disposition_recorded: bool = True,
        cancel_requested: bool = False,
    ) -> "ObservedProcess":
        """The row as an operator sees it; `disposition_recorded` False on a registry that
        keeps no disposition (`registry.records_dispositions`); `cancel_requested` whether
        its log holds a cancel request (read by the caller: see the field)."""
        output = record.status.await_output
        error = output.message if isinstance(output, FailureOutput | CancelledOutput) else None
        child = record.input.child_session_id() if isinstance(record.input, SessionTurn) else None
        expires = None  # a lease that does not decode has no known one (`lease_undecodable`)
        if lease is not None and lease.undecodable is None:
            expires = lease.expires_at_epoch_ms
        return cls(
            process_id=record.id,
            graph_key=f"process:{record.id}",
            kind=record.identity.kind,
            lifecycle=record.status.state,
            identity=record.identity,
            status_label=record.status.state.value,
            terminal=record.is_terminal(),
            disposition=record.disposition,
            error=error,
            created_at_ms=record.created_at_ms,
            updated_at_ms=record.updated_at_ms,
            first_started=record.first_started,
            lease_holder=lease.owner if lease else None,
            lease_expires_at_ms=expires,
            lease_undecodable=lease.undecodable if lease else None,
            abandon_request=record.abandon_request,
            input=record.input,
            originator=record.provenance.originator,
            env_ref=record.env_ref,
            wake_target=record.wake_target,
            caused_by=record.provenance.caused_by,
            external_ref=record.external_ref,
            wait=record.wait,
            child_session_id=child,
            label=record.identity.label or record.identity.kind,
            status=record.status,
            undecodable=record.undecodable,
            disposition_recorded=disposition_recorded,
            no_state=record.no_state,
            cancel_requested=cancel_requested and not record.is_terminal(),
            signals=tuple(
                t.name.removeprefix(SIGNAL_PREFIX)
                for t in record.event_types
                if t.name.startswith(SIGNAL_PREFIX)
            ),
        )


class ObservedProcessEvent(WireModel):
    sequence: int
    event_type: str
    occurred_at_ms: int
    payload: JsonValue
    # Why the stored event could not be decoded (its payload is then null); omitted otherwise.
    undecodable: str | None = omitted()
    # True when such an event's time column holds no whole number either: `occurred_at_ms`
    # is then a placeholder (0) and the views say the time is unknown. Omitted when false.
    time_unknown: bool = Field(default=False, exclude_if=operator.not_)

    @classmethod
    def from_event(cls, event: ProcessEvent) -> "ObservedProcessEvent":
        return cls(
            sequence=event.sequence,
            event_type=event.event_type,
            occurred_at_ms=event.occurred_at_ms,
            payload=event.payload,
            undecodable=event.undecodable,
            time_unknown=event.time_unknown,
        )
