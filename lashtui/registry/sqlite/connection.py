"""Opening a registry file safely, and running each transaction as one hop to its thread.

Opening refuses anything that is not ours before writing a byte: a missing directory, a file
that is not SQLite (checked by its 16-byte header), a SQLite file of another schema version or
of another application. Only then does it switch to WAL and create or check the schema, inside
one IMMEDIATE transaction, so concurrent first opens of a fresh file all converge.

aiosqlite gives each connection one thread and costs a thread hop (~60 us here) per awaited
call. A registry transaction is several statements, so it runs as one Python function on that
thread through `Connection._execute(fn, *args)`, aiosqlite 0.22's only way to do so (hence the
`<0.23` pin, checked by tests/registry/test_aiosqlite_pin.py). This module is the only place
that touches that private call (and `Connection._thread`, joined after a failed open).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar
from urllib.parse import quote

import aiosqlite
from pydantic import ValidationError

from lashtui.errors import InvalidRequest, NotARegistry, StoreError, UnsupportedSchema
from lashtui.registry.sqlite.schema import DDL, SCHEMA_VERSION, unsupported_schema_message

P = ParamSpec("P")
T = TypeVar("T")

SQLITE_HEADER = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 15_000
READ_ONLY_BUSY_TIMEOUT_MS = 1_000
MEMORY = ":memory:"


def store_error(
    error: sqlite3.Error, path: str, busy_timeout_ms: int = BUSY_TIMEOUT_MS
) -> StoreError:
    """One sentence for a SQLite failure, naming the file."""
    text = str(error)
    if "locked" in text or "busy" in text:
        return StoreError(
            f"process registry `{path}` is locked by another process "
            f"(still busy after {busy_timeout_ms} ms)"
        )
    if "readonly" in text or "read-only" in text:
        return StoreError(f"process registry `{path}` is read-only: {text}")
    if "not a database" in text:
        return NotARegistry(f"not a lash process registry: {path}")
    return StoreError(f"process registry `{path}` failed: {text}")


def _check_file(path: str, read_only: bool, create: bool) -> None:
    """Refuse what can't be a registry before SQLite opens (and maybe writes) anything."""
    directory = os.path.dirname(path) or "."
    if not os.path.isdir(directory):
        raise StoreError(
            f"cannot open process registry `{path}`: directory `{directory}` does not exist"
        )
    if os.path.isdir(path):
        raise NotARegistry(f"not a lash process registry: {path} is a directory")
    if not os.path.exists(path):
        if read_only:
            raise StoreError(f"no process registry at `{path}` to open read-only")
        if not create:
            raise StoreError(f"no process registry at `{path}`")
        return
    if not read_only and not os.access(path, os.W_OK):
        raise StoreError(
            f"process registry `{path}` is read-only (no write permission); "
            "only read-only access is possible"
        )
    try:
        with open(path, "rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except OSError as error:
        raise StoreError(f"cannot read process registry `{path}`: {error.strerror}") from None
    # A header of NULs is a file another opener has created and not yet written: SQLite
    # itself is the judge of that one.
    if header.strip(b"\x00") and header != SQLITE_HEADER:
        raise NotARegistry(f"not a lash process registry: {path}")


def _create_private(path: str) -> None:
    """Create a new registry file as 0600; SQLite gives its -wal and -shm the same mode."""
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        pass  # a concurrent opener won the race; it is the same fresh file
    except OSError as error:
        raise StoreError(f"cannot create process registry `{path}`: {error.strerror}") from None


def _has_objects(conn: sqlite3.Connection) -> bool:
    row = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    return bool(row[0])


def _check_version(conn: sqlite3.Connection, path: str) -> bool:
    """True when the schema must still be created; raises for a file that is not ours.

    Call it inside a transaction: the version and the object count must come from one
    snapshot, or a concurrent first opener's commit can fall between the two reads."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version == SCHEMA_VERSION:
        return False
    if version == 0:
        if _has_objects(conn):
            raise NotARegistry(f"not a lash process registry: {path}")
        return True
    raise UnsupportedSchema(unsupported_schema_message(version))


def _read_only_check(conn: sqlite3.Connection, path: str) -> bool:
    """The version check before anything is written, in one read snapshot."""
    conn.execute("BEGIN")
    try:
        return _check_version(conn, path)
    finally:
        conn.execute("COMMIT")


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


def decode_error(error: ValidationError) -> StoreError:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "row"
    return StoreError(f"failed to decode process registry row: {where}: {first['msg']}")


def connect_file(
    path: str, read_only: bool, create: bool, busy_timeout_ms: int
) -> sqlite3.Connection:
    """Open (creating if needed and allowed) a registry file; runs on the connection's
    thread. Opening an existing registry writes nothing."""
    is_memory = path == MEMORY
    if not is_memory:
        path = os.path.abspath(path)
        _check_file(path, read_only, create)
        if not read_only:
            _create_private(path)
    mode = "ro" if read_only else "rw"
    uri = MEMORY if is_memory else f"file:{quote(path)}?mode={mode}"
    try:
        conn = sqlite3.connect(
            uri, uri=not is_memory, isolation_level=None, check_same_thread=False
        )
    except sqlite3.Error as error:
        raise store_error(error, path, busy_timeout_ms) from None
    try:
        conn.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
        fresh = _read_only_check(conn, path)
        if read_only:
            if fresh:
                raise NotARegistry(f"not a lash process registry: {path} is empty")
            conn.execute("PRAGMA query_only = ON")
        else:
            if not is_memory:
                _switch_to_wal(conn, busy_timeout_ms)
            conn.execute("PRAGMA synchronous = NORMAL")
            if fresh:
                _ensure_schema(conn, path)
        conn.execute("PRAGMA foreign_keys = ON")
    except sqlite3.Error as error:
        conn.close()
        raise store_error(error, path, busy_timeout_ms) from None
    except BaseException:
        conn.close()
        raise
    return conn


class SqliteConnection:
    """One registry connection: every transaction is a single call on its thread."""

    def __init__(
        self,
        target: str,
        *,
        read_only: bool,
        create: bool = True,
        busy_timeout_ms: int | None = None,
    ) -> None:
        self.path = target if target == MEMORY else os.path.abspath(target)
        self.read_only = read_only
        if busy_timeout_ms is None:
            busy_timeout_ms = READ_ONLY_BUSY_TIMEOUT_MS if read_only else BUSY_TIMEOUT_MS
        self.busy_timeout_ms = busy_timeout_ms
        self._aconn = aiosqlite.Connection(
            lambda: connect_file(target, read_only, create, busy_timeout_ms), iter_chunk_size=64
        )

    async def open(self) -> None:
        try:
            await self._aconn
        except BaseException:
            # aiosqlite stops its thread after a failed connect but does not wait for it; the
            # thread then reports to a loop that may be gone. Wait here, off the loop.
            await asyncio.to_thread(self._aconn._thread.join, 5)
            raise

    async def close(self) -> None:
        await self._aconn.close()

    async def write(
        self, fn: Callable[Concatenate[sqlite3.Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run `fn` in one BEGIN IMMEDIATE transaction: committed if it returns, rolled back
        (leaving the database unchanged) if it raises."""
        if self.read_only:
            raise StoreError(f"process registry `{self.path}` is open read-only")
        return await self._hop(self._in_transaction, "BEGIN IMMEDIATE", fn, *args, **kwargs)

    async def read(
        self, fn: Callable[Concatenate[sqlite3.Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run `fn` in one read transaction, so its statements see one snapshot."""
        return await self._hop(self._in_transaction, "BEGIN", fn, *args, **kwargs)

    async def _hop(self, runner: Callable[..., T], *args: object, **kwargs: object) -> T:
        try:
            return await self._aconn._execute(runner, *args, **kwargs)  # type: ignore[no-untyped-call,no-any-return]
        except sqlite3.Error as error:
            raise store_error(error, self.path, self.busy_timeout_ms) from None
        except ValidationError as error:
            raise decode_error(error) from None
        except ValueError as error:
            if str(error) != "Connection closed":  # aiosqlite's word for a closed handle
                raise
            raise StoreError(f"process registry `{self.path}` is closed") from None
        except OverflowError:
            # sqlite3 raises this, not an sqlite3.Error, for an int beyond 64 bits.
            raise InvalidRequest(
                "a number is too large for the registry (SQLite integers are signed 64-bit)"
            ) from None

    def _in_transaction(
        self, begin: str, fn: Callable[..., T], *args: object, **kwargs: object
    ) -> T:
        conn: sqlite3.Connection = self._aconn._conn
        conn.execute(begin)
        try:
            result = fn(conn, *args, **kwargs)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return result
