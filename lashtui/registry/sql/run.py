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

from collections.abc import Callable
from typing import Any

from lashtui.errors import UndecodableProcess, UnknownProcess
from lashtui.model import (
    CANCEL_REQUESTED,
    LeaseOwnerIdentity,
    ProcessRecord,
    ProcessRunClaim,
    ProcessStarted,
    RecoveryDisposition,
)
from lashtui.registry.sql import event, lease
from lashtui.registry.sql.dialect import Tx, dialect
from lashtui.registry.sql.fetch import read_ahead
from lashtui.registry.sql.filter import HELD
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
    # On PostgreSQL the lease row and the cancel lookup travel with the row's read (which
    # locks the row first): one round trip for the three (fetch.py `read_ahead`).
    read_ahead(
        conn,
        lease.lease_row_statement(conn, process_id),
        event.first_of_type_statement(process_id, CANCEL_REQUESTED, 0),
    )
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


def claim_next_for_run(
    conn: Tx,
    owners: list[LeaseOwnerIdentity],
    ttl_ms: int,
    started: ProcessStarted,
    clock: Callable[[], int],
    skip: list[str] | None = None,
) -> list[tuple[str, ProcessRunClaim | None]]:
    """Up to `len(owners)` rerunnable rows that no one holds, claimed to run in one
    transaction, the first in id order: each exactly as `claim_for_run` claims one (its own
    lease and fencing token, `owners[i]` the attempt identity of the i-th), with its claim;
    None for a row picked whose record does not decode (nothing is written for it). Rows in
    `skip` (a worker's rows it knows do not decode) are not picked. The leases run from
    `clock()` read here, inside the transaction: a claim that waited for a lock (another
    worker process held it) must not hand out a lease already partly spent.

    What several workers draining one backlog do instead of each claiming the rows its own
    worklist listed: they all listed the same rows, so each claim of a row another worker
    had taken or ended was a write for nothing. Here a row is found free inside the
    claiming transaction, by SQL (the pick and the claims are one step: SQLite's BEGIN
    IMMEDIATE holds the file; on PostgreSQL the pick locks the rows it takes and skips those
    another claim holds, `Dialect.skip_locked`). Only rerunnable rows
    without an abandon request: any of them runs whenever it is claimed (§8), where an
    owner_bound row that started must not, and an abandon request is the sweep's to
    settle; the rest of the worklist stays with the worker's one-row path, as does a row
    whose JSON the SQL cannot read. Walks the running rows in id order on the (status,
    process_id) index; a row it passes over costs a lease lookup."""
    lease.check_ttl(ttl_ms)
    if not owners:
        return []
    now = clock()
    sql = dialect(conn)
    skip = (skip or [])[:SKIP_AT_MOST]
    in_order, planner_back = sql.pick_in_id_order()
    if in_order:
        conn.execute(in_order)
    rows = conn.execute(
        "SELECT p.process_id FROM processes p "
        "LEFT JOIN process_leases l ON l.process_id = p.process_id "
        f"WHERE p.status = 'running' AND NOT ({HELD} AND l.lease_expires_at_ms > ?) "
        f"AND {sql.json_text('p.record_json', 'disposition')} = 'rerunnable' "
        f"AND NOT {sql.json_has('p.record_json', 'abandon_request')} "
        + (f"AND p.process_id NOT IN ({', '.join('?' * len(skip))}) " if skip else "")
        + f"ORDER BY p.process_id LIMIT ?{sql.skip_locked('p')}",
        (now, *skip, len(owners)),
    ).fetchall()
    if planner_back:
        conn.execute(planner_back)
    if rows and sql.skip_locked("p"):
        rows = _not_claimed_meanwhile(conn, rows, now)
    claims: list[tuple[str, ProcessRunClaim | None]] = []
    for (process_id,), owner in zip(rows, owners, strict=False):
        try:
            claimed: ProcessRunClaim | None = claim_for_run(
                conn, process_id, owner, ttl_ms, started, now
            )
        except UndecodableProcess:  # raised by its read, before anything is written
            claimed = None
        claims.append((process_id, claimed))
    return claims


def _not_claimed_meanwhile(conn: Tx, rows: list[Any], now: int) -> list[Any]:
    """The picked rows but those another worker claimed while the pick ran. On PostgreSQL
    (READ COMMITTED) a row whose claim committed after the pick's snapshot is no longer
    locked, so the pick locks it, and re-checks its conditions on the row's new version
    but reads its lease as of the old snapshot: free. A statement of its own sees the
    committed lease (seen here as 24 wasted claims, Busy, of 120 rows two workers split)."""
    picked = [process_id for (process_id,) in rows]
    held = {
        process_id
        for (process_id,) in conn.execute(
            "SELECT l.process_id FROM process_leases l "
            f"WHERE l.process_id IN ({', '.join('?' * len(picked))}) "
            f"AND {HELD} AND l.lease_expires_at_ms > ?",
            (*picked, now),
        )
    }
    return [row for row in rows if row[0] not in held]


SKIP_AT_MOST = 500  # of a worker's undecodable rows named to the pick (each a bound value)
