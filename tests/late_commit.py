"""A commit whose file event comes before it can be read, forced with real files.

A SQLite commit appends its frames to the `-wal` (the file event a watch sees), then marks
them committed in the `-shm`'s index, which no watch sees; only then can another connection
read it (`PRAGMA data_version` moves). A committer preempted between the two (a loaded
machine) leaves a watcher that checks in the gap with an event and nothing new to read.
The tests of that gap (registry/watch.py `_Wakeups.recheck`) make its two halves apart:
`half_written` is the event (a write to the `-wal` that commits nothing), and a commit
through `linked_elsewhere`'s hard links to the same three files, in a directory the watch
does not watch, is the commit becoming readable without an event of its own.
"""

from __future__ import annotations

import os
from pathlib import Path


def linked_elsewhere(path: str, elsewhere: Path) -> str:
    """`path`'s database, `-wal` and `-shm` linked into `elsewhere` (the same files: SQLite
    locks by inode); the database's path there. The files must exist: open `path` first."""
    linked = elsewhere / Path(path).name
    for suffix in ("", "-wal", "-shm"):
        os.link(f"{path}{suffix}", f"{linked}{suffix}")
    return str(linked)


def half_written(path: str) -> None:
    """A write to `path`'s `-wal` that commits nothing (its first bytes written back
    unchanged): a commit's file event, before the commit can be read."""
    wal = os.open(f"{path}-wal", os.O_RDWR)
    try:
        os.pwrite(wal, os.pread(wal, 32, 0), 0)
    finally:
        os.close(wal)
