"""Reading and writing the `processes` row: record JSON plus its projected columns.

Every save takes a fresh `change_seq` from the clock row in the same transaction, which is
what makes the change feed exact: a reader that saw sequence N has seen every save <= N.
"""

from __future__ import annotations

import sqlite3

from lashtui.errors import UnknownProcess
from lashtui.model import ProcessRecord


def decode_record(text: str) -> ProcessRecord:
    return ProcessRecord.model_validate_json(text)


def load_record(conn: sqlite3.Connection, process_id: str) -> ProcessRecord | None:
    row = conn.execute(
        "SELECT record_json FROM processes WHERE process_id = ?", (process_id,)
    ).fetchone()
    return decode_record(row[0]) if row else None


def require_record(conn: sqlite3.Connection, process_id: str) -> ProcessRecord:
    record = load_record(conn, process_id)
    if record is None:
        raise UnknownProcess.process(process_id)
    return record


def require_exists(conn: sqlite3.Connection, process_id: str) -> None:
    """The existence check, without decoding the row."""
    row = conn.execute("SELECT 1 FROM processes WHERE process_id = ?", (process_id,)).fetchone()
    if row is None:
        raise UnknownProcess.process(process_id)


def next_change_seq(conn: sqlite3.Connection) -> int:
    row = conn.execute(
        "UPDATE process_change_clock SET current_seq = current_seq + 1 "
        "WHERE singleton = 1 RETURNING current_seq"
    ).fetchone()
    return int(row[0])


def insert_record(conn: sqlite3.Connection, record: ProcessRecord) -> None:
    conn.execute(
        "INSERT INTO processes (process_id, registration_hash, owner_scope_id, created_at_ms, "
        "updated_at_ms, change_seq, status, record_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            record.id,
            record.registration_hash,
            record.originator_scope_id(),
            record.created_at_ms,
            record.updated_at_ms,
            next_change_seq(conn),
            record.status.state.value,
            record.model_dump_json(),
        ),
    )


def save_record(conn: sqlite3.Connection, record: ProcessRecord) -> None:
    if not record.is_terminal():
        # A running row was running before (status only ever moves running -> terminal), so
        # leave the column out: SQLite then skips the two indexes on it, which is most of
        # the cost they add to a save (measured: 142 -> 85 us).
        conn.execute(
            "UPDATE processes SET updated_at_ms = ?, change_seq = ?, record_json = ? "
            "WHERE process_id = ?",
            (record.updated_at_ms, next_change_seq(conn), record.model_dump_json(), record.id),
        )
        return
    conn.execute(
        "UPDATE processes SET updated_at_ms = ?, change_seq = ?, status = ?, record_json = ? "
        "WHERE process_id = ?",
        (
            record.updated_at_ms,
            next_change_seq(conn),
            record.status.state.value,
            record.model_dump_json(),
            record.id,
        ),
    )


def touch(record: ProcessRecord, now_ms: int, **changes: object) -> ProcessRecord:
    """The record with `changes` applied and `updated_at_ms` bumped (never backwards)."""
    return record.model_copy(update={**changes, "updated_at_ms": max(now_ms, record.updated_at_ms)})
