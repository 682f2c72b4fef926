"""Running the shared transaction functions against PostgreSQL, one thread hop per transaction.

The transactions are synchronous SQL functions (`registry.sql`), so each runs whole on a
pool thread with psycopg's synchronous connection, as the SQLite store runs them on its
connection's thread. benchmarks/pg_drivers.py measured the choice on this machine: asyncpg,
awaiting each statement, commits 15-20% more transactions a second, but spends 45-50% of
the event loop on it where one hop per transaction spends 7-12%, and the loop is the
dashboard's; psycopg's own async driver was the slowest of the three. One hop per
transaction also keeps one implementation of lash's semantics for both stores.

The transaction runner's parts live beside it: transaction.py runs one transaction (and
says how concurrent writes stay correct), jsonb_refusal.py what a row jsonb refuses does,
preparation.py what an open checks and creates, tx.py the connection the functions see.
"""

from __future__ import annotations

import asyncio
import os
import socket
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

from lashtui.errors import InvalidRequest, LashError, StoreError
from lashtui.registry.display import connect_timeout, first_line, redacted, url_problem
from lashtui.registry.postgres import notice
from lashtui.registry.postgres.group import GroupCommit, PendingWrite, run_all
from lashtui.registry.postgres.notice import notify_channel, quiet_channel
from lashtui.registry.postgres.preparation import SchemaPreparation
from lashtui.registry.postgres.schema import BEGIN_WRITE_FUNCTION
from lashtui.registry.postgres.transaction import _POINT, _READ, _WRITE, TransactionRun
from lashtui.registry.postgres.tx import PgTx, SharedCache
from lashtui.registry.sql.decoded_row import decode_error
from lashtui.registry.sql.dialect import POSTGRES, Dialect, Tx

if TYPE_CHECKING:
    from lashtui.model import ProcessExecutionEnvSpec

P = ParamSpec("P")
T = TypeVar("T")

LOCK_TIMEOUT_MS = 15_000
READ_ONLY_LOCK_TIMEOUT_MS = 1_000
# How long a connection waits for the server where the URL (`?connect_timeout=`) and
# $PGCONNECT_TIMEOUT give no time, libpq's own, which every connection of a store is given
# (`connect_kwargs`; the pool waits as long for a free connection). It overrode the URL's:
# `?connect_timeout=2` waited 10 s.
CONNECT_TIMEOUT_S = 10
# What every connection of this process gives libpq besides the URL. The name shows in
# `pg_stat_activity.application_name`, so an operator can tell a fleet's backends apart
# (each host's workers, a dashboard) where they were all blank; a *fallback* name, so an
# `application_name` the URL gives wins. The server keeps 63 bytes of it.
CONNECT_KWARGS: dict[str, Any] = {
    "fallback_application_name": f"lashtui {socket.gethostname()}:{os.getpid()}"[:63],
}
POOL_SIZE = 4


class PostgresConnection(TransactionRun, SchemaPreparation):
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
        self.connect_timeout_s = connect_timeout(target) or CONNECT_TIMEOUT_S
        self.connect_kwargs = {**CONNECT_KWARGS, "connect_timeout": self.connect_timeout_s}
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
            kwargs={"autocommit": True, **self.connect_kwargs},
            configure=self._configure,
            timeout=self.connect_timeout_s,
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
        # The jsonb form after a refusal, and until when it holds (jsonb_refusal.py).
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
        # change_feed.py), then the id, the first sequence, the commit count and the NOTIFY,
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
            psycopg.connect(self.target, **self.connect_kwargs).close()
        except psycopg.Error as error:
            raise StoreError(
                f"cannot reach process registry `{self.display}`: {first_line(error)}"
            ) from None
        self._pool.open(wait=True, timeout=self.connect_timeout_s)

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
                f"{self.connect_timeout_s} s"
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
