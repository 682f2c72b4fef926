"""Retention: deleting old terminal rows and everything hanging off them (semantics §5.21).

Only terminal rows last updated strictly before the cutoff go; a running row is never touched,
whatever the cutoff. The lease row goes too, so a re-registered id starts again at fence 1.
"""

from __future__ import annotations

from lashtui.model import ProcessListFilter, ProcessPruneReport, ProcessStatusFilter
from lashtui.registry.sql.dialect import Tx
from lashtui.registry.sql.row import DECODE_ERRORS, decode_record, fetch_rows

_CHUNK = 500  # stay well under SQLite's bound-parameter limit


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
        "SELECT process_id, record_json FROM processes WHERE status != 'running' "
        f"AND updated_at_ms < ? {bound} ORDER BY process_id",
        params,
    )
    ids = [
        process_id
        for process_id, text in rows
        if list_filter is None or _matches_ignoring_status(list_filter, text)
    ]
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


def _matches_ignoring_status(list_filter: ProcessListFilter, text: str) -> bool:
    """A prune filter's status defaults to `running`, which would prune nothing; only an
    explicit terminal status narrows it, so match the other fields and the status if set."""
    try:
        record = decode_record(text)
    except DECODE_ERRORS:
        return False  # a filter cannot be matched on a record that does not decode
    if "status" not in list_filter.model_fields_set:
        list_filter = list_filter.model_copy(update={"status": ProcessStatusFilter.ANY})
    return list_filter.matches_record(record)
