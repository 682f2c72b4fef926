"""The WAL's checkpoints for a handle whose commits never checkpoint on their own (automatic
checkpoints are off, so a commit never copies the WAL back on the loop): one behind the
writes every `CHECKPOINT_EVERY` commits, on the reader's thread, and one right after the
commit that finds the WAL past `RESTART_AT_FRAMES` frames, so that it can start over.
`Checkpoints` is mixed into `SqliteConnection` (connection.py), whose class docstring tells
the whole design and its measurements.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import aiosqlite

from lashtui.errors import StoreError

T = TypeVar("T")


class Checkpoints:
    """The handle's checkpoint scheduling (see the module docstring)."""

    # Every 300 commits (measured, when writes waited for every checkpoint: P1 ran 25%
    # faster than at every 100) keeps the WAL near 8 MB.
    CHECKPOINT_EVERY = 300
    # The WAL starts over once it holds this many frames (4 MB of 4 kB pages), SQLite's own
    # automatic checkpoint point; before, at every checkpoint behind the writes.
    RESTART_AT_FRAMES = 1000

    # Set by SqliteConnection.__init__ (connection.py).
    _commits: int
    _behind: asyncio.Task[None] | None
    _restart_due: bool
    _reader: aiosqlite.Connection
    _writer: aiosqlite.Connection

    if TYPE_CHECKING:

        async def _hop(
            self, aconn: aiosqlite.Connection, runner: Callable[..., T], *args: object,
            **kwargs: object,
        ) -> T: ...

    def _checkpoint_due(self) -> bool:
        """Count a commit; True when it must be the one that checkpoints, on the writer's
        thread, while later writes wait (see the class docstring). Each of those follows a
        checkpoint made behind the writes, on the reader's thread, which copied most of the
        WAL meanwhile: the one the writes wait for has only the last few commits to copy
        and two small fsyncs to make, where the whole of it took ~15 ms here."""
        if self._reader is self._writer:
            return False  # ":memory:" has no WAL
        self._commits += 1
        if self._commits >= self.CHECKPOINT_EVERY and self._behind is None:
            self._commits = 0
            self._behind = asyncio.create_task(
                self._checkpoint_behind(), name="lashtui-checkpoint"
            )
        if self._restart_due:
            self._restart_due = False
            return True
        return False

    def _checkpoint_late(self) -> bool:
        """Whether the checkpoint behind the writes is still running a whole round of
        commits after it started: the writes then wait for it (`_checkpoint_caught_up`)."""
        return self._behind is not None and self._commits >= self.CHECKPOINT_EVERY

    async def _checkpoint_caught_up(self) -> None:
        """Wait for a late checkpoint behind the writes to end; `asyncio.wait`, as a
        caller cancelled meanwhile must not cancel the checkpoint."""
        while self._checkpoint_late():
            assert self._behind is not None
            await asyncio.wait({self._behind})

    async def _checkpoint_behind(self) -> None:
        restart = True
        try:
            found = await self._hop(self._reader, _checkpoint)
            # A WAL still short of SQLite's own checkpoint point (`RESTART_AT_FRAMES`) is
            # left to grow a round more rather than start over now: the restart makes the
            # next writes wait for its two fsyncs (~1 ms here), and small transactions (a
            # claim, a release: a frame or two each) paid it every 300 commits, ~9 us of
            # P2's ~48 us claim-and-release cycle (2026-12-05).
            if found is not None and 0 <= found[1] < self.RESTART_AT_FRAMES:
                restart = False
        except (StoreError, asyncio.CancelledError):
            pass  # closed meanwhile; or busy, and the next one copies what this did not
        finally:
            self._behind = None
            self._restart_due = restart


def _checkpoint(conn: sqlite3.Connection) -> tuple[int, int, int] | None:
    """A passive checkpoint: (busy, frames in the WAL, frames copied back), as SQLite says."""
    return conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()  # type: ignore[no-any-return]


def _checkpointed(conn: sqlite3.Connection, runner: Callable[..., T], *args: object,
                  **kwargs: object) -> T:
    """A write (`runner` runs and commits it), then the checkpoint that the commits since
    the last one skipped."""
    result = runner(conn, *args, **kwargs)
    _checkpoint(conn)
    return result
