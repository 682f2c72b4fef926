"""P5: a worker's drive over a large backlog, the read every worker makes every renew
interval (`list_drive_work_items`, lashtui/registry/sql/drive.py).

The registry: one rerunnable row started by lashtui, copied in SQL to 100,000 free
rerunnable rows (10,000 quick) as lashtui's inserts would have written them (each with its
own change sequence and the backlog's mark at it: lashtui/registry/sql/backlog_mark.py),
plus 100 owner-bound rows and 100 rows held under live leases by another worker, which a
drive must list or leave out, and a history of as many ended rows as the backlog (one row
claimed, completed and released by lashtui, copied in SQL with its lease row, released: a
lease row stays when its lease ends, so the lease table holds one for every row that ever
ran). The figure is one drive's wall time, with the driving worker as the claimant (as
`ProcessWorker` drives), the median of 5 drives a run.

Beside it, same run, same rows: the same drive after the drive's indexes are dropped, which
is how this build reads a registry an older build made (until `lashtui index`), and what
every drive did before them: it tests every running row's record JSON (SQLite parses it,
PostgreSQL casts it to jsonb) and, on PostgreSQL, reads the whole lease table for the live
leases' holders (the held leases' index, `filter.HELD_INDEX`). SQLite has no such index (a
claim and a release would each move an entry: lashtui/registry/sql/filter.py), so its drive
still reads every lease row once: ~3 ms of this figure over the history's 100,000. Context,
not a peer: huey and the peers keep no worklist to read; the bound is the target.

What would make it unfair: the rows are copies of one record, so their JSON is the same
size and shape (a real backlog's records differ in their inputs); the file is in the page
cache (a cold drive reads the index pages first either way).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import statistics
import time
from collections.abc import Iterator
from typing import Any

from benchmarks import pg_server
from benchmarks.report import Figure, Mode, scratch
from lashtui.model import (
    Engine,
    External,
    LeaseOwnerIdentity,
    ProcessIdentity,
    ProcessRegistration,
    RecoveryDisposition,
    SuccessOutput,
)
from lashtui.registry import open_registry
from lashtui.registry.sql.backlog_mark import STALE_INDEX, UNMARKED_INDEX
from lashtui.registry.sql.filter import HELD_INDEX

DRIVES = 5
OTHERS = 100  # owner-bound rows, and rows another worker holds
ME = LeaseOwnerIdentity.opaque("p5-worker", "p5-worker:1")
OTHER = LeaseOwnerIdentity.opaque("p5-other", "p5-other:1")
ENV_REF = "process-env:sha256:" + "0" * 64


def _registration(pid: str, disposition: RecoveryDisposition) -> ProcessRegistration:
    rerunnable = disposition is RecoveryDisposition.RERUNNABLE
    process_input = Engine(kind="echo", payload={}) if rerunnable else External()
    return ProcessRegistration.model_validate(
        {
            "id": pid,
            "input": process_input,
            "disposition": disposition,
            "identity": ProcessIdentity.from_process_input(process_input),
            "env_ref": ENV_REF if rerunnable else None,
        }
    )


@contextlib.contextmanager
def _raw(target: str) -> Iterator[Any]:
    """One committed transaction on the registry, under lashtui's store."""
    if target.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(target) as pg:
            yield pg
        return
    conn = sqlite3.connect(target)
    try:
        with conn:
            yield conn
    finally:
        conn.close()


async def _fill(target: str, rows: int) -> None:
    """The backlog, the owner-bound rows, the held ones and the history (see the module
    docstring)."""
    rerunnable, owner_bound = RecoveryDisposition.RERUNNABLE, RecoveryDisposition.OWNER_BOUND
    async with open_registry(target) as registry:
        await registry.register_process(_registration("tmpl", rerunnable))
        await registry.register_process(_registration("done", rerunnable))
        lease = (await registry.claim_process_lease("done", ME, 60_000)).acquired()
        assert lease is not None
        await registry.complete_process_with_lease(lease, SuccessOutput(value=None))
        for n in range(OTHERS):
            await registry.register_process(_registration(f"o-{n:04d}", owner_bound))
            await registry.register_process(_registration(f"h-{n:04d}", rerunnable))
            await registry.claim_process_lease(f"h-{n:04d}", OTHER, 3_600_000)
    on_postgres = target.startswith("postgresql://")
    numbers = (
        "generate_series(1, %s) AS n(i)" if on_postgres
        else "(WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
        "SELECT i FROM n)"
    )
    pid = "'p-' || lpad(i::text, 7, '0')" if on_postgres else "printf('p-%07d', i)"
    ended = pid.replace("p-", "e-")
    with _raw(target) as conn:
        conn.execute(
            "INSERT INTO processes (process_id, registration_hash, owner_scope_id, "
            "created_at_ms, updated_at_ms, change_seq, status, record_json, sort_label, "
            f"backlog_seq) SELECT {pid}, registration_hash, owner_scope_id, created_at_ms, "
            "updated_at_ms, change_seq + i, status, record_json, sort_label, change_seq + i "
            f"FROM processes, {numbers} WHERE process_id = 'tmpl'",
            (rows,),
        )
        # The history: the ended row's copies, after the backlog's sequences, each with its
        # released lease row.
        conn.execute(
            "INSERT INTO processes (process_id, registration_hash, owner_scope_id, "
            "created_at_ms, updated_at_ms, change_seq, status, record_json, sort_label) "
            f"SELECT {ended}, registration_hash, owner_scope_id, created_at_ms, "
            f"updated_at_ms, change_seq + {rows} + i, status, record_json, sort_label "
            f"FROM processes, {numbers} WHERE process_id = 'done'",
            (rows,),
        )
        conn.execute(
            "INSERT INTO process_leases (process_id, lease_owner_id, "
            "lease_owner_incarnation_id, lease_owner_liveness_json, lease_token, "
            "lease_fencing_token, lease_claimed_at_ms, lease_expires_at_ms) "
            f"SELECT {ended}, lease_owner_id, lease_owner_incarnation_id, "
            "lease_owner_liveness_json, lease_token, lease_fencing_token, "
            "lease_claimed_at_ms, lease_expires_at_ms "
            f"FROM process_leases, {numbers} WHERE process_id = 'done'",
            (rows,),
        )
    if on_postgres:
        with _raw(target) as conn:
            conn.execute("ANALYZE processes")
            conn.execute("ANALYZE process_leases")


async def _drives(target: str) -> tuple[float, int]:
    """The median wall time of `DRIVES` drives, and how many rows each listed."""
    times, listed = [], 0
    async with open_registry(target) as registry:
        await registry.list_drive_work_items(int(time.time() * 1000), ME)  # warm
        for _ in range(DRIVES):
            started = time.perf_counter()
            items = await registry.list_drive_work_items(int(time.time() * 1000), ME)
            times.append(time.perf_counter() - started)
            listed = len(items)
    return statistics.median(times), listed


async def _both(target: str, rows: int) -> tuple[float, float, int]:
    """The drive with the indexes, then without them, on one registry."""
    await _fill(target, rows)
    indexed, listed = await _drives(target)
    with _raw(target) as conn:
        for name in (UNMARKED_INDEX, STALE_INDEX, HELD_INDEX):
            conn.execute(f"DROP INDEX IF EXISTS {name}")
    unindexed, listed_without = await _drives(target)
    assert listed == listed_without == OTHERS + 2, (listed, listed_without)
    return indexed, unindexed, listed


def run(mode: Mode) -> list[Figure]:
    rows = mode.size(10_000, 100_000, smoke=500)
    label = f"a worker's drive over a backlog of {rows:,} rows and {rows:,} ended"
    sqlite_on, sqlite_off, pg_on, pg_off = [], [], [], []
    with scratch("p5") as tmp:
        for n in range(mode.repeats):
            on, off, _ = asyncio.run(_both(os.path.join(tmp, f"p5-{n}.db"), rows))
            sqlite_on.append(on)
            sqlite_off.append(off)
    figures = [
        Figure(
            id="P5", figure=label, unit="s", lashtui=sqlite_on,
            peer_name="same drive without its indexes", peer=sqlite_off,
            target="max <= 10 ms", rule="max<=:0.01", compare=False,
            notes=[f"each drive lists the {OTHERS} owner-bound rows and the backlog's first two"],
        )
    ]
    reason = pg_server.unavailable()
    if reason is not None:
        figures.append(Figure.unmeasured("P5", label, "s", reason, store=pg_server.STORE))
        return figures
    for _ in range(mode.repeats):
        with pg_server.scratch_schema("p5") as url:
            on, off, _ = asyncio.run(_both(url, rows))
        pg_on.append(on)
        pg_off.append(off)
    figures.append(
        Figure(
            id="P5", figure=label, unit="s", lashtui=pg_on,
            peer_name="same drive without its indexes", peer=pg_off,
            target="max <= 10 ms", rule="max<=:0.01", compare=False, store=pg_server.STORE,
        )
    )
    return figures
