"""The sqlite3 connection a registry file is opened with (`RegistryConnection`): the record
cache and SQLite's dialect that the shared SQL reads from it, and what it keeps of the file
it opened, to notice that file replaced or its writers gone.

Apart from connect.py, which makes such connections and judges the file before anything is
written, because this is what every open connection carries for as long as it lives; and
apart from connection.py, whose `SqliteConnection` is the aiosqlite handle that runs a
registry's transactions on one of these.
"""

from __future__ import annotations

import os
import sqlite3
import time
from typing import Any

from lashtui.errors import RegistryGone
from lashtui.registry.sql.dialect import SQLITE
from lashtui.registry.sql.fetch import unstorable_parameter
from lashtui.registry.sql.record_cache import RecordCache
from lashtui.registry.sqlite.file import FileState, gone_registry, write_marks
from lashtui.registry.sqlite.raw_text import bound_raw
from lashtui.registry.sqlite.write_lock import WriteLockUse

# How recent a write to the files may be for `steady_version` to take a moved
# data_version as a commit whatever the files' marks say: ten ticks of a coarse clock.
WRITE_TICK_NS = 50_000_000
# How often at most a writable connection looks that its file is still at its path
# (`RegistryConnection.still_there`): a stat, ~1 us, against transactions of ~20-80 us.
FILE_CHECK_S = 0.1


class RegistryConnection(RecordCache, sqlite3.Connection):
    """A sqlite3 connection with the registry's record cache; it speaks SQLite's dialect."""

    dialect = SQLITE
    # An immutable read-only connection: the file state its reads hold for (file.py).
    immutable_at: FileState | None = None
    # How many connections this one's place in its handle has had (see `_reading`).
    generation = 0
    # The lash version of a registry lash itself wrote, read through views (registry/lash/).
    lash_version: int | None = None
    # Whether this writable connection's inserts fill `sort_label` and `backlog_seq`
    # (sql/version.py).
    sort_label = False
    backlog_seq = False
    # A read-only connection mapping an existing -shm it may not write (`readonly_shm`):
    # the registry's path, for `steady_version`.
    shm_read_only_of: str | None = None
    # A writable connection's file: its path, device and inode as opened (`still_there`).
    opened: tuple[str, int, int] | None = None
    _seen_at = 0.0  # time.monotonic() when `still_there` last found it

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.write_lock = WriteLockUse()  # counted by transaction.py
        self._version_read: int | None = None  # SQLite's data_version at the last mark
        self._marks_read: tuple[int, int, int, int] | None = None  # the files' then
        self._steady = 0

    def still_there(self) -> None:
        """Refuse to go on when the file at the registry's path is no longer the one this
        connection opened (deleted, moved away, replaced by another file): SQLite goes on
        reading and writing the file it holds open, so a dashboard showed the old registry
        as live, and its actions and a worker's runs were committed to a file no other
        program opens. Looked at (a stat) once every `FILE_CHECK_S` at most; every
        transaction and `data_version` read asks. A read-only connection needs none: it
        opens the file afresh when it changes (reread.py `_reading`)."""
        if self.opened is None:
            return
        now = time.monotonic()
        if now - self._seen_at < FILE_CHECK_S:
            return
        path, device, inode = self.opened
        try:
            info = os.stat(path)
        except FileNotFoundError:
            raise gone_registry(path) from None
        except OSError:
            return  # (not a verdict on the file: the next look may say)
        if (info.st_dev, info.st_ino) != (device, inode):
            raise RegistryGone(
                f"process registry `{path}` was replaced by another file after it was "
                "opened: what this handle reads and writes is no longer at that path"
            )
        self._seen_at = now

    def remember_file(self, path: str) -> None:
        """Note the file just opened at `path` (the one SQLite holds), for `still_there`."""
        info = os.stat(path)
        self.opened = (path, info.st_dev, info.st_ino)

    def steady_version(self, version: int) -> int:
        """For a `readonly_shm` connection, SQLite's `data_version` (`version`) held still
        while the files say nothing can have committed. With no live writer SQLite cannot
        trust the -shm and rebuilds its index of the -wal at every read, and data_version
        then moves at each one: a dashboard on a registry whose writers had gone, leaving
        their -wal and -shm, re-read every view at every refresh (22-27% of a core on
        100,000 rows against 2-3%). A commit writes the -wal, a checkpoint the main file,
        so the number moves only when data_version does and their sizes or times moved
        too, or were written within `WRITE_TICK_NS`: a file system stamps times in ticks of
        a few ms, within which a second write may leave both unchanged."""
        marks = write_marks(self.shm_read_only_of or "")
        recent = time.time_ns() - max(marks[1], marks[3]) < WRITE_TICK_NS
        if version != self._version_read and (marks != self._marks_read or recent):
            self._steady += 1
        self._version_read, self._marks_read = version, marks
        return self._steady

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        """`sqlite3.Connection.execute`, binding an id read back from bytes that are not
        UTF-8 as those bytes (raw_text.py) when strict UTF-8 cannot encode it."""
        try:
            return super().execute(sql, parameters)
        except UnicodeEncodeError as error:
            rebound = bound_raw(sql, parameters)
            if rebound is None:
                raise unstorable_parameter(error) from None
            return super().execute(*rebound)
