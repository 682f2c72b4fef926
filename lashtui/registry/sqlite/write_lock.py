"""How much of the time a connection held the registry file's one write lock, and how often
another connection's hold refused it.

SQLite lets one connection write a file at a time: from BEGIN IMMEDIATE until its COMMIT
(or ROLLBACK) ends, every other connection's BEGIN IMMEDIATE is refused, whichever process
it is in. Several workers draining one file therefore take turns at the lock, and once it
is held nearly all of the time, another worker adds nothing but waiting: measured in P3 on
2 vCPUs, four no-op workers held it 88% of a drain, 183 us a row, where one worker alone
held it 100 us a row (docs/performance-history.md, the twelfth pass). The sum of the
workers' held seconds over a span, divided by the span, is the lock's busy share; the
worker's Prometheus series (`lashtui_registry_write_lock_*`, worker/metric.py) let an
operator see it before adding workers to one file.

Counted where every transaction begins and ends (transaction.py): a single write and a group
of short writes alike. A read never takes the lock, nor does a checkpoint (it copies the
WAL back under a lock of its own, beside the writers).
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass


@dataclass
class WriteLockUse:
    """One connection's use of the write lock since it opened."""

    holds: int = 0  # write transactions that took the lock (committed or rolled back)
    held_s: float = 0.0  # from BEGIN IMMEDIATE taking the lock until COMMIT/ROLLBACK ended
    refused: int = 0  # BEGIN IMMEDIATE refused because another connection held the lock

    def copy(self) -> WriteLockUse:
        return WriteLockUse(self.holds, self.held_s, self.refused)

    def since(self, earlier: WriteLockUse) -> WriteLockUse:
        """The use between `earlier` (a reading of the same counters) and this one."""
        return WriteLockUse(
            self.holds - earlier.holds, self.held_s - earlier.held_s,
            self.refused - earlier.refused,
        )  # fmt: skip

    def __add__(self, other: WriteLockUse) -> WriteLockUse:
        """Two connections' use together (a fleet's workers on one file)."""
        return WriteLockUse(
            self.holds + other.holds, self.held_s + other.held_s, self.refused + other.refused
        )


def begin_write(conn: sqlite3.Connection, use: WriteLockUse, begin: str) -> float:
    """Run `begin` (a BEGIN IMMEDIATE) on `conn`; when it took the lock, the moment it did
    (`time.perf_counter()`), for `end_write`. A refusal is counted and raised on."""
    try:
        conn.execute(begin)
    except sqlite3.OperationalError as error:
        if is_busy(error):
            use.refused += 1
        raise
    return time.perf_counter()


def end_write(use: WriteLockUse, since: float) -> None:
    """The lock taken at `since` is let go (its transaction committed or rolled back)."""
    use.holds += 1
    use.held_s += time.perf_counter() - since


def is_busy(error: sqlite3.Error) -> bool:
    """Whether `error` is SQLite's refusal of a lock another connection holds."""
    code = getattr(error, "sqlite_errorcode", None)
    if code is None:
        return "locked" in str(error) or "busy" in str(error)
    return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
