"""`SqliteProcessRegistry`: the registry in one SQLite file (lash's layout), shared safely by
many handles and OS processes. The transactions are the shared ones (`registry.sql`); this
module opens the file and says when another connection has committed to it."""

from __future__ import annotations

import random

from lashtui.clock import Clock, SystemClock
from lashtui.model import (
    DurabilityTier,
    LeaseOwnerIdentity,
    ProcessAwaitOutput,
    ProcessLease,
    ProcessRecord,
    ProcessRunClaim,
    ProcessStarted,
)
from lashtui.registry.sql import event, run
from lashtui.registry.sql.dialect import Tx
from lashtui.registry.sql.prepared import complete_prepared, prepare_completion
from lashtui.registry.sql.store import SqlProcessRegistry
from lashtui.registry.sqlite.connect import MEMORY, RegistryConnection
from lashtui.registry.sqlite.connection import SqliteConnection
from lashtui.registry.sqlite.schema import COLUMNS, DDL, SUPERSEDED
from lashtui.registry.sqlite.write_lock import WriteLockUse

# Batches' worth of free rows within which a contended handle's read-ahead starts (see
# `SqliteProcessRegistry.claim_processes_for_run`): four, for four workers on a file.
READ_AHEAD_SPREAD = 4


def _data_version(conn: Tx) -> int:
    # A read-only handle may replace its connection (reread.py `_reading`), whose
    # version then starts over: its generation keeps the number moving.
    if isinstance(conn, RegistryConnection):
        conn.still_there()  # (a watcher learns of a deleted or replaced file here)
    version = int(conn.execute("PRAGMA data_version").fetchone()[0])
    if isinstance(conn, RegistryConnection) and conn.shm_read_only_of is not None:
        version = conn.steady_version(version)  # a -shm it cannot trust alone
    return version + (getattr(conn, "generation", 0) << 32)


class SqliteProcessRegistry(SqlProcessRegistry):
    """A process registry in one SQLite file."""

    DDL = DDL
    COLUMNS = COLUMNS
    SUPERSEDED = SUPERSEDED

    def __init__(self, db: SqliteConnection, clock: Clock) -> None:
        super().__init__(db, clock)
        self._file = db
        self._contended = False  # another handle took rows this one decoded ahead

    @classmethod
    async def open(
        cls,
        target: str,
        *,
        clock: Clock | None = None,
        read_only: bool = False,
        create: bool = True,
        busy_timeout_ms: int | None = None,
    ) -> SqliteProcessRegistry:
        """Open `target` (creating it unless `create=False`); `busy_timeout_ms` (default 15 s,
        1 s read-only) bounds how long a transaction waits for another writer."""
        db = SqliteConnection(
            target, read_only=read_only, create=create, busy_timeout_ms=busy_timeout_ms
        )
        await db.open()
        return cls(db, clock or SystemClock())

    @property
    def path(self) -> str:
        return self._file.path

    @property
    def lash_version(self) -> int | None:
        """The lash version of a registry lash itself wrote (registry/lash/), else None."""
        return self._file.lash_version

    def write_lock_use(self) -> WriteLockUse:
        """This handle's use of the file's one write lock (sqlite/write_lock.py): what the
        worker's metrics export as `lashtui_registry_write_lock_*`."""
        return self._file.write_lock_use()

    def durability_tier(self) -> DurabilityTier:
        # `:memory:` is gone with its connection; a file outlives the process.
        return DurabilityTier.INLINE if self.path == MEMORY else DurabilityTier.DURABLE

    async def complete_process_with_lease(
        self, lease: ProcessLease, await_output: ProcessAwaitOutput
    ) -> ProcessRecord:
        # Built before the write transaction where the connection holds the row (prepared.py).
        now = self._now()
        cache = self._file.record_cache()
        prepared = prepare_completion(cache, lease, await_output, now) if cache else None
        if prepared is None:
            return await self._db.short_write(event.complete_with_lease, lease, await_output, now)
        return await self._db.short_write(complete_prepared, prepared, lease, await_output, now)

    async def claim_processes_for_run(
        self,
        owners: list[LeaseOwnerIdentity],
        ttl_ms: int,
        started: ProcessStarted,
        skip: list[str] | None = None,
    ) -> list[tuple[str, ProcessRunClaim | None]]:
        """The shared batch claim, with the records it is likely to take decoded before
        its transaction (sql/run.py `decode_ahead`), outside the file's write lock.

        Several workers draining one backlog would all decode the same first free rows,
        and all but one find them taken: so once a batch of this handle's has found some
        of its rows taken by another, its next read starts at a random one of the first
        `READ_AHEAD_SPREAD` batches' worth of free rows, and the workers' reads mostly
        miss each other. Four workers draining 10,000 rows: ~15% less CPU a row inside
        the lock. Alone, a handle reads the first free rows and claims in id order."""
        for owner in owners:  # here, not in the transaction, where other writers wait
            owner.check_limits()
        skip = list(skip or [])
        spread = READ_AHEAD_SPREAD if self._contended else 1
        offset = random.randrange(spread) * len(owners)
        ahead = await self._db.point_read(
            run.decode_ahead, self._now(), skip, len(owners), offset
        )
        claims = await self._db.short_write(
            run.claim_next_for_run, list(owners), ttl_ms, started, self._now, skip, ahead
        )
        claimed = {process_id for process_id, _ in claims}
        self._contended = any(process_id not in claimed for process_id in ahead)
        return claims

    async def data_version(self) -> int:
        # PRAGMA data_version is per connection: it moves when any other connection commits
        # (another handle, another OS process), never for this one's own commits.
        return await self._file.point_read(_data_version)



