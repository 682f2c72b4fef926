"""Taking a lease on `process_leases` (semantics §6): a claim, a reclaim of a provably dead
holder's live lease, and the new leases they (and a run's claim, run.py, and PostgreSQL's
start in the server, postgres/start.py) make and save.

A claim of a free or expired lease takes the next fence (release keeps the fencing token,
lease.py, so fences never decrease and are never reused while the process exists); re-entry
by the same incarnation extends the lease it holds.
"""

from __future__ import annotations

import enum
from collections.abc import Callable

from lashtui.errors import LeaseLost, UnknownProcess
from lashtui.model import (
    LeaseOwnerIdentity,
    LeaseOwnerLiveness,
    ProcessLease,
    ProcessLeaseClaimOutcome,
)
from lashtui.model.wire import sha256_hex
from lashtui.registry.sql.dialect import Tx, dialect
from lashtui.registry.sql.fetch import LEASE_ROW_COLUMNS
from lashtui.registry.sql.lease import check_ttl
from lashtui.registry.sql.lease_row import LeaseRow, lease_row, load_lease_row
from lashtui.registry.sql.row import require_exists


class Unread(enum.Enum):
    """A lease row not read yet (`claim_existing`'s default: it reads the row itself)."""

    UNREAD = "unread"


UNREAD = Unread.UNREAD


def _token(process_id: str, owner: LeaseOwnerIdentity, now: int, fence: int) -> str:
    return sha256_hex(f"{process_id}:{owner.owner_id}:{owner.incarnation_id}:{now}:{fence}")


def lease_for(
    process_id: str,
    owner: LeaseOwnerIdentity,
    ttl_ms: int,
    now: int,
    fence: int,
    *,
    checked: bool = False,
) -> ProcessLease:
    """A new lease for `owner` (claims, reclaims and a run's claim all make one here, so the
    owner's limits are checked once, before its identity is written; `checked` when the
    caller has checked them already, before its transaction)."""
    if not checked:
        owner.check_limits()
    return ProcessLease(
        process_id=process_id,
        owner=owner,
        lease_token=_token(process_id, owner, now, fence),
        fencing_token=fence,
        claimed_at_epoch_ms=now,
        expires_at_epoch_ms=now + ttl_ms,
    )


def new_lease(
    conn: Tx,
    process_id: str,
    owner: LeaseOwnerIdentity,
    ttl_ms: int,
    now: int,
    fence: int,
    *,
    checked: bool = False,
) -> ProcessLease:
    lease = lease_for(process_id, owner, ttl_ms, now, fence, checked=checked)
    save_new_leases(conn, [lease])
    return lease


_LEASE_ROW = "(?, ?, ?, ?, ?, ?, ?, ?)"
_SAVE_LEASES = (
    "INSERT INTO process_leases (process_id, lease_owner_id, lease_owner_incarnation_id, "
    "lease_owner_liveness_json, lease_token, lease_fencing_token, lease_claimed_at_ms, "
    "lease_expires_at_ms) VALUES {rows} "
    "ON CONFLICT(process_id) DO UPDATE SET lease_owner_id = excluded.lease_owner_id, "
    "lease_owner_incarnation_id = excluded.lease_owner_incarnation_id, "
    "lease_owner_liveness_json = excluded.lease_owner_liveness_json, "
    "lease_token = excluded.lease_token, lease_fencing_token = excluded.lease_fencing_token, "
    "lease_claimed_at_ms = excluded.lease_claimed_at_ms, "
    "lease_expires_at_ms = excluded.lease_expires_at_ms"
)


_SAVE_LEASE = _SAVE_LEASES.format(rows=_LEASE_ROW)


def save_new_leases(conn: Tx, leases: list[ProcessLease]) -> None:
    """Each lease (made by `lease_for`) stored over its row's lease, all in one statement
    (a batch claim's leases were a statement each, each sent and answered on its own on
    PostgreSQL: see `json_edit._save_whole_records` for what that cost). The leases name
    distinct rows, as one upsert may touch a row once."""
    if not leases:
        return
    many = len(leases) > 1
    sql = _SAVE_LEASES.format(rows=", ".join([_LEASE_ROW] * len(leases))) if many else _SAVE_LEASE
    conn.execute(sql, [value for new in leases for value in (new.process_id, *lease_values(new))])


def lease_values(lease: ProcessLease) -> tuple[object, ...]:
    """A lease row's columns after its process id, as every save of one writes them."""
    return (
        lease.owner.owner_id,
        lease.owner.incarnation_id,
        _liveness_json(lease.owner.liveness),
        lease.lease_token,
        lease.fencing_token,
        lease.claimed_at_epoch_ms,
        lease.expires_at_epoch_ms,
    )


# The liveness last written and its JSON. A worker writes the same liveness object with
# every lease it takes (its attempt identities share its own, lease.py `attempt`), and a
# frozen model's JSON cannot change, so it is encoded once, not at every claim (~1.2 us of
# each). Held, the object cannot be freed, so `is` cannot match another in its place.
_last_liveness: tuple[LeaseOwnerLiveness | None, str] = (None, "")


def _liveness_json(liveness: LeaseOwnerLiveness) -> str:
    global _last_liveness
    held, text = _last_liveness
    if held is not liveness:
        text = liveness.model_dump_json()
        _last_liveness = (liveness, text)
    return text


def claim(
    conn: Tx, process_id: str, owner: LeaseOwnerIdentity, ttl_ms: int, clock: Callable[[], int]
) -> ProcessLeaseClaimOutcome:
    """Claim `process_id`'s lease for `owner`. Its expiry, and whether the lease held now
    has expired, are judged at `clock()` read here, inside the transaction: a claim dated
    before it waited for the write lock (another process held the file past the TTL) handed
    out a lease already spent, and its worker started a run that lost it at once."""
    check_ttl(ttl_ms)
    now = clock()
    if dialect(conn).row_lock:  # each row locked by its own read
        require_exists(conn, process_id)
        return claim_existing(conn, process_id, owner, ttl_ms, now)
    # No row locks to take (SQLite's transaction holds the file's write lock): the row's
    # existence and its lease in one statement, where two cost ~3 us more per claim.
    found = conn.execute(_PROCESS_AND_LEASE, (process_id,)).fetchone()
    if found is None:
        raise UnknownProcess.process(process_id)
    row = lease_row(process_id, found[1:]) if found[0] is not None else None
    return claim_existing(conn, process_id, owner, ttl_ms, now, row=row)


_PROCESS_AND_LEASE = (
    f"SELECT l.process_id, {LEASE_ROW_COLUMNS} "
    "FROM processes p LEFT JOIN process_leases l ON l.process_id = p.process_id "
    "WHERE p.process_id = ?"
)


def claim_existing(
    conn: Tx,
    process_id: str,
    owner: LeaseOwnerIdentity,
    ttl_ms: int,
    now: int,
    *,
    checked: bool = False,
    row: LeaseRow | Unread | None = UNREAD,
) -> ProcessLeaseClaimOutcome:
    """`claim` for a row the caller has just read in this transaction, with a valid ttl
    (`checked`: the owner's limits too, before the transaction; `row`: its lease row, when
    the caller read it too)."""
    if isinstance(row, Unread):
        row = load_lease_row(conn, process_id)
    if row is not None and row.held and row.expires_at_ms > now:
        current = row.lease(process_id)
        if not current.owner.same_incarnation(owner):
            return ProcessLeaseClaimOutcome.busy(current)
        # Re-entry by the same incarnation extends the lease; token and fence stay.
        expires = now + ttl_ms
        conn.execute(
            "UPDATE process_leases SET lease_expires_at_ms = ? WHERE process_id = ?",
            (expires, process_id),
        )
        return ProcessLeaseClaimOutcome.acquired_lease(
            current.model_copy(update={"expires_at_epoch_ms": expires})
        )
    fence = (row.fence if row else 0) + 1
    return ProcessLeaseClaimOutcome.acquired_lease(
        new_lease(conn, process_id, owner, ttl_ms, now, fence, checked=checked)
    )


def reclaim(
    conn: Tx,
    process_id: str,
    claimant: LeaseOwnerIdentity,
    observed: ProcessLease,
    ttl_ms: int,
    clock: Callable[[], int],
) -> ProcessLeaseClaimOutcome:
    """Take a live lease early, only from the very holder observed, only if it is provably
    dead; otherwise behave like a claim of a free or expired lease (at `clock()` read
    inside the transaction, as `claim`)."""
    check_ttl(ttl_ms)
    now = clock()
    require_exists(conn, process_id)
    row = load_lease_row(conn, process_id)
    if row is None or not row.held or row.expires_at_ms <= now:
        fence = (row.fence if row else 0) + 1
        return ProcessLeaseClaimOutcome.acquired_lease(
            new_lease(conn, process_id, claimant, ttl_ms, now, fence)
        )
    current = row.lease(process_id)
    provable = (
        observed.process_id == process_id
        and current.owner.same_incarnation(observed.owner)
        and current.lease_token == observed.lease_token
        and current.fencing_token == observed.fencing_token
        and current.owner.is_definitely_dead_for_claimant(claimant)
    )
    if not provable:
        return ProcessLeaseClaimOutcome.busy(current)
    fence = current.fencing_token + 1
    lease = lease_for(process_id, claimant, ttl_ms, now, fence)
    changed = conn.execute(
        "UPDATE process_leases SET lease_owner_id = ?, lease_owner_incarnation_id = ?, "
        "lease_owner_liveness_json = ?, lease_token = ?, lease_fencing_token = ?, "
        "lease_claimed_at_ms = ?, lease_expires_at_ms = ? WHERE process_id = ? "
        "AND lease_owner_id = ? AND lease_owner_incarnation_id = ? AND lease_token = ? "
        "AND lease_fencing_token = ?",
        (
            claimant.owner_id,
            claimant.incarnation_id,
            claimant.liveness.model_dump_json(),
            lease.lease_token,
            fence,
            now,
            lease.expires_at_epoch_ms,
            process_id,
            observed.owner.owner_id,
            observed.owner.incarnation_id,
            observed.lease_token,
            observed.fencing_token,
        ),
    ).rowcount
    if changed == 1:
        return ProcessLeaseClaimOutcome.acquired_lease(lease)
    fresh = load_lease_row(conn, process_id)
    if fresh is not None and fresh.held and fresh.expires_at_ms > now:
        return ProcessLeaseClaimOutcome.busy(fresh.lease(process_id))
    raise LeaseLost.for_process(process_id)
