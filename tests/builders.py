"""Short constructors for the scenario conventions of spec/scenarios.md:
`ext(id)`, `ob(id)`, `rr(id)`, `own(x)`, `local(x, host, start)`."""

from __future__ import annotations

import os

from lashtui.model import (
    Engine,
    External,
    LeaseOwnerIdentity,
    LocalProcessLiveness,
    ProcessEventType,
    ProcessIdentity,
    ProcessInput,
    ProcessProvenance,
    ProcessRegistration,
    ProcessStarted,
    RecoveryDisposition,
    SessionScope,
)
from lashtui.model.lease import read_boot_id, read_process_start

ENV_REF = "process-env:sha256:" + "0" * 64


def registration(
    process_id: str,
    process_input: ProcessInput,
    disposition: RecoveryDisposition,
    *,
    event_types: list[ProcessEventType] | None = None,
    provenance: ProcessProvenance | None = None,
    wake_target: SessionScope | None = None,
    identity: ProcessIdentity | None = None,
    env_ref: str | None = None,
) -> ProcessRegistration:
    fields: dict[str, object] = {
        "id": process_id,
        "input": process_input,
        "disposition": disposition,
        "identity": identity or ProcessIdentity.from_process_input(process_input),
        "provenance": provenance or ProcessProvenance.host(),
        "wake_target": wake_target,
        "env_ref": env_ref,
    }
    if event_types is not None:
        fields["event_types"] = event_types
    return ProcessRegistration.model_validate(fields)


def ext(process_id: str, **kw: object) -> ProcessRegistration:
    return registration(process_id, External(), RecoveryDisposition.EXTERNALLY_OWNED, **kw)  # type: ignore[arg-type]


def ob(process_id: str, **kw: object) -> ProcessRegistration:
    return registration(process_id, External(), RecoveryDisposition.OWNER_BOUND, **kw)  # type: ignore[arg-type]


def rr(process_id: str, **kw: object) -> ProcessRegistration:
    kw.setdefault("env_ref", ENV_REF)
    return registration(
        process_id,
        Engine(kind="echo", payload={}),
        RecoveryDisposition.RERUNNABLE,
        **kw,  # type: ignore[arg-type]
    )


def own(name: str) -> LeaseOwnerIdentity:
    return LeaseOwnerIdentity.opaque(name, f"{name}:incarnation")


def started(name: str, at: int = 7) -> ProcessStarted:
    """The first-started fact a worker named `name` records for a run it begins."""
    return ProcessStarted(owner=own(name), started_at_ms=at)


def local(
    name: str, host: str = "host-a", start: str | None = None, boot: str | None = None
) -> LeaseOwnerIdentity:
    """A local_process identity carrying this test process's pid. With `start` set to anything
    but the real start time, it is a dead holder for a same-host, same-boot claimant."""
    liveness = LocalProcessLiveness(
        host_id=host,
        boot_id=boot or read_boot_id() or "boot-a",
        pid=os.getpid(),
        process_start=start or read_process_start(os.getpid()) or "0",
    )
    return LeaseOwnerIdentity(
        owner_id=name, incarnation_id=f"{name}:incarnation", liveness=liveness
    )
