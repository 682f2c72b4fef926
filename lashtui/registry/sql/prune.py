"""Retention: deleting old terminal rows and everything hanging off them (semantics §5.21).

Only terminal rows last updated strictly before the cutoff go; a running row is never touched,
whatever the cutoff. The lease row goes too, so a re-registered id starts again at fence 1.

`count` says beforehand how many processes and events a prune would delete (the dashboard's
preview, `lashtui prune --dry-run`), with the change-feed position it counted at: a prune
bounded by that position (`up_to_change_seq`) deletes the rows counted and no row that
ended after. Both select doomed rows with one predicate, `DOOMED`: one range per terminal
status of the (status, updated_at_ms, process_id) index (`processes_status_updated_idx`,
made for the sorted pages: sql/order.py), so the count reads index entries only, and its
cost follows the rows a prune would delete, not the registry's size. Measured on the
benchmarks' seeded 1,000,000-row registry (900,000 terminal rows, one event each), through
the store, median of 5: 0 ms when nothing is old enough, ~0.8 s when all 900,000 are (the
events are one primary-key seek per process); without the index (a file created before
it) the same count reads the table, 5-10 s, still correct.
"""

from __future__ import annotations

from lashtui.model import (
    TERMINAL_STATES,
    ProcessListFilter,
    ProcessPruneCount,
    ProcessPruneReport,
    ProcessStatusFilter,
)
from lashtui.registry.sql.decoded_row import DECODE_ERRORS, decode_record
from lashtui.registry.sql.dialect import Tx, dialect
from lashtui.registry.sql.row import fetch_rows

_CHUNK = 500  # stay well under SQLite's bound-parameter limit

# The rows a prune deletes: terminal, last changed before the cutoff (the one parameter).
# An IN list of the terminal statuses, not `status != 'running'`: an index can seek each
# status's range, where `!=` makes SQLite scan.
_TERMINAL = ", ".join(f"'{state.value}'" for state in TERMINAL_STATES)
DOOMED = f"p.status IN ({_TERMINAL}) AND p.updated_at_ms < ?"


def prune(
    conn: Tx,
    cutoff_ms: int,
    list_filter: ProcessListFilter | None,
    up_to_change_seq: int | None,
) -> ProcessPruneReport:
    bound = "AND change_seq <= ?" if up_to_change_seq is not None else ""
    params: list[object] = [cutoff_ms]
    if up_to_change_seq is not None:
        params.append(up_to_change_seq)
    rows = fetch_rows(
        conn,
        f"SELECT process_id, {dialect(conn).stored_json('record_json')} FROM processes p "
        f"WHERE {DOOMED} {bound} "
        "ORDER BY process_id",
        params,
    )
    # A NULL id's row (blob_id.py: a stand-in, its record never read) goes only when no
    # filter asks its record anything; `IN` never matches it, so it is deleted apart. It
    # was counted as pruned and left in place.
    ids = [
        process_id
        for process_id, text in rows
        if list_filter is None
        or (process_id is not None and _matches_ignoring_status(list_filter, text))
    ]
    if None in ids:  # (SQLite only: PostgreSQL's key is NOT NULL; `IN (NULL)` below is inert)
        conn.execute(
            f"DELETE FROM processes WHERE rowid IN (SELECT p.rowid FROM processes p "
            f"WHERE p.process_id IS NULL AND {DOOMED} {bound})",
            params,
        )
    pruned_events = 0
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        marks = ",".join("?" * len(chunk))
        pruned_events += conn.execute(
            f"DELETE FROM process_events WHERE process_id IN ({marks})", chunk
        ).rowcount
        for table in ("process_wake_acks", "process_handle_grants", "process_leases", "processes"):
            conn.execute(f"DELETE FROM {table} WHERE process_id IN ({marks})", chunk)
    return ProcessPruneReport(pruned_processes=len(ids), pruned_events=pruned_events)


def count(conn: Tx, cutoff_ms: int) -> ProcessPruneCount:
    """What `prune(conn, cutoff_ms, None, seq)` deletes, read in one snapshot (the store
    runs this as a read), and that position, `seq`: the change feed's in that snapshot.
    Only rows at or below it are counted. On SQLite that is every row; on PostgreSQL the
    position trails any transaction still open anywhere on the server (dialect.py
    `change_position`), and a row saved above it, though committed, is left for the next
    count: counting it would promise a row the bounded prune then spares."""
    sql = dialect(conn)
    seq = int(conn.execute(sql.change_position()).fetchone()[0])
    # On SQLite every row is at or below it: no condition, so the count stays on the index.
    below, params = " AND p.change_seq <= ?", [cutoff_ms, seq]
    if sql.name == "sqlite":
        below, params = "", [cutoff_ms]
    processes, events = conn.execute(
        f"SELECT (SELECT count(*) FROM processes p WHERE {DOOMED}{below}), "
        "(SELECT count(*) FROM processes p JOIN process_events e "
        f"ON e.process_id = p.process_id WHERE {DOOMED}{below})",
        params * 2,
    ).fetchone()
    return ProcessPruneCount(
        processes=int(processes), events=int(events), up_to_change_seq=seq
    )


def _matches_ignoring_status(list_filter: ProcessListFilter, text: str | None) -> bool:
    """A prune filter's status defaults to `running`, which would prune nothing; only an
    explicit terminal status narrows it, so match the other fields and the status if set."""
    try:
        record = decode_record(text)
    except DECODE_ERRORS:
        return False  # a filter cannot be matched on a record that does not decode
    if "status" not in list_filter.model_fields_set:
        list_filter = list_filter.model_copy(update={"status": ProcessStatusFilter.ANY})
    return list_filter.matches_record(record)
