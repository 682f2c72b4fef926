"""Group commit: the short writes queued in one turn of the event loop, run as one SQLite
transaction, each inside a savepoint of its own.

A commit in WAL mode costs more than most of the transactions it ends: SQLite appends every
page the transaction dirtied to the WAL as a whole frame (the change clock's page, the
processes table's and its indexes' leaf pages), and each frame is later copied back into
the database file by a checkpoint. Measured on P1's transactions: BEGIN, COMMIT and their
share of the checkpoints were 270 of 400 us of SQLite time per process. Writes made in the
same loop turn (a worker's claims, starts and terminals for many runs at once) mostly dirty
the same pages, so one commit for all of them writes each page once.

Nothing of one caller's write is visible to another's outcome: each write runs in its own
savepoint, and one that raises is rolled back to it, alone, and its caller gets the error;
the others commit. A caller's call returns only after the group's COMMIT, as it did when
every write was its own transaction. The record cache stages what each write saved and
forgets what a rolled-back one staged (`RecordCache.mark`).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lashtui.registry.kept import deliver
from lashtui.registry.sql.row import RecordCache
from lashtui.registry.sqlite.transaction import transaction


@dataclass(eq=False)
class PendingWrite:
    """One queued short write and where its caller waits for the outcome."""

    fn: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    # Set when the write joins a group; one committed alone at once never needs it.
    future: asyncio.Future[Any] = field(init=False)
    result: Any = None
    error: Exception | None = None
    taken: bool = False  # into a group that commits it (`_take_group`), or fails it
    settled: tuple[Any, BaseException | None] | None = None  # (kept.py `deliver`)

    def settle(self, translate: Callable[[Exception], BaseException]) -> None:
        """Hand the outcome to the caller (on the loop's thread, after the commit)."""
        if self.error is not None:
            deliver(self, error=translate(self.error))
        else:
            deliver(self, self.result)


def run_group(conn: sqlite3.Connection, group: list[PendingWrite]) -> None:
    """Run `group` in one BEGIN IMMEDIATE transaction and commit it. A write that raises
    an `Exception` is rolled back to its savepoint and keeps its error (a group of one
    rolls back and commits nothing). Anything that makes the transaction itself fail
    (BEGIN refused, COMMIT failed, a savepoint that cannot be rolled back to) rolls all of
    it back and raises, with no write committed.

    Writes seldom fail, and a savepoint and its release cost two statements per write, so
    a group first runs without them; at the first error it is rolled back whole and run
    again with them (its writes are safe to re-run: each only reads and writes the
    connection). Either way each write sees exactly the writes before it in the group."""
    if len(group) > 1 and _run(conn, group, savepoints=False):
        return
    _run(conn, group, savepoints=True)


class _RollBack(Exception):
    """Raised inside a group's transaction to roll all of it back."""


def _run(conn: sqlite3.Connection, group: list[PendingWrite], savepoints: bool) -> bool:
    """One attempt; False when it stopped at an error without savepoints to contain it."""
    assert isinstance(conn, RecordCache)
    alone = len(group) == 1  # one write needs no savepoint: its transaction is its own
    try:
        with transaction(conn, "BEGIN IMMEDIATE"):
            for write in group:
                write.error = None
                if savepoints and not alone:
                    mark = conn.mark()
                    conn.execute("SAVEPOINT w")
                try:
                    write.result = write.fn(conn, *write.args, **write.kwargs)
                except Exception as error:  # handed to its caller alone
                    write.error = error
                    if alone or not savepoints:
                        raise _RollBack from None
                    if not conn.in_transaction:
                        # SQLite rolled the whole transaction back itself (it may, on a
                        # full disk or I/O error): there is no savepoint to return to, and
                        # the group fails with this cause, not with "no such savepoint".
                        raise
                    conn.rolled_back_to(mark)
                    conn.execute("ROLLBACK TO w")
                if savepoints and not alone:
                    conn.execute("RELEASE w")
    except _RollBack:
        return alone
    return True
