"""Fenced leases on `process_leases` (semantics §6).

A row is held when owner id and token are both set. Release clears them but keeps the fencing
token, so the next claim gets a larger one: fences never decrease and are never reused while
the process exists. Every check of a presented lease compares token, incarnation and fence,
and a lease whose expiry equals now is already expired.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError

from lashtui.errors import InvalidRequest, LeaseLost, UnknownProcess
from lashtui.model import (
    LeaseOwnerIdentity,
    ProcessLease,
    ProcessLeaseClaimOutcome,
    ProcessWorkItem,
    RecoveryDisposition,
)
from lashtui.model.lease import LeaseOwnerLiveness, OpaqueLiveness, liveness_provably_dead
from lashtui.model.wire import sha256_hex
from lashtui.registry.sql import backlog_mark
from lashtui.registry.sql.blob_id import shown_id
from lashtui.registry.sql.dialect import Dialect, Tx, dialect
from lashtui.registry.sql.fetch import (
    CHUNK,
    LEASE_ROW_COLUMNS,
    LIVENESS,
    Statement,
    held_lease_rows,
    id_among,
    past_ceiling,
)
from lashtui.registry.sql.filter import LIVE, in_backlog
from lashtui.registry.sql.indexes import missing
from lashtui.registry.sql.row import (
    Row,
    fetch_rows,
    load_record,
    refuse_undecodable,
    require_exists,
)
from lashtui.registry.sql.stored_text import READ_CHARS, as_read, past_read, read_text
from lashtui.untrusted import clipped

_DISPOSITIONS = frozenset(d.value for d in RecoveryDisposition)
_LIVENESS = TypeAdapter[LeaseOwnerLiveness](LeaseOwnerLiveness)


class Unread(enum.Enum):
    """A lease row not read yet (`claim_existing`'s default: it reads the row itself)."""

    UNREAD = "unread"


UNREAD = Unread.UNREAD


@dataclass(frozen=True)
class LeaseRow:
    owner_id: str | None
    incarnation_id: str | None
    liveness_json: str | None
    token: str | None
    fence: int
    claimed_at_ms: int
    expires_at_ms: int

    @property
    def held(self) -> bool:
        return self.owner_id is not None and self.token is not None

    def lease(self, process_id: str) -> ProcessLease:
        assert self.owner_id is not None and self.token is not None
        owner = LeaseOwnerIdentity(
            owner_id=self.owner_id,
            incarnation_id=self.incarnation_id or self.owner_id,
            liveness=_decode_liveness(self.liveness_json),
        )
        return ProcessLease(
            process_id=process_id,
            owner=owner,
            lease_token=self.token,
            fencing_token=self.fence,
            claimed_at_epoch_ms=self.claimed_at_ms,
            expires_at_epoch_ms=self.expires_at_ms,
        )


def _decode_liveness(text: str | None) -> LeaseOwnerLiveness:
    """Unparsable liveness reads as opaque: unknown, so never provably dead."""
    if not text:
        return OpaqueLiveness()
    try:
        return _LIVENESS.validate_json(text)
    except ValidationError:
        return OpaqueLiveness()


def lease_row_statement(conn: Tx, process_id: str) -> Statement:
    """`load_lease_row`'s read (for `read_ahead`)."""
    return (
        f"SELECT {LEASE_ROW_COLUMNS} FROM process_leases l "
        f"WHERE l.process_id = ?{dialect(conn).row_lock}",
        (process_id,),
    )


def load_lease_row(conn: Tx, process_id: str) -> LeaseRow | None:
    row = conn.execute(*lease_row_statement(conn, process_id)).fetchone()
    return lease_row(process_id, row) if row else None


# --- lease rows another program wrote ---------------------------------------------------
#
# A lease row's fence and times are whole numbers; SQLite stores whatever another program
# gives it (text, a real, a blob). One such row failed every read that joins the leases
# (`ls`, `show`, the dashboard's views) and every sweep, and a claim compared its text with
# a number (a TypeError). Now a write (claim, renew, release...) refuses it in one sentence,
# as a row whose record does not decode; a read shows its process as such a row (the lease
# a stand-in saying why: `read_lease`); the worker and the sweep skip it; and
# `end_undecodable` ends it and rewrites the numbers.
_WHOLE_COLUMNS = {
    "fence": "lease_fencing_token",
    "claimed_at_ms": "lease_claimed_at_ms",
    "expires_at_ms": "lease_expires_at_ms",
}
# The text columns, which SQLite lets hold a blob too: one that is not UTF-8 failed every
# read of its process (`ls --json` with a traceback), as the numbers did. One longer than a
# reader takes (stored_text.py) is read cut, and a cut name is no lease: every check of a
# presented lease (and a reclaim's, of the holder it observed) compares it with the stored
# one, which it never equals, so the row is a stand-in and refused, as these are, with why.
_TEXT_COLUMNS = {
    "owner_id": "lease_owner_id",
    "incarnation_id": "lease_owner_incarnation_id",
    "token": "lease_token",
}


def lease_row_problem(row: LeaseRow) -> str | None:
    """Why the row's numbers or names cannot be read, or None."""
    for field, column in _WHOLE_COLUMNS.items():
        value = getattr(row, field)
        if type(value) is not int:
            return f"its lease row's {column} holds {clipped(repr(value), 40)}, not a whole number"
    for field, column in _TEXT_COLUMNS.items():
        value = getattr(row, field)
        if value is not None and not isinstance(value, str):
            return f"its lease row's {column} holds {clipped(repr(value), 40)}, not text"
        if past_read(value):
            return (
                f"its lease row's {column} is over {READ_CHARS:,} characters, more than "
                "any reader takes"
            )
    return None


def lease_row(process_id: str, columns: Sequence[Any]) -> LeaseRow:
    """The lease columns as a `LeaseRow`, refused (`UndecodableProcess`) when another
    program stored something other than a whole number in its fence or times, or other
    than text in its owner, incarnation or token."""
    row = LeaseRow(*columns)
    problem = lease_row_problem(row)
    if problem is not None:
        raise refuse_undecodable(process_id, problem)
    return row


def read_lease(process_id: str, columns: Sequence[Any]) -> ProcessLease:
    """A held lease row as a read shows it: its lease, or a stand-in saying why it does not
    decode (its owner as stored, its numbers 0; `ProcessLease.undecodable`)."""
    row = LeaseRow(*columns)
    problem = lease_row_problem(row)
    if problem is None:
        return row.lease(process_id)
    # (A name that is not text is shown as Python writes what was stored: `b'\xff'`.)
    names = {f: _as_text(getattr(row, f)) for f in _TEXT_COLUMNS}
    fixed = dataclasses.replace(row, fence=0, claimed_at_ms=0, expires_at_ms=0, **names)
    return fixed.lease(process_id).model_copy(update={"undecodable": problem})


def _as_text(value: object) -> str | None:
    """A name as a stand-in shows it: cut past what a reader takes (stored_text.py)."""
    return as_read(value) if value is None or isinstance(value, str) else repr(value)


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
    PostgreSQL: see `row._save_whole_records` for what that cost). The leases name
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
        lease.owner.liveness.model_dump_json(),
        lease.lease_token,
        lease.fencing_token,
        lease.claimed_at_epoch_ms,
        lease.expires_at_epoch_ms,
    )


def check_ttl(ttl_ms: int) -> None:
    if isinstance(ttl_ms, bool) or not isinstance(ttl_ms, int) or ttl_ms < 0:
        raise InvalidRequest(
            f"a lease ttl is a non-negative number of milliseconds, got {ttl_ms!r}"
        )


def claim(
    conn: Tx, process_id: str, owner: LeaseOwnerIdentity, ttl_ms: int, now: int
) -> ProcessLeaseClaimOutcome:
    check_ttl(ttl_ms)
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
    now: int,
) -> ProcessLeaseClaimOutcome:
    """Take a live lease early, only from the very holder observed, only if it is provably
    dead; otherwise behave like a claim of a free or expired lease."""
    check_ttl(ttl_ms)
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


def renew(conn: Tx, lease: ProcessLease, ttl_ms: int, now: int) -> ProcessLease:
    check_ttl(ttl_ms)
    require_current_lease(conn, lease.process_id, lease, now)
    expires = now + ttl_ms
    conn.execute(
        "UPDATE process_leases SET lease_expires_at_ms = ? "
        "WHERE process_id = ? AND lease_token = ?",
        (expires, lease.process_id, lease.lease_token),
    )
    return lease.model_copy(update={"expires_at_epoch_ms": expires})


def get(conn: Tx, process_id: str) -> ProcessLease | None:
    """The held lease, expired or not (a raw fact); None when free, released or unknown; a
    stand-in saying why for a row whose numbers do not decode (`read_lease`)."""
    row = conn.execute(*lease_row_statement(conn, process_id)).fetchone()
    if row is None or not LeaseRow(*row).held:
        return None
    return read_lease(process_id, row)


def get_many(conn: Tx, process_ids: list[str]) -> dict[str, ProcessLease]:
    rows = held_lease_rows(conn, process_ids)
    return {process_id: read_lease(process_id, row) for process_id, row in rows.items()}


def work_items(conn: Tx) -> list[ProcessWorkItem]:
    """The worklist in one query: disposition and the abandon-request fact straight from
    the record JSON (no decoding in Python), joined with the lease columns; the rows known
    past the ceiling without it (`still_large`)."""
    large = still_large(conn)
    skip = f" AND NOT {id_among(large)}" if large else ""
    rows = fetch_rows(
        conn,
        f"{_work_item_select(conn)} WHERE p.status = 'running'{skip} ORDER BY p.process_id",
        large,
    )
    return [_work_item(conn, row) for row in _with_unread(conn, rows, large, "", ())]


def _with_unread(
    conn: Tx, rows: list[Row], large: list[str], barred: str, values: tuple[object, ...]
) -> list[Row]:
    """`rows` (work-item rows in id order) with those of the running rows `large` among
    them, read without their records (disposition and request NULL, so that `_work_item`
    makes each an undecodable item, as the worker counts them), less those `barred` (a
    condition on the lease `l`, with its `values`)."""
    if not large:
        return rows
    rows = rows + fetch_rows(
        conn,
        f"SELECT {read_text('p.process_id')}, NULL, NULL, {LEASE_ROW_COLUMNS} FROM processes p "
        "LEFT JOIN process_leases l ON l.process_id = p.process_id "
        f"WHERE p.status = 'running' AND {id_among(large)}{barred}",
        (*large, *values),
    )
    return sorted(rows, key=lambda row: str(row[0]))


# Of the backlog, the rows a worker's drive lists: two or more make it claim in batches, one
# alone takes the one-row path (worker.py `_hand_to_batches`).
BACKLOG_LISTED = 2


def drive_work_items(
    conn: Tx, now: int, claimant: LeaseOwnerIdentity | None = None
) -> list[ProcessWorkItem]:
    """`work_items` with the backlog at `now` (filter.py `in_backlog`) cut to its first
    `BACKLOG_LISTED` rows: what a worker's periodic drive reads. The backlog is the batch
    claim's, which finds its rows free in SQL as it claims them; the drive needs only to
    know there is one. The rest of the worklist (owner_bound and externally owned rows,
    abandon requests, leased rows, records the SQL cannot read) is listed whole, as before.

    Why: four workers starting on a backlog of 10,000 rows each read and built 10,000 work
    items (~75-95 ms on SQLite, one of the costs that grow with the fleet), and a periodic
    drive over 100,000 waiting rows did so every renew interval.

    With a `claimant` (the driving worker), the rows whose lease is live at `now` and held
    by an owner the claimant cannot prove dead are left out too, as from a woken worker's
    feed read (`work_items_changed_since`): its claim could only be refused, and the worker
    drops them unread (worker.py `_wants`). A fleet's running rows are mostly those: each
    worker's drive, every renew interval, read every one of them with its record's JSON
    (cast to jsonb on PostgreSQL) and its lease. The holders of live leases are read first,
    without the records (`_dead_holders`), each proved dead or not once. Left out too are
    the externally owned rows without an abandon request, which no worker claims
    (`_left_to_its_owner`).

    On a registry with the indexes of the running rows not marked plainly the
    backlog's (sql/backlog_mark.py), the rest is read from those and from the live leases
    instead of testing every running row's record (`_indexed_rest`): over a backlog of
    100,000 rows, ~0.3 ms instead of ~350 ms of CPU a drive, every renew interval, for
    each worker (~3.5 s over a million)."""
    sql = dialect(conn)
    select, backlog = _work_item_select(conn), in_backlog(sql)
    dead = _dead_holders(conn, claimant, now) if claimant is not None else None
    unbarred, values = _unbarred(dead, now)
    lease_barred = (unbarred, values)
    if claimant is not None:  # a worker's drive: what it would drop unread, left in SQL
        unbarred += f" AND ({_left_to_its_owner(sql)}) IS NOT TRUE"
    large = still_large(conn)
    skip = f" AND NOT {id_among(large)}" if large else ""
    if _has_drive_indexes(conn):
        if sql.name == "postgres":
            conn.execute(_INDEX_WALKS_ONLY)
        rest, rest_values = _indexed_rest(conn, backlog, unbarred, values, dead, now, large, skip)
    else:
        rest = (
            f"{select} WHERE p.status = 'running'{skip} AND ({backlog}) IS NOT TRUE{unbarred}"
        )
        rest_values = (*large, now, *values)
    running, by_id = sql.running_by_id()
    rows = fetch_rows(
        conn,
        f"SELECT * FROM ({rest}) rest "
        f"UNION ALL SELECT * FROM ({select} WHERE {running}{skip} "
        f"AND ({backlog}) IS TRUE ORDER BY {by_id} LIMIT ?) backlog "
        "ORDER BY 1",
        (*rest_values, *large, now, BACKLOG_LISTED),
    )
    rows = _with_unread(conn, rows, large, *lease_barred)
    return [_work_item(conn, row) for row in rows]


def still_large(conn: Tx, among: list[str] | None = None) -> list[str]:
    """The rows (of `among`, else all) this connection found with a record past the
    ceiling (`RecordCache.large_records`) that still have one, told again from their rows'
    headers (fetch.py `past_ceiling`, ~3 us a row); one rewritten smaller or gone is
    forgotten. A drive, a woken worker's read and a batch claim's pick (run.py `_pick`)
    leave them out of their SQL: on SQLite every JSON test of such a record loads it to
    measure it (one of 600 MB held each drive of a worker's event loop 3-7 s and took
    3.5 GB).

    A connection's first call without `among` (its first drive or batch pick) looks for
    them first among the rows a drive's SQL tests records of (`_drive_candidates`), once:
    later ones are found as their rows change, by the woken worker's read or the drive
    that meets one (`_decoded_item`)."""
    known = getattr(conn, "large_records", None)
    if known is None or not hasattr(conn, "blobopen"):  # (PostgreSQL measures headers)
        return []
    if among is None and not getattr(conn, "large_looked_for", True):
        conn.large_looked_for = True  # type: ignore[attr-defined]
        for start in range(0, len(candidates := _drive_candidates(conn)), CHUNK):
            past_ceiling(conn, candidates[start : start + CHUNK])  # (found ones are known)
    ids = sorted(known if among is None else known.intersection(among))
    if not ids:
        return []
    still = past_ceiling(conn, ids)
    known.difference_update(set(ids) - set(still))
    return still


def _drive_candidates(conn: Tx) -> list[str]:
    """The running rows whose records a drive's SQL tests: those of its two indexes (the
    rows not marked plainly the backlog's), else every running row."""
    if not _has_drive_indexes(conn):
        rows = fetch_rows(
            conn, f"SELECT {read_text('p.process_id')} FROM processes p WHERE p.status = 'running'"
        )
        return [row[0] for row in rows if _whole_text(row[0])]
    named = dialect(conn).name == "sqlite"
    rows = fetch_rows(
        conn,
        " UNION ALL ".join(
            f"SELECT {read_text('p.process_id')} FROM processes p{_indexed_by(index, named)} "
            f"WHERE p.status = 'running' AND {condition}"
            for index, condition in (
                (backlog_mark.UNMARKED_INDEX, backlog_mark.UNMARKED),
                (backlog_mark.STALE_INDEX, backlog_mark.STALE),
            )
        ),
    )
    return [row[0] for row in rows if _whole_text(row[0])]


def _whole_text(process_id: object) -> bool:
    """An id read whole (long_id.py) and text (blob_id.py): one whose record a drive may
    test and measure."""
    return isinstance(process_id, str) and not past_read(process_id)


# The drive's statement reads `processes` only through its two partial indexes, the live
# leases and the backlog's first rows, each a handful of rows probed by key: SQLite's names
# its indexes (`INDEXED BY`). PostgreSQL's planner cannot see that: it estimates an index's
# predicate from each column's statistics alone, and on a registry with a history (every
# ended row unmarked, so `backlog_seq IS NULL` holds for most rows) it expects tens of
# thousands of rows where there are a hundred, and scans the table (in parallel), or reads
# the status index's every running row, or merges with the whole lease table, and then
# compiles the plan it priced so high (JIT). Over 100,000 waiting and 100,000 ended rows:
# 230-250 ms a drive, against ~4 ms walking the indexes (P5). So the drive's transaction,
# on PostgreSQL, plans with index scans and nested loops only, and without JIT.
_INDEX_WALKS_ONLY = "SELECT " + ", ".join(
    f"set_config('{setting}', 'off', true)"
    for setting in ("enable_seqscan", "enable_bitmapscan", "enable_hashjoin",
                    "enable_mergejoin", "jit")
)


def _indexed_rest(
    conn: Tx,
    backlog: str,
    unbarred: str,
    values: tuple[object, ...],
    dead: list[str] | None,
    now: int,
    large: list[str],
    skip: str,
) -> tuple[str, tuple[object, ...]]:
    """The drive's rest (the running rows out of the backlog, less the barred) and its
    values (`skip` leaves out the rows `large`, bound first: `still_large`): the rows of
    the two indexes of running rows not marked plainly the backlog's
    (backlog_mark.py), and the marked rows whose lease is live and not barred (held by a
    holder in `dead`, or by anyone when `dead` is None), found from the leases. Every
    other running row is marked, so its record is the backlog's, and its lease is not
    live: it is in the backlog."""
    # SQLite's planner, without statistics, prefers the status index, and would test every
    # running row's record: the indexes are named there. PostgreSQL's matches a partial
    # index by its predicate, written here as the index's.
    named = dialect(conn).name == "sqlite"
    parts = [
        f"{_work_item_select(conn, source=f'processes p{_indexed_by(index, named)}')} "
        f"WHERE p.status = 'running' AND {condition}{skip} AND ({backlog}) IS NOT TRUE"
        f"{unbarred}"
        for index, condition in (
            (backlog_mark.UNMARKED_INDEX, backlog_mark.UNMARKED),
            (backlog_mark.STALE_INDEX, backlog_mark.STALE),
        )
    ]
    part_values = (*large, now, *values) * 2
    if dead == []:  # every live lease is barred
        return " UNION ALL ".join(parts), part_values
    holders = "" if dead is None else f" AND l.lease_owner_liveness_json IN ({_marks(dead)})"
    parts.append(
        f"{_work_item_select(conn)} WHERE p.process_id IN (SELECT l.process_id "
        f"FROM process_leases l WHERE {LIVE}{holders}) "
        f"AND p.status = 'running' AND {backlog_mark.MARKED}"
    )
    return " UNION ALL ".join(parts), (*part_values, now, *(dead or ()))


def _indexed_by(index: str, named: bool) -> str:
    return f" INDEXED BY {index}" if named else ""


def _has_drive_indexes(conn: Tx) -> bool:
    """Whether the registry has both of the drive's indexes (an older build's has neither
    until `lashtui index` adds them)."""
    return not missing(conn, backlog_mark.INDEX_DDL)


def _dead_holders(conn: Tx, claimant: LeaseOwnerIdentity, now: int) -> list[str] | None:
    """The liveness texts of the live leases' holders that `claimant` can prove dead, or
    None past `CHUNK` of them (none is then left out). The distinct holders of live leases
    are read in one statement over the leases alone; a holder that took its lease after
    that read is left out with the barred ones, and the next drive or wake sees it."""
    holders = fetch_rows(
        conn,
        f"SELECT DISTINCT {LIVENESS} FROM process_leases l WHERE {LIVE}",
        (now,),
    )
    proofs: dict[str | None, bool] = {}
    # A holder without liveness (NULL) reads as opaque, never provably dead: never here.
    dead = [text for (text,) in holders if _provably_dead(text, claimant, proofs)]
    return None if len(dead) > CHUNK else dead


def _unbarred(dead: list[str] | None, now: int) -> tuple[str, tuple[object, ...]]:
    """A condition on the lease row `l` (and its values) that keeps a row unless its lease
    is live at `now` and its holder is not in `dead` (`_dead_holders`); nothing when
    `dead` is None."""
    if dead is None:
        return "", ()
    if not dead:
        return f" AND NOT ({LIVE})", (now,)
    return f" AND (NOT ({LIVE}) OR l.lease_owner_liveness_json IN ({_marks(dead)}))", (now, *dead)


def _marks(values: list[str]) -> str:
    return ", ".join("?" * len(values))


def work_item(conn: Tx, process_id: str) -> ProcessWorkItem | None:
    """The row's work item as it is now, or None when the row is terminal or gone: what a
    worker checks before it claims a row its worklist listed a while ago, so a row another
    worker has ended or holds costs one read instead of a write (the claim) and another
    (the release). One primary-key lookup in each table, and the record's for a free row."""
    rows = fetch_rows(
        conn,
        f"{_work_item_select(conn, ', p.status')} WHERE p.process_id = ?",
        (process_id,),
    )
    if not rows or rows[0][-1] != "running":
        return None
    item = _work_item(conn, rows[0][:-1])
    if item.lease is None and not item.undecodable:
        # Likely claimed next: its record is read (and on SQLite's writer, decoded into the
        # connection's record cache) now, in a read, so that the claim's transaction, which
        # holds the file's write lock, finds it decoded (row.load_record).
        load_record(conn, process_id, lenient=True)
    return item


def work_items_changed_since(
    conn: Tx,
    cursor: int,
    limit: int,
    claimant: LeaseOwnerIdentity | None = None,
    now: int = 0,
) -> tuple[list[ProcessWorkItem], int]:
    """The worklist's rows among the first `limit` rows the change feed has after `cursor`,
    and the position after those rows: what a worker woken by a commit reads, so a wake
    costs what changed, not the whole worklist. The query walks the change-feed index
    alone; the rows that ended are skipped here rather than in SQL, where a status test
    could lead the planner to the status index (100,000 running rows) instead.

    With a `claimant` (the woken worker), the rows whose lease is live at `now` and held by
    an owner the claimant cannot prove dead are left out too: its claim could only be
    refused. Those are most of what a fleet's commits change (each other's claims, and
    each other's terminals), and reporting each cost its record's JSON read in SQL, its
    lease's models built and a /proc read: with four workers draining one file, ~50-100 us
    a row for each of the three that could not take it. So the feed is read without the
    records first, and the work items are read only for the rows left."""
    if limit < 1:
        raise InvalidRequest(f"a change feed page limit must be >= 1, got {limit}")
    if claimant is None:
        rows = fetch_rows(
            conn,
            f"{_work_item_select(conn, ', p.status, p.change_seq')} WHERE p.change_seq > ?"
            f"{dialect(conn).feed_bound('p.change_seq')} ORDER BY p.change_seq LIMIT ?",
            (cursor, limit),
        )
        if not rows:
            return [], cursor
        items = [_work_item(conn, row[:-2]) for row in rows if row[-2] == "running"]
        return items, int(rows[-1][-1])
    rows = fetch_rows(
        conn,
        f"SELECT {read_text('p.process_id')}, p.status, p.change_seq, "
        f"{read_text('l.lease_owner_id')}, {read_text('l.lease_token')}, "
        f"l.lease_expires_at_ms, {LIVENESS} FROM processes p "
        "LEFT JOIN process_leases l ON l.process_id = p.process_id WHERE p.change_seq > ?"
        f"{dialect(conn).feed_bound('p.change_seq')} ORDER BY p.change_seq LIMIT ?",
        (cursor, limit),
    )
    if not rows:
        return [], cursor
    proofs: dict[str | None, bool] = {}  # per holder's liveness, one /proc read each
    wanted = [
        row[0]
        for row in rows
        if row[1] == "running"
        and not past_read(row[0])  # (never claimed: long_id.py)
        and not _barred(row[3:], claimant, now, proofs)
    ]
    return _work_items_of(conn, wanted), int(rows[-1][2])


def _barred(
    lease_columns: Row, claimant: LeaseOwnerIdentity, now: int, proofs: dict[str | None, bool]
) -> bool:
    """`ProcessLease.bars` on a lease row's columns (owner id, token, expiry, liveness):
    live, and its holder not provably dead for `claimant`."""
    owner_id, token, expires_at_ms, liveness_json = lease_columns
    if owner_id is None or token is None or expires_at_ms <= now:
        return False
    return not _provably_dead(liveness_json, claimant, proofs)


def _provably_dead(
    liveness_json: str | None, claimant: LeaseOwnerIdentity, proofs: dict[str | None, bool]
) -> bool:
    """Whether `claimant` can prove dead the holder whose liveness is `liveness_json`;
    `proofs` keeps each answer, so a holder costs one /proc read however many rows it
    holds."""
    dead = proofs.get(liveness_json)
    if dead is None:
        holder = _decode_liveness(liveness_json)
        dead = proofs[liveness_json] = liveness_provably_dead(holder, claimant.liveness)
    return dead


def _work_items_of(conn: Tx, process_ids: list[str]) -> list[ProcessWorkItem]:
    """The work items of `process_ids`, in that order, leaving out any that ended or went
    since the caller's read (on PostgreSQL the two are separate statements)."""
    if not process_ids:
        return []
    marks = ", ".join("?" * len(process_ids))
    # A record known past the ceiling is told again from its row's header and its JSON
    # left unread (`still_large` says why); its item is then undecodable (`_decoded_item`).
    large = still_large(conn, process_ids)
    unread = id_among(large) if large else ""
    rows = fetch_rows(
        conn,
        f"{_work_item_select(conn, ', p.status', unread=unread)} "
        f"WHERE p.process_id IN ({marks})",
        (*large, *large, *process_ids),
    )
    found = {row[0]: row for row in rows if row[-1] == "running"}
    return [_work_item(conn, found[pid][:-1]) for pid in process_ids if pid in found]


def _left_to_its_owner(sql: Dialect) -> str:
    """The running row `p` is externally owned work without an abandon request, read with
    the very expressions its work item is built from (`_work_item_select`): the worker
    drops such an item unclaimed (worker.py `_wants`), so the drive leaves the row in SQL
    rather than build its item. External work lives as long as its owner's system keeps it
    running: over 20,000 such rows a drive took ~260 ms, every renew interval, for each
    worker. A row whose disposition the SQL cannot read stays (its record decides)."""
    disposition = sql.json_text("p.record_json", "disposition")
    requested = sql.json_has("p.record_json", "abandon_request", escaped_keys=True)
    quiet = f"{disposition} = 'externally_owned' AND NOT {requested}"
    if sql.name == "sqlite":  # SQLite keeps the parse its select's columns made
        return quiet
    # PostgreSQL casts the record afresh for each test: only where the value can be there
    # as written (one spelled with escapes is kept, and its item decides).
    return f"CASE WHEN strpos(p.record_json, '\"externally_owned\"') > 0 THEN {quiet} END"


def _work_item_select(
    conn: Tx, more: str = "", source: str = "processes p", unread: str = ""
) -> str:
    """`SELECT` (id, disposition, abandon requested, the lease columns, then `more`) `FROM`
    the rows (`source`, as `p`) and their leases, for the caller's `WHERE`; where `unread`
    holds (its values bound first, twice), the record's two fields NULL, its JSON unread."""
    sql = dialect(conn)
    disposition = sql.json_text("p.record_json", "disposition")
    requested = sql.json_has("p.record_json", "abandon_request", escaped_keys=True)
    if unread:
        disposition = f"CASE WHEN {unread} THEN NULL ELSE {disposition} END"
        requested = f"CASE WHEN {unread} THEN NULL ELSE {requested} END"
    return (
        f"SELECT {read_text('p.process_id')}, {disposition}, {requested}, "
        f"{LEASE_ROW_COLUMNS}{more} "
        f"FROM {source} LEFT JOIN process_leases l ON l.process_id = p.process_id"
    )


def _work_item(conn: Tx, row: Row) -> ProcessWorkItem:
    process_id, disposition, requested, *columns = row
    if isinstance(process_id, bytes):  # a blob (blob_id.py): never claimed
        return ProcessWorkItem(
            process_id=shown_id(process_id),
            disposition=RecoveryDisposition.EXTERNALLY_OWNED,
            lease=None,
            undecodable=True,
        )
    if past_read(process_id):  # its id is not read whole (long_id.py): never claimed
        return ProcessWorkItem(
            process_id=as_read(process_id),
            disposition=RecoveryDisposition.EXTERNALLY_OWNED,
            lease=None,
            undecodable=True,
        )
    held = columns[0] is not None and columns[3] is not None  # owner id and token
    lease = read_lease(process_id, columns) if held else None
    if lease is not None and lease.undecodable is not None:  # skipped, as such a record
        return ProcessWorkItem(
            process_id=process_id,
            disposition=RecoveryDisposition.EXTERNALLY_OWNED,
            lease=None,
            undecodable=True,
        )
    if disposition not in _DISPOSITIONS:  # not read in SQL: ask the record itself
        return _decoded_item(conn, process_id, lease)
    return ProcessWorkItem(
        process_id=process_id,
        disposition=disposition,
        abandon_requested=bool(requested),
        lease=lease,
    )


def _decoded_item(conn: Tx, process_id: str, lease: ProcessLease | None) -> ProcessWorkItem:
    """The work item of a row whose JSON the SQL could not read (see `Dialect.json_text`):
    from its decoded record if it decodes, else marked undecodable (the worker skips it).
    A record past the ceiling is told from its row's header (`past_ceiling`), not loaded
    again to be measured."""
    large = past_ceiling(conn, [process_id])
    record = None if large else load_record(conn, process_id, lenient=True)
    if record is None or record.undecodable is not None:
        return ProcessWorkItem(
            process_id=process_id,
            disposition=RecoveryDisposition.EXTERNALLY_OWNED,
            lease=lease,
            undecodable=True,
        )
    return ProcessWorkItem(
        process_id=process_id,
        disposition=record.disposition,
        abandon_requested=record.abandon_request is not None,
        lease=lease,
    )


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
