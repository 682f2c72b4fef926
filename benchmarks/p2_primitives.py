"""P2: the registry's two hot primitives, one at a time, against a raw driver doing the same SQL:
stdlib sqlite3 on SQLite, psycopg on PostgreSQL.

Measured, each on a fresh registry file in a temp dir (WAL, synchronous=NORMAL, foreign keys
on, exactly as the store opens it):

* append: `SqliteProcessRegistry.append_event` of a plain declared event (`bench.tick`, a
  small JSON payload, no replay key) to one process, awaited one at a time, in ops/s.
* claim+release: `claim_process_lease` then `release_process_lease` of one process by one
  owner, awaited one at a time, in cycles/s (one cycle = two write transactions).

The peer is a synchronous stdlib `sqlite3` connection on a file with lashtui's own schema
(its DDL, so the same indexes and foreign keys), running the statements the store runs (read
off the store with a trace callback), each operation one BEGIN IMMEDIATE ... COMMIT:

* append: SELECT the record JSON unless it is still the text held from the previous append
  (it is); SELECT MAX(sequence) of the whole sequences, plus one; INSERT the event row
  (sha256 payload hash, event JSON of the same shape built with json.dumps); UPDATE the
  change clock RETURNING; UPDATE the process row's updated_at_ms, change_seq and, by
  json_set, the record JSON's updated_at_ms, RETURNING the new text. It builds no models
  and does not validate the payload: that is lashtui's overhead being measured.
* claim: SELECT 1 (exists); SELECT the lease row; CAS UPDATE of owner, sha256 token and
  fencing token WHERE the fence is the one read (the store does an upsert instead; same
  row, same columns); COMMIT. Release: one token-matched UPDATE in its own BEGIN IMMEDIATE.

On PostgreSQL, in the same run, "P2 (PostgreSQL)": the same two loops on a
`PostgresProcessRegistry` in a fresh schema on the server `benchmarks/pg_server.py` finds
(smaller counts in quick mode), against a synchronous psycopg connection on another fresh
schema that lashtui created (its DDL, its process row), connected as the store's pool
connects (autocommit, the same lock_timeout), running the statements the store's
transactions run there (read off the store), each operation one transaction:

* every write transaction opens as the store opens one: `BEGIN;` plus the one-row
  `process_registry_meta` update that is the registry's write lock and commit counter, with
  the `pg_notify` that announces the commit to listeners; then `COMMIT`.
* append: SELECT the record JSON (the store has no record cache on PostgreSQL: it reads
  and decodes the record every time); SELECT MAX(sequence), plus one; INSERT the event
  row (as above); UPDATE the change clock RETURNING; UPDATE the process row's updated_at_ms,
  change_seq and the whole record JSON, which the peer re-encodes with json.loads/json.dumps
  (with its updated_at_ms set) where the store re-encodes lash's model.
* claim: SELECT 1; SELECT the lease row; the store's own upsert of the lease row; COMMIT.
  Release: the token-matched UPDATE in its own write transaction.

Statement preparation is psycopg's default on both sides (prepared after 5 executions).

What would make it unfair: the peer pays no event loop (lashtui awaits each call; these
short transactions run on the loop's own thread, with no thread hop, unless the write lock
is held elsewhere); that is inherent to an async store and is part of what the 0.5x target
allows for. On PostgreSQL lashtui also pays a hop to a pool thread and back and a checkout
from its connection pool per transaction, where the peer runs on the calling thread with one
connection. The test server runs with fsync=off (`.ci/postgres`; the figure's note prints
the server's settings): as SQLite in WAL with synchronous=NORMAL, no commit waits for a
disk flush, so both stores' figures are CPU and round-trip costs. Runs of the two sides
alternate so machine noise hits both.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sqlite3
import time
from typing import TYPE_CHECKING, Any

from benchmarks import pg_server
from benchmarks.report import Figure, Mode, scratch, stdlib_connect
from lashtui.model import (
    External,
    LeaseOwnerIdentity,
    ProcessEventAppendRequest,
    ProcessEventType,
    ProcessIdentity,
    ProcessRegistration,
    RecoveryDisposition,
    default_process_event_types,
)
from lashtui.registry import open_registry
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.registry.sqlite.schema import DDL, SCHEMA_VERSION

if TYPE_CHECKING:  # psycopg is imported only when there is a server to measure
    import psycopg
    from psycopg.rows import TupleRow

    PgConn = psycopg.Connection[TupleRow]

PID = "bench-p2"
EVENT = "bench.tick"
TTL_MS = 60_000


def registration() -> ProcessRegistration:
    return ProcessRegistration.model_validate(
        {
            "id": PID,
            "input": External(),
            "disposition": RecoveryDisposition.EXTERNALLY_OWNED,
            "identity": ProcessIdentity.from_process_input(External()),
            "event_types": [*default_process_event_types(), ProcessEventType.plain(EVENT)],
        }
    )


OWNER = LeaseOwnerIdentity.opaque("bench-owner", "bench-owner:1")


# --- lashtui ---------------------------------------------------------------------------------


async def _lashtui(target: str, ops: int, what: str) -> float:
    async with open_registry(target) as registry:
        await registry.register_process(registration())
        if what == "append":
            start = time.perf_counter()
            for n in range(ops):
                request = ProcessEventAppendRequest(event_type=EVENT, payload={"n": n})
                await registry.append_event(PID, request)
        else:
            lease = (await registry.claim_process_lease(PID, OWNER, TTL_MS)).acquired()
            assert lease is not None
            await registry.release_process_lease(lease)  # both sides start with a lease row
            start = time.perf_counter()
            for _ in range(ops):
                lease = (await registry.claim_process_lease(PID, OWNER, TTL_MS)).acquired()
                assert lease is not None
                await registry.release_process_lease(lease)
        return ops / (time.perf_counter() - start)


def lashtui_rate(target: str, ops: int, what: str) -> float:
    """On the registry at `target`: a file path, or a postgresql:// URL to an empty schema."""
    return asyncio.run(_lashtui(target, ops, what))


# --- stdlib peer -----------------------------------------------------------------------------


def _peer_file(path: str) -> tuple[sqlite3.Connection, str]:
    """The registry file made by lashtui (so the schema and the process row are identical),
    then reopened with a plain stdlib connection."""

    async def make() -> str:
        registry = await SqliteProcessRegistry.open(path)
        try:
            return (await registry.register_process(registration())).model_dump_json()
        finally:
            await registry.close()

    record_json = asyncio.run(make())
    return stdlib_connect(path), record_json


def _event_json(sequence: int, payload: object, now_ms: int) -> str:
    return json.dumps(
        {
            "process_id": PID,
            "sequence": sequence,
            "event_type": EVENT,
            "payload": payload,
            "invocation": {
                "scope": {"session_id": "runtime"},
                "subject": {"type": "process_event", "process_id": PID, "sequence": sequence,
                            "event_type": EVENT},
                "caused_by": {"type": "process", "process_id": PID},
            },
            "semantics": {},
            "occurred_at": {"secs_since_epoch": now_ms // 1000,
                            "nanos_since_epoch": now_ms % 1000 * 1_000_000},
        },
        separators=(",", ":"),
    )


def _peer_append(conn: sqlite3.Connection, n: int, held: str) -> str:
    now = int(time.time() * 1000)
    payload = {"n": n}
    conn.execute("BEGIN IMMEDIATE")
    # The record text held since the previous append: the row comes back without it.
    changed = conn.execute(
        "SELECT CASE WHEN record_json = ? THEN NULL ELSE record_json END FROM processes "
        "WHERE process_id = ?",
        (held, PID),
    ).fetchone()[0]
    assert changed is None or n == 0
    (last,) = conn.execute(
        "SELECT MAX(sequence) FROM process_events WHERE process_id = ? "
        "AND typeof(sequence) = 'integer'",
        (PID,),
    ).fetchone()
    sequence = (last or 0) + 1
    payload_hash = hashlib.sha256(
        (EVENT + json.dumps(payload, separators=(",", ":"))).encode()
    ).hexdigest()
    conn.execute(
        "INSERT INTO process_events (process_id, sequence, event_type, payload_hash, "
        "idempotency_key, occurred_at_ms, event_json) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (PID, sequence, EVENT, payload_hash, None, now, _event_json(sequence, payload, now)),
    )
    change_seq = conn.execute(
        "UPDATE process_change_clock SET current_seq = current_seq + 1 "
        "WHERE singleton = 1 RETURNING current_seq"
    ).fetchone()[0]
    text = conn.execute(
        "UPDATE processes SET updated_at_ms = ?1, change_seq = ?2, "
        "record_json = json_set(record_json, '$.updated_at_ms', ?1) "
        "WHERE process_id = ?3 RETURNING record_json",
        (now, change_seq, PID),
    ).fetchone()[0]
    conn.execute("COMMIT")
    return str(text)


LIVENESS_JSON = OWNER.liveness.model_dump_json()


def _peer_claim_release(conn: sqlite3.Connection) -> None:
    now = int(time.time() * 1000)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("SELECT 1 FROM processes WHERE process_id = ?", (PID,)).fetchone()
    row = conn.execute(
        "SELECT lease_owner_id, lease_owner_incarnation_id, lease_owner_liveness_json, "
        "lease_token, lease_fencing_token, lease_claimed_at_ms, lease_expires_at_ms "
        "FROM process_leases WHERE process_id = ?",
        (PID,),
    ).fetchone()
    fence = row[4] + 1
    token = hashlib.sha256(
        f"{PID}:{OWNER.owner_id}:{OWNER.incarnation_id}:{now}:{fence}".encode()
    ).hexdigest()
    changed = conn.execute(
        "UPDATE process_leases SET lease_owner_id = ?, lease_owner_incarnation_id = ?, "
        "lease_owner_liveness_json = ?, lease_token = ?, lease_fencing_token = ?, "
        "lease_claimed_at_ms = ?, lease_expires_at_ms = ? "
        "WHERE process_id = ? AND lease_fencing_token = ?",
        (OWNER.owner_id, OWNER.incarnation_id, LIVENESS_JSON, token, fence, now, now + TTL_MS,
         PID, row[4]),
    ).rowcount
    assert changed == 1
    conn.execute("COMMIT")
    conn.execute("BEGIN IMMEDIATE")
    conn.execute(
        "UPDATE process_leases SET lease_owner_id = NULL, lease_token = NULL, "
        "lease_claimed_at_ms = 0, lease_expires_at_ms = 0 "
        "WHERE process_id = ? AND lease_token = ?",
        (PID, token),
    )
    conn.execute("COMMIT")


def peer_rate(path: str, ops: int, what: str) -> float:
    conn, held = _peer_file(path)
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        assert version == SCHEMA_VERSION and DDL  # lashtui's own layout
        if what == "append":
            start = time.perf_counter()
            for n in range(ops):
                held = _peer_append(conn, n, held)
        else:
            conn.execute(
                "INSERT INTO process_leases (process_id, lease_fencing_token) VALUES (?, 1)",
                (PID,),
            )
            start = time.perf_counter()
            for _ in range(ops):
                _peer_claim_release(conn)
        return ops / (time.perf_counter() - start)
    finally:
        conn.close()


# --- psycopg peer (PostgreSQL) ---------------------------------------------------------------


def _one(conn: PgConn, sql: str, parameters: tuple[object, ...] = ()) -> Any:
    row = conn.execute(sql, parameters).fetchone()
    assert row is not None
    return row[0]


def _pg_peer_conn(url: str) -> tuple[PgConn, str]:
    """The schema made by lashtui (its DDL, the process row), then a plain psycopg connection
    set up as the store's pool sets up its own (autocommit, the same lock_timeout). Returns
    it and the statement that opens a write transaction as the store opens one."""
    import psycopg

    from lashtui.registry.postgres.connection import LOCK_TIMEOUT_MS
    from lashtui.registry.postgres.notice import notify_channel
    from lashtui.registry.postgres.schema import DDL as PG_DDL
    from lashtui.registry.postgres.schema import SCHEMA_VERSION as PG_SCHEMA_VERSION
    from lashtui.registry.postgres.schema import SEQ_BITS, WRITER_LOCK_CLASS

    async def make() -> None:
        async with open_registry(url) as registry:
            await registry.register_process(registration())

    asyncio.run(make())
    conn = psycopg.connect(url, autocommit=True)
    conn.execute(f"SET lock_timeout = {LOCK_TIMEOUT_MS}")
    schema = _one(conn, "SELECT current_schema()")
    version = _one(conn, "SELECT schema_version FROM process_registry_meta")
    assert version == PG_SCHEMA_VERSION and PG_DDL  # lashtui's own layout
    # As the store begins a write (postgres/connection.py): the writer lock, the transaction's
    # first change sequence, the commit count and the NOTIFY.
    begin = (
        f"BEGIN; SELECT pg_advisory_xact_lock_shared({WRITER_LOCK_CLASS}, "
        "hashtext(current_schema())); "
        f"SELECT (pg_current_xact_id()::text::bigint << {SEQ_BITS}) + change_base, "
        f"nextval('process_commit_counter'), pg_notify('{notify_channel(schema)}', '') "
        "FROM process_registry_meta"
    )
    return conn, begin


def _pg_peer_append(conn: PgConn, begin: str, n: int) -> None:
    now = int(time.time() * 1000)
    payload = {"n": n}
    begun = conn.execute(begin)
    begun.nextset()
    begun.nextset()
    change_seq = begun.fetchone()[0]  # type: ignore[index]
    record = json.loads(
        _one(
            conn,
            "SELECT record_json FROM processes WHERE process_id = %s FOR NO KEY UPDATE",
            (PID,),
        )
    )
    last = _one(conn, "SELECT MAX(sequence) FROM process_events WHERE process_id = %s", (PID,))
    sequence = (last or 0) + 1
    payload_hash = hashlib.sha256(
        (EVENT + json.dumps(payload, separators=(",", ":"))).encode()
    ).hexdigest()
    conn.execute(
        "INSERT INTO process_events (process_id, sequence, event_type, payload_hash, "
        "idempotency_key, occurred_at_ms, event_json) VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (PID, sequence, EVENT, payload_hash, None, now, _event_json(sequence, payload, now)),
    )
    record["updated_at_ms"] = now
    conn.execute(
        "UPDATE processes SET updated_at_ms = %s, change_seq = %s, record_json = %s "
        "WHERE process_id = %s",
        (now, change_seq, json.dumps(record, separators=(",", ":")), PID),
    )
    conn.execute("COMMIT")


def _pg_peer_claim_release(conn: PgConn, begin: str) -> None:
    now = int(time.time() * 1000)
    conn.execute(begin)
    assert conn.execute(
        "SELECT 1 FROM processes WHERE process_id = %s FOR NO KEY UPDATE", (PID,)
    ).fetchone()
    row = conn.execute(
        "SELECT lease_owner_id, lease_owner_incarnation_id, lease_owner_liveness_json, "
        "lease_token, lease_fencing_token, lease_claimed_at_ms, lease_expires_at_ms "
        "FROM process_leases WHERE process_id = %s FOR NO KEY UPDATE",
        (PID,),
    ).fetchone()
    fence = (row[4] if row else 0) + 1
    token = hashlib.sha256(
        f"{PID}:{OWNER.owner_id}:{OWNER.incarnation_id}:{now}:{fence}".encode()
    ).hexdigest()
    conn.execute(
        "INSERT INTO process_leases (process_id, lease_owner_id, lease_owner_incarnation_id, "
        "lease_owner_liveness_json, lease_token, lease_fencing_token, lease_claimed_at_ms, "
        "lease_expires_at_ms) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT(process_id) DO UPDATE SET lease_owner_id = excluded.lease_owner_id, "
        "lease_owner_incarnation_id = excluded.lease_owner_incarnation_id, "
        "lease_owner_liveness_json = excluded.lease_owner_liveness_json, "
        "lease_token = excluded.lease_token, lease_fencing_token = excluded.lease_fencing_token, "
        "lease_claimed_at_ms = excluded.lease_claimed_at_ms, "
        "lease_expires_at_ms = excluded.lease_expires_at_ms",
        (PID, OWNER.owner_id, OWNER.incarnation_id, LIVENESS_JSON, token, fence, now,
         now + TTL_MS),
    )  # fmt: skip
    conn.execute("COMMIT")
    conn.execute(begin)
    conn.execute(
        "UPDATE process_leases SET lease_owner_id = NULL, lease_token = NULL, "
        "lease_claimed_at_ms = 0, lease_expires_at_ms = 0 "
        "WHERE process_id = %s AND lease_token = %s",
        (PID, token),
    )
    conn.execute("COMMIT")


def pg_peer_rate(url: str, ops: int, what: str) -> float:
    conn, begin = _pg_peer_conn(url)
    try:
        if what == "append":
            start = time.perf_counter()
            for n in range(ops):
                _pg_peer_append(conn, begin, n)
        else:
            conn.execute(
                "INSERT INTO process_leases (process_id, lease_fencing_token) VALUES (%s, 1)",
                (PID,),
            )
            start = time.perf_counter()
            for _ in range(ops):
                _pg_peer_claim_release(conn, begin)
        return ops / (time.perf_counter() - start)
    finally:
        conn.close()


def run(mode: Mode) -> list[Figure]:
    appends = mode.size(1_000, 5_000, smoke=100)
    cycles = mode.size(500, 2_000, smoke=50)
    pg_appends = mode.size(300, 5_000, smoke=50)
    pg_cycles = mode.size(150, 2_000, smoke=30)
    skip = pg_server.unavailable()
    figures = []
    for what, ops, pg_ops, label, unit in (
        ("append", appends, pg_appends, "append_event, {:,} one at a time", "ops/s"),
        ("claim", cycles, pg_cycles, "claim+release, {:,} cycles one at a time", "cycles/s"),
    ):
        ours: list[float] = []
        peer: list[float] = []
        on_pg: list[float] = []
        pg_peer: list[float] = []
        for n in range(mode.repeats):
            with scratch("p2") as tmp:
                ours.append(lashtui_rate(os.path.join(tmp, f"lashtui-{n}.db"), ops, what))
                peer.append(peer_rate(os.path.join(tmp, f"peer-{n}.db"), ops, what))
            if skip is None:
                with pg_server.scratch_schema("p2") as url:
                    on_pg.append(lashtui_rate(url, pg_ops, what))
                with pg_server.scratch_schema("p2") as url:
                    pg_peer.append(pg_peer_rate(url, pg_ops, what))
        figures.append(
            Figure(
                id="P2",
                figure=label.format(ops),
                unit=unit,
                lashtui=ours,
                peer_name="stdlib sqlite3",
                peer=peer,
                target=">= 0.5x stdlib",
                rule="ratio>=:0.5",
            )
        )
        pg_fields: dict[str, Any] = dict(
            store=pg_server.STORE,
            peer_name="raw psycopg (sync)",
            target=">= 0.5x raw psycopg",
            rule="ratio>=:0.5",
        )
        if skip is not None:
            figures.append(Figure.unmeasured("P2", label.format(pg_ops), unit, skip, **pg_fields))
        else:
            figures.append(
                Figure(
                    id="P2",
                    figure=label.format(pg_ops),
                    unit=unit,
                    lashtui=on_pg,
                    peer=pg_peer,
                    notes=[pg_server.settings()] if what == "append" else [],
                    **pg_fields,
                )
            )
    return figures
