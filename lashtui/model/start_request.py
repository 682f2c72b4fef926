"""A host's start request (semantics §3.12): what a start names (the process's input,
disposition, originator and event types), the execution env to capture, and the handle
grant to make, with the grant's descriptor; `into_registration` turns it into the
`ProcessRegistration` the registry stores.

Apart from record.py, which owns the durable row and its registration, because a request
is what a caller sends, never stored as it is: the registry captures its env and grant and
keeps the registration.
"""

from pydantic import Field

from lashtui.model import limit
from lashtui.model.event_type import ProcessEventType, default_process_event_types
from lashtui.model.input import (
    External,
    ProcessIdentity,
    ProcessInput,
    RecoveryDisposition,
    needs_execution_env,
)
from lashtui.model.record import ProcessExecutionEnvSpec, ProcessRegistration
from lashtui.model.scope import HostOriginator, ProcessOriginator, ProcessProvenance, SessionScope
from lashtui.model.wire import JsonValue, StoredModel, WireModel, check_extras_size, omitted


class ProcessHandleDescriptor(StoredModel):
    kind: str | None = omitted()
    label: str | None = omitted()
    # (`undecodable`, set only on the stand-in the registry reads for a grant whose stored
    # descriptor does not decode: `StoredModel`; a transfer moves the stored text.)

    def check_limits(self) -> None:
        limit.check_text("a handle's kind", self.kind, limit.MAX_NAME_CHARS)
        limit.check_text("a handle's label", self.label, limit.MAX_LABEL_CHARS)
        check_extras_size("a handle's descriptor", self)


class ProcessStartGrant(WireModel):
    session_scope: SessionScope
    descriptor: ProcessHandleDescriptor = Field(default_factory=ProcessHandleDescriptor)


class ProcessStartRequest(WireModel):
    """A host's start: the registration plus an optional env to capture and grant to make."""

    id: str
    input: ProcessInput
    disposition: RecoveryDisposition
    env_spec: ProcessExecutionEnvSpec | None = omitted()
    originator: ProcessOriginator = Field(default_factory=HostOriginator)
    wake_target: SessionScope | None = omitted()
    grant: ProcessStartGrant | None = omitted()
    event_types: list[ProcessEventType] = Field(default_factory=default_process_event_types)
    identity: ProcessIdentity | None = omitted()

    @classmethod
    def external(
        cls, process_id: str, metadata: JsonValue = None, **fields: object
    ) -> "ProcessStartRequest":
        """An externally-owned placeholder: lash never runs it."""
        return cls.model_validate(
            {
                "id": process_id,
                "input": External(metadata=metadata),
                "disposition": RecoveryDisposition.EXTERNALLY_OWNED,
                **fields,
            }
        )

    def execution_env(self) -> ProcessExecutionEnvSpec | None:
        """The env to capture: the request's, or for an engine or tool row started without
        one, the default (empty) env."""
        if self.env_spec is None and needs_execution_env(self.input):
            return ProcessExecutionEnvSpec()
        return self.env_spec

    def into_registration(self, env_ref: str | None) -> ProcessRegistration:
        return ProcessRegistration(
            id=self.id,
            input=self.input,
            disposition=self.disposition,
            identity=self.identity or ProcessIdentity.from_process_input(self.input),
            event_types=self.event_types,
            provenance=ProcessProvenance(originator=self.originator),
            env_ref=env_ref,
            wake_target=self.wake_target,
        )
