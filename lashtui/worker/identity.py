"""Who this worker is: a stable owner id per host and a fresh incarnation per OS process
(semantics §3.15, §7.2).

Each recovery attempt claims under its own identity (`<owner>:recovery:<uuid>`) carrying the
worker's liveness, so a second drive in the same worker is fenced by the first attempt
instead of re-entering it, while a same-host peer can still prove the whole OS process dead.
`first_started.owner` is always the worker's configured identity: that is how a drain
recognises its own work.

"Same host" for a death proof means "reads the same /proc": a pid means something only in
its PID namespace. Containers that share the host's network (Docker `--network host`,
Kubernetes `hostNetwork`) share its hostname and its kernel boot id, yet each has its own
PID namespace, where the worker may well be pid 1; a peer probing `/proc/1` in its own
namespace finds another process and "proves" a live worker dead. So the liveness host id
names the PID namespace too (`host_id`). That keeps lash's wire form: a
`LocalProcessLiveness` is `{kind, host_id, boot_id, pid, process_start}`, and lash compares
`host_id` by equality, so a lash peer reading our leases also sees another host rather than
a dead pid. (A separate field would be kept by lashtui but ignored by lash, which would go
on proving us dead.) The owner id keeps the plain hostname: it must stay stable across
restarts, and a namespace is new at every container start.
"""

from __future__ import annotations

import os
import socket
import uuid

from lashtui.model import LeaseOwnerIdentity
from lashtui.model.owner import RECOVERY as RECOVERY  # (moved there: sentences name owners)


def hostname() -> str:
    return socket.gethostname() or "localhost"


def pid_namespace() -> str | None:
    """This process's PID namespace as the kernel names it (`pid:[4026531836]`), if /proc is
    this namespace's own: a process in a child namespace that sees its parent's /proc (no
    `--mount-proc`) would read another process's start time for its own pid, and a peer
    would probe the wrong pids for it. None then, and where there is no /proc."""
    try:
        if os.readlink("/proc/self") != str(os.getpid()):
            return None
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return None


def host_id() -> str | None:
    """The host of a `local_process` liveness: the hostname and the PID namespace
    (`vm/pid:[4026531836]`), or None where a pid cannot be told apart (module docstring)."""
    namespace = pid_namespace()
    return None if namespace is None else f"{hostname()}/{namespace}"


def default_owner(owner_id: str | None = None) -> LeaseOwnerIdentity:
    """`local_process` on Linux with a /proc of its own PID namespace (opaque elsewhere),
    fresh incarnation per OS process."""
    owner_id = owner_id or f"lashtui-worker@{hostname()}"
    incarnation = uuid.uuid4().hex
    host = host_id()
    if host is None:
        return LeaseOwnerIdentity.opaque(owner_id, incarnation)
    return LeaseOwnerIdentity.local_process(owner_id, incarnation, host)


# What an attempt identity adds to the worker's owner id (`:recovery:` and 32 hex digits),
# which the id limit must leave room for (lashtui.model.limit).
RECOVERY_SUFFIX_CHARS = len(RECOVERY) + 32


def attempt_identity(owner: LeaseOwnerIdentity) -> LeaseOwnerIdentity:
    # Random hex rather than UUID objects: one per claim, so it shows in P1. Both halves
    # from one read of the kernel's random source (a system call each, one per claim).
    random = os.urandom(32).hex()
    return owner.attempt(
        f"{RECOVERY}{random[:32]}",
        random[32:],
        reserve=RECOVERY_SUFFIX_CHARS,
    )
