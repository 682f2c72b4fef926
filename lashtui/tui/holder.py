"""A lease holder's health as the sweep would judge it, and a lease's fencing token as
shown: one rule for the Leases view, the process detail and `lashtui show`, so the three
never disagree about the same holder. No Textual here: `lashtui show` imports it.

Health reads /proc (a few small files per holder): callers in the dashboard run it on a
thread. A lease another program stored with numbers that are not whole reads as a stand-in
whose numbers are 0 (`ProcessLease.undecodable`): its fence is unknown, never shown as 0.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lashtui.model import LeaseOwnerIdentity, LocalProcessLiveness, ProcessLease
from lashtui.model.lease import read_process_start
from lashtui.worker.identity import default_owner

if TYPE_CHECKING:
    from lashtui.worker.worker import ProcessWorker  # `lashtui show` runs no worker

FENCE_UNKNOWN = "unknown"  # the fence of a stand-in lease (or of one released meanwhile)


def owner_health(holder: LeaseOwnerIdentity, judge: LeaseOwnerIdentity) -> str:
    """How a sweep running as `judge` sees `holder`: `provably dead` exactly when it would
    take the holder's work, `alive` when /proc shows that very process, else `unknown` and
    why (the sweep then treats it as alive and waits its lease out). Reads /proc."""
    if holder.is_definitely_dead_for_claimant(judge):
        return "✗ provably dead"
    theirs, mine = holder.liveness, judge.liveness
    if not isinstance(theirs, LocalProcessLiveness):
        return "? unknown: opaque owner"
    if not isinstance(mine, LocalProcessLiveness):
        return "? unknown: no /proc here"
    if theirs.host_id != mine.host_id:
        return "? unknown: other host"
    # The sweep proves death only within one boot; a holder from another boot is surely
    # gone, but the sweep will not act on it, and this says what the sweep will do.
    if theirs.boot_id != mine.boot_id:
        return "? unknown: other boot"
    if read_process_start(theirs.pid) == theirs.process_start:
        return "✓ alive"
    return "? unknown: /proc unreadable"


def fence_text(lease: ProcessLease | None) -> str:
    """A held lease's fencing token; `unknown` for a stand-in (its numbers are 0, not read)
    or when the lease row was not there to read (released since the process was read)."""
    if lease is None or lease.undecodable is not None:
        return FENCE_UNKNOWN
    return str(lease.fencing_token)


def sweep_identity(worker: ProcessWorker | None) -> LeaseOwnerIdentity:
    """Who judges: the embedded worker's sweep judges with its own identity; without one,
    judge as a sweep started on this host would."""
    return worker.owner if worker is not None else default_owner()
