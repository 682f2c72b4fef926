"""Reading a large registry lash wrote (version 21/24 layout, read-only through the views of
lashtui/registry/lash/): what each dashboard read costs and which plan SQLite picks.

The registry is lash's v24 fixture grown to N rows by SQL (`--rows`, default 1,000,000; 1% running,
0.1% waiting, the rest completed or failed), each a copy of the fixture's waiting row under a
fresh id, cached at `--path`. Each read runs through the facade the views use, 5 times; the
median is printed, with the plan of every statement it ran (EXPLAIN QUERY PLAN on the same
connection, views installed). Peer: a plain `SELECT count(*) ... GROUP BY status` on lash's
own table with stdlib sqlite3, the floor for a census.

    python -m benchmarks.lash_read [--rows N] [--path FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sqlite3
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from lashtui.admin import Processes
from lashtui.clock import ManualClock
from lashtui.model import ProcessPageQuery
from lashtui.registry import open_registry

FIXTURE = Path(__file__).resolve().parents[1] / "tests/lash/fixtures/v24-durable-read.db"
NOW_MS = 1_700_000_060_000


def grow(path: Path, rows: int) -> None:
    """The fixture copied to `path` and grown to `rows` processes (see the docstring)."""
    shutil.copyfile(FIXTURE, path)
    path.chmod(0o644)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute(
        f"""WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows}),
        s AS (SELECT i, CASE WHEN i % 1000 = 0 THEN 'waiting' WHEN i % 100 = 0 THEN 'running'
            WHEN i % 10 = 0 THEN 'failed' ELSE 'completed' END AS status FROM n)
        INSERT INTO processes SELECT printf('bench-%08d', s.i), p.registration_fingerprint,
            p.originator_id, NULL, p.identity_kind, p.identity_label, 0, p.created_at_ms + s.i,
            p.updated_at_ms + s.i, 100 + s.i, s.status,
            json_set(p.record_json, '$.id', printf('bench-%08d', s.i), '$.status', s.status,
                '$.outcome', CASE WHEN s.status IN ('running', 'waiting') THEN NULL
                ELSE json('{{"type":"success","value":1}}') END)
        FROM s CROSS JOIN processes p
        WHERE p.process_id = 'durable-read-waiting-process'"""
    )
    # A terminal row's outcome is null in the JSON above for live rows: drop the key.
    conn.execute(
        "UPDATE processes SET record_json = json_remove(record_json, '$.outcome') "
        "WHERE status IN ('running', 'waiting') AND process_id LIKE 'bench-%'"
    )
    conn.commit()
    conn.close()


Read = Callable[[Processes], Awaitable[Any]]
READS: dict[str, Read] = {
    "census": lambda p: p.census(),
    "page: all, id order, first 200": lambda p: p.page(ProcessPageQuery()),
    "page: all, after bench-00500000": lambda p: p.page(
        ProcessPageQuery(after_id="bench-00500000")
    ),
    "page: running, id order": lambda p: p.page(ProcessPageQuery(states=frozenset({"running"}))),
    "page: completed, id order": lambda p: p.page(
        ProcessPageQuery(states=frozenset({"completed"}))
    ),
    "page: updated order": lambda p: p.page(ProcessPageQuery(order="updated")),
    "changes since cursor-100": lambda p: p.changes_since(NOW_CURSOR[0], 200),
    "get one + its events": lambda p: p.events("bench-00500000"),
}
NOW_CURSOR = [0]


async def measure(path: Path) -> None:
    clock = ManualClock(NOW_MS)
    async with open_registry(str(path), clock=clock, create=False) as registry:
        processes = Processes(registry, clock=clock)
        census = await processes.census()
        NOW_CURSOR[0] = census.cursor - 100
        for name, read in READS.items():
            times = []
            for _ in range(5):
                start = time.perf_counter()
                await read(processes)
                times.append(time.perf_counter() - start)
            print(f"{name:36} {statistics.median(times) * 1000:9.1f} ms")


def peer(path: Path) -> None:
    conn = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    times = []
    for _ in range(5):
        start = time.perf_counter()
        conn.execute("SELECT status, count(*) FROM processes GROUP BY status").fetchall()
        times.append(time.perf_counter() - start)
    print(f"{'peer: sqlite3 GROUP BY status':36} {statistics.median(times) * 1000:9.1f} ms")
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--path", type=Path, default=Path("/tmp/lashtui-bench-lash-v24.db"))
    args = parser.parse_args()
    if not args.path.exists():
        start = time.perf_counter()
        grow(args.path, args.rows)
        print(f"grown to {args.rows:,} rows in {time.perf_counter() - start:.0f} s")
    size = os.path.getsize(args.path) / 1e6
    print(f"{args.path} ({size:,.0f} MB)")
    asyncio.run(measure(args.path))
    peer(args.path)


if __name__ == "__main__":
    main()
