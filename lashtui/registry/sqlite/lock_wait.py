"""How a transaction on a connection's thread waits for the file's write lock another
process holds: a read-only handle with SQLite's busy handler (`_waiting`), a writable one
with its own short jittered tries (`_retrying`, whose docstring says why), the same pauses
a group waiting on the loop takes (`_retry_pauses`, sqlite/short_write.py). Each runs on the
connection's thread through connection.py's hop, and reads the sqlite3 connection from the
aiosqlite handle (`Connection._conn`).
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

import aiosqlite

from lashtui.registry.sqlite.write_lock import is_busy

T = TypeVar("T")


def _waiting(aconn: aiosqlite.Connection, busy_timeout_ms: int, runner: Callable[..., T],
             *args: object, **kwargs: object) -> T:
    """On the thread, a transaction may wait for the write lock as long as configured."""
    aconn._conn.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
    try:
        return runner(aconn._conn, *args, **kwargs)
    finally:
        # Read afresh: a read-only handle's read may have replaced the connection.
        aconn._conn.execute("PRAGMA busy_timeout = 0")


def _retrying(aconn: aiosqlite.Connection, busy_timeout_ms: int, runner: Callable[..., T],
              *args: object, **kwargs: object) -> T:
    """`_waiting` for a writable handle: its own waits for the write lock instead of
    SQLite's busy handler, which sleeps 1, 2, 5, 10, 15, 20, 25... 100 ms between tries.
    With several worker processes on one file, each holding the lock for a few ms at a
    time, a writer that had lost a few races slept tens of ms per try while the others,
    trying at once from their loops, took every free moment: one was starved of the lock
    for 2 s and its runs' leases (1.5 s TTL) lapsed before their terminals landed. Here it
    tries again after 50 us, doubling to at most 1 ms (jittered, so waiting processes do
    not try in step), for as long as the busy timeout.

    A try is repeated only when the lock was refused before anything was written (no
    statement of it changed a row: `total_changes` did not move), so a runner that had
    committed never runs twice; the connection's busy timeout stays 0 throughout."""
    conn = aconn._conn
    deadline = time.monotonic() + busy_timeout_ms / 1000
    pauses = _retry_pauses()
    while True:
        changes = conn.total_changes
        try:
            return runner(conn, *args, **kwargs)
        except sqlite3.OperationalError as error:
            late = time.monotonic() >= deadline
            if not is_busy(error) or late or conn.total_changes != changes:
                raise
        time.sleep(next(pauses))


def _retry_pauses() -> Iterator[float]:
    """The waits between tries for a write lock another process holds (`_retrying`, and
    `_commit_group` on the loop): 50 us, doubling to at most 1 ms, each jittered so that
    waiting processes do not try in step."""
    pause = RETRY_FIRST_S
    while True:
        yield pause * (0.5 + random.random())
        pause = min(pause * 2, RETRY_MOST_S)


RETRY_FIRST_S = 0.00005
RETRY_MOST_S = 0.001
