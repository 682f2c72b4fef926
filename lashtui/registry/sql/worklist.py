"""The worklist's reads besides the drive (drive.py): the whole worklist (`work_items`), one
row's work item before a claim (`work_item`), and a woken worker's read of what the change
feed has after its cursor (`work_items_changed_since`).
"""

from __future__ import annotations

from lashtui.errors import InvalidRequest
from lashtui.model import LeaseOwnerIdentity, ProcessWorkItem
from lashtui.registry.sql.blob_id import read_id
from lashtui.registry.sql.dialect import Tx, dialect
from lashtui.registry.sql.drive import still_large
from lashtui.registry.sql.fetch import LIVENESS, id_among
from lashtui.registry.sql.row import fetch_rows, load_record
from lashtui.registry.sql.stored_text import past_read, read_text
from lashtui.registry.sql.work_item import _barred, _with_unread, _work_item, _work_item_select


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
    # On SQLite a NULL id as its rowid (blob_id.py `read_id`), as the drive reads it.
    pid = read_id() if dialect(conn).name == "sqlite" else read_text("p.process_id")
    rows = fetch_rows(
        conn,
        f"SELECT {pid}, p.status, p.change_seq, "
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
        if row[1] == "running" and not _barred(row[3:], claimant, now, proofs)
    ]
    return _items_in_feed_order(conn, wanted), int(rows[-1][2])


def _items_in_feed_order(conn: Tx, wanted: list[object]) -> list[ProcessWorkItem]:
    """The work items of the running rows `wanted` (ids as read, in the feed's order). A
    row no lashtui statement can name (a NULL id, read as its rowid; a blob; an id not
    read whole: blob_id.py, long_id.py) is the undecodable item the drive makes of it
    (`_work_item`: skipped, counted and named by the worker), built from its id alone; the
    rest are read by id (`_work_items_of`). A NULL id was read by id too, and `IN` never
    matches NULL: a woken worker left such a row out unsaid (and a cut id, which it left
    out on purpose), where the drive, a renew interval later, skipped and named it."""
    whole = [pid for pid in wanted if isinstance(pid, str) and not past_read(pid)]
    if len(whole) == len(wanted):  # (the rule: every id text, read whole)
        return _work_items_of(conn, whole)
    read = {item.process_id: item for item in _work_items_of(conn, whole)}
    items = []
    for pid in wanted:
        if pid in read:
            items.append(read[pid])
        elif not (isinstance(pid, str) and not past_read(pid)):  # (a whole id not read:
            items.append(_work_item(conn, (pid, None, None)))  # ended or gone since)
    return items


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
