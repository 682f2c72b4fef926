"""A read-only handle's reads, kept true while writers come and go: a read on an immutable
connection stands only if the file is still as it was when the connection opened; else, or
when the read failed on a file a writer changed under it, it is redone on a connection
opened afresh (file.py says how a read-only handle opens, and why). `_reading` runs on the
connection's thread (or on the loop's, between hops) and swaps the new connection into the
aiosqlite handle (`Connection._connection`): connection.py hands it the handle for that.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from typing import TypeVar

import aiosqlite

from lashtui.errors import RegistryGone, StoreError
from lashtui.registry.sqlite.connect import RegistryConnection, connect_read_only
from lashtui.registry.sqlite.file import SHM, FileState, still_immutable
from lashtui.registry.sqlite.transaction import _in_transaction

T = TypeVar("T")


# Reads a read-only handle makes of one transaction before it gives up on a file that
# keeps changing under it, or reports an error that is not a writer's passing state.
REREAD_ATTEMPTS = 5


def _reading(
    conn: sqlite3.Connection,
    aconn: aiosqlite.Connection,
    path: str,
    begin: str | None,
    fn: Callable[..., T],
    *args: object,
    **kwargs: object,
) -> T:
    """A read on a read-only handle's connection. On an immutable one, the result stands
    only if the file is still as it was when it opened; else a writer has started since
    (or checkpointed under it), and the read is redone on a connection opened afresh, which
    sees that writer's commits (file.py). The new connection replaces the old one inside
    `aconn`, on the thread that owns it (or on the loop's thread between hops, when nothing
    else uses it)."""
    for attempt in range(1, REREAD_ATTEMPTS + 1):
        assert isinstance(conn, RegistryConnection)
        state = conn.immutable_at
        try:
            result = _in_transaction(conn, begin, fn, *args, **kwargs)
        except sqlite3.DatabaseError:
            # A long-lived handle (`events --follow`, `ls --watch`, `dash --read-only`)
            # outlives writers that come and go: an immutable connection can read a page a
            # checkpoint is rewriting ("malformed"), and a readonly_shm one finds the -shm
            # gone once the last writer closed ("unable to open"). Neither is the file's
            # fault: the read is redone on a connection opened for the file as it is now.
            # An error without such a change, or one that stays, is the file's.
            if attempt == REREAD_ATTEMPTS or not _overtaken(path, state):
                raise
        else:
            if state is None or still_immutable(path, state):
                return result
        timeout = conn.execute("PRAGMA busy_timeout").fetchone()[0]
        fresh = _reconnect(path, timeout)
        fresh.generation = conn.generation + 1
        aconn._connection = fresh
        conn.close()
        conn = fresh
    raise AssertionError("unreachable: the last attempt returns or raises")


def _reconnect(path: str, busy_timeout_ms: int) -> RegistryConnection:
    """A read-only connection opened afresh, tried again if the open fails while writers
    come and go: the open chooses how to read by the files it finds (file.py), and a
    one-shot writer exiting may delete the -shm it found before SQLite opens it ("unable to
    open database file", seen once in CI, `test_follow_through_writers_that_come_and_go`);
    the next try finds the files as they are now. A file that is gone says so at once."""
    for attempt in range(1, REREAD_ATTEMPTS + 1):
        try:
            return connect_read_only(path, busy_timeout_ms, first=False)
        except RegistryGone:
            raise
        except StoreError:
            if attempt == REREAD_ATTEMPTS:
                raise
    raise AssertionError("unreachable: the last attempt returns or raises")


def _overtaken(path: str, state: FileState | None) -> bool:
    """Whether writers changed the file under a read-only connection: an immutable one's
    file is no longer as it was, or a readonly_shm one's -shm is gone."""
    if state is not None:
        return not still_immutable(path, state)
    return not os.path.exists(path + SHM)
