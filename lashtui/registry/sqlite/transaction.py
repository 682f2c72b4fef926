"""How every transaction on a registry connection begins and ends (connection.py's single
transactions and group.py's groups alike)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from types import TracebackType
from typing import TypeVar

from lashtui.registry.sqlite.connect import RegistryConnection
from lashtui.registry.sqlite.write_lock import begin_write, end_write

T = TypeVar("T")


class transaction:  # lower case: used as `with transaction(conn, begin):`, like a function
    """`begin`, then the body: COMMIT if it returns, ROLLBACK if it (or the COMMIT)
    raises, with the error raised on. The connection's record cache is told which, so it
    keeps only what was committed. A BEGIN IMMEDIATE's hold of the file's write lock is
    counted on the connection (write_lock.py).

    A class rather than a `contextmanager` generator: every short write runs one, and the
    generator's machinery was ~2 us of a ~40 us write."""

    __slots__ = ("conn", "since")

    def __init__(self, conn: sqlite3.Connection, begin: str) -> None:
        assert isinstance(conn, RegistryConnection)  # every connection here is opened as one
        conn.still_there()  # (its file not deleted or replaced since it opened)
        self.conn = conn
        self.since: float | None = None  # when a BEGIN IMMEDIATE took the write lock
        if begin == "BEGIN IMMEDIATE":
            self.since = begin_write(conn, conn.write_lock, begin)
        else:
            conn.execute(begin)

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        conn = self.conn
        try:
            if kind is None:
                try:
                    conn.save_clock()
                    conn.execute("COMMIT")
                except BaseException:
                    self._roll_back()
                    raise
                conn.committed()
                return
            self._roll_back()  # and the body's error propagates
        finally:
            if self.since is not None:
                end_write(conn.write_lock, self.since)

    def _roll_back(self) -> None:
        conn = self.conn
        conn.rolled_back()
        if conn.in_transaction:
            conn.execute("ROLLBACK")


def _in_transaction(
    conn: sqlite3.Connection,
    begin: str | None,
    fn: Callable[..., T],
    *args: object,
    **kwargs: object,
) -> T:
    """`fn` in one transaction opened by `begin`; None for a read of one statement, which
    is its own transaction (and saves two round trips into SQLite)."""
    assert isinstance(conn, RegistryConnection)  # every connection here is opened as one
    if begin is None:
        result = fn(conn, *args, **kwargs)
        conn.committed()
        return result
    with transaction(conn, begin):
        result = fn(conn, *args, **kwargs)
    return result
