"""Large registries for the scale figures (D2, S1), made fast and cached between runs.

Going through the store, a million rows would take the better part of an hour. Instead a
handful of template processes are made for real (registered, claimed, started, completed,
failed, cancelled, abandoned, granted to a session, through `SqliteProcessRegistry`), their
rows are read back, and then copied under fresh ids with plain `executemany` in one
transaction. Every row is therefore one the store itself wrote, only many times over.

Files are kept in the system temp dir under a name that says what is in them, so a second
run (or D2 then S1 in one run) reuses them. Delete `$TMPDIR/lashtui-bench-cache/` to rebuild.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from typing import Any

from lashtui.clock import ManualClock
from lashtui.model import (
    AbandonedOutput,
    AbandonEvidence,
    AbandonWriter,
    CancelledOutput,
    Engine,
    External,
    LeaseOwnerIdentity,
    ProcessAwaitOutput,
    ProcessHandleDescriptor,
    ProcessIdentity,
    ProcessProvenance,
    ProcessRegistration,
    ProcessStarted,
    RecoveryDisposition,
    SessionOriginator,
    SessionScope,
    SuccessOutput,
    failure,
)
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.registry.sqlite.schema import DDL

START_MS = 1_780_000_000_000
SESSIONS = 64  # originator / grantee sessions the rows are spread over
CACHE = os.path.join(tempfile.gettempdir(), "lashtui-bench-cache")
# In the cached files' names: a registry cached by a build of another layout (before the
# `sort_label` column, or the `backlog_seq` one) is not reused.
LAYOUT = "l3"
TEMPLATE_PID = "tmpl-0000000"
TEMPLATE_SESSION = "sess-tmpl"
OWNER = LeaseOwnerIdentity.opaque("bench-worker", "bench-worker:1")

# template name -> (disposition, how it ends: None = still running)
LIVE = ("running-owner-bound", "running-rerunnable")
ENDED = ("completed", "failed", "cancelled", "abandoned")


def _registration(pid: str, disposition: RecoveryDisposition) -> ProcessRegistration:
    scope = SessionScope(session_id=TEMPLATE_SESSION)
    process_input = (
        Engine(kind="steps", payload={"steps": [{"sleep_ms": 10}]})
        if disposition is RecoveryDisposition.RERUNNABLE
        else External()
    )
    return ProcessRegistration.model_validate(
        {
            "id": pid,
            "input": process_input,
            "disposition": disposition,
            "identity": ProcessIdentity.from_process_input(process_input),
            "provenance": ProcessProvenance(originator=SessionOriginator(scope=scope)),
            "env_ref": "process-env:sha256:" + "0" * 64
            if disposition is RecoveryDisposition.RERUNNABLE
            else None,
        }
    )


async def _make_template(path: str, name: str) -> None:
    disposition = (
        RecoveryDisposition.RERUNNABLE
        if name == "running-rerunnable"
        else RecoveryDisposition.OWNER_BOUND
    )
    registry = await SqliteProcessRegistry.open(path, clock=ManualClock(START_MS))
    try:
        await registry.register_process(_registration(TEMPLATE_PID, disposition))
        scope = SessionScope(session_id=TEMPLATE_SESSION)
        descriptor = ProcessHandleDescriptor(kind="steps", label="bench")
        await registry.grant_handle(scope, TEMPLATE_PID, descriptor)
        lease = (await registry.claim_process_lease(TEMPLATE_PID, OWNER, 3_600_000)).acquired()
        assert lease is not None
        started = ProcessStarted(owner=OWNER, started_at_ms=START_MS)
        await registry.record_first_started(TEMPLATE_PID, started, lease)
        outputs: dict[str, ProcessAwaitOutput] = {
            "completed": SuccessOutput(value={"rows": 12}),
            "failed": failure("upstream_timeout", "no answer in 30s"),
            "cancelled": CancelledOutput(message="requested by operator"),
            "abandoned": AbandonedOutput(
                evidence=AbandonEvidence(
                    writer=AbandonWriter.SWEEP, owner=OWNER, epoch_ms=START_MS
                )
            ),
        }
        if name in outputs:
            await registry.complete_process_with_lease(lease, outputs[name])
    finally:
        await registry.close()


def _template_rows(name: str, workdir: str) -> dict[str, list[tuple[object, ...]]]:
    """Every row the store wrote for one template process, table by table."""
    path = os.path.join(workdir, f"{name}.db")
    asyncio.run(_make_template(path, name))
    conn = sqlite3.connect(path)
    try:
        return {
            table: conn.execute(f"SELECT * FROM {table}").fetchall()
            for table in ("processes", "process_events", "process_handle_grants",
                          "process_leases")
        }
    finally:
        conn.close()


def _swap(value: object, pid: str, session: str) -> object:
    if isinstance(value, str):
        return value.replace(TEMPLATE_PID, pid).replace(TEMPLATE_SESSION, session)
    return value


def big_registry(rows: int, running: int) -> str:
    """The path of a registry with `rows` processes, `running` of them live (leased and
    started, half owner-bound, half rerunnable), the rest terminal in the four ways, every
    process granted to and originated by one of 64 sessions. Cached by size."""
    os.makedirs(CACHE, exist_ok=True)
    path = os.path.join(CACHE, f"registry-{rows}-{running}-{LAYOUT}.db")
    if os.path.exists(path):
        return path
    with tempfile.TemporaryDirectory(dir=CACHE) as workdir:
        templates = {name: _template_rows(name, workdir) for name in LIVE + ENDED}
        building = os.path.join(workdir, "big.db")
        asyncio.run(_make_empty(building))
        conn = sqlite3.connect(building, isolation_level=None)
        try:
            conn.execute("PRAGMA synchronous = OFF")
            conn.execute("BEGIN")
            for table in ("processes", "process_events", "process_handle_grants",
                          "process_leases"):
                width = len(templates["completed"][table][0]) if templates["completed"][
                    table] else None
                if width is None:
                    continue
                marks = ", ".join("?" * width)
                conn.executemany(
                    f"INSERT INTO {table} VALUES ({marks})",
                    _copies(templates, table, rows, running),
                )
            conn.execute("UPDATE process_change_clock SET current_seq = ?", (rows * 8,))
            conn.execute("COMMIT")
        finally:
            conn.close()
        os.replace(building, path)
    return path


def _copies(
    templates: dict[str, dict[str, list[tuple[object, ...]]]], table: str, rows: int,
    running: int,
) -> Iterator[tuple[Any, ...]]:
    # Live rows are spread evenly through the id order, as they would be in a real registry.
    stride = max(1, rows // max(1, running))
    live_seen = 0
    for n in range(rows):
        if live_seen < running and n % stride == 0:
            name = LIVE[live_seen % 2]
            live_seen += 1
        else:
            name = ENDED[n % 4]
        pid, session = f"p-{n:07d}", f"sess-{n % SESSIONS:02d}"
        for row in templates[name][table]:
            copied = tuple(_swap(value, pid, session) for value in row)
            if table == "processes":
                # change_seq must be unique per row for the change feed's order; a row the
                # template's insert marked plainly the backlog's keeps its mark with it
                # (lashtui/registry/sql/backlog_mark.py).
                marked = copied[9] is not None and copied[9] == copied[5]
                copied = (*copied[:5], n + 1, *copied[6:9], n + 1 if marked else None)
            yield copied


async def _make_empty(path: str) -> None:
    await (await SqliteProcessRegistry.open(path, clock=ManualClock(START_MS))).close()


DAY_MS = 86_400_000
SPREAD_END_MS = START_MS + DAY_MS  # the spread registry's "now": its last minute


def spread_registry(rows: int, running: int) -> str:
    """`big_registry(rows, running)` with its rows spread over the 24 hours before
    `SPREAD_END_MS`, in id order: each row registered at its place in the day, started
    then, and (if it ended) ended 1-300 s later by a duration drawn from its id. What the
    Health view's charts read (benchmarks/d4_charts.py); made from a copy of the big
    registry by SQL, then given the current schema's indexes. Cached by size."""
    path = os.path.join(CACHE, f"registry-{rows}-{running}-{LAYOUT}-spread.db")
    if os.path.exists(path):
        return path
    source = big_registry(rows, running)
    building = path + ".building"
    shutil.copyfile(source, building)
    conn = sqlite3.connect(building, isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("BEGIN")
        # p-NNNNNNN: the row's number n gives its place in the day and its run's length.
        conn.execute(
            "UPDATE processes SET created_at_ms = ? + CAST(substr(process_id, 3) AS INTEGER) "
            "* ? / ?, record_json = CASE WHEN json_type(record_json, '$.first_started') "
            "IS NOT NULL THEN json_set(record_json, '$.first_started.started_at_ms', "
            "? + CAST(substr(process_id, 3) AS INTEGER) * ? / ?) ELSE record_json END",
            (START_MS, DAY_MS, rows, START_MS, DAY_MS, rows),
        )
        conn.execute(
            "UPDATE process_events SET occurred_at_ms = min(?, (SELECT p.created_at_ms FROM "
            "processes p WHERE p.process_id = process_events.process_id) + 1000 + "
            "(CAST(substr(process_id, 3) AS INTEGER) * 7919) % 299000)",
            (SPREAD_END_MS,),
        )
        conn.execute("UPDATE processes SET updated_at_ms = created_at_ms")
        for statement in DDL:
            conn.execute(statement)
        conn.execute("COMMIT")
    finally:
        conn.close()
    os.replace(building, path)
    return path


# The tables a big registry's rows are in, in the order their foreign keys need.
TABLES = ("processes", "process_events", "process_handle_grants", "process_leases")


def seed_postgres(url: str, rows: int, running: int) -> None:
    """Fill the empty schema at `url` with `big_registry(rows, running)`'s rows: the same
    processes, events, grants and leases, byte for byte (the two stores share lash's
    layout, column for column; SQLite's `backlog_seq`, which PostgreSQL has not, is left
    out), streamed from the cached SQLite file with COPY. The schema
    is made by the PostgreSQL store itself first; its change clock is set past the rows'
    `change_seq` as the store would have left it, and the tables vacuumed and analysed
    as autovacuum would have, so the planner sees a registry in use rather than a fresh
    one. Not cached: the server outlives no session here, and a run's churn writes to it."""
    import psycopg

    from lashtui.registry.postgres import PostgresProcessRegistry

    asyncio.run(_make_empty_postgres(PostgresProcessRegistry, url))
    source = sqlite3.connect(f"file:{big_registry(rows, running)}?mode=ro", uri=True)
    try:
        with psycopg.connect(url) as conn:
            for table in TABLES:
                present = {
                    name for (name,) in conn.execute(
                        "SELECT column_name FROM information_schema.columns "
                        "WHERE table_schema = current_schema() AND table_name = %s",
                        (table,),
                    )
                }
                columns = [
                    row[1] for row in source.execute(f"PRAGMA table_info({table})")
                    if row[1] in present
                ]
                names = ", ".join(columns)
                with conn.cursor().copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                    for row in source.execute(f"SELECT {names} FROM {table}"):
                        copy.write_row(row)
            conn.execute("UPDATE process_change_clock SET current_seq = %s", (rows * 8,))
            conn.commit()
            conn.autocommit = True
            for table in TABLES:
                # What autovacuum does to a registry in use (PostgreSQL 13+ vacuums after
                # inserts too): hint bits and the visibility map set, so the census's
                # GROUP BY is an index-only scan (~0.2 s) rather than a heap walk (~2 s).
                conn.execute(f"VACUUM ANALYZE {table}")
    finally:
        source.close()


async def _make_empty_postgres(store: Any, url: str) -> None:
    await (await store.open(url, clock=ManualClock(START_MS))).close()
