"""Claiming a row to run it: what the worker's run of one row begins with, in one
transaction (semantics §7.4 steps 2-3d, §8).

The worker claims a row, re-reads it (port decision 4: decide from the fresh row), records
the first-started fact under the lease it just took, and looks for a cancel request made
before the run. As four calls that is two writes and two reads, each queued behind everyone
else's; here it is one write. Nothing changes in what each step does or decides: the lease
is claimed exactly as `claim_process_lease` claims it, and first-started is recorded only
for a row the worker would run (not terminal, not externally owned, with an id, and either
rerunnable or never started) and only if it is not set yet.
"""

from __future__ import annotations

from lashtui.errors import UnknownProcess
from lashtui.model import (
    CANCEL_REQUESTED,
    LeaseOwnerIdentity,
    ProcessRecord,
    ProcessRunClaim,
    ProcessStarted,
    RecoveryDisposition,
)
from lashtui.registry.sql import event, lease
from lashtui.registry.sql.dialect import Tx
from lashtui.registry.sql.row import load_record, save_changes


def to_run(record: ProcessRecord) -> bool:
    """Whether a worker holding the lease runs this row and may record that it started
    (§8: a rerunnable row always, any other only if it never started; §7.4 a-c: never an
    externally-owned row or a blank id, which the worker fails before any side effect)."""
    if record.is_terminal() or not record.id.strip():
        return False
    if record.disposition is RecoveryDisposition.EXTERNALLY_OWNED:
        return False
    return record.runs_on_recovery()


def claim_for_run(
    conn: Tx,
    process_id: str,
    owner: LeaseOwnerIdentity,
    ttl_ms: int,
    started: ProcessStarted,
    now: int,
) -> ProcessRunClaim:
    lease.check_ttl(ttl_ms)
    record = load_record(conn, process_id)  # the claim's existence check, and the row
    if record is None:
        raise UnknownProcess.process(process_id)
    outcome = lease.claim_existing(conn, process_id, owner, ttl_ms, now)
    if outcome.acquired() is None:
        return ProcessRunClaim(outcome)
    if not to_run(record):
        return ProcessRunClaim(outcome, record)
    if record.first_started is None:
        record = save_changes(conn, record, now, first_started=started)
    cancel = event.first_of_type(conn, process_id, CANCEL_REQUESTED, 0)  # the row exists
    return ProcessRunClaim(outcome, record, started=True, cancel_requested=cancel)
