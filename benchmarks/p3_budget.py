"""`python -m benchmarks.p3_budget [--store sqlite|postgres]`: what one row of a P3 drain
costs a worker, counted rather than timed.

P3's and PG1's drains run worker OS processes on a 2-vCPU machine whose speed moves with
the shared load: the same tree drained 2,000 rows on PostgreSQL at 937 and 1,708 rows/s
minutes apart, so a step of a few percent is lost in its rate. This counts, for one
`benchmarks.p3_worker` process (the program P3 and PG1 spawn: `ProcessWorker` in
`worker.running()`, the `count` engine) draining a backlog of free rerunnable rows on a
fresh registry, the user-space instructions the worker executes a row, by library
(valgrind's callgrind, all its threads). Two backlog sizes are drained and differenced, so
the interpreter's start-up, the imports and the worker's first drive drop out; two counts
of one 1,000-row drain on PostgreSQL differed by 0.3% (a drain's groups depend a little on
timing).

On PostgreSQL (`--store postgres`, the server `benchmarks/pg_server.py` finds, each
drain in a fresh schema) it counts the worker only: the server's own work a row is not in
the figure (`benchmarks.pg_cpu` times both).

Needs valgrind on PATH (`apt-get install valgrind`); about a minute a store.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator

from benchmarks import p1_budget, pg_server
from benchmarks.p3_no_double_run import ROOT, _start_rows, read_record
from benchmarks.report import scratch
from benchmarks.s1_cli import installed_env

SMALL, LARGE = 200, 1_000
# lash's default lease timings, as P3 runs its workers.
TIMINGS = ("--ttl-ms", "30000", "--renew-ms", "10000")


@contextlib.contextmanager
def backlog(rows: int, store: str) -> Iterator[tuple[str, list[str]]]:
    """A fresh registry holding `rows` free rerunnable rows (P3's), and the argv of one
    worker that drains it and exits; the worker's executions are checked afterwards."""
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(scratch("p3-budget"))
        if store == "postgres":
            db = stack.enter_context(pg_server.scratch_schema("p3budget"))
        else:
            db = os.path.join(tmp, "drain.db")
        asyncio.run(_start_rows(db, [f"p3-{n:06d}" for n in range(rows)]))
        record, hold = os.path.join(tmp, "record"), os.path.join(tmp, "hold")
        open(hold, "w").close()  # released from the start: the drive begins at once
        argv = [
            sys.executable, "-m", "benchmarks.p3_worker", "--db", db, "--record", record,
            "--hold", hold, "--until-empty", "--owner-id", "p3-budget", "--stats",
            os.path.join(tmp, "stats.json"), *TIMINGS,
        ]  # fmt: skip
        yield record, argv
        ran = read_record(record)
        if len(ran) != rows or any(n != 1 for n in ran.values()):
            raise RuntimeError(f"the drain of {rows} rows ran {sum(ran.values())} times "
                               f"over {len(ran)} rows, not each row once")  # fmt: skip


def instructions_a_row(store: str, env: dict[str, str]) -> dict[str, float]:
    """The worker's instructions a row, by library ('total' for all)."""
    # Once outside the counters, so that neither count includes compiling the modules
    # (the bytecode cache starts cold for the store's driver, psycopg's say).
    with backlog(SMALL // 10, store) as (_, argv):
        subprocess.run(argv, env=env, check=True)
    counts = []
    for rows in (SMALL, LARGE):
        with backlog(rows, store) as (_, argv):
            counts.append(p1_budget.instructions_by_library(argv, env))
    return p1_budget.per_unit(*counts, (SMALL, LARGE))


def report(store: str, env: dict[str, str]) -> None:
    print(f"\n== P3, a row drained by one worker, on {store}")
    if store == "postgres" and (why := pg_server.unavailable()) is not None:
        print(f"not counted: {why}")
        return
    per = instructions_a_row(store, env)
    total = per.pop("total")
    print(f"user-space instructions of the worker: {total / 1e6:.2f}M a row")
    for name, count in sorted(per.items(), key=lambda kv: -kv[1]):
        print(f"  {name:<28} {count / 1e6:6.2f}M  {100 * count / total:4.1f}%")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.p3_budget")
    parser.add_argument("--store", choices=("sqlite", "postgres"),
                        help="count one store only (default: both)")  # fmt: skip
    args = parser.parse_args(argv)
    if not (shutil.which("valgrind") and shutil.which("callgrind_annotate")):
        print("not counted: valgrind is not installed (apt-get install valgrind)")
        return 1
    os.chdir(ROOT)  # the worker runs `-m benchmarks.p3_worker` from the checkout
    env = installed_env()
    for store in [args.store] if args.store else ["sqlite", "postgres"]:
        report(store, env)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

