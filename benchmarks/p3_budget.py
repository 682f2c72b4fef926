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

On SQLite it counts P3's peer the same way: huey's consumer (`benchmarks.p3_huey`, one
worker process, SqliteHuey with synchronous=NORMAL as P3 runs it) draining 200 and 1,000
tasks, every process of the consumer counted (the one that hands out tasks and the forked
worker), differenced alike. The two counts are P3's gap in instructions, like for like;
what a row costs in time beyond that moves with the machine's load, for both sides.

Needs valgrind on PATH (`apt-get install valgrind`); about a minute a store, and a minute
for huey.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import glob
import os
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator

from benchmarks import p1_budget, pg_server
from benchmarks.p3_no_double_run import ROOT, _start_rows, read_record, wait_for
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


# --- the peer: huey's consumer --------------------------------------------------------


def huey_drain(rows: int, env: dict[str, str], wrapper: list[str]) -> list[str]:
    """huey's consumer of one worker process (P3's peer program) drains a queue of `rows`
    tasks under `wrapper` (valgrind's argv, which writes a count per process into the
    scratch directory), then is stopped with SIGTERM, as P3 stops it. Returns the count
    files; raises unless every task ran exactly once. The consumer does not exit by itself
    when its queue is empty, so the end is the result store holding every result."""
    from benchmarks.p3_huey import make_huey

    with scratch("p3-budget-huey") as tmp:
        names = ("h.db", "record", "ready", "hold")
        db, record, ready, hold = (os.path.join(tmp, name) for name in names)
        huey, count = make_huey(db, record)
        for n in range(rows):
            count(n)
        argv = [*wrapper, sys.executable, "-c", "from benchmarks.p3_huey import serve; serve()",
                db, record, ready, hold, "1"]  # fmt: skip
        consumer = subprocess.Popen(
            argv, cwd=ROOT, env={**env, "CALLGRIND_DIR": tmp},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            wait_for(lambda: os.path.exists(ready), "huey's consumer to be ready")
            open(hold, "w").close()
            wait_for(lambda: huey.storage.result_store_size() >= rows, "every huey result")
        finally:
            consumer.send_signal(signal.SIGTERM)
            try:
                consumer.wait(timeout=300)
            finally:
                huey.storage.close()
        ran = read_record(record)
        if len(ran) != rows or any(n != 1 for n in ran.values()):
            raise RuntimeError(f"huey's drain of {rows} tasks ran {sum(ran.values())} times "
                               f"over {len(ran)} tasks, not each task once")  # fmt: skip
        outputs = sorted(glob.glob(os.path.join(tmp, "callgrind.*")))
        # Annotated before the scratch directory goes.
        return [p1_budget.annotated(path) for path in outputs]


def huey_instructions_a_task(env: dict[str, str]) -> dict[str, float]:
    """huey's consumer's instructions a task, every process summed, by library."""
    # Under valgrind a fork is followed by itself; %p names each process's file.
    out = "--callgrind-out-file=%q{CALLGRIND_DIR}/callgrind.%p"
    wrapper = ["valgrind", "--tool=callgrind", out]
    huey_drain(SMALL // 10, env, [])  # once outside the counters: the bytecode cache
    counts = []
    for rows in (SMALL, LARGE):
        total: Counter[str] = Counter()
        for annotated in huey_drain(rows, env, wrapper):
            total.update(p1_budget.by_library(annotated))
        counts.append(total)
    return p1_budget.per_unit(*counts, (SMALL, LARGE))


# --- the report ------------------------------------------------------------------------


def _print_by_library(per: dict[str, float], total: float) -> None:
    for name, count in sorted(per.items(), key=lambda kv: -kv[1]):
        print(f"  {name:<28} {count / 1e6:6.2f}M  {100 * count / total:4.1f}%")


def report(store: str, env: dict[str, str]) -> None:
    print(f"\n== P3, a row drained by one worker, on {store}")
    if store == "postgres" and (why := pg_server.unavailable()) is not None:
        print(f"not counted: {why}")
        return
    per = instructions_a_row(store, env)
    total = per.pop("total")
    print(f"user-space instructions of the worker: {total / 1e6:.2f}M a row")
    _print_by_library(per, total)
    if store != "sqlite":
        return
    print("\n== P3's peer, a task drained by huey's consumer of one worker process, on SQLite")
    peer = huey_instructions_a_task(env)
    peer_total = peer.pop("total")
    print(f"user-space instructions of the consumer (all its processes): "
          f"{peer_total / 1e6:.2f}M a task; lashtui's worker runs "
          f"{total / peer_total:.1f}x that a row")  # fmt: skip
    _print_by_library(peer, peer_total)


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

