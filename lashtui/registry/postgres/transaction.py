"""Running one transaction function on a pooled connection: BEGIN (a write's through the
schema's function, a read's as a snapshot), the function, COMMIT, all in pipeline mode, and
again when a write lost a race. `TransactionRun` is mixed into `PostgresConnection`
(connection.py), which owns the pool these run on.

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
id and reading only below a horizon (change_feed.py says how, and why that is exact); the BEGIN
of each write takes the registry's writer lock (shared), the transaction's id and its first
sequence in the same round trip, queues the NOTIFY (delivered only if the transaction
commits) and counts the write in `process_commit_counter` (`data_version`).
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable
from typing import Any, TypeVar, cast

import psycopg
from psycopg import errors as pg_errors

from lashtui.registry.postgres import notice
from lashtui.registry.postgres.group import PendingWrite, run_all
from lashtui.registry.postgres.jsonb_refusal import JsonbRefused, JsonbTolerance
from lashtui.registry.postgres.tx import PgTx, SharedCache
from lashtui.registry.sql.dialect import POSTGRES, Dialect

T = TypeVar("T")

_WRITE, _READ, _POINT = "write", "read", "point"

# How many times a write transaction that lost a race (see the module docstring) runs again.
RETRIES = 8
# What losing such a race raises: another transaction's first save of the same key, a
# deadlock PostgreSQL broke by failing this one, a serialization failure.
_RACES = (pg_errors.UniqueViolation, pg_errors.DeadlockDetected, pg_errors.SerializationFailure)
# What a write transaction's read of a row it may change ends with (`Dialect.row_lock`).
ROW_LOCK = " FOR NO KEY UPDATE"


class TransactionRun(JsonbTolerance):
    """The connection's methods that run one transaction on a pooled connection."""

    # Set by PostgresConnection.__init__ and open (connection.py).
    _txs: weakref.WeakKeyDictionary[psycopg.Connection[Any], PgTx]
    shared: SharedCache
    repeated_key: bool
    _begin_write: dict[bool, tuple[str, ...]]

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
