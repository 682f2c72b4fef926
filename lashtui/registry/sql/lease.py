"""Fenced leases on `process_leases` (semantics §6): a held lease's check, renewal and
release.

A row is held when owner id and token are both set. Release clears them but keeps the fencing
token, so the next claim gets a larger one: fences never decrease and are never reused while
the process exists. Every check of a presented lease compares token, incarnation and fence,
and a lease whose expiry equals now is already expired.

Taking a lease is claim.py's; reading the stored row, lease_row.py's; the worker's worklist
(work_item.py, worklist.py, drive.py) reads the lease columns beside each running row.
"""

from __future__ import annotations

from collections.abc import Callable

from lashtui.errors import InvalidRequest, LeaseLost
from lashtui.model import ProcessLease
from lashtui.registry.sql.dialect import Tx
from lashtui.registry.sql.lease_row import LeaseRow, load_lease_row


def check_ttl(ttl_ms: int) -> None:
    if isinstance(ttl_ms, bool) or not isinstance(ttl_ms, int) or ttl_ms < 0:
        raise InvalidRequest(
            f"a lease ttl is a non-negative number of milliseconds, got {ttl_ms!r}"
        )


def is_current(row: LeaseRow | None, lease: ProcessLease, now: int) -> bool:
    """The presented lease is the stored one (token, incarnation, fence) and unexpired."""
    if row is None or not row.held or row.expires_at_ms <= now:
        return False
    return (
        row.token == lease.lease_token
        and row.owner_id == lease.owner.owner_id
        and (row.incarnation_id or row.owner_id) == lease.owner.incarnation_id
        and row.fence == lease.fencing_token
    )


def require_current_lease(
    conn: Tx, process_id: str, lease: ProcessLease, now: int
) -> None:
    if lease.process_id != process_id or not is_current(
        load_lease_row(conn, process_id), lease, now
    ):
        raise LeaseLost.for_process(process_id)


def renew(conn: Tx, lease: ProcessLease, ttl_ms: int, clock: Callable[[], int]) -> ProcessLease:
    """The new expiry runs from `clock()` read here, inside the transaction, as every claim's
    does: a renewal that waited for the write lock (another process held the file, or the
    row on PostgreSQL) must not date the lease from before its wait."""
    check_ttl(ttl_ms)
    now = clock()
    require_current_lease(conn, lease.process_id, lease, now)
    expires = now + ttl_ms
    conn.execute(
        "UPDATE process_leases SET lease_expires_at_ms = ? "
        "WHERE process_id = ? AND lease_token = ?",
        (expires, lease.process_id, lease.lease_token),
    )
    return lease.model_copy(update={"expires_at_epoch_ms": expires})


def release(conn: Tx, lease: ProcessLease) -> None:
    """Token-matched: a stale release can never free a newer owner's lease."""
    conn.execute(
        "UPDATE process_leases SET lease_owner_id = NULL, lease_token = NULL, "
        "lease_claimed_at_ms = 0, lease_expires_at_ms = 0 "
        "WHERE process_id = ? AND lease_token = ?",
        (lease.process_id, lease.lease_token),
    )


def release_if_current(conn: Tx, lease: ProcessLease, now: int) -> bool:
    """The leased-completion release, which also forgets who held it (semantics §14.3),
    made only if `lease` is current (`is_current`, as one statement's condition): False,
    with nothing changed, if it is not."""
    return bool(
        conn.execute(
            "UPDATE process_leases SET lease_owner_id = NULL, "
            "lease_owner_incarnation_id = NULL, lease_owner_liveness_json = NULL, "
            "lease_token = NULL, lease_claimed_at_ms = 0, lease_expires_at_ms = 0 "
            "WHERE process_id = ? AND lease_token = ? AND lease_owner_id = ? "
            "AND COALESCE(lease_owner_incarnation_id, lease_owner_id) = ? "
            "AND lease_fencing_token = ? AND lease_expires_at_ms > ?",
            (
                lease.process_id,
                lease.lease_token,
                lease.owner.owner_id,
                lease.owner.incarnation_id,
                lease.fencing_token,
                now,
            ),
        ).rowcount
    )
