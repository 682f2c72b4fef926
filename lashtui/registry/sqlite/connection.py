"""Opening a registry file safely, and running each transaction as one call.

Opening (connect.py) refuses anything that is not ours before writing a byte. A read-only
handle never writes at all; file.py says how it opens, and `_reading` how it stays true.

aiosqlite gives each connection one thread and costs a thread hop per awaited call. A
registry transaction is several statements, so it runs as one Python function, either on the
calling thread (short ones, see `SqliteConnection`) or on the connection's thread through
`Connection._execute(fn, *args)`, aiosqlite 0.22's only way to do so (hence the `<0.23` pin,
checked by tests/registry/test_aiosqlite_pin.py). This module is the only place that touches
that private call, `Connection._thread` (joined after a failed open) and
`Connection._connection` (used directly between hops).
"""

from __future__ import annotations

import asyncio
import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Concatenate, ParamSpec, TypeVar

import aiosqlite
from pydantic import ValidationError

from lashtui.errors import InvalidRequest, RegistryGone, StoreError
from lashtui.model import ProcessExecutionEnvSpec
from lashtui.registry.kept import keep_write
from lashtui.registry.lash.detect import read_only_refusal
from lashtui.registry.sql.row import RecordCache, decode_error
from lashtui.registry.sqlite.connect import (
    BUSY_TIMEOUT_MS,
    MEMORY,
    READ_ONLY_BUSY_TIMEOUT_MS,
    RegistryConnection,
    connect_again,
    connect_file,
    connect_read_only,
    store_error,
)
from lashtui.registry.sqlite.file import SHM, FileState, still_immutable
from lashtui.registry.sqlite.group import PendingWrite, run_group
from lashtui.registry.sqlite.transaction import transaction
from lashtui.registry.sqlite.write_lock import WriteLockUse, is_busy

P = ParamSpec("P")
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


def _in_transaction(
    conn: sqlite3.Connection,
    begin: str | None,
    fn: Callable[..., T],
    *args: object,
    **kwargs: object,
) -> T:
    """`fn` in one transaction opened by `begin`; None for a read of one statement, which
    is its own transaction (and saves two round trips into SQLite)."""
    assert isinstance(conn, RegistryConnection)  # every connection here is opened as one
    if begin is None:
        result = fn(conn, *args, **kwargs)
        conn.committed()
        return result
    with transaction(conn, begin):
        result = fn(conn, *args, **kwargs)
    return result


class SqliteConnection:
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

    # Every 300 commits (measured, when writes waited for every checkpoint: P1 ran 25%
    # faster than at every 100) keeps the WAL near 8 MB.
    CHECKPOINT_EVERY = 300
    # The WAL starts over once it holds this many frames (4 MB of 4 kB pages), SQLite's own
    # automatic checkpoint point; before, at every checkpoint behind the writes.
    RESTART_AT_FRAMES = 1000
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
        one snapshot."""
        runner, lead = self._read_runner(self._reader, "BEGIN")
        return await self._hop(self._reader, runner, *lead, fn, *args, **kwargs)

    def _read_runner(
        self, aconn: aiosqlite.Connection, begin: str | None
    ) -> tuple[Callable[..., Any], tuple[object, ...]]:
        """How a read runs on `aconn`: a read-only handle checks that an immutable
        connection still holds (`_reading`); a writable one needs no check."""
        if self.read_only:
            return _reading, (aconn, self.path, begin)
        return _in_transaction, (begin,)

    async def short_write(
        self, fn: Callable[Concatenate[sqlite3.Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """`write` for a transaction that touches one process's rows. It joins the group of
        short writes made in this turn of the loop, which commit as one transaction, each
        in a savepoint of its own (group.py); the call returns once that has committed."""
        self._refuse_read_only()
        if self._loop_thread != threading.get_ident():
            return await self.write(fn, *args, **kwargs)
        loop = asyncio.get_running_loop()
        write = PendingWrite(fn, args, kwargs)
        if self._lone(loop) and self._commit_here([write]):
            self._checkpoint_due()  # counted; False, as no restart was due
            if write.error is not None:
                raise self._translate(write.error)
            return write.result  # type: ignore[no-any-return]
        self._yielded_at = time.monotonic()  # this caller now lets the loop run others
        future: asyncio.Future[T] = loop.create_future()
        write.future = future
        self._group.append(write)
        if self._flusher is None and not self._flush_soon_armed:
            self._flush_soon_armed = True
            loop.call_soon(self._flush_soon)
        try:
            return await future
        except asyncio.CancelledError:
            keep_write(write, future, self._group)  # (kept.py; `_take_group` keeps it)
            raise

    def _lone(self, loop: asyncio.AbstractEventLoop) -> bool:
        """Whether a short write made now would commit alone in its group: none is queued
        or committing, and nothing else is left to run in this turn of the loop. A group
        commits in a callback at the next turn, before that turn's I/O callbacks and the
        tasks this turn wakes, so the only writes that can join it are those made by the
        callbacks still ready in this one. With none ready (asyncio's own loop keeps them
        in `_ready`; another loop says nothing and always groups), the write commits here
        at once: a caller making one write at a time (a claim, then its release) then
        waits for no turn of the loop, two per write otherwise (~50 us of a ~100 us
        claim-and-release, measured for P2). `YIELD_EVERY_S` still lets the loop run."""
        ready = getattr(loop, "_ready", None)
        if ready is None or ready or self._group or self._flusher is not None:
            return False
        if self._flush_soon_armed or self._writer_queued or self._restart_due:
            return False
        if self._checkpoint_late():
            return False
        return time.monotonic() - self._yielded_at <= self.YIELD_EVERY_S

    def _flush_soon(self) -> None:
        """The usual way a group commits: in a callback, not a task (a task per group was
        ~3% of P1), when nothing can make it wait; else a task commits it, which can."""
        self._flush_soon_armed = False
        if self._flusher is not None or not self._group:
            return  # the task commits what is queued
        late = self._checkpoint_late()
        if self._writer_queued or self._restart_due or late or self._loop_thread is None:
            self._flusher = asyncio.create_task(self._flush_groups(), name="lashtui-group-commit")
            return
        group = self._take_group()
        try:
            if not self._commit_here(group):  # the write lock is held by another process
                self._group[:0] = group  # the task counts it when it commits
                self._flusher = asyncio.create_task(
                    self._flush_groups(), name="lashtui-group-commit"
                )
                return
        except Exception as error:
            self._settle(group, error)
            return
        self._checkpoint_due()  # counted; False, as no restart was due
        self._settle(group)

    def _take_group(self) -> list[PendingWrite]:
        group = [write for write in self._group if not write.future.done()]
        self._group = []
        for write in group:
            write.taken = True  # commits (or fails) now: a cancelled caller's `keep` asks
        return group

    def _settle(self, group: list[PendingWrite], error: Exception | None = None) -> None:
        """Each caller's outcome; `error` when the group failed as a whole."""
        for write in group:
            if error is None:
                write.settle(self._translate)
            elif not write.future.done():
                write.future.set_exception(error)

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

    async def _flush_groups(self) -> None:
        """Commit the queued groups until none is left. A group runs here when it cannot
        wait (see the class docstring), else on the writer's thread; a group that fails as
        a whole commits nothing and fails each of its callers with the same error."""
        try:
            while self._group:
                while self._writer_queued:
                    await self._writer_idle.wait()
                await self._checkpoint_caught_up()
                group = self._take_group()
                try:
                    if group:
                        await self._commit_group(group)
                except Exception as error:
                    self._settle(group, error)
                    continue
                except asyncio.CancelledError:
                    for write in group:
                        write.future.cancel()
                    raise
                self._settle(group)
        except asyncio.CancelledError:
            for write in self._group:  # the loop is going away: nothing more commits
                write.future.cancel()
            self._group = []
            raise
        finally:
            self._flusher = None

    async def _commit_group(self, group: list[PendingWrite]) -> None:
        if self._checkpoint_due():
            await self._hop(self._writer, _checkpointed, run_group, group)
            return
        # The write lock held by another process: wait for it here, between turns of the
        # loop, with `_retrying`'s short jittered tries, rather than on the writer's thread.
        # There, four worker processes draining one file ran nearly every group (~97%) on
        # their threads, whose GIL hand-offs with the busy loop cost CPU in each process, and
        # whose queued hop held the loop's reads behind the wait (`_inline_ok`). Here the
        # writes of the wait's turns join the next group. (asyncio sleeps at least ~1 ms
        # once nothing else is ready: its selector counts in milliseconds.)
        deadline = time.monotonic() + self.busy_timeout_ms / 1000
        pauses = _retry_pauses()
        while await self._inline_ok():
            if self._commit_here(group, last=time.monotonic() >= deadline):
                return
            await asyncio.sleep(next(pauses))
        await self._hop(self._writer, run_group, group)  # called off the loop's thread

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
