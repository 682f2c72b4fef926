"""A worker's periodic drive: the worklist with the backlog cut to its first rows
(`drive_work_items`), read through the two partial indexes of running rows not marked
plainly the backlog's (backlog_mark.py) where the registry has them; and the records past
the ceiling that every worklist read leaves out of its SQL (`still_large`).

A drive runs every renew interval on every worker, so what it reads is what grows with the
fleet and the backlog: the docstrings below give the figures that shaped it.
"""

from __future__ import annotations

from lashtui.model import LeaseOwnerIdentity, ProcessWorkItem
from lashtui.registry.sql import backlog_mark
from lashtui.registry.sql.dialect import Dialect, Tx, dialect
from lashtui.registry.sql.fetch import CHUNK, LIVENESS, id_among, past_ceiling
from lashtui.registry.sql.filter import LIVE, in_backlog
from lashtui.registry.sql.indexes import missing
from lashtui.registry.sql.row import Row, fetch_rows
from lashtui.registry.sql.stored_text import past_read, read_text
from lashtui.registry.sql.work_item import (
    _provably_dead,
    _with_unread,
    _work_item,
    _work_item_select,
)

# Of the backlog, the rows a worker's drive lists: two or more make it claim in batches, one
# alone takes the one-row path (batch.py `_hand_to_batches`).
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
    # The backlog's first text ids: NULL ids sort first, and two of them were all the drive
    # listed of a backlog, so `worker --once` ran none of its rows (nothing was handed to
    # the batch claim). They are listed apart, each one (`_not_text_backlog`).
    text_ids = " AND p.process_id IS NOT NULL" if sql.name == "sqlite" else ""
    rows = fetch_rows(
        conn,
        f"SELECT * FROM ({rest}) rest "
        f"UNION ALL SELECT * FROM ({select} WHERE {running}{skip}{text_ids} "
        f"AND ({backlog}) IS TRUE ORDER BY {by_id} LIMIT ?) backlog "
        "ORDER BY 1",
        (*rest_values, *large, now, BACKLOG_LISTED),
    )
    if sql.name == "sqlite":
        rows += _not_text_backlog(conn, rows, f"{select} WHERE p.status = 'running'{skip}",
                                  f"({backlog}) IS TRUE", (*large, now))  # fmt: skip
    rows = _with_unread(conn, rows, large, *lease_barred)
    return [_work_item(conn, row) for row in rows]


def _not_text_backlog(
    conn: Tx, rows: list[Row], select: str, backlog: str, values: tuple[object, ...]
) -> list[Row]:
    """The rows of the backlog whose id is not text (blob_id.py) that `rows` lacks: the
    drive lists only the backlog's first `BACKLOG_LISTED` rows, and a blob sorts after every
    text id, so over a backlog of two or more it was never listed, and `worker --once` said
    "3 rows looked at: 3 ran" of a registry whose fourth row it could never run, unsaid.
    Listed, each is a work item the worker skips, counts and names (`_work_item`). Each of
    the two reads seeks its range of the (status, process_id) index (an OR of them made
    SQLite walk every running row); each NULL id is read as its rowid, one item a row (it
    read the first alone, LIMIT 1, when every NULL id read as `NULL`)."""
    listed = {row[0] for row in rows if not isinstance(row[0], str)}
    found: list[Row] = []
    for bound in ("p.process_id IS NULL", f"p.process_id >= {_NO_BYTES}"):
        for row in fetch_rows(conn, f"{select} AND {bound} AND {backlog}", values):
            if row[0] not in listed:
                found.append(row)
    return found


# The least blob, which every blob is at or above and every text id below (SQLite sorts NULL,
# then numbers, then text, then blobs).
_NO_BYTES = "CAST(x'' AS BLOB)"


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
