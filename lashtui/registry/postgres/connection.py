"""Running the shared transaction functions against PostgreSQL, one thread hop per transaction.

The transactions are synchronous SQL functions (`registry.sql`), so each runs whole on a
pool thread with psycopg's synchronous connection, as the SQLite store runs them on its
connection's thread. benchmarks/pg_drivers.py measured the choice on this machine: asyncpg,
awaiting each statement, commits 15-20% more transactions a second, but spends 45-50% of
the event loop on it where one hop per transaction spends 7-12%, and the loop is the
dashboard's; psycopg's own async driver was the slowest of the three. One hop per
transaction also keeps one implementation of lash's semantics for both stores.

Write transactions run concurrently, under READ COMMITTED, each locking the rows it reads
to change: the shared functions read a process's row before they change anything of it
(`load_record`, `require_exists`, and `load_lease_row` for a lease), and on PostgreSQL those
reads end with `FOR NO KEY UPDATE` in a write transaction (`Dialect.row_lock`). So two
writes to one process run one after the other, each reading what the other committed (a
READ COMMITTED statement that waited for a lock reads the row's newest version, and the
next statement takes a fresh snapshot), and writes to different processes never wait for
each other. What the one write lock also settled is settled here: two first saves of one new
id (the second fails on the primary key), a deadlock between two writes locking several
rows, or a serialization failure run the transaction again, whole, up to `RETRIES` times:
a transaction function is a plain function over its connection, so running it again after
a rollback is running it once. The change feed stays exact by ordering saves by transaction
id and reading only below a horizon (schema.py says how, and why that is exact); the BEGIN
of each write takes the registry's writer lock (shared), the transaction's id and its first
sequence in the same round trip, queues the NOTIFY (delivered only if the transaction
commits) and counts the write in `process_commit_counter` (`data_version`).

A statement that reads record JSON with the plain `::jsonb` cast fails, and aborts its
transaction, when one row's text is not what jsonb reads (sql/dialect.py). The runner then
rolls the transaction back and runs it again, whole, in a tolerant form: nothing of the
first attempt was committed, and a transaction function is a plain function over its
connection, so running it twice is running it once. The handle keeps the tolerant form for
`TOLERANT_S` before it tries the plain cast again: the row is seldom gone sooner, and a
failed attempt costs up to a whole statement.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import os
import shlex
import socket
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar, cast

import psycopg
import psycopg_pool
from psycopg import errors as pg_errors
from pydantic import ValidationError

from lashtui.errors import (
    InvalidRequest,
    LashError,
    NotARegistry,
    RegistryMissing,
    StoreError,
    WritableOpenNeeded,
)
from lashtui.registry.display import redacted, url_problem
from lashtui.registry.postgres import notice
from lashtui.registry.postgres.group import GroupCommit, PendingWrite, run_all
from lashtui.registry.postgres.privilege import reads_commit_counter, refuse_read_only_role
from lashtui.registry.postgres.schema import (
    BEGIN_WRITE_FUNCTION,
    DDL,
    REPEATED_KEY_DDL,
    SEQ_BITS,
    TRY_JSONB_DDL,
)
from lashtui.registry.postgres.upgrade import check_version
from lashtui.registry.sql.dialect import (
    JSONB_CAST,
    POSTGRES,
    POSTGRES_TRY,
    POSTGRES_VALID,
    TRY_JSONB,
    Cursor,
    Dialect,
    Tx,
)
from lashtui.registry.sql.fetch import Statement
from lashtui.registry.sql.repeated import REPEATED_KEY
from lashtui.registry.sql.row import RecordCache, decode_error, unstorable_parameter

if TYPE_CHECKING:
    from lashtui.model import ProcessExecutionEnvSpec, ProcessRecord

P = ParamSpec("P")
T = TypeVar("T")

LOCK_TIMEOUT_MS = 15_000
READ_ONLY_LOCK_TIMEOUT_MS = 1_000
CONNECT_TIMEOUT_S = 10.0
# What every connection of this process gives libpq besides the URL. The name shows in
# `pg_stat_activity.application_name`, so an operator can tell a fleet's backends apart
# (each host's workers, a dashboard) where they were all blank; a *fallback* name, so an
# `application_name` the URL gives wins. The server keeps 63 bytes of it.
CONNECT_KWARGS: dict[str, Any] = {
    "connect_timeout": int(CONNECT_TIMEOUT_S),
    "fallback_application_name": f"lashtui {socket.gethostname()}:{os.getpid()}"[:63],
}
POOL_SIZE = 4

_WRITE, _READ, _POINT = "write", "read", "point"

# How many times a write transaction that lost a race (see the module docstring) runs again.
RETRIES = 8
# What losing such a race raises: another transaction's first save of the same key, a
# deadlock PostgreSQL broke by failing this one, a serialization failure.
_RACES = (pg_errors.UniqueViolation, pg_errors.DeadlockDetected, pg_errors.SerializationFailure)
# What a write transaction's read of a row it may change ends with (`Dialect.row_lock`).
ROW_LOCK = " FOR NO KEY UPDATE"

# How long a handle that met a row the plain jsonb cast refuses keeps the tolerant form.
TOLERANT_S = 60.0
# What the plain cast raises for text jsonb refuses (measured on 15): class 22, data
# exception (22P02 not JSON or a lone surrogate escaped, 22P05 a `\u0000` escape, 22003 a
# number past numeric's range), and 54001 for nesting past the server's stack.
_JSONB_REFUSALS = (psycopg.DataError, pg_errors.StatementTooComplex)


class JsonbRefused(Exception):
    """A statement in the plain jsonb form failed, perhaps on a row's text: the runner
    runs its transaction again in a tolerant form (see the module docstring)."""

    def __init__(self, error: psycopg.Error) -> None:
        super().__init__(str(error))
        self.error = error


@functools.lru_cache(maxsize=512)
def _translated(sql: str) -> str:
    """SQLite's `?` placeholders as psycopg's `%s` (a literal `%` doubled)."""
    return sql.replace("%", "%%").replace("?", "%s")


class SharedCache(RecordCache):
    """What a handle's pooled connections share of their record caches: the records and
    execution envs committed, and the last event sequence appended to each process (only
    those three of its `RecordCache` fields are used). Each is a guess checked in SQL
    before it is relied on, so one thread's older record replacing another's newer one
    costs a miss, never a wrong write; the lock keeps the dicts' multi-step updates whole."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.RLock()


class PgTx(RecordCache):
    """A psycopg connection as the transaction functions see it (`Tx`), with the record
    cache: one per pooled connection, living as long as it does."""

    # Inserts fill `sort_label` and `backlog_seq` (row.py `insert_record`,
    # sql/backlog_mark.py): a writable open has migrated the registry to version 15, which
    # has both, and a read-only handle inserts nothing.
    sort_label = True
    backlog_seq = True

    def __init__(
        self, pg: psycopg.Connection[Any] | None = None, shared: SharedCache | None = None
    ) -> None:
        # The BEGIN's result (the first sequence), read when a save first needs it: see
        # `last_seq`; the transaction's first sequence once read, and how many of its
        # sequences were handed out (`take_seq_offset`). (Set before the record cache's
        # __init__, which sets `last_seq`.)
        self._begun: Cursor | None = None
        self._first: int | None = None
        self._taken = 0
        super().__init__()
        # The handle's connections share one cache of committed records (the completion
        # is prepared from it before its transaction, on whichever connection it then
        # runs: postgres/complete.py); staged saves stay this connection's own.
        self._shared = shared
        if shared is not None:
            self.records, self.sequences, self.envs = shared.records, shared.sequences, shared.envs
        # Bound for one transaction at a time (see `bound`), so that the runner's map from
        # connection to cache does not keep a closed connection alive.
        self._pg = pg
        # The form the statements read record JSON in: set by the runner per transaction.
        self.dialect: Dialect = POSTGRES
        # A write transaction's sequences run from its first (set at BEGIN) below this.
        self.seq_limit = 0
        # The pipeline the transaction's statements are queued in (see `_run`).
        self.pipeline: psycopg.Pipeline | None = None
        # Reads to send with the next statement, and those sent, by statement and values,
        # until a write function's `execute` of the same takes one (fetch.py `read_ahead`).
        self._ahead: list[Statement] = []
        self._sent_ahead: dict[tuple[str, tuple[Any, ...]], Cursor] = {}
        # What a write function left to do once its transaction has committed, before the
        # staged saves enter the cache (`after_commit`).
        self._after_commit: list[Callable[[], None]] = []

    def begin_sequences(self, first: int) -> None:
        """The write transaction's first change sequence (schema.py): its saves count on
        from it in memory (`next_change_seq`), and no clock row is ever updated."""
        self._begun, self._first = None, first
        self.seq_limit = first + (1 << SEQ_BITS)

    def take_seq_offset(self) -> int:
        """The next change sequence of this write transaction as its offset from the
        transaction's first, for a statement that computes the sequence in the server
        (postgres/complete.py): the BEGIN's row need not have been read."""
        assert self._begun is not None or self._first is not None, "inside a write"
        taken, self._taken = self._taken, self._taken + 1
        return taken

    def begin_sequences_from(self, begun: Cursor) -> None:
        """`begin_sequences` from the BEGIN's row, read only when a save first asks for a
        sequence (`last_seq`): in pipeline mode the BEGIN then travels with the
        transaction's first read instead of costing a round trip of its own."""
        self._begun = begun

    @property
    def last_seq(self) -> int | None:
        if self._begun is not None:
            row = self._begun.fetchone()
            assert row is not None
            self.begin_sequences(int(row[0]))  # (clears `_begun`)
        if self._first is None:
            return None
        return self._first + self._taken - 1

    @last_seq.setter
    def last_seq(self, value: int | None) -> None:
        if value is None:  # the transaction's end
            self._begun, self._first, self._taken = None, None, 0
            return
        first = self._first
        assert first is not None, "sequences count on from the BEGIN's"
        self._taken = value - first + 1

    def save_clock(self) -> None:
        """Before COMMIT: nothing to save (the sequences come from the transaction id), only
        the bound to check: past it they would run into the next transaction's. (A
        transaction that saved nothing never read its BEGIN's row, and does not now.)"""
        if self._taken > 1 << SEQ_BITS:
            raise StoreError(
                f"a transaction saved more than {1 << SEQ_BITS} process rows; split it"
            )

    def remember(self, process_id: str, text: str, record: ProcessRecord) -> None:
        if self._shared is None:
            return super().remember(process_id, text, record)
        with self._shared.lock:
            super().remember(process_id, text, record)

    def committed(self) -> None:
        if self._shared is None:
            return super().committed()
        with self._shared.lock:
            super().committed()

    @contextmanager
    def bound(self, pg: psycopg.Connection[Any]) -> Iterator[PgTx]:
        self._pg = pg
        try:
            yield self
        finally:
            self._pg = None

    def read_ahead(self, statements: tuple[Statement, ...]) -> None:
        """Send `statements` with the next statement (fetch.py `read_ahead`); outside a
        pipeline (a point read), nothing."""
        if self.pipeline is not None:
            self._ahead.extend(statements)

    def after_commit(self, fn: Callable[[], None]) -> None:
        """Run `fn` on this thread once the transaction has committed, before its staged
        saves enter the cache (which `fn` may stage to); never if it rolls back. For a
        statement whose result is read only then, so that the transaction's one round trip
        is its COMMIT's (postgres/start.py). `fn` must not raise: the transaction has
        committed, and a group's other writes with it."""
        self._after_commit.append(fn)

    def run_after_commit(self) -> None:
        """Each `after_commit` function. One that raises anyway is contained here: the
        transaction has committed, and letting the error out would have the runner run
        the whole group again (its write's caller then finds no answer, and says so)."""
        for fn in self._after_commit:
            try:
                fn()
            except Exception:  # committed: see the docstring
                _log.exception("reading a committed write's answer failed")
        self._after_commit.clear()

    def forget_read_ahead(self) -> None:
        """At the end of each write function (a group runs several in one transaction) and
        of each transaction: a result read ahead is used within the write that asked."""
        self._ahead.clear()
        self._sent_ahead.clear()

    def _end_transaction(self) -> None:
        super()._end_transaction()
        self.forget_read_ahead()
        self._after_commit.clear()

    def execute(self, sql: str, parameters: Any = None, /) -> Cursor:
        if self._sent_ahead:
            sent = self._sent_ahead.pop((sql, tuple(parameters or ())), None)
            if sent is not None:
                return sent
        cursor = self._execute_checked(sql, parameters)
        if self._ahead:
            ahead, self._ahead = self._ahead, []
            for statement, values in ahead:
                self._sent_ahead[(statement, tuple(values))] = self._execute_checked(
                    statement, values
                )
        return cursor

    def _execute_checked(self, sql: str, parameters: Any) -> Cursor:
        if self.dialect.jsonb != JSONB_CAST or "::jsonb" not in sql:
            return self._execute(sql, parameters)
        try:
            cursor = self._execute(sql, parameters)
            if self.pipeline is not None:
                # Its failure must surface here, not at a later statement's fetch.
                self.pipeline.sync()
            return cursor
        except _JSONB_REFUSALS as error:
            raise JsonbRefused(error) from error

    def _execute(self, sql: str, parameters: Any) -> Cursor:
        assert self._pg is not None, "a PgTx is used inside a transaction only"
        try:
            if not parameters:
                cursor = self._pg.execute(sql)
            else:
                cursor = self._pg.execute(_translated(sql), parameters)
        except UnicodeEncodeError as error:
            # PostgreSQL text is UTF-8: a lone surrogate (argv bytes that are not UTF-8)
            # names nothing stored here, so it is one sentence, not a traceback.
            raise unstorable_parameter(error) from None
        return cursor if self.pipeline is None else _Pipelined(cursor, self.pipeline)


class _Pipelined:
    """A statement's cursor in pipeline mode: its rows are fetched when asked for (psycopg
    sends what is queued and waits then), and its row count, which psycopg does not wait
    for, waits for the results first."""

    def __init__(self, cursor: psycopg.Cursor[Any], pipeline: psycopg.Pipeline) -> None:
        self._cursor = cursor
        self._pipeline = pipeline

    @property
    def rowcount(self) -> int:
        self._pipeline.sync()
        return self._cursor.rowcount

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    def __iter__(self) -> Iterator[Any]:
        return iter(self._cursor.fetchall())


_log = logging.getLogger(__name__)


def notify_channel(schema: str) -> str:
    """The channel a registry's commits are announced on: one per schema, and short enough
    for PostgreSQL's 63-byte identifiers whatever the schema's name. Quiet commits go to
    `quiet_channel` (notice.py)."""
    return "lashtui_" + hashlib.sha256(schema.encode()).hexdigest()[:16]


def quiet_channel(channel: str) -> str:
    """Where the commits that make no work for a worker are announced (notice.py): a
    listener on `channel` alone (a worker's wake) is never sent them."""
    return channel + QUIET_CHANNEL_SUFFIX


QUIET_CHANNEL_SUFFIX = "_quiet"


class PostgresConnection:
    """The PostgreSQL store's `TransactionRunner`: a pool of connections, each transaction
    run whole on one of the pool's threads (see the module docstring)."""

    def __init__(
        self,
        target: str,
        *,
        read_only: bool,
        create: bool = True,
        lock_timeout_ms: int | None = None,
        pool_size: int = POOL_SIZE,
    ) -> None:
        problem = url_problem(target)
        if problem is not None:
            raise InvalidRequest(problem)
        self.target = target
        self.display = redacted(target)
        self.read_only = read_only
        self.create = create
        if lock_timeout_ms is None:
            lock_timeout_ms = READ_ONLY_LOCK_TIMEOUT_MS if read_only else LOCK_TIMEOUT_MS
        self.lock_timeout_ms = lock_timeout_ms
        self.schema = ""
        self.channel = ""
        self.quiet_channel = ""
        # Sent with each commit's notification, so a listener can tell this handle's own.
        self.handle_id = uuid.uuid4().hex
        # The BEGIN of a write transaction, by whether its commit is quiet (notice.py).
        self._begin_write: dict[bool, tuple[str, ...]] = {}
        self._pool = psycopg_pool.ConnectionPool(
            target,
            min_size=1,
            max_size=pool_size,
            open=False,
            kwargs={"autocommit": True, **CONNECT_KWARGS},
            configure=self._configure,
            timeout=CONNECT_TIMEOUT_S,
            name="lashtui-registry",
        )
        self._threads = ThreadPoolExecutor(pool_size, thread_name_prefix="lashtui-pg")
        # Each pooled connection's view with its record cache; gone with the connection.
        self._txs: weakref.WeakKeyDictionary[psycopg.Connection[Any], PgTx] = (
            weakref.WeakKeyDictionary()
        )
        self.shared = SharedCache()
        # Whether the schema has the leased completion's function (postgres/complete.py):
        # every registry but a version-11 one opened read-only (upgrade.py).
        self.completes_in_server = True
        # Whether the role may read the commit counter, which `data_version` reads (a role
        # granted SELECT on the tables alone may not: privilege.py).
        self.reads_commit_counter = True
        # Whether the schema has the function that tells a record naming a read key twice
        # (sql/repeated.py): every registry but one made before it and not opened writable
        # since by a role that may create functions. Read into each transaction's dialect.
        self.repeated_key = True
        self._closed = False
        self._group = GroupCommit(
            self._commit_group, self._write_alone, in_flight=max(1, pool_size - 1)
        )
        # The jsonb form after a refusal, and until when it holds (see the module docstring).
        self._tolerant: tuple[Dialect, float] = (POSTGRES, 0.0)
        # A row a read-only handle found jsonb refuses, to name it again cheaply.
        self._refused_id: str | None = None

    def known_env(self, env_ref: str) -> ProcessExecutionEnvSpec | None:
        """The env under `env_ref` if the handle's connections have read or committed it
        (`SharedCache`); None when they have not, or the handle is closed."""
        return None if self._closed else self.shared.envs.get(env_ref)

    def _configure(self, pg: psycopg.Connection[Any]) -> None:
        pg.execute(f"SET lock_timeout = {int(self.lock_timeout_ms)}")
        if self.read_only:
            pg.execute("SET default_transaction_read_only = on")

    async def open(self) -> None:
        try:
            await self._call(self._open_pool)
            self.schema = await self._call(self._in_pool, self._prepare)
        except BaseException:
            await self.close()
            raise
        self.channel = notify_channel(self.schema)
        self.quiet_channel = quiet_channel(self.channel)
        # Sent with the transaction's first read: the writer lock (before the id, see
        # schema.py), then the id, the first sequence, the commit count and the NOTIFY,
        # on the quiet channel when the commit makes no work for a worker, and with a
        # payload that says so too (notice.py); in one call to the schema's function
        # (version 12), where it was two statements.
        self._begin_write = {
            quiet: (
                "BEGIN",
                f"SELECT {BEGIN_WRITE_FUNCTION}("
                f"'{self.quiet_channel if quiet else self.channel}', "
                f"'{notice.payload(self.handle_id, quiet)}')",
            )
            for quiet in (False, True)
        }

    def _open_pool(self) -> None:
        # One plain connection first: the pool would retry a refused or misaddressed server
        # in the background until its timeout, where this fails at once, with the reason.
        try:
            psycopg.connect(self.target, **CONNECT_KWARGS).close()
        except psycopg.Error as error:
            raise StoreError(
                f"cannot reach process registry `{self.display}`: {first_line(error)}"
            ) from None
        self._pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)

    async def close(self) -> None:
        if self._closed:
            return
        await self._group.settled()  # the writes queued commit first
        self._closed = True
        await asyncio.to_thread(self._pool.close)
        await asyncio.to_thread(self._threads.shutdown, wait=True)

    # --- the TransactionRunner calls

    async def write(
        self, fn: Callable[Concatenate[Tx, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """`fn` in one write transaction (locking the rows it reads to change): committed
        if it returns, rolled back (leaving the database unchanged) if it raises."""
        self._refuse_read_only()
        return await self._call(self._in_pool, self._transaction, _WRITE, fn, args, kwargs)

    async def read(
        self, fn: Callable[Concatenate[Tx, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """`fn` in one read-only snapshot."""
        return await self._call(self._in_pool, self._transaction, _READ, fn, args, kwargs)

    async def short_write(
        self, fn: Callable[Concatenate[Tx, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """`write` for a transaction that touches one process's rows: it joins the next
        group of short writes, which commit as one transaction (group.py); the call
        returns once its write has committed."""
        self._refuse_read_only()
        return cast(T, await self._group.write(fn, args, kwargs))

    async def _commit_group(self, group: list[PendingWrite]) -> list[Any]:
        return await self.write(run_all, group)

    async def _write_alone(self, write: PendingWrite) -> Any:
        return await self.write(write.fn, *write.args, **write.kwargs)

    # One hop is the whole cost either way: the short read is the long one.
    short_read = read

    async def point_read(
        self, fn: Callable[Concatenate[Tx, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """`read` for a function of one statement, or whose statements need not share a
        snapshot: without BEGIN and COMMIT around it."""
        return await self._call(self._in_pool, self._transaction, _POINT, fn, args, kwargs)

    # --- on the pool's threads

    async def _call(self, fn: Callable[..., T], *args: object) -> T:
        if self._closed:
            raise StoreError(f"process registry `{self.display}` is closed")
        loop = asyncio.get_running_loop()
        with self._errors():
            return await loop.run_in_executor(self._threads, fn, *args)

    def _in_pool(self, fn: Callable[..., T], *args: object) -> T:
        with self._pool.connection() as pg:
            return fn(pg, *args)

    def _transaction(
        self,
        pg: psycopg.Connection[Any],
        kind: str,
        fn: Callable[..., T],
        args: tuple[object, ...],
        kwargs: dict[str, object],
    ) -> T:
        cache = self._txs.get(pg)
        if cache is None:
            cache = self._txs[pg] = PgTx(shared=self.shared)
        form, until = self._tolerant
        with cache.bound(pg) as tx:
            form = form if time.monotonic() < until else POSTGRES
            try:
                return self._run_again_on_race(pg, tx, form, kind, fn, args, kwargs)
            except JsonbRefused as refused:  # (rolled back by `_run`)
                form = self._tolerate(pg, refused.error)
            return self._run_again_on_race(pg, tx, form, kind, fn, args, kwargs)

    def _run_again_on_race(
        self,
        pg: psycopg.Connection[Any],
        tx: PgTx,
        form: Dialect,
        kind: str,
        fn: Callable[..., T],
        args: tuple[object, ...],
        kwargs: dict[str, object],
    ) -> T:
        """`_run`, again (rolled back first) when a write lost a race (see the module
        docstring), after a pause that grows with each try."""
        form = form._replace(repeated_key=self.repeated_key)
        tx.dialect = form._replace(row_lock=ROW_LOCK) if kind == _WRITE else form
        for attempt in range(RETRIES):
            try:
                return self._run(pg, tx, kind, fn, args, kwargs)
            except _RACES:
                if kind != _WRITE or attempt == RETRIES - 1:
                    raise
            except pg_errors.InvalidSqlStatementName:
                # psycopg named a statement it believes it prepared, and the server has no
                # such statement: a Parse queued in a pipeline behind a statement that
                # failed (a race lost, above) is skipped by the server, yet psycopg had
                # counted it. Seen once in ~15 runs of two handles racing to start one id.
                # DEALLOCATE ALL makes both sides forget them all (psycopg clears its own
                # cache when it reads that command's status); the transaction, rolled
                # back, runs again and prepares afresh.
                if attempt == RETRIES - 1:
                    raise
                pg.execute("DEALLOCATE ALL")
                continue
            time.sleep(0.001 * (attempt + 1))  # (a pool thread, not the event loop)
        raise AssertionError("unreachable")

    def _tolerate(self, pg: psycopg.Connection[Any], error: psycopg.Error) -> Dialect:
        """The tolerant jsonb form, kept for `TOLERANT_S`: the registry's try-cast function,
        else `pg_input_is_valid` on 16+; without either, the refusal in one sentence."""
        has_function = pg.execute(
            "SELECT to_regprocedure(%s) IS NOT NULL", (f"{TRY_JSONB}(text)",)
        ).fetchone()
        if has_function and has_function[0]:
            form = POSTGRES_TRY
        elif pg.info.server_version >= 160000:
            form = POSTGRES_VALID
        else:
            raise self._refusal(pg, error) from None
        self._tolerant = (form, time.monotonic() + TOLERANT_S)
        return form

    def _refusal(self, pg: psycopg.Connection[Any], error: psycopg.Error) -> Exception:
        """Why a read failed on a server without a tolerant form, to raise: the row (the one
        found before, while it is still refused, else the first a scan finds) and what to
        do about it; the statement's own error if no row is refused now."""
        found = self._refused_id
        if found is None or _jsonb_reads(pg, found):
            found = self._refused_id = _refused_row(pg)
        if found is None:
            return error
        shown = found if len(found) <= 200 else f"{found[:200]}..."
        return WritableOpenNeeded(
            f"process registry `{self.display}` holds a row PostgreSQL cannot read as JSON "
            f"(process {shlex.quote(shown)}: {first_line(error)}); open the registry writable "
            "once to add the function that reads around it"
        )

    def _run(
        self,
        pg: psycopg.Connection[Any],
        tx: PgTx,
        kind: str,
        fn: Callable[..., T],
        args: tuple[object, ...],
        kwargs: dict[str, object],
    ) -> T:
        if kind == _POINT:
            try:
                result = fn(tx, *args, **kwargs)
            except BaseException:
                tx.rolled_back()
                raise
            # Each of its statements read committed rows, so what it staged (an execution
            # env it decoded: content-addressed, never changed) is kept, as a write's is at
            # COMMIT. Rolled back, it was read again by every run: one point read per row
            # a worker ran (pg_stat_statements: 1.0 `spec_json` read per job in a drain).
            tx.committed()
            return result
        try:
            # Pipeline mode: a statement whose result is not read yet (BEGIN, an INSERT, an
            # UPDATE whose count is not asked for, COMMIT) is sent with the next one whose
            # result is, so a transaction costs a round trip per read, plus one at the end
            # for COMMIT and the writes queued before it.
            with pg.pipeline() as pipeline:
                tx.pipeline = pipeline
                try:
                    result = self._in_pipeline(pg, tx, kind, fn, args, kwargs)
                except BaseException as error:
                    _drain(pipeline, error)
                    raise
        except BaseException:
            tx.rolled_back()
            if pg.info.transaction_status != psycopg.pq.TransactionStatus.IDLE and not pg.closed:
                pg.execute("ROLLBACK")
            raise
        finally:
            tx.pipeline = None
        tx.run_after_commit()  # (every result is in: leaving the pipeline synced it)
        tx.committed()
        return result

    def _in_pipeline(
        self,
        pg: psycopg.Connection[Any],
        tx: PgTx,
        kind: str,
        fn: Callable[..., T],
        args: tuple[object, ...],
        kwargs: dict[str, object],
    ) -> T:
        if kind == _WRITE:
            if fn is run_all:
                writes = [write.fn for write in cast(list[PendingWrite], args[0])]
            else:
                writes = [fn]
            for statement in self._begin_write[notice.is_quiet(writes)]:
                begun = pg.execute(statement)
            tx.begin_sequences_from(begun)
        else:
            pg.execute(_READ_SNAPSHOT)
        result = fn(tx, *args, **kwargs)
        tx.save_clock()
        pg.execute("COMMIT")
        return result

    def _prepare(self, pg: psycopg.Connection[Any]) -> str:
        """Check the schema and, for a new registry, create it: in one transaction, under an
        advisory lock, so that concurrent first opens converge. Returns the schema's name.
        Refuses what is not ours before writing anything."""
        pg.execute("BEGIN")
        try:
            row = pg.execute("SELECT current_schema()").fetchone()
            schema = row[0] if row else None
            if schema is None:
                raise StoreError(
                    f"cannot open process registry `{self.display}`: no schema on its "
                    "search_path exists"
                )
            pg.execute(
                "SELECT pg_advisory_xact_lock(hashtext('lashtui registry ' || %s))", (schema,)
            )
            tables = {
                name
                for (name,) in pg.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,)
                )
            }
            if "process_registry_meta" in tables:
                if not self.read_only:  # (asked before anything is written: privilege.py)
                    refuse_read_only_role(pg, schema, self.display)
                self.completes_in_server = check_version(
                    pg, self.display, read_only=self.read_only
                )
                if not self.read_only:
                    _add_function(pg, schema, TRY_JSONB, TRY_JSONB_DDL)
                    _add_function(pg, schema, REPEATED_KEY, REPEATED_KEY_DDL)
                self.repeated_key = _has_function(pg, schema, REPEATED_KEY)
                self.reads_commit_counter = reads_commit_counter(pg, schema)
            elif tables:
                raise NotARegistry(
                    f"not a lash process registry: {self.display} (schema `{schema}` holds "
                    "other tables)"
                )
            elif self.read_only:
                raise RegistryMissing(
                    f"no process registry at `{self.display}` to open read-only"
                )
            elif not self.create:
                raise RegistryMissing(f"no process registry at `{self.display}`")
            else:
                for statement in DDL:
                    pg.execute(statement)
            pg.execute("COMMIT")
        except BaseException:
            if not pg.closed:
                pg.execute("ROLLBACK")
            raise
        return str(schema)

    def _refuse_read_only(self) -> None:
        if self.read_only:
            raise StoreError(f"process registry `{self.display}` is open read-only")

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """psycopg's and pydantic's failures as the registry's one-sentence errors."""
        try:
            yield
        except LashError:
            raise
        except pg_errors.LockNotAvailable:
            raise StoreError(
                f"process registry `{self.display}` is locked by another process "
                f"(still busy after {self.lock_timeout_ms} ms)"
            ) from None
        except pg_errors.ReadOnlySqlTransaction:
            raise StoreError(f"process registry `{self.display}` is read-only") from None
        except (pg_errors.NumericValueOutOfRange, OverflowError):
            raise InvalidRequest(
                "a number is too large for the registry (PostgreSQL BIGINT is signed 64-bit)"
            ) from None
        except psycopg_pool.PoolTimeout:
            raise StoreError(
                f"cannot reach process registry `{self.display}`: no free connection within "
                f"{CONNECT_TIMEOUT_S:.0f} s"
            ) from None
        except psycopg.OperationalError as error:
            raise StoreError(
                f"cannot reach process registry `{self.display}`: {first_line(error)}"
            ) from None
        except psycopg.Error as error:
            raise StoreError(
                f"process registry `{self.display}` failed: {first_line(error)}"
            ) from None
        except ValidationError as error:
            raise decode_error(error) from None


_READ_SNAPSHOT = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"


def _drain(pipeline: psycopg.Pipeline, error: BaseException) -> None:
    """After `error` inside a pipeline: receive what is still queued, so leaving the
    pipeline raises (and logs) nothing more. A statement that failed there unread, having
    lost a race, is raised instead (the transaction is then run again); else `error` is."""
    try:
        pipeline.sync()
    except _RACES as lost:
        if not isinstance(error, psycopg.Error):
            raise lost from error
    except psycopg.Error:
        pass


def _add_function(pg: psycopg.Connection[Any], schema: str, name: str, ddl: str) -> None:
    """One of lashtui's functions of one text argument (`name`, created by `ddl`), in a
    registry made before it existed (see schema.py). A role that may write rows but not
    create functions still opens the registry: without the try-cast its reads then fail
    over as a read-only handle's do; without `lashtui_repeated_key` they ask no record
    whether it names a read key twice (sql/repeated.py)."""
    if _has_function(pg, schema, name):
        return
    pg.execute(f"SAVEPOINT {name}")
    try:
        pg.execute(ddl)
    except pg_errors.InsufficientPrivilege:
        pg.execute(f"ROLLBACK TO SAVEPOINT {name}")
    pg.execute(f"RELEASE SAVEPOINT {name}")


def _has_function(pg: psycopg.Connection[Any], schema: str, name: str) -> bool:
    """Whether `schema` has lashtui's function `name` of one text argument."""
    exists = pg.execute(
        "SELECT to_regprocedure(quote_ident(%s) || %s) IS NOT NULL", (schema, f".{name}(text)")
    ).fetchone()
    return bool(exists and exists[0])


def _jsonb_reads(pg: psycopg.Connection[Any], process_id: str) -> bool:
    """Whether the plain cast reads the row's record (a missing row reads)."""
    try:
        pg.execute(  # (the cast's outcome, not the value: a record may be any size)
            "SELECT record_json::jsonb IS NOT NULL FROM processes WHERE process_id = %s",
            (process_id,),
        )
    except _JSONB_REFUSALS:
        return False
    return True


# Without the function, a DO block can still catch the cast's failure row by row: it reads
# only, so a read-only transaction runs it (the tests run it so). It stops at the first row
# refused and names it in its error. Measured: 1,280 ms of backend CPU for 100,000 rows
# none refused; paid once per failed read while no row is known, else one row's cast.
_FIND_REFUSED = """DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT process_id, record_json FROM processes LOOP
        BEGIN
            PERFORM r.record_json::jsonb;
        EXCEPTION WHEN others THEN
            RAISE EXCEPTION USING ERRCODE = 'LTJ01', MESSAGE = r.process_id;
        END;
    END LOOP;
END $$"""


def _refused_row(pg: psycopg.Connection[Any]) -> str | None:
    """The id of a row whose record the plain jsonb cast refuses, or None if none is."""
    try:
        pg.execute(_FIND_REFUSED)
    except psycopg.Error as error:
        if error.sqlstate == "LTJ01" and error.diag.message_primary is not None:
            return error.diag.message_primary
        raise
    return None


def first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
