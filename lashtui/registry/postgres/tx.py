"""`PgTx`: a pooled psycopg connection as the shared transaction functions see it (`Tx`),
with its record cache, the write transaction's change sequences counted in memory from its
BEGIN's, pipeline mode's cursors, the reads sent ahead with a write's next statement, and
what a write leaves to do once committed.

Apart from the runner (connection.py, transaction.py) because it is what each transaction
function holds: everything a statement goes through on its way to the server is here.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import psycopg

from lashtui.errors import StoreError
from lashtui.registry.postgres.jsonb_refusal import _JSONB_REFUSALS, JsonbRefused
from lashtui.registry.postgres.schema import SEQ_BITS
from lashtui.registry.sql.dialect import JSONB_CAST, POSTGRES, Cursor, Dialect
from lashtui.registry.sql.fetch import Statement
from lashtui.registry.sql.row import RecordCache, unstorable_parameter

if TYPE_CHECKING:
    from lashtui.model import ProcessRecord

# The name it has logged under since it was connection.py's.
_log = logging.getLogger("lashtui.registry.postgres.connection")


@functools.lru_cache(maxsize=512)
def _translated(sql: str) -> str:
    """SQLite's `?` placeholders as psycopg's `%s` (a literal `%` doubled)."""
    return sql.replace("%", "%%").replace("?", "%s")


class SharedCache(RecordCache):
    """What a handle's pooled connections share of their record caches: the records and
    execution envs committed, the last event sequence appended to each process (each a
    guess checked in SQL before it is relied on, so one thread's older record replacing
    another's newer one costs a miss, never a wrong write; the lock keeps the dicts'
    multi-step updates whole), and the Errors view's verdicts (record_cache.py `Verdicts`:
    each kept with its row, and replaced whole by a read). Only those four of its
    `RecordCache` fields are used."""

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
            # (and the Errors view's verdicts, whichever connection its next read runs on)
            self.verdicts = shared.verdicts
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
        """The write transaction's first change sequence (change_feed.py): its saves count on
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
