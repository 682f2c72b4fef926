"""Which PostgreSQL driver shape should the registry use? Measured, not guessed.

`python -m benchmarks.pg_drivers [--dsn URL] [--transactions N] [--repeats R] [--json PATH]`
(the DSN defaults to $LASHTUI_TEST_POSTGRES; give it as a postgresql:// URL, which both
drivers accept).

The registry's transaction functions are synchronous SQL functions, shared with the SQLite
store, that run a whole transaction start to finish. A PostgreSQL backend can either run
them as they are, one thread hop per transaction, or be rewritten to await every statement
on an async driver. This measures whether the rewrite would pay, on one registry-shaped
write transaction committed N times:

    UPDATE bench_meta SET commits = commits + 1 WHERE singleton = 1 RETURNING commits
    SELECT record_json FROM bench_rows WHERE id = <id>
    UPDATE bench_rows SET record_json = <~600 chars>, change_seq = <commits> WHERE id = <id>
    INSERT INTO bench_events (id, sequence, event_json) VALUES (<id>, <commits>, <~300 chars>)
    COMMIT

The one-row `bench_meta` serialises writers, as the registry's change sequence will. The
transactions cycle through 1000 pre-inserted rows. Three shapes, each with its driver's own
placeholders and statement preparation (asyncpg prepares every statement; psycopg prepares
after 5 executions, which the untimed warm-up passes):

- `asyncpg`: each statement awaited inside `async with conn.transaction()`.
- `psycopg async`: `psycopg.AsyncConnection`, the same.
- `psycopg sync on a thread`: a sync `psycopg.Connection`; the transaction is one plain
  function (`with conn.transaction()`, i.e. BEGIN ... COMMIT) submitted from the event loop
  with `await loop.run_in_executor(...)`: one thread hop per transaction, not per statement.

Two loads per shape: 1 client (N sequential transactions from one task; the sync shape on
a one-thread executor) and 8 clients (8 tasks on one event loop sharing the N transactions,
each async task holding its own connection; the sync shape on an 8-thread executor with one
connection per thread). Connections are opened and warmed (20 transactions each) before the
clock starts, so neither connecting, thread start-up nor statement preparation is timed.

Reported: transactions/s (median and min-max over repeats, and against asyncpg the median
of the per-repeat ratios, steadier than a ratio of medians on a noisy machine), the event
loop thread's CPU as a share of wall time (what the dashboard's loop would lose), the client
process's CPU per transaction (all threads) and, where /proc shows the server's backends (a
local server), their CPU per transaction. When client and server share a small machine's
cores, CPU per transaction is throughput.

What would make it unfair: each run starts from freshly truncated tables; the shapes
alternate within a repeat, in a rotating order, so drift on a noisy machine hits all of
them. The 8-client load holds one connection per task (or thread) for the whole run, so
no pool's acquire/release is timed (asyncpg's pool would add a reset query per release).
The server's durability settings (printed) are the same for all shapes; with
`fsync = off` commits cost no disk flush, which magnifies per-statement costs relative to a
production server, where the flush would dominate a one-client figure.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import secrets
import statistics
import sys
import threading
import time
from abc import ABC, abstractmethod
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import psycopg
from psycopg.rows import TupleRow

ROWS = 1000
CLIENTS = 8
WARMUP = 20  # transactions per connection before the clock starts
ROW_IDS = [f"proc-{i:04d}" for i in range(ROWS)]
RECORD_PAD = "r" * 540
EVENT_PAD = "e" * 240

# The same transaction in each driver's placeholder style.
A_BUMP = "UPDATE bench_meta SET commits = commits + 1 WHERE singleton = 1 RETURNING commits"
A_READ = "SELECT record_json FROM bench_rows WHERE id = $1"
A_WRITE = "UPDATE bench_rows SET record_json = $1, change_seq = $2 WHERE id = $3"
A_EVENT = "INSERT INTO bench_events (id, sequence, event_json) VALUES ($1, $2, $3)"
P_BUMP = A_BUMP
P_READ = "SELECT record_json FROM bench_rows WHERE id = %s"
P_WRITE = "UPDATE bench_rows SET record_json = %s, change_seq = %s WHERE id = %s"
P_EVENT = "INSERT INTO bench_events (id, sequence, event_json) VALUES (%s, %s, %s)"

SCHEMA_DDL = [
    "CREATE TABLE bench_meta (singleton integer PRIMARY KEY CHECK (singleton = 1),"
    " commits bigint NOT NULL)",
    "CREATE TABLE bench_rows (id text PRIMARY KEY, record_json text NOT NULL,"
    " change_seq bigint NOT NULL)",
    "CREATE TABLE bench_events (id text NOT NULL, sequence bigint NOT NULL,"
    " event_json text NOT NULL, PRIMARY KEY (id, sequence))",
]
RESET_SQL = [
    "TRUNCATE bench_meta, bench_rows, bench_events",
    "INSERT INTO bench_meta VALUES (1, 0)",
    "INSERT INTO bench_rows SELECT 'proc-' || lpad(g::text, 4, '0'),"
    f" '{{\"state\":\"running\",\"pad\":\"{RECORD_PAD}\"}}', 0"
    f" FROM generate_series(0, {ROWS - 1}) AS g",
    "VACUUM ANALYZE bench_meta, bench_rows, bench_events",
]


def _row_id(n: int) -> str:
    return ROW_IDS[n % ROWS]


def _record(row_id: str, commits: int, old: str) -> str:
    return (f'{{"id":"{row_id}","state":"running","change_seq":{commits},'
            f'"previous_len":{len(old)},"pad":"{RECORD_PAD}"}}')


def _event(row_id: str, commits: int) -> str:
    return f'{{"id":"{row_id}","sequence":{commits},"kind":"updated","pad":"{EVENT_PAD}"}}'


def _first(row: TupleRow | None) -> Any:
    if row is None:
        raise RuntimeError("expected a row")
    return row[0]


async def txn_asyncpg(conn: Any, n: int) -> None:
    row_id = _row_id(n)
    async with conn.transaction():
        commits: int = await conn.fetchval(A_BUMP)
        old: str = await conn.fetchval(A_READ, row_id)
        await conn.execute(A_WRITE, _record(row_id, commits, old), commits, row_id)
        await conn.execute(A_EVENT, row_id, commits, _event(row_id, commits))


async def txn_psycopg_async(conn: psycopg.AsyncConnection[TupleRow], n: int) -> None:
    row_id = _row_id(n)
    async with conn.transaction():
        commits: int = _first(await (await conn.execute(P_BUMP)).fetchone())
        old: str = _first(await (await conn.execute(P_READ, (row_id,))).fetchone())
        await conn.execute(P_WRITE, (_record(row_id, commits, old), commits, row_id))
        await conn.execute(P_EVENT, (row_id, commits, _event(row_id, commits)))


def txn_psycopg_sync(conn: psycopg.Connection[TupleRow], n: int) -> None:
    """The registry's shape: the whole transaction in one synchronous function."""
    row_id = _row_id(n)
    with conn.transaction():
        commits: int = _first(conn.execute(P_BUMP).fetchone())
        old: str = _first(conn.execute(P_READ, (row_id,)).fetchone())
        conn.execute(P_WRITE, (_record(row_id, commits, old), commits, row_id))
        conn.execute(P_EVENT, (row_id, commits, _event(row_id, commits)))


class Session(ABC):
    """One shape's connections for one run: opened and warmed untimed, then driven."""

    name: str

    def __init__(self, dsn: str, schema: str, clients: int) -> None:
        self.dsn = dsn
        self.schema = schema
        self.clients = clients

    @abstractmethod
    async def open(self) -> list[int]:
        """Connect and warm every connection; return the server backends' pids."""

    @abstractmethod
    async def run(self, client: int, n: int) -> None:
        """Commit transaction `n` as client `client` (0 <= client < clients)."""

    @abstractmethod
    async def close(self) -> None: ...


class AsyncpgSession(Session):
    name = "asyncpg"

    async def open(self) -> list[int]:
        self.conns: list[Any] = [
            await asyncpg.connect(self.dsn, server_settings={"search_path": self.schema})
            for _ in range(self.clients)
        ]
        for k, conn in enumerate(self.conns):
            for j in range(WARMUP):
                await txn_asyncpg(conn, k * WARMUP + j)
        return [int(conn.get_server_pid()) for conn in self.conns]

    async def run(self, client: int, n: int) -> None:
        await txn_asyncpg(self.conns[client], n)

    async def close(self) -> None:
        for conn in self.conns:
            await conn.close()


class PsycopgAsyncSession(Session):
    name = "psycopg async"

    async def open(self) -> list[int]:
        self.conns: list[psycopg.AsyncConnection[TupleRow]] = [
            await psycopg.AsyncConnection.connect(
                self.dsn, autocommit=True, options=f"-csearch_path={self.schema}")
            for _ in range(self.clients)
        ]
        for k, conn in enumerate(self.conns):
            for j in range(WARMUP):
                await txn_psycopg_async(conn, k * WARMUP + j)
        return [conn.info.backend_pid for conn in self.conns]

    async def run(self, client: int, n: int) -> None:
        await txn_psycopg_async(self.conns[client], n)

    async def close(self) -> None:
        for conn in self.conns:
            await conn.close()


class PsycopgThreadSession(Session):
    name = "psycopg sync on a thread"

    async def open(self) -> list[int]:
        self.executor = ThreadPoolExecutor(max_workers=self.clients,
                                           thread_name_prefix="pg-bench")
        self.local = threading.local()
        self.conns: list[psycopg.Connection[TupleRow]] = []
        self.lock = threading.Lock()
        # Every warm-up job waits for all the others, so each lands on its own thread: all
        # threads are started and hold a warmed connection before the clock starts.
        barrier = threading.Barrier(self.clients)
        loop = asyncio.get_running_loop()
        return list(await asyncio.gather(*(
            loop.run_in_executor(self.executor, self._warm, k, barrier)
            for k in range(self.clients)
        )))

    def _conn(self) -> psycopg.Connection[TupleRow]:
        conn: psycopg.Connection[TupleRow] | None = getattr(self.local, "conn", None)
        if conn is None:
            conn = psycopg.connect(self.dsn, autocommit=True,
                                   options=f"-csearch_path={self.schema}")
            self.local.conn = conn
            with self.lock:
                self.conns.append(conn)
        return conn

    def _warm(self, k: int, barrier: threading.Barrier) -> int:
        conn = self._conn()
        for j in range(WARMUP):
            txn_psycopg_sync(conn, k * WARMUP + j)
        barrier.wait(timeout=60)
        return conn.info.backend_pid

    def _transaction(self, n: int) -> None:
        txn_psycopg_sync(self._conn(), n)

    async def run(self, client: int, n: int) -> None:
        await asyncio.get_running_loop().run_in_executor(self.executor, self._transaction, n)

    async def close(self) -> None:
        self.executor.shutdown(wait=True)
        for conn in self.conns:
            conn.close()


SHAPES: list[type[Session]] = [AsyncpgSession, PsycopgAsyncSession, PsycopgThreadSession]


def _cpu_ticks(pids: list[int]) -> int | None:
    """utime + stime of these processes, in clock ticks; None if /proc doesn't show them."""
    total = 0
    try:
        for pid in pids:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return None
    return total


@dataclass
class Sample:
    tps: float
    loop_cpu_share: float
    client_cpu_us: float
    server_cpu_us: float | None


@dataclass
class Result:
    shape: str
    clients: int
    samples: list[Sample] = field(default_factory=list)

    def median(self, attr: str) -> float | None:
        values = [getattr(s, attr) for s in self.samples]
        if not values or any(v is None for v in values):
            return None
        return float(statistics.median(values))

    def paired_ratio(self, baseline: Result) -> float:
        """Median over repeats of this shape's txn/s over the baseline's in the same repeat
        (the runs of one repeat are adjacent, so drift on the machine mostly cancels)."""
        return float(statistics.median(
            mine.tps / theirs.tps for mine, theirs in zip(self.samples, baseline.samples,
                                                          strict=True)))

    def as_json(self, baseline: Result) -> dict[str, object]:
        tps = [s.tps for s in self.samples]
        return {
            "shape": self.shape,
            "clients": self.clients,
            "tps_median": statistics.median(tps),
            "tps_min": min(tps),
            "tps_max": max(tps),
            "tps_paired_ratio_vs_asyncpg": self.paired_ratio(baseline),
            "loop_cpu_share_median": self.median("loop_cpu_share"),
            "client_cpu_us_per_txn_median": self.median("client_cpu_us"),
            "server_cpu_us_per_txn_median": self.median("server_cpu_us"),
            "samples": [asdict(s) for s in self.samples],
        }


async def _admin(dsn: str, schema: str | None = None) -> psycopg.AsyncConnection[TupleRow]:
    if schema is None:
        return await psycopg.AsyncConnection.connect(dsn, autocommit=True)
    return await psycopg.AsyncConnection.connect(dsn, autocommit=True,
                                                 options=f"-csearch_path={schema}")


async def _one_run(admin: psycopg.AsyncConnection[TupleRow], shape: type[Session], dsn: str,
                   schema: str, clients: int, transactions: int) -> Sample:
    for statement in RESET_SQL:
        await admin.execute(statement)
    session = shape(dsn, schema, clients)
    pids = await session.open()
    try:
        counter = itertools.count()

        async def client(k: int) -> None:
            while (n := next(counter)) < transactions:
                await session.run(k, n)

        server0 = _cpu_ticks(pids)
        loop0, cpu0, wall0 = time.thread_time(), time.process_time(), time.perf_counter()
        await asyncio.gather(*(client(k) for k in range(clients)))
        wall = time.perf_counter() - wall0
        loop_cpu, cpu = time.thread_time() - loop0, time.process_time() - cpu0
        server1 = _cpu_ticks(pids)
    finally:
        await session.close()

    expected = clients * WARMUP + transactions
    commits = _first(await (await admin.execute("SELECT commits FROM bench_meta")).fetchone())
    events = _first(await (await admin.execute("SELECT count(*) FROM bench_events")).fetchone())
    if commits != expected or events != expected:
        raise RuntimeError(f"{shape.name}: {commits} commits, {events} events, "
                           f"expected {expected}")
    server_us = None
    if server0 is not None and server1 is not None:
        server_us = (server1 - server0) / os.sysconf("SC_CLK_TCK") * 1e6 / transactions
    return Sample(tps=transactions / wall, loop_cpu_share=loop_cpu / wall,
                  client_cpu_us=cpu * 1e6 / transactions, server_cpu_us=server_us)


async def measure(dsn: str, transactions: int, repeats: int) -> tuple[dict[str, str],
                                                                       list[Result]]:
    schema = f"pgdrv_{secrets.token_hex(4)}"
    setup = await _admin(dsn)
    settings: dict[str, str] = {}
    for name in ("server_version", "fsync", "synchronous_commit", "shared_buffers"):
        settings[name] = str(_first(await (await setup.execute(f"SHOW {name}")).fetchone()))
    await setup.execute(f"CREATE SCHEMA {schema}")
    try:
        admin = await _admin(dsn, schema)
        try:
            for ddl in SCHEMA_DDL:
                await admin.execute(ddl)
            results = {(shape.name, clients): Result(shape.name, clients)
                       for clients in (1, CLIENTS) for shape in SHAPES}
            for repeat in range(repeats):
                order = SHAPES[repeat % len(SHAPES):] + SHAPES[:repeat % len(SHAPES)]
                for clients in (1, CLIENTS):
                    for shape in order:
                        sample = await _one_run(admin, shape, dsn, schema, clients,
                                                transactions)
                        results[shape.name, clients].samples.append(sample)
                        print(f"  repeat {repeat + 1}/{repeats} {shape.name:<25} "
                              f"{clients} client(s): {sample.tps:8.0f} txn/s",
                              file=sys.stderr, flush=True)
        finally:
            await admin.close()
    finally:
        await setup.execute(f"DROP SCHEMA {schema} CASCADE")
        await setup.close()
    return settings, list(results.values())


def _baselines(results: list[Result]) -> dict[int, Result]:
    return {r.clients: r for r in results if r.shape == AsyncpgSession.name}


def print_table(settings: dict[str, str], results: list[Result], transactions: int,
                repeats: int) -> None:
    print(f"\nPostgreSQL {settings['server_version']} (fsync={settings['fsync']}, "
          f"synchronous_commit={settings['synchronous_commit']}); {transactions} "
          f"transactions per run, median of {repeats} runs (min-max)\n")
    print("| shape | clients | txn/s | min-max | vs asyncpg (paired) | loop CPU "
          "| client CPU/txn | server CPU/txn |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    baselines = _baselines(results)
    for r in results:
        tps = [s.tps for s in r.samples]
        median = statistics.median(tps)
        loop_share = r.median("loop_cpu_share")
        client_us = r.median("client_cpu_us")
        server_us = r.median("server_cpu_us")
        print(f"| {r.shape} | {r.clients} | {median:,.0f} | {min(tps):,.0f}-{max(tps):,.0f} "
              f"| {r.paired_ratio(baselines[r.clients]):.2f}x "
              f"| {'-' if loop_share is None else f'{loop_share:.0%}'} "
              f"| {'-' if client_us is None else f'{client_us:.0f} us'} "
              f"| {'-' if server_us is None else f'{server_us:.0f} us'} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.pg_drivers",
                                     description=__doc__.split("\n\n", 1)[0] if __doc__
                                     else None)
    parser.add_argument("--dsn", default=os.environ.get("LASHTUI_TEST_POSTGRES"),
                        help="postgresql:// URL (default: $LASHTUI_TEST_POSTGRES)")
    parser.add_argument("--transactions", type=int, default=2000,
                        help="transactions per run (default 2000)")
    parser.add_argument("--repeats", type=int, default=5, help="runs per figure (default 5)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    if not args.dsn:
        parser.error("no DSN: pass --dsn or set LASHTUI_TEST_POSTGRES")
    if args.transactions < 1 or args.repeats < 1:
        parser.error("--transactions and --repeats must be at least 1")

    started = time.perf_counter()
    settings, results = asyncio.run(measure(args.dsn, args.transactions, args.repeats))
    print_table(settings, results, args.transactions, args.repeats)
    print(f"\n({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    if args.json:
        baselines = _baselines(results)
        with open(args.json, "w") as out:
            json.dump({"settings": settings, "transactions": args.transactions,
                       "repeats": args.repeats, "warmup_per_connection": WARMUP,
                       "results": [r.as_json(baselines[r.clients]) for r in results]},
                      out, indent=2)
            out.write("\n")
        print(f"wrote {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
