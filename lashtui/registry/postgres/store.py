"""`PostgresProcessRegistry`: the registry in a PostgreSQL schema, for a fleet of workers on
several machines. The transactions are the shared ones (`registry.sql`); this module opens
the database and tells listeners when anyone has committed to it, through LISTEN/NOTIFY."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator
from typing import Any

import psycopg

from lashtui.clock import Clock, SystemClock
from lashtui.errors import StoreError
from lashtui.model import (
    DurabilityTier,
    LeaseOwnerIdentity,
    ProcessAwaitOutput,
    ProcessLease,
    ProcessRecord,
    ProcessRunClaim,
    ProcessStarted,
    ProcessStartRequest,
    ProcessWorkItem,
)
from lashtui.registry.display import first_line
from lashtui.registry.kept import convert_kept
from lashtui.registry.postgres import notice
from lashtui.registry.postgres.complete import complete_in_server
from lashtui.registry.postgres.connection import PostgresConnection
from lashtui.registry.postgres.schema import DDL, SUPERSEDED, WRITER_LOCK_CLASS
from lashtui.registry.postgres.start import StartOutcome, prepare_start, start_in_server
from lashtui.registry.sql import event, process, worklist
from lashtui.registry.sql.dialect import Tx
from lashtui.registry.sql.prepared import prepare_completion
from lashtui.registry.sql.store import SqlProcessRegistry

# The write transactions begun (a sequence: counted without a lock), then the writers still
# in flight: the ids of the transactions that hold the registry's writer lock, which each
# takes before its id and its step of the counter, and lets go only once its commit is
# visible (PostgreSQL leaves the proc array, which snapshots read, before it releases a
# transaction's locks). So a writer counted in the first number is either still listed
# in the second, and leaves it when it ends, or visible to every read begun after: the
# pair moves after every commit, and once it stands a read made after it has seen every
# commit that moved it. A new sequence's `last_value` is its start, 1, before the first
# `nextval` and after it, so `is_called` tells those two apart: without it a new
# registry's first commit left the version as it was. Two statements, the counter first:
# a writer that begins after the count is counted by the next version, one counted must
# be in the list or have ended.
#
# Not the feed's bound (`lashtui_change_bound`), which this was: a snapshot lists as in
# progress only the ids below its `xmax` (the last id completed, plus one), so a writer
# whose id was the newest on the server was in no list, the bound stood at its end, and
# the version taken while it was in flight was the one its commit left. A dashboard view
# read at that version, before the commit was visible, and never again while nothing
# else committed (tui/screens/live.py). The feed loses nothing by it: every row a
# snapshot sees lies below such a writer's sequences (change_feed.py). A hash, as a version
# is one number.
_COMMITS_BEGUN = (
    "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM process_commit_counter"
)
_VERSION = f"""SELECT hashtextextended(?::text || ' ' || COALESCE((
        SELECT string_agg(t.transactionid::text, ',' ORDER BY t.transactionid::text)
        FROM pg_locks a
        JOIN pg_locks t ON t.pid = a.pid AND t.locktype = 'transactionid' AND t.granted
        WHERE a.locktype = 'advisory' AND a.granted AND a.classid = {WRITER_LOCK_CLASS}
          AND a.objid = hashtext(current_schema())::oid AND a.objsubid = 2
          AND a.database = (SELECT oid FROM pg_database WHERE datname = current_database())
    ), ''), 0)"""


def _version(conn: Tx) -> int:
    begun = conn.execute(_COMMITS_BEGUN).fetchone()[0]
    return int(conn.execute(_VERSION, (begun,)).fetchone()[0])


# For a role that may not read the counter (granted SELECT on the tables alone: privilege.py),
# the first number is the server's: one past the newest transaction id ended when the
# read's snapshot was taken. A write transaction of this registry that took its id and
# ended between two reads moved it past that id; one still in flight is in the writers'
# list, as above. It moves for every other transaction on the server too: a version that
# changes more often than the registry does (a re-read too many, never one too few), paid
# only by such a role's polls, which NOTIFY makes the fallback. Without it, every read-only
# dashboard of such a role showed "permission denied for sequence process_commit_counter"
# for as long as it ran, and `ls --watch` exited 1 at once.
_SERVER_ENDED = "SELECT pg_snapshot_xmax(pg_current_snapshot())::text"


def _version_without_counter(conn: Tx) -> int:
    ended = conn.execute(_SERVER_ENDED).fetchone()[0]
    return int(conn.execute(_VERSION, (ended,)).fetchone()[0])


class PostgresProcessRegistry(SqlProcessRegistry):
    """A process registry in one PostgreSQL schema (the first on the URL's search_path)."""

    DDL = DDL
    SUPERSEDED = SUPERSEDED

    def __init__(self, db: PostgresConnection, clock: Clock) -> None:
        super().__init__(db, clock)
        self._server = db
        # Whether a worker's start is one call to the schema's function (start.py): every
        # writable handle's schema has it (upgrade.py); the tests turn it off for a twin.
        self.starts_in_server = True

    @classmethod
    async def open(
        cls,
        target: str,
        *,
        clock: Clock | None = None,
        read_only: bool = False,
        create: bool = True,
        lock_timeout_ms: int | None = None,
    ) -> PostgresProcessRegistry:
        """Open the registry at the PostgreSQL URL `target` (creating its tables in an empty
        schema unless `create=False`); `lock_timeout_ms` (default 15 s, 1 s read-only) bounds
        how long a write waits for another writer."""
        db = PostgresConnection(
            target, read_only=read_only, create=create, lock_timeout_ms=lock_timeout_ms
        )
        await db.open()
        return cls(db, clock or SystemClock())

    @property
    def target(self) -> str:
        """The URL, without its password."""
        return self._server.display

    @property
    def channel(self) -> str:
        """The LISTEN/NOTIFY channel this registry's commits are announced on (those that
        make no work for a worker on `quiet_channel`)."""
        return self._server.channel

    @property
    def quiet_channel(self) -> str:
        return self._server.quiet_channel

    def durability_tier(self) -> DurabilityTier:
        return DurabilityTier.DURABLE  # a database server's tables outlive every client

    async def complete_process_with_lease(
        self, lease: ProcessLease, await_output: ProcessAwaitOutput
    ) -> ProcessRecord:
        # Built before the write transaction from what the handle's connections hold, then
        # one call to a server-side function (complete.py).
        now = self._now()
        prepared = None
        if self._server.completes_in_server:
            prepared = prepare_completion(self._server.shared, lease, await_output, now)
        if prepared is not None:
            outcome = await self._db.short_write(
                complete_in_server, lease, prepared, await_output, now
            )
            if not outcome.stale:
                return outcome.result()
        # (Stale: the function wrote nothing, and the shared path runs as it would have.)
        return await self._db.short_write(event.complete_with_lease, lease, await_output, now)

    async def start_process_for_run(
        self,
        request: ProcessStartRequest,
        owner: LeaseOwnerIdentity,
        ttl_ms: int,
        started: ProcessStarted,
    ) -> tuple[ProcessRecord, ProcessRunClaim | None]:
        # Built before the write transaction, then one call to a server-side function
        # (start.py); a start it does not cover takes the shared path.
        owner.check_limits()  # here, not in the transaction, where other writers wait
        prepared = None
        if self.starts_in_server:
            known = self._server.shared.envs
            prepared = prepare_start(known, request, owner, ttl_ms, started, self._now())
        if prepared is None:
            return await super().start_process_for_run(request, owner, ttl_ms, started)
        try:
            outcome = await self._db.short_write(start_in_server, prepared)
        except asyncio.CancelledError:
            convert_kept(StartOutcome.result)  # a kept outcome arrives as this answer
            raise
        return outcome.result()

    async def processes_changed_since(
        self, cursor: int, limit: int, *, max_chars: int | None = None
    ) -> tuple[list[ProcessRecord], int]:
        # One statement (its size cut too), so READ COMMITTED: there the feed's bound can
        # pass over a transaction that ended during the read without saving here (change_feed.py).
        return await self._db.point_read(process.changed_since, cursor, limit, max_chars)

    async def work_items_changed_since(
        self, cursor: int, limit: int, claimant: LeaseOwnerIdentity | None = None
    ) -> tuple[list[ProcessWorkItem], int]:
        return await self._db.point_read(
            worklist.work_items_changed_since, cursor, limit, claimant, self._now()
        )

    async def data_version(self) -> int:
        # Unlike SQLite's data_version this moves for this handle's own commits as well,
        # and while a write is in flight: a wake-up too many, never one too few.
        if self._server.reads_commit_counter:
            return await self._server.point_read(_version)
        return await self._server.point_read(_version_without_counter)

    async def notifications(self, *, work_only: bool = False) -> AsyncGenerator[None, None]:
        """Yield once listening, then once per write transaction that another handle (in
        this OS process or any other) commits: each sends a notification with its handle's
        id, and this handle's own are skipped, as SQLite's data_version skips them.
        `work_only` skips too the commits that cannot have made work for a worker (claims,
        renewals, terminals under a lease: notice.py). Ends with a `StoreError` when the
        connection to the server is lost; the reader falls back to polling `data_version`."""
        try:
            # The pool's connect timeout: without one psycopg waits 130 s for a server that
            # takes the TCP connection and never answers, and each try to listen again
            # (registry/watch.py) was held that long.
            listener = await psycopg.AsyncConnection.connect(
                self._server.target, autocommit=True, **self._server.connect_kwargs
            )
        except psycopg.Error as error:
            raise StoreError(
                f"cannot listen on process registry `{self.target}`: {first_line(error)}"
            ) from None
        conn: psycopg.AsyncConnection[Any] = listener
        try:
            # A worker's wake listens on the work channel only: the server never sends it
            # the quiet commits (notice.py), which were most of a drain's and each cost
            # every listening worker a wake-up to parse and drop.
            channels = [self._server.channel]
            if not work_only:
                channels.append(self._server.quiet_channel)
            await conn.execute("; ".join(f'LISTEN "{channel}"' for channel in channels))
            yield
            own = self._server.handle_id
            async for note in conn.notifies():
                handle, quiet = notice.parse(note.payload)
                if handle != own and not (quiet and work_only):
                    yield
        except psycopg.Error as error:
            raise StoreError(
                f"stopped listening to process registry `{self.target}`: {first_line(error)}"
            ) from None
        finally:
            with contextlib.suppress(psycopg.Error):
                await conn.close()
