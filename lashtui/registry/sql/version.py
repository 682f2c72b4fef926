"""The registry layout's version, which both stores stamp and check: lash's version 10.
There is no migration chain, so a store refuses, untouched, a database of any other."""

from __future__ import annotations

from typing import Any

SCHEMA_VERSION = 10


def unsupported_schema_message(found: int) -> str:
    return (
        "Unsupported lash process registry schema: this binary supports schema version "
        f"{SCHEMA_VERSION}, but the database reports version {found}. There is no migration "
        "chain — delete the process registry database and start fresh."
    )


def has_sort_label(conn: Any) -> bool:
    """Whether a SQLite registry's `processes` has lashtui's one column beyond lash's
    layout, `sort_label` (sqlite/schema.py): every registry this build creates, and one
    an older build made once `lashtui index` added it. A writable connection that found it
    fills it in each insert (row.py `insert_record`), and a label page sorts by it
    (order.py `label_key`)."""
    return has_column(conn, "sort_label")


def has_backlog_seq(conn: Any) -> bool:
    """Whether a SQLite registry's `processes` has lashtui's column `backlog_seq`
    (sql/backlog_mark.py), as `has_sort_label` tells its other one. A connection that
    found it marks each row it inserts (row.py `insert_record`) and trusts the marks in a
    batch claim's pick (sql/run.py `_pick`)."""
    return has_column(conn, "backlog_seq")


def has_column(conn: Any, name: str) -> bool:
    """Whether a SQLite registry's `processes` table has the column `name`."""
    found = conn.execute(
        "SELECT 1 FROM pragma_table_info('processes') WHERE name = ?", [name]
    ).fetchone()
    return found is not None
