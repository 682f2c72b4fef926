"""Reading and writing the `processes` row: record JSON plus its projected columns.

Every save takes a fresh `change_seq` in the same transaction (SQLite: from the clock row;
PostgreSQL: from the transaction's id, read below a bound, postgres/change_feed.py), which is
what makes the change feed exact: a reader that saw sequence N has seen every save <= N.

A connection that is a `RecordCache` (the SQLite store's are) keeps the records it last
decoded or saved, with their JSON text, and skips decoding a row whose text is still exactly
that (the database compares the two, so the text only comes back when it differs): a worker
reads back each record it wrote a moment before, and decoding one costs 30-300 us, the GC's
share included. Comparing the text itself, not a
version column, means nothing else that writes the file has to keep any promise for this
to be right.

Decoding a row, and the stand-in for one that does not decode, is decoded_row.py's; saving
a record's changed fields by editing its stored JSON in place is json_edit.py's.
"""

from __future__ import annotations

import functools

from lashtui.errors import InvalidRequest, UnknownProcess
from lashtui.model import ProcessRecord, RecoveryDisposition
from lashtui.registry.sql.backlog_mark import mark
from lashtui.registry.sql.blob_id import not_text, refuse_blob
from lashtui.registry.sql.decoded_row import (
    DECODE_ERRORS,
    checked,
    decode_record,
    keyed,
    refuse_undecodable,
    stand_in,
    undecodable_reason,
)
from lashtui.registry.sql.dialect import Dialect, Tx, dialect
from lashtui.registry.sql.fetch import (
    Row,
    check_stored_size,
    fetch_rows,
    row_columns,
    unstorable_parameter,
)
from lashtui.registry.sql.long_id import is_cut, refuse_cut
from lashtui.registry.sql.record_cache import RecordCache

__all__ = [
    "RecordCache",
    "Row",
    "fetch_rows",
    "row_columns",
    "unstorable_parameter",
]


@functools.cache
def _load_sql(sql: Dialect) -> str:
    """`load_record`'s read: the JSON (unless the connection holds that very text, or it is
    past the ceiling: `stored_json`), whether it is past the ceiling, and the status column
    (`checked`). Made once per dialect: every write's first read is this one."""
    return (
        f"SELECT CASE WHEN record_json = ? THEN NULL ELSE {sql.stored_json('record_json')} "
        f"END, {sql.too_large('record_json')}, status "
        f"FROM processes WHERE process_id = ?{sql.row_lock}"
    )


def load_record(conn: Tx, process_id: str, *, lenient: bool = False) -> ProcessRecord | None:
    """The row's record; None if there is no such row. A row that does not decode is its
    stand-in when `lenient` (reads), else refused (`refuse_undecodable`: writes). Only the
    JSON is read first: this is every write's read, and the columns a stand-in needs are
    fetched only for a row that fails."""
    if is_cut(process_id):  # (reads take a cut id's row by `process.get`)
        raise refuse_cut(process_id)
    held = conn.cached(process_id) if isinstance(conn, RecordCache) else None
    # The JSON only comes back when the row has moved on from the version held.
    rows = fetch_rows(conn, _load_sql(dialect(conn)), (held[0] if held else None, process_id))
    if not rows:
        if not lenient and not_text(conn, process_id):  # a write's (blob_id.py)
            raise InvalidRequest(refuse_blob(process_id))
        return None
    text, large, status = rows[0]
    try:
        if text is None and held is not None and not large:
            return checked(held[1], status)
        return checked(_decoded(conn, process_id, None if large else text), status)
    except DECODE_ERRORS as error:
        if not lenient:
            raise refuse_undecodable(process_id, undecodable_reason(error)) from None
        columns = f"SELECT {row_columns(conn)} FROM processes p WHERE p.process_id = ?"
        return stand_in(fetch_rows(conn, columns, (process_id,))[0], error)


def decoded_record(conn: Tx, process_id: str, text: str | None) -> ProcessRecord:
    """The record of a row whose JSON the caller has read in this transaction, as
    `load_record` reads it for a write: the connection's own record when it holds this
    very text, else decoded (refused if it does not decode, or was too large to read and
    so is None: `refuse_undecodable`)."""
    held = conn.cached(process_id) if isinstance(conn, RecordCache) else None
    if held is not None and held[0] == text:
        return held[1]
    try:
        return _decoded(conn, process_id, text)
    except DECODE_ERRORS as error:
        raise refuse_undecodable(process_id, undecodable_reason(error)) from None


def _decoded(conn: Tx, process_id: str, text: str | None) -> ProcessRecord:
    record = keyed(decode_record(text), process_id)
    if isinstance(conn, RecordCache) and text is not None:  # (None never decodes)
        conn.remember(process_id, text, record)
    return record


def require_record(conn: Tx, process_id: str) -> ProcessRecord:
    record = load_record(conn, process_id)
    if record is None:
        raise UnknownProcess.process(process_id)
    return record


def to_run(record: ProcessRecord) -> bool:
    """Whether a worker holding the lease runs this row and may record that it started
    (§8: a rerunnable row always, any other only if it never started; §7.4 a-c: never an
    externally-owned row or a blank id, which the worker fails before any side effect)."""
    if record.is_terminal() or not runnable(record.id, record.disposition):
        return False
    return record.runs_on_recovery()


def runnable(process_id: str, disposition: RecoveryDisposition) -> bool:
    """`to_run` of a row that is running and never started (a new one, process.py
    `register_new`): its id and disposition alone decide."""
    return bool(process_id.strip()) and disposition is not RecoveryDisposition.EXTERNALLY_OWNED


def require_exists(conn: Tx, process_id: str) -> None:
    """The existence check, without decoding the row."""
    if is_cut(process_id):
        raise refuse_cut(process_id)
    row = conn.execute(
        f"SELECT 1 FROM processes WHERE process_id = ?{dialect(conn).row_lock}", (process_id,)
    ).fetchone()
    if row is None:
        if not_text(conn, process_id):  # (blob_id.py)
            raise InvalidRequest(refuse_blob(process_id))
        raise UnknownProcess.process(process_id)


def next_change_seq(conn: Tx) -> int:
    """The next change sequence. On SQLite a transaction's first takes it from the clock
    row; the rest are counted here and the row takes the last one at COMMIT
    (`RecordCache.save_clock`), one statement instead of one per save: a group commit saves
    three times per process in P1. On PostgreSQL the store's connection sets the first at
    BEGIN, from the transaction's id, and no clock row is written (postgres/change_feed.py)."""
    if isinstance(conn, RecordCache) and conn.last_seq is not None:
        conn.last_seq += 1
        conn.seq_unsaved = True
        return conn.last_seq
    row = conn.execute(
        "UPDATE process_change_clock SET current_seq = current_seq + 1 "
        "WHERE singleton = 1 RETURNING current_seq"
    ).fetchone()
    seq = int(row[0])
    if isinstance(conn, RecordCache):
        conn.last_seq = seq
    return seq


def _stage(conn: Tx, record: ProcessRecord, text: str, key: str | None = None) -> None:
    """Into the cache under the row's key, with that id (`keyed`)."""
    if isinstance(conn, RecordCache):
        conn.staged[key or record.id] = (text, keyed(record, key or record.id))


def sort_label(record: ProcessRecord) -> str:
    """The `sort_label` column's value (order.py `label_key`): its JSON expression, as
    Python reads the record (the identity's label, else its kind, else '')."""
    return record.identity.label or record.identity.kind or ""


def insert_record(conn: Tx, record: ProcessRecord) -> None:
    text = record.stored_json()
    check_stored_size(text, f"process `{record.id}`'s record")
    values: tuple[object, ...] = (
        record.id,
        record.registration_hash,
        record.originator_scope_id(),
        record.created_at_ms,
        record.updated_at_ms,
        change_seq := next_change_seq(conn),
        record.status.state.value,
        text,
    )
    columns = _INSERT_COLUMNS
    # A registry an older lashtui made has no `sort_label` or `backlog_seq` until `lashtui
    # index` adds them (SQLite); a connection that found them says so.
    if getattr(conn, "sort_label", False):
        columns, values = f"{columns}, sort_label", (*values, sort_label(record))
    if getattr(conn, "backlog_seq", False):
        columns = f"{columns}, backlog_seq"
        values = (*values, mark(record.disposition.value, text, change_seq))
    marks = ", ".join("?" * len(values))
    conn.execute(f"INSERT INTO processes ({columns}) VALUES ({marks})", values)
    _stage(conn, record, text)


_INSERT_COLUMNS = (
    "process_id, registration_hash, owner_scope_id, created_at_ms, updated_at_ms, "
    "change_seq, status, record_json"
)


def save_record(conn: Tx, record: ProcessRecord, key: str | None = None) -> None:
    """The whole record saved over the row keyed `key` (default: its id; another only for a
    row whose id is not UTF-8, see `stored_id`)."""
    # The record's own serialisation, so a row lash wrote keeps lash's field order.
    change_seq, text = next_change_seq(conn), record.model_dump_json()
    check_stored_size(text, f"process `{record.id}`'s record")
    key = key or record.id
    if not record.is_terminal():
        # A running row was running before (status only ever moves running -> terminal), so
        # leave the column out: SQLite then skips the two indexes on it, which is most of
        # the cost they add to a save (measured: 142 -> 85 us).
        marked, values = _backlog_mark(conn, record, text, change_seq)
        conn.execute(
            f"UPDATE processes SET updated_at_ms = ?, change_seq = ?, {marked}record_json = ? "
            "WHERE process_id = ?",
            (record.updated_at_ms, change_seq, *values, text, key),
        )
    else:
        conn.execute(
            "UPDATE processes SET updated_at_ms = ?, change_seq = ?, status = ?, "
            "record_json = ? WHERE process_id = ?",
            (
                record.updated_at_ms,
                change_seq,
                record.status.state.value,
                text,
                key,
            ),
        )
    _stage(conn, record, text, key)


def _backlog_mark(
    conn: Tx, record: ProcessRecord, text: str, change_seq: int
) -> tuple[str, tuple[object, ...]]:
    """The `backlog_seq` assignment (and its value) of a running row's save of `text`,
    where the connection's registry has the column (sql/backlog_mark.py): its mark for a
    rerunnable record, and none for another, which has no mark to keep (leaving the
    column out leaves the drive's index of unmarked rows alone)."""
    if not getattr(conn, "backlog_seq", False):
        return "", ()
    if record.disposition is not RecoveryDisposition.RERUNNABLE:
        return "", ()
    return "backlog_seq = ?, ", (mark(record.disposition.value, text, change_seq),)


def touch(record: ProcessRecord, now_ms: int, **changes: object) -> ProcessRecord:
    """The record with `changes` applied and `updated_at_ms` bumped (never backwards)."""
    return record.model_copy(update={**changes, "updated_at_ms": max(now_ms, record.updated_at_ms)})
