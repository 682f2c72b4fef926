"""Making a connection to a registry file: the checks before SQLite opens it (file.py), the
version check in one read snapshot, the WAL switch and the schema, and the one sentence a
SQLite failure becomes (`store_error`). The connection it makes, and what that keeps of
its file, is registry_connection.py's `RegistryConnection`.

Opening refuses anything that is not ours before writing a byte: what file.py refuses by a
stat and a read of the header through SQLite (a missing file or directory, a FIFO, a
device, a file that is not SQLite), then, read in one snapshot, a SQLite file of another
schema version or of another application (at version 0 with objects, or stamped lash's
version without lash's tables). Only then does it switch to WAL and create or check the
schema, inside one IMMEDIATE transaction, so concurrent first opens of a fresh file all
converge. A read-only connection never writes at all (file.py says how it opens).

Opening an existing registry of lashtui's own imports no model (the schema's DDL and lash's
views are imported only where they are used): the command line's `ls --json` read opens
its connection here, with every check above, without loading pydantic.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar
from urllib.parse import quote

from lashtui.errors import (
    NotARegistry,
    StorageFull,
    StoreError,
    UnsupportedSchema,
)
from lashtui.registry.lash.detect import lash_version, unreadable_message
from lashtui.registry.sql import blob_id, repeated, shown_text
from lashtui.registry.sql.version import SCHEMA_VERSION, has_backlog_seq, has_sort_label
from lashtui.registry.sqlite.file import (
    FileState,
    check_path,
    create_private,
    gone_registry,
    read_only_uri,
)
from lashtui.registry.sqlite.registry_connection import RegistryConnection

# `RegistryConnection` too: the store, its transactions and the tests have always imported
# it from here, where connections are made; registry_connection.py owns it.
__all__ = [
    "BUSY_TIMEOUT_MS",
    "MEMORY",
    "READ_ONLY_BUSY_TIMEOUT_MS",
    "RegistryConnection",
    "connect_again",
    "connect_file",
    "connect_read_only",
    "store_error",
]

T = TypeVar("T")

BUSY_TIMEOUT_MS = 15_000
READ_ONLY_BUSY_TIMEOUT_MS = 1_000
MEMORY = ":memory:"


def store_error(
    error: sqlite3.Error, path: str, busy_timeout_ms: int = BUSY_TIMEOUT_MS
) -> StoreError:
    """One sentence for a SQLite failure, naming the file."""
    text = str(error)
    code = getattr(error, "sqlite_errorcode", 0) & 0xFF
    if code == sqlite3.SQLITE_FULL or (code == sqlite3.SQLITE_IOERR and _disk_full(path)):
        # A full disk shows as SQLITE_FULL when a page cannot be written, and as a bare
        # "disk I/O error" when the -shm cannot grow: the free space tells them apart.
        return StorageFull(
            f"the disk holding process registry `{path}` is full: nothing was written "
            "(everything committed before is kept); free some space and retry"
        )
    if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or "locked" in text or "busy" in text:
        return StoreError(
            f"process registry `{path}` is locked by another process "
            f"(still busy after {busy_timeout_ms} ms)"
        )
    if code == sqlite3.SQLITE_READONLY or "readonly" in text or "read-only" in text:
        return StoreError(f"process registry `{path}` is read-only: {text}")
    if code == sqlite3.SQLITE_NOTADB or "not a database" in text:
        return NotARegistry(f"not a lash process registry: {path} is not a SQLite database")
    if code == sqlite3.SQLITE_CORRUPT:
        return NotARegistry(
            f"process registry `{path}` is damaged (SQLite: {text}); it was left as it is"
        )
    if code == sqlite3.SQLITE_CANTOPEN:
        return StoreError(f"cannot open process registry `{path}` (SQLite: {text})")
    return StoreError(f"process registry `{path}` failed: {text}")


# Less free space than this beside the file, when an I/O error happens, is a full disk: a
# write needs at least a WAL frame and a 32 KiB step of the -shm.
_FULL_BELOW_BYTES = 64 * 1024


def _disk_full(path: str) -> bool:
    try:
        space = os.statvfs(os.path.dirname(path) or ".")
    except OSError:
        return False
    return space.f_bavail * space.f_frsize < _FULL_BELOW_BYTES


def _has_objects(conn: sqlite3.Connection) -> bool:
    row = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    return bool(row[0])


def _has_lash_tables(conn: sqlite3.Connection) -> bool:
    row = conn.execute(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN "
        "('processes', 'process_events', 'process_change_clock')"
    ).fetchone()
    return bool(row[0] == 3)


def _check_version(conn: sqlite3.Connection, path: str) -> bool:
    """True when the schema must still be created; raises for a file that is not ours.

    Call it inside a transaction: the version and the object count must come from one
    snapshot, or a concurrent first opener's commit can fall between the two reads."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version == SCHEMA_VERSION:
        # Another application's file can carry the same stamp: lash's tables must be there.
        if not _has_lash_tables(conn):
            raise NotARegistry(
                f"not a lash process registry: {path} is stamped version {version} "
                "but has no process registry tables"
            )
        return False
    if version == 0:
        if _has_objects(conn):
            raise NotARegistry(f"not a lash process registry: {path}")
        return True
    if lash_version(conn, path) is not None:
        # The pre-open probe reads the main file only; this stamp was still in the -wal.
        raise StoreError(
            f"process registry `{path}` was written by lash (version {version}), which lashtui "
            "opens only read-only"
        )
    raise UnsupportedSchema(unreadable_message(path, version))


def _in_read_snapshot(conn: sqlite3.Connection, judge: Callable[[], T]) -> T:
    """`judge()` inside one read snapshot. On an error the snapshot is let go without a
    COMMIT: SQLite may have ended the transaction itself, and "cannot commit - no
    transaction is active" would then hide the real cause."""
    conn.execute("BEGIN")
    try:
        verdict = judge()
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return verdict


def _read_only_check(conn: sqlite3.Connection, path: str) -> bool:
    """The version check before anything is written, in one read snapshot."""
    return _in_read_snapshot(conn, lambda: _check_version(conn, path))


def _lash_check(conn: sqlite3.Connection, path: str) -> int | None:
    """The lash version of a registry lash wrote (registry/lash/detect.py), judged in one
    read snapshot like `_read_only_check`; None for any other file, which that judges."""
    return _in_read_snapshot(conn, lambda: lash_version(conn, path))


def _switch_to_wal(conn: sqlite3.Connection, busy_timeout_ms: int) -> None:
    """SQLite does not call the busy handler for a journal-mode switch, so retry by hand:
    1 ms doubling to 50 ms, within the same budget as every other wait."""
    deadline = time.monotonic() + busy_timeout_ms / 1000
    delay = 0.001
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL").fetchone()
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def _ensure_schema(conn: sqlite3.Connection, path: str) -> None:
    # IMMEDIATE: the check and the create are one decision; a deferred BEGIN would let two
    # first openers both see an empty file and both try to stamp it.
    from lashtui.registry.sqlite.schema import DDL

    conn.execute("BEGIN IMMEDIATE")
    try:
        _check_version(conn, path)
        for statement in DDL:
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def connect_file(
    path: str, read_only: bool, create: bool, busy_timeout_ms: int
) -> RegistryConnection:
    """Open (creating if needed and allowed) a registry file; runs on the connection's
    thread. Opening an existing registry writes nothing, and nothing at all is written
    before the file has been judged ours."""
    is_memory = path == MEMORY
    lash = None
    if not is_memory:
        path = os.path.abspath(path)
        lash = check_path(path, read_only, create)
    if read_only or lash is not None:
        return connect_read_only(path, busy_timeout_ms, first=True)
    if not is_memory and create:
        create_private(path)
    uri = MEMORY if is_memory else f"file:{quote(path)}?mode=rw"
    conn = _connect(uri, path, busy_timeout_ms)
    with _closed_on_failure(conn, path, busy_timeout_ms):
        fresh = _read_only_check(conn, path)
        if fresh and not create:
            # An empty file (or a SQLite file with nothing in it) is not a registry, and
            # only the commands that create one may make it one.
            raise NotARegistry(f"not a lash process registry: {path} is empty")
        if not is_memory:
            _switch_to_wal(conn, busy_timeout_ms)
        conn.execute("PRAGMA synchronous = NORMAL")
        if fresh:
            _ensure_schema(conn, path)
        conn.sort_label = has_sort_label(conn)
        conn.backlog_seq = has_backlog_seq(conn)
        conn.execute("PRAGMA foreign_keys = ON")
        if not is_memory:
            conn.remember_file(path)
    return conn


@contextmanager
def _closed_on_failure(
    conn: sqlite3.Connection, path: str, busy_timeout_ms: int
) -> Iterator[None]:
    """Setting up a fresh connection: if any step fails, the connection is closed (it must
    not outlive the refusal) and a SQLite error becomes the store's one sentence."""
    try:
        yield
    except sqlite3.Error as error:
        conn.close()
        raise store_error(error, path, busy_timeout_ms) from None
    except BaseException:
        conn.close()
        raise


def _connect(uri: str, path: str, busy_timeout_ms: int) -> RegistryConnection:
    try:
        conn = sqlite3.connect(
            uri, uri=uri.startswith("file:"), isolation_level=None, check_same_thread=False,
            factory=RegistryConnection,
        )
        conn.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
        repeated.install(conn)  # (what the SQL readers ask of a record: sql/repeated.py)
        blob_id.install(conn)  # (how the text filter sees a blob id: sql/blob_id.py)
        shown_text.install(conn)  # (the text filter's shown form: sql/shown_text.py)
    except sqlite3.Error as error:
        raise store_error(error, path, busy_timeout_ms) from None
    return conn


def connect_read_only(path: str, busy_timeout_ms: int, *, first: bool) -> RegistryConnection:
    """A read-only connection that writes nothing (file.py says how it is chosen). The
    `first` one of a handle checks the version; the others open a file it has checked, and
    say so when it is gone (a read-only open creates nothing there)."""
    if not first and not os.path.exists(path):
        raise gone_registry(path)
    for look in range(1, SHM_LOOKS + 1):
        uri, state = read_only_uri(path)
        try:
            return _open_read_only(path, uri, state, busy_timeout_ms, first)
        except StoreError as error:
            # Chosen by a -shm that a closing writer deleted before SQLite opened it
            # ("unable to open database file": 19 of 393 opens beside a writer opening and
            # closing in a loop, 2026-12-07): the files, looked at again, choose anew. (Not
            # whether the -shm is there now: the next writer may have made it again.) Only
            # SQLite's own failure (`store_error`'s plain StoreError): a verdict on the
            # file (not a registry, another version, gone) would only be reached again.
            if type(error) is not StoreError or "readonly_shm=1" not in uri or look == SHM_LOOKS:
                raise
    raise AssertionError("unreachable: the last look returns or raises")


# How many times a read-only open looks at the files again after its -shm went (above).
SHM_LOOKS = 5


def _open_read_only(
    path: str, uri: str, state: FileState | None, busy_timeout_ms: int, first: bool
) -> RegistryConnection:
    conn = _connect(uri, path, busy_timeout_ms)
    conn.immutable_at = state
    if "readonly_shm=1" in uri:
        conn.shm_read_only_of = path
    with _closed_on_failure(conn, path, busy_timeout_ms):
        conn.lash_version = _lash_check(conn, path)
        if conn.lash_version is not None:
            from lashtui.registry.lash import view

            view.install(conn, conn.lash_version)
        elif first and _read_only_check(conn, path):
            raise NotARegistry(f"not a lash process registry: {path} is empty")
        conn.execute("PRAGMA query_only = ON")
        conn.execute("PRAGMA foreign_keys = ON")
    return conn


def connect_again(path: str, read_only: bool, busy_timeout_ms: int) -> RegistryConnection:
    """A second connection to a registry file `connect_file` has opened and checked.

    It must not open the file itself (a stat is fine): closing any descriptor of the
    database file drops every POSIX lock this OS process holds on it, the first connection's
    shared lock included, and another process could then take this one's WAL for abandoned,
    checkpoint it and reset it under us (https://www.sqlite.org/howtocorrupt.html, 2.2)."""
    if read_only:
        return connect_read_only(path, busy_timeout_ms, first=False)
    conn = _connect(f"file:{quote(path)}?mode=rw", path, busy_timeout_ms)
    with _closed_on_failure(conn, path, busy_timeout_ms):
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        # (Its reads ahead of a batch claim read the backlog's mark: sql/run.py `_pick`.)
        conn.backlog_seq = has_backlog_seq(conn)
        conn.remember_file(path)
    return conn
