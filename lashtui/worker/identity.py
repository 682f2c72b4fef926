"""Who this worker is: a stable owner id per host and a fresh incarnation per OS process
(semantics §3.15, §7.2).

Each recovery attempt claims under its own identity (`<owner>:recovery:<uuid>`) carrying the
worker's liveness, so a second drive in the same worker is fenced by the first attempt
instead of re-entering it, while a same-host peer can still prove the whole OS process dead.
`first_started.owner` is always the worker's configured identity: that is how a drain
recognises its own work.
"""

from __future__ import annotations

import os
import socket
import uuid

from lashtui.model import LeaseOwnerIdentity


def host_id() -> str:
    return socket.gethostname() or "localhost"


def default_owner(owner_id: str | None = None) -> LeaseOwnerIdentity:
    """`local_process` on Linux (opaque elsewhere), fresh incarnation per OS process."""
    host = host_id()
    return LeaseOwnerIdentity.local_process(
        owner_id or f"lashtui-worker@{host}", uuid.uuid4().hex, host
    )


RECOVERY = ":recovery:"
# What an attempt identity adds to the worker's owner id (`:recovery:` and 32 hex digits),
# which the id limit must leave room for (lashtui.model.limit).
RECOVERY_SUFFIX_CHARS = len(RECOVERY) + 32


def attempt_identity(owner: LeaseOwnerIdentity) -> LeaseOwnerIdentity:
    # Random hex rather than UUID objects: one per claim, so it shows in P1.
    return owner.attempt(
        f"{RECOVERY}{os.urandom(16).hex()}",
        os.urandom(16).hex(),
        reserve=RECOVERY_SUFFIX_CHARS,
    )
