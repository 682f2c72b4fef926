"""How every transaction on a registry connection begins and ends (connection.py's single
transactions and group.py's groups alike)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from lashtui.registry.sql.row import RecordCache


@contextmanager
def transaction(conn: sqlite3.Connection, begin: str) -> Iterator[None]:
    """`begin`, then the body: COMMIT if it returns, ROLLBACK if it (or the COMMIT)
    raises, with the error raised on. The connection's record cache is told which, so it
    keeps only what was committed."""
    assert isinstance(conn, RecordCache)  # every connection here is opened as one
    conn.execute(begin)
    try:
        yield
        conn.save_clock()
        conn.execute("COMMIT")
    except BaseException:
        conn.rolled_back()
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.committed()
