"""Reaching under the registry: a plain connection to a test registry's database, for tests
that write rows the way lash would or read what was stored, bypassing lashtui's store."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from lashtui.registry.sql import repeated
from lashtui.registry.sql.dialect import Tx


@contextlib.contextmanager
def raw_connection(target: str) -> Iterator[Tx]:
    """One transaction on `target` (a SQLite path or a PostgreSQL URL), committed when the
    block ends; statements use `?` placeholders either way."""
    if target.startswith("postgresql://"):
        import psycopg

        from lashtui.registry.postgres.tx import PgTx

        with psycopg.connect(target) as pg:  # commits on a clean exit
            yield PgTx(pg)
        return
    conn = sqlite3.connect(target)
    # (lashtui's own SQL asks a function each store connection has: sql/repeated.py)
    repeated.install(conn)
    try:
        with conn:
            yield conn
    finally:
        conn.close()


def store_record_json(target: str, process_id: str, text: str) -> None:
    """Replace the row's stored record with `text`, as another program writing the
    registry would (one committed UPDATE)."""
    with raw_connection(target) as conn:
        conn.execute(
            "UPDATE processes SET record_json = ? WHERE process_id = ?", (text, process_id)
        )


def patch_stored_json(db: str, record_patch: object, event_patch: object) -> None:
    """Merge `record_patch` into every stored record and `event_patch` into every stored
    event (SQLite's `json_patch`), as another program writing fields lashtui does not
    know would leave them."""
    with raw_connection(db) as conn:
        for column, table, patch in (
            ("record_json", "processes", record_patch),
            ("event_json", "process_events", event_patch),
        ):
            conn.execute(
                f"UPDATE {table} SET {column} = json_patch({column}, ?)", (json.dumps(patch),)
            )


def store_id_as_bytes(db: str, process_id: str, raw: bytes) -> None:
    """Rename `process_id` to `raw`, bytes that need not be UTF-8, as another program could
    write it into a SQLite registry: in every table's `process_id` column and wherever its
    record and events' JSON hold it as a whole string (foreign keys are off in a plain
    sqlite3 connection, so the tables are renamed one by one)."""
    quoted, raw_quoted = f'"{process_id}"', b'"' + raw + b'"'
    with raw_connection(db) as conn:
        for column, table in (("record_json", "processes"), ("event_json", "process_events")):
            conn.execute(
                f"UPDATE {table} SET {column} = CAST(replace({column}, ?, CAST(? AS TEXT)) "
                "AS TEXT) WHERE process_id = ?",
                (quoted, raw_quoted, process_id),
            )
        for table in (
            "processes", "process_events", "process_leases", "process_handle_grants",
            "process_wake_acks",
        ):  # fmt: skip
            conn.execute(
                f"UPDATE {table} SET process_id = CAST(? AS TEXT) WHERE process_id = ?",
                (raw, process_id),
            )


def rows_keyed(db: str, raw: bytes) -> dict[str, int]:
    """How many rows each table holds under the key `raw`, compared as bytes."""
    tables = ("processes", "process_events", "process_leases", "process_handle_grants")
    with raw_connection(db) as conn:
        return {
            table: conn.execute(
                f"SELECT count(*) FROM {table} WHERE CAST(process_id AS BLOB) = ?", (raw,)
            ).fetchone()[0]
            for table in tables
        }


def copy_row(
    db: str | Path, source: str, process_id: str | bytes | None, record: str | None = None
) -> None:
    """A copy of `source`'s row in SQLite registry `db` under `process_id` (text, bytes:
    stored as a blob, or None: NULL, which a rowid table's TEXT PRIMARY KEY takes), as
    another program with no id rule could store it: every column copied, its change one
    later, its record `record` if given (its own otherwise); no event, lease or grant."""
    conn = sqlite3.connect(db)
    try:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(processes)")]
        other = [c for c in columns if c not in ("process_id", "change_seq", "record_json")]
        names = ", ".join(other)
        with conn:
            conn.execute(
                f"INSERT INTO processes (process_id, change_seq, record_json, {names}) "
                f"SELECT ?, change_seq + 1, coalesce(?, record_json), {names} "
                "FROM processes WHERE process_id = ?",
                (process_id, record, source),
            )
    finally:
        conn.close()
