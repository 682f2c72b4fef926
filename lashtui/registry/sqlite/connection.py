"""Opening a registry file safely, and running each transaction as one call.

Opening (connect.py) refuses anything that is not ours before writing a byte. A read-only
handle never writes at all; file.py says how it opens, and `_reading` (reread.py) how it
stays true.

aiosqlite gives each connection one thread and costs a thread hop per awaited call. A
registry transaction is several statements, so it runs as one Python function, either on the
calling thread (short ones, see `SqliteConnection`) or on the connection's thread through
`Connection._execute(fn, *args)`, aiosqlite 0.22's only way to do so (hence the `<0.23` pin,
checked by tests/registry/test_aiosqlite_pin.py). This module is the only place that makes
that private call (`_hop`) and joins `Connection._thread` (after a failed open); it uses
`Connection._connection` directly between hops, and hands the aiosqlite handle only to the
functions a hop runs that need its sqlite3 connection (lock_wait.py, reread.py).

The handle's parts beside it: short_write.py (short writes and their group commits on the
loop), checkpoint.py (the WAL's checkpoints), lock_wait.py (waiting on a thread for a lock
another process holds), reread.py (a read-only handle's reads); transaction.py runs each
function in its transaction (`_in_transaction`).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Concatenate, ParamSpec, TypeVar

import aiosqlite
from pydantic import ValidationError

from lashtui.errors import InvalidRequest, StoreError
from lashtui.model import ProcessExecutionEnvSpec
from lashtui.registry.lash.detect import read_only_refusal
from lashtui.registry.sql.ceiling import unread_past_ceiling
from lashtui.registry.sql.decoded_row import decode_error
from lashtui.registry.sql.row import RecordCache
from lashtui.registry.sqlite.checkpoint import _checkpointed
from lashtui.registry.sqlite.connect import (
    BUSY_TIMEOUT_MS,
    MEMORY,
    READ_ONLY_BUSY_TIMEOUT_MS,
    RegistryConnection,
    connect_again,
    connect_file,
    store_error,
)
from lashtui.registry.sqlite.group import PendingWrite, run_group
from lashtui.registry.sqlite.lock_wait import _retrying, _waiting
from lashtui.registry.sqlite.reread import _reading
from lashtui.registry.sqlite.short_write import ShortWrites
from lashtui.registry.sqlite.transaction import _in_transaction
from lashtui.registry.sqlite.write_lock import WriteLockUse, is_busy

P = ParamSpec("P")
T = TypeVar("T")


class SqliteConnection(ShortWrites):
    """One registry file, held through two SQLite connections, each with its own thread.

    Every transaction is a single Python function. The *reader* connection runs the long
    reads (lists, pages, the census) on its thread, so they never hold up a write. The
    *writer* connection runs every write, and the short reads of one process's rows.

    A hop to a connection's thread and back costs 100-200 us of hand-off on this machine:
    more than a one-process transaction costs in SQLite itself (20-80 us in WAL with
    synchronous=NORMAL, where a commit is a write to the WAL file and no fsync). So the short
    transactions (an append, a claim, a release: `short_write`, `short_read`) run on the
    loop's thread instead, when that cannot stall the event loop:

    - short writes commit in groups (group.py): those made in one turn of the loop run as
      one transaction, each in a savepoint, committed by a callback of this handle's (a
      task, when the group has to wait), and each caller resumes once that commit is done.
      A worker running many processes makes many writes per turn, and one commit writes
      each page they share once. A write that no other could join (nothing else is ready
      to run in this turn) commits at once instead, and its caller does not suspend
      (`_lone`);
    - only while nothing is queued on the writer's thread, so two threads never share the
      connection at once. A short call that finds work queued there waits until it is done
      and then runs here; joining the queue instead would keep it from ever draining while
      calls keep coming (measured: under load, nearly every call then took the thread);
    - with a busy timeout of 0: a write lock held by another OS process fails at once. A
      short write's group then waits for it on the loop, with short tries between turns
      (`_commit_group`); another call takes the thread, where it waits its turn for as
      long as the busy timeout (a writable handle by its own short tries, `_retrying`; a
      read-only one with SQLite's handler, which each hop sets for itself and puts back
      to 0 after);
    - with automatic checkpoints off: a commit never copies the WAL back into the database
      file on the loop. Every `CHECKPOINT_EVERY` commits a checkpoint runs on the reader's
      thread, behind the writes, and copies most of the WAL (its two fsyncs were ~15 ms
      of the loop's time here when writes waited for them). The WAL can only start over
      from its beginning after a checkpoint with no frame appended meanwhile, so once the
      WAL holds `RESTART_AT_FRAMES` frames the first commit after that one takes the
      writer's thread and checkpoints again, right after it commits, while the next writes
      wait: that one has only the last few commits to copy. The WAL then starts over
      instead of growing; a shorter one grows a round more first. A checkpoint behind the
      writes still running after another `CHECKPOINT_EVERY` commits (a slow or busy disk) holds
      the next writes back until it ends (`_checkpoint_late`): the WAL then stays within
      about two rounds of commits, however slow the disk, where it grew for as long as the
      checkpoint took (46 MB, once, with the suite on a loaded 2-core machine).

    A transaction function only reads and writes its connection, so running it again after
    a rolled-back attempt is safe. The reader never writes (a checkpoint changes no data),
    so the writer's `PRAGMA data_version` still moves only for other handles' commits. Like
    any asyncio object, a handle is used from the event loop that opened it.
    """
    YIELD_EVERY_S = 0.004  # short reads: see `_inline_ok`

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

        def first() -> sqlite3.Connection:
            return connect_file(target, read_only, create, busy_timeout_ms)

        def second() -> sqlite3.Connection:
            # `self.read_only`: the first connection may have found a lash registry.
            return connect_again(self.path, self.read_only, busy_timeout_ms)

        self._writer = aiosqlite.Connection(first, iter_chunk_size=64)
        # A second connection to ":memory:" would be another, empty database.
        self._reader = self._writer
        if target != MEMORY:
            self._reader = aiosqlite.Connection(second, iter_chunk_size=64)
        self._loop_thread: int | None = None
        self._writer_queued = 0  # calls waiting for or running on the writer's thread
        self._writer_idle = asyncio.Event()
        self._writer_idle.set()
        self._commits = 0  # since the last checkpoint
        self._behind: asyncio.Task[None] | None = None  # the checkpoint behind the writes
        self._restart_due = False  # the next commit checkpoints, and the WAL can restart
        self._group: list[PendingWrite] = []  # short writes waiting for the next commit
        self._flusher: asyncio.Task[None] | None = None  # commits groups that must wait
        self._flush_soon_armed = False  # a callback is due to commit the queued group
        self._yielded_at = 0.0  # when an inline call last let the loop run others

    async def open(self) -> None:
        for aconn in dict.fromkeys((self._writer, self._reader)):
            try:
                await aconn
                self._adopt_lash_layout(aconn)
            except BaseException:
                # aiosqlite stops its thread after a failed connect but does not wait for
                # it; the thread then reports to a loop that may be gone. Wait, off the loop.
                await asyncio.to_thread(aconn._thread.join, 5)
                if aconn is not self._writer:
                    await self._writer.close()
                raise
        await self._hop(self._writer, _inline_ready)
        self._loop_thread = threading.get_ident()

    async def close(self) -> None:
        # Writes already queued commit, and a checkpoint behind them finishes, first.
        while self._group or self._flusher is not None or self._behind is not None:
            pending = [task for task in (self._flusher, self._behind) if task is not None]
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
            else:
                await asyncio.sleep(0)  # the callback already armed commits the group
        self._loop_thread = None
        for aconn in dict.fromkeys((self._reader, self._writer)):
            # aiosqlite's thread dies when it hands a result to an event loop already closed
            # (a test harness's app loop that ended with a hop in flight); a close queued to
            # it would then wait for ever. Its sqlite3 connection was opened with
            # check_same_thread=False, so it is closed from here instead.
            if not aconn._thread.is_alive():
                raw, aconn._connection = aconn._connection, None
                if raw is not None:
                    raw.close()
                continue
            await aconn.close()

    async def write(
        self, fn: Callable[Concatenate[sqlite3.Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run `fn` in one BEGIN IMMEDIATE transaction on the writer's thread: committed if
        it returns, rolled back (leaving the database unchanged) if it raises."""
        self._refuse_read_only()
        await self._checkpoint_caught_up()
        if self._checkpoint_due():
            return await self._hop(
                self._writer, _checkpointed, _in_transaction, "BEGIN IMMEDIATE", fn, *args,
                **kwargs,
            )
        return await self._hop(
            self._writer, _in_transaction, "BEGIN IMMEDIATE", fn, *args, **kwargs
        )

    async def read(
        self, fn: Callable[Concatenate[sqlite3.Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run `fn` in one read transaction on the reader's thread, so its statements see
        one snapshot. SQLite never loads a record past the ceiling for it: such a row is
        read as its stand-in (sql/ceiling.py `unread_past_ceiling`)."""
        runner, lead = self._read_runner(self._reader, "BEGIN")
        return await self._hop(
            self._reader, runner, *lead, unread_past_ceiling, fn, *args, **kwargs
        )

    def _read_runner(
        self, aconn: aiosqlite.Connection, begin: str | None
    ) -> tuple[Callable[..., Any], tuple[object, ...]]:
        """How a read runs on `aconn`: a read-only handle checks that an immutable
        connection still holds (`_reading`); a writable one needs no check."""
        if self.read_only:
            return _reading, (aconn, self.path, begin)
        return _in_transaction, (begin,)

    def _commit_here(self, group: list[PendingWrite], last: bool = False) -> bool:
        """Run `group` on this thread; False, with nothing written, when the write lock is
        held by another process (the group must then wait for it, `_commit_group`), or the
        store's busy error when that was the `last` try."""
        conn = self._writer._connection
        if conn is None:
            raise StoreError(f"process registry `{self.path}` is closed")
        try:  # `_translated` spelled out: a generator context manager costs ~1.5 us a write
            run_group(conn, group)
        except sqlite3.OperationalError as error:
            if last or not is_busy(error):
                raise self._translate(error) from None
            return False
        except _TRANSLATED as error:
            raise self._translate(error) from None
        return True

    async def short_read(
        self, fn: Callable[Concatenate[sqlite3.Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """`read` for a read of one process's rows, on the writer: here unless SQLite would
        make it wait, else on the writer's thread."""
        return await self._short_read("BEGIN", fn, *args, **kwargs)

    async def point_read(
        self, fn: Callable[Concatenate[sqlite3.Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """`short_read` for a function that reads with one statement (or whose statements
        need not share a snapshot): without BEGIN and COMMIT around it."""
        return await self._short_read(None, fn, *args, **kwargs)

    async def _short_read(
        self, begin: str | None, fn: Callable[..., T], *args: object, **kwargs: object
    ) -> T:
        if await self._inline_ok():
            attempt = self._inline_attempt(begin, fn, *args, **kwargs)
            if attempt is not _BUSY:
                return attempt  # type: ignore[return-value]
        runner, lead = self._read_runner(self._writer, begin)
        return await self._hop(self._writer, runner, *lead, fn, *args, **kwargs)

    async def _inline_ok(self) -> bool:
        """Whether a short call may run here, once the writer's thread has nothing queued.
        Only the thread that opened the handle runs the loop it belongs to.

        An inline call completes without suspending its caller, so a task making many in a
        row (a bulk cancel, a burst of starts) would never let the loop run anything else.
        Once `YIELD_EVERY_S` has passed since the loop last got a turn from here, the call
        first yields to it."""
        if self._loop_thread != threading.get_ident():
            return False
        if time.monotonic() - self._yielded_at > self.YIELD_EVERY_S:
            await asyncio.sleep(0)
            self._yielded_at = time.monotonic()
        while self._writer_queued:
            await self._writer_idle.wait()
        return True

    def _inline_attempt(
        self, begin: str | None, fn: Callable[..., T], *args: object, **kwargs: object
    ) -> T | object:
        with self._translated():
            conn = self._writer._connection
            if conn is None:
                raise StoreError(f"process registry `{self.path}` is closed")
            runner, lead = self._read_runner(self._writer, begin)
            try:
                result: T = runner(conn, *lead, fn, *args, **kwargs)
            except sqlite3.OperationalError as error:
                if is_busy(error):
                    return _BUSY
                raise
            return result

    def write_lock_use(self) -> WriteLockUse:
        """How much this handle held the file's write lock, and was refused it, since it
        opened (write_lock.py); all zeros for a read-only handle, which never takes it."""
        conn = self._writer._connection
        use = getattr(conn, "write_lock", None)
        return use.copy() if isinstance(use, WriteLockUse) else WriteLockUse()

    def record_cache(self) -> RecordCache | None:
        """The writer's record cache, read on the loop's thread to build a write before its
        transaction (prepared.py); None when the handle is closed."""
        conn = self._writer._connection
        return conn if isinstance(conn, RecordCache) else None

    def known_env(self, env_ref: str) -> ProcessExecutionEnvSpec | None:
        """The env under `env_ref` if the writer has read or committed it (see
        `RecordCache.envs`); None when it has not, or the handle is closed."""
        conn = self._writer._connection
        return conn.envs.get(env_ref) if isinstance(conn, RecordCache) else None

    @property
    def lash_version(self) -> int | None:
        """The lash version of a registry lash itself wrote (registry/lash/), else None."""
        conn = self._writer._connection
        return conn.lash_version if isinstance(conn, RegistryConnection) else None

    def _adopt_lash_layout(self, aconn: aiosqlite.Connection) -> None:
        """A registry lash itself wrote is opened read-only whatever was asked (connect.py):
        so is this handle, and its refusals of writes say so."""
        conn = aconn._connection
        if isinstance(conn, RegistryConnection) and conn.lash_version is not None:
            self.read_only = True

    def _refuse_read_only(self) -> None:
        if self.read_only:
            version = self.lash_version
            if version is not None:
                raise read_only_refusal(self.path, version)
            raise StoreError(f"process registry `{self.path}` is open read-only")

    async def _hop(
        self, aconn: aiosqlite.Connection, runner: Callable[..., T], *args: object,
        **kwargs: object,
    ) -> T:
        on_writer = aconn is self._writer
        if on_writer:
            self._writer_queued += 1
            self._writer_idle.clear()
        try:
            with self._translated():
                try:
                    waits = _waiting if self.read_only else _retrying
                    return await aconn._execute(  # type: ignore[no-untyped-call,no-any-return]
                        waits, aconn, self.busy_timeout_ms, runner, *args, **kwargs
                    )
                except ValueError as error:
                    if str(error) not in _CLOSED_WORDS:
                        raise
                    raise StoreError(f"process registry `{self.path}` is closed") from None
        finally:
            if on_writer:
                self._writer_queued -= 1
                if not self._writer_queued:
                    self._writer_idle.set()

    @contextmanager
    def _translated(self) -> Iterator[None]:
        """SQLite's and pydantic's failures as the registry's one-sentence errors."""
        try:
            yield
        except _TRANSLATED as error:
            raise self._translate(error) from None

    def _translate(self, error: Exception) -> Exception:
        if isinstance(error, sqlite3.ProgrammingError) and str(error) == _CLOSED_DATABASE:
            # A call queued just as close() closed the connection under it.
            return StoreError(f"process registry `{self.path}` is closed")
        if isinstance(error, sqlite3.Error):
            return store_error(error, self.path, self.busy_timeout_ms)
        if isinstance(error, ValidationError):
            return decode_error(error)
        if isinstance(error, OverflowError):
            # sqlite3 raises this, not an sqlite3.Error, for an int beyond 64 bits.
            return InvalidRequest(
                "a number is too large for the registry (SQLite integers are signed 64-bit)"
            )
        return error


# The failures `_translated` turns into the registry's own errors.
_TRANSLATED = (sqlite3.Error, ValidationError, OverflowError)

# aiosqlite's words for a closed handle: "Connection closed" when its thread has stopped,
# "no active connection" when a call queued before close() runs after the connection went
# (a poll racing the close; seen as a flaky watch test).
_CLOSED_WORDS = frozenset({"Connection closed", "no active connection"})
_CLOSED_DATABASE = "Cannot operate on a closed database."  # sqlite3's, in the same race

_BUSY = object()  # an inline attempt that would have had to wait


def _inline_ready(conn: sqlite3.Connection) -> None:
    """After opening: between hops the connection never waits and never checkpoints."""
    conn.execute("PRAGMA busy_timeout = 0")
    conn.execute("PRAGMA wal_autocheckpoint = 0")
