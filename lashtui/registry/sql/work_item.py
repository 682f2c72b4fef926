"""A worker's work item (`ProcessWorkItem`) built from a running row and its lease columns:
the one select every worklist read uses (`_work_item_select`: disposition and the abandon
request read straight from the record JSON in SQL), the item it makes of each row, and the
holders a claimant can prove dead.

Shared by the worklist's reads (worklist.py) and a worker's drive (drive.py); a row the SQL
cannot read, or that is not what lashtui claims (a blob id, an id not read whole, a lease
that does not decode), becomes an undecodable item, which the worker skips.
"""

from __future__ import annotations

from lashtui.model import LeaseOwnerIdentity, ProcessLease, ProcessWorkItem, RecoveryDisposition
from lashtui.model.lease import liveness_provably_dead
from lashtui.registry.sql.blob_id import NULL_SHOWN, null_name, read_id, shown_id
from lashtui.registry.sql.dialect import Tx, dialect
from lashtui.registry.sql.fetch import LEASE_ROW_COLUMNS, id_among, past_ceiling
from lashtui.registry.sql.filter import sqlite_order
from lashtui.registry.sql.lease_row import _decode_liveness, read_lease
from lashtui.registry.sql.row import Row, fetch_rows, load_record
from lashtui.registry.sql.stored_text import as_read, past_read, read_text

_DISPOSITIONS = frozenset(d.value for d in RecoveryDisposition)


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
    return sorted(rows, key=sqlite_order)  # (a NULL id's rowid first, as SQLite orders it)


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
    # On SQLite a NULL id as its rowid (blob_id.py `read_id`), so that each such row is an
    # item of its own, named apart in what the worker and the sweep skip (`_work_item`).
    pid = read_id() if sql.name == "sqlite" else read_text("p.process_id")
    return (
        f"SELECT {pid}, {disposition}, {requested}, "
        f"{LEASE_ROW_COLUMNS}{more} "
        f"FROM {source} LEFT JOIN process_leases l ON l.process_id = p.process_id"
    )


def _work_item(conn: Tx, row: Row) -> ProcessWorkItem:
    process_id, disposition, requested, *columns = row
    if process_id is None or isinstance(process_id, bytes | int):  # NULL, a blob: never claimed
        return ProcessWorkItem(
            process_id=_not_text_named(conn, process_id),
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


def _not_text_named(conn: Tx, process_id: int | bytes | None) -> str:
    """A work item's id that is not text as every reader names it (blob_id.py): a NULL
    id's by its rowid (`NULL#4`, `NULL##4` where a text row is `NULL#4`), a blob's
    `b'...'`. Each NULL row was `NULL`: three skipped read as one."""
    if isinstance(process_id, bytes):
        return shown_id(process_id)
    return NULL_SHOWN if process_id is None else null_name(conn, process_id)


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
