"""`python -m benchmarks.sql_floor [--rows N] [--processes N] [--repeats R]`: P1's and
P3's SQL with nothing else.

How fast would lash's layout go on this machine if everything lashtui does around its
statements cost nothing? Each shape is run once with every statement its registry
connections execute recorded, text and parameters (a wrapper around
`RegistryConnection.execute`), and the writer connection's statements are then replayed
unchanged, with the same values, by processes that do nothing else, on a fresh copy of the
registry the shape began with. Every replay must end every row completed.

- **P1**: `p1_end_to_end.lashtui_rate` (start -> claim -> run -> terminal, one process,
  the embedded worker), recorded in this process on a fresh registry; replayed by one
  process on an empty registry of the same schema: the starts, claims and terminals.
- **P3**: one `benchmarks.p3_worker` process (P3's program) draining a fresh backlog of
  P3's rows (`record`: the wrapper in the worker's own process), from the first batch's
  read-ahead to its last COMMIT; replayed by 1, 2 and 4 OS processes, each transaction as
  recorded, the batches dealt out in turn (a batch's claim and its completions to the
  same process, so no two processes touch one row).

Either way BEGIN IMMEDIATE is retried with short jittered pauses while another process
holds the file's write lock, as the store does (`sqlite/lock_wait.py` `_retrying`), and
every 300 commits a checkpoint runs on a thread and connection of its own, behind the
writes, as the store makes one (its fsyncs would otherwise stop the writes: a copy of the
backlog still being written back made the same replay a third slower).

What is left out is all but the SQL and sqlite3's calls: the models, the records and events
built and decoded, asyncio, the runs and their guards, the facade, and a P3 worker's
start-up drive (one statement before its first batch). Printed: per second and CPU each
(the replaying processes', user and system), medians of `--repeats`. Beside P1 and P3
(lashtui and huey, same machine) it says how much of a process or a row is the layout's SQL
and how much the code around it; and for P3, how much sharing one file costs the SQL
itself.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import pickle
import random
import runpy
import shutil
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

from benchmarks import p1_end_to_end, p3_budget
from benchmarks.p3_no_double_run import ROOT
from benchmarks.report import scratch
from lashtui.registry import open_registry
from lashtui.registry.sql.dialect import SQLITE
from lashtui.registry.sql.long_id import read_text
from lashtui.registry.sqlite.connect import RegistryConnection
from lashtui.registry.sqlite.connection import SqliteConnection
from lashtui.registry.sqlite.write_lock import is_busy

Statement = tuple[str, Any]
Unit = list[Statement]  # one transaction: the reads before its BEGIN, through its COMMIT

CHECKPOINT_EVERY = SqliteConnection.CHECKPOINT_EVERY  # commits, as the store makes them
WORKERS = (1, 2, 4)
BEGIN = "BEGIN IMMEDIATE"
# run.py `_pick`'s read, its id and record as every read takes them (sql/long_id.py
# `read_text`, sql/dialect.py `stored_json`)
READ_AHEAD = (
    f"SELECT {read_text('p.process_id')}, {SQLITE.stored_json('p.record_json')}, "
    "l.lease_fencing_token"
)
LEASES = "INSERT INTO process_leases"  # a batch claim's leases (claim.py `save_new_leases`)


Ran = list[tuple[int, str, Any]]  # (connection, SQL, parameters), in the order they ran


@contextlib.contextmanager
def recording() -> Iterator[Ran]:
    """Every statement this process's registry connections execute meanwhile."""
    ran: Ran = []
    execute = RegistryConnection.execute

    def recorded(self: RegistryConnection, sql: str, parameters: Any = (), /) -> Any:
        ran.append((id(self), sql, parameters))
        return execute(self, sql, parameters)

    RegistryConnection.execute = recorded  # type: ignore[method-assign]
    try:
        yield ran
    finally:
        RegistryConnection.execute = execute  # type: ignore[method-assign]


def record(log: str, worker_argv: list[str]) -> None:
    """Run `benchmarks.p3_worker` here, recording; written to `log` at exit."""
    with recording() as ran:
        sys.argv = ["benchmarks.p3_worker", *worker_argv]
        try:
            runpy.run_module("benchmarks.p3_worker", run_name="__main__")
        finally:
            with open(log, "wb") as handle:
                pickle.dump(ran, handle)


def transactions(ran: Ran, first: str) -> list[Unit]:
    """The writer connection's transactions (the connection that ran the most), from its
    first statement that begins with `first`; what follows the last COMMIT (a worker's
    idle checks, a census) is left out."""
    writer = Counter(conn for conn, _, _ in ran).most_common(1)[0][0]
    statements = [(sql, parameters) for conn, sql, parameters in ran if conn == writer]
    start = next(i for i, (sql, _) in enumerate(statements) if sql.startswith(first))
    units: list[Unit] = []
    current: Unit = []
    for sql, parameters in statements[start:]:
        current.append((sql, parameters))
        if sql.strip().upper() == "COMMIT":
            units.append(current)
            current = []
    return units


def process_ids(unit: Unit, prefix: str = "p3-") -> list[str]:
    """The P3 process ids (`p3-000123`) bound anywhere in `unit`, in order."""
    return [
        value
        for _, parameters in unit
        if isinstance(parameters, (tuple, list))
        for value in parameters
        if isinstance(value, str) and value.startswith(prefix) and " " not in value
        and len(value) <= len(prefix) + 6
    ]


def deal(units: list[Unit], workers: int) -> list[list[Unit]]:
    """Each batch claim to the next process in turn; every other transaction to the process
    whose claim leased its first row (a completion group's rows come from one batch)."""
    dealt: list[list[Unit]] = [[] for _ in range(workers)]
    owner: dict[str, int] = {}
    claims = 0
    for unit in units:
        if any(sql.startswith(LEASES) for sql, _ in unit):
            worker = claims % workers
            claims += 1
            for process_id in process_ids(unit):
                owner.setdefault(process_id, worker)
        else:
            ids = process_ids(unit)
            worker = owner.get(ids[0], 0) if ids else 0
        dealt[worker].append(unit)
    return dealt


def replay(db: str, plan: str, hold: str) -> None:
    """One replaying process: its share of the transactions, once `hold` exists; says it
    is ready (`plan` + ".ready") first, then prints the CPU seconds it spent from `hold`
    and `time.monotonic()` (one clock for every process on Linux) at its last COMMIT:
    closing the file after that checkpoints the WAL, which no drain's clock counts."""
    with open(plan, "rb") as handle:
        units: list[Unit] = pickle.load(handle)
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 5000")  # only while the processes open the file
    for pragma in ("synchronous = NORMAL", "foreign_keys = ON", "wal_autocheckpoint = 0"):
        conn.execute(f"PRAGMA {pragma}")
    conn.execute("PRAGMA busy_timeout = 0")
    checkpoints = Checkpoints(db)
    open(plan + ".ready", "w").close()
    while not os.path.exists(hold):
        time.sleep(0.001)
    began = time.process_time()
    commits = 0
    for unit in units:
        for sql, parameters in unit:
            if sql.strip().upper() == BEGIN:
                _begin(conn, sql)
                continue
            conn.execute(sql, parameters).fetchall()
            if sql.strip().upper() == "COMMIT":
                commits += 1
                if commits % CHECKPOINT_EVERY == 0:
                    checkpoints.due.set()
    print(time.process_time() - began, time.monotonic())
    checkpoints.stop()
    conn.close()


class Checkpoints(threading.Thread):
    """A checkpoint behind the writes, when `due`: its own connection, its own thread."""

    def __init__(self, db: str) -> None:
        super().__init__(daemon=True)
        self.conn = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
        self.due = threading.Event()
        self.done = False
        self.start()

    def run(self) -> None:
        while True:
            self.due.wait()
            self.due.clear()
            if self.done:
                return
            self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    def stop(self) -> None:
        self.done = True
        self.due.set()
        self.join()
        self.conn.close()


def _begin(conn: sqlite3.Connection, sql: str) -> None:
    while True:
        try:
            conn.execute(sql)
            return
        except sqlite3.OperationalError as error:
            if not is_busy(error):
                raise
            time.sleep(random.uniform(0.00005, 0.001))


Replay = tuple[float, float]  # rows a second, CPU seconds a row


def drain(backlog: str, units: list[Unit], workers: int, rows: int, tmp: str) -> Replay:
    """Rows a second and CPU seconds a row of one replay by `workers` processes on a copy
    of `backlog`, in `tmp` (made here, removed after); `rows` must end completed."""
    os.makedirs(tmp)
    db = os.path.join(tmp, "replay.db")
    shutil.copy(backlog, db)
    os.sync()  # the copy written back now, not under the replay's commits
    hold = os.path.join(tmp, "hold")
    plans = []
    for n, share in enumerate(deal(units, workers)):
        plans.append(os.path.join(tmp, f"plan-{n}"))
        with open(plans[-1], "wb") as handle:
            pickle.dump(share, handle)
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "benchmarks.sql_floor", "replay", db, plan, hold],
            cwd=ROOT, stdout=subprocess.PIPE, text=True,
        )
        for plan in plans
    ]  # fmt: skip
    while not all(os.path.exists(plan + ".ready") for plan in plans):
        if any(child.poll() is not None for child in children):
            break  # one failed before it was ready: reported below
        time.sleep(0.005)  # their imports, plans and opens stay off the clock
    start = time.monotonic()
    open(hold, "w").close()
    outputs = [child.communicate()[0].split() for child in children]
    if any(child.returncode != 0 for child in children):
        raise RuntimeError(f"a replay by {workers} processes failed")
    cpu = sum(float(spent) for spent, _ in outputs)
    elapsed = max(float(end) for _, end in outputs) - start
    conn = sqlite3.connect(db)
    try:
        done = conn.execute("SELECT count(*) FROM processes WHERE status = 'completed'")
        completed = done.fetchone()[0]
    finally:
        conn.close()
    shutil.rmtree(tmp)  # the file, and a WAL no later replay may meet
    if completed != rows:
        raise RuntimeError(f"the replay by {workers} processes completed {completed} of {rows}")
    return rows / elapsed, cpu / rows


def measure_p1(count: int, repeats: int) -> list[Replay]:
    """Record P1's lashtui side (`count` processes) here, then replay its statements
    `repeats` times from one process on an empty registry: [(processes/s, CPU s each)]."""
    with scratch("sql-floor-p1") as tmp:
        empty = os.path.join(tmp, "empty.db")
        asyncio.run(_create(empty))
        with recording() as ran:
            p1_end_to_end.lashtui_rate(os.path.join(tmp, "p1.db"), count)
        units = transactions(ran, BEGIN)
        return [
            drain(empty, units, 1, count, os.path.join(tmp, f"replay-{n}"))
            for n in range(repeats)
        ]


async def _create(path: str) -> None:
    async with open_registry(path, create=True):
        pass


def measure(rows: int, repeats: int, workers: tuple[int, ...] = WORKERS) -> dict[int, list[Replay]]:
    """Record one P3 worker's drain of `rows`, then replay it `repeats` times by each count
    of `workers`, interleaved: {workers: [(rows/s, CPU s a row), ...]}."""
    # The worker and the replays run `-m benchmarks...` from the checkout (cwd=ROOT).
    with scratch("sql-floor") as tmp, p3_budget.backlog(rows, "sqlite") as (_, argv):
        db = argv[argv.index("--db") + 1]
        backlog = os.path.join(tmp, "backlog.db")
        shutil.copy(db, backlog)  # the store closed it: no WAL is left beside it
        log = os.path.join(tmp, "statements")
        worker = argv[argv.index("benchmarks.p3_worker") + 1 :]
        subprocess.run(
            [sys.executable, "-m", "benchmarks.sql_floor", "record", log, *worker],
            cwd=ROOT, check=True,
        )  # fmt: skip
        with open(log, "rb") as handle:
            units = transactions(pickle.load(handle), READ_AHEAD)
        results: dict[int, list[Replay]] = {n: [] for n in workers}
        for repeat in range(repeats):
            for n in workers:
                where = os.path.join(tmp, f"replay-{repeat}-{n}")
                results[n].append(drain(backlog, units, n, rows, where))
    return results


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["record"]:
        record(argv[1], argv[2:])
        return 0
    if argv[:1] == ["replay"]:
        replay(*argv[1:4])
        return 0
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sql_floor")
    parser.add_argument("--count", type=int, default=5_000, help="P1's processes")
    parser.add_argument("--rows", type=int, default=10_000, help="P3's backlog")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    p1 = measure_p1(args.count, args.repeats)
    print(f"\n== P1's SQL alone: {args.count:,} processes, replayed by one process "
          f"(medians of {args.repeats})")  # fmt: skip
    print(f"  {statistics.median(r for r, _ in p1):8,.0f} processes/s  "
          f"{statistics.median(c for _, c in p1) * 1e6:5.0f} us of CPU a process")  # fmt: skip
    results = measure(args.rows, args.repeats)
    print(f"\n== P3's SQL alone: one worker's drain of {args.rows:,} rows, replayed "
          f"(medians of {args.repeats})")  # fmt: skip
    for workers, runs in results.items():
        rate = statistics.median(r for r, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        print(f"  {workers} process{'es' if workers > 1 else '  '}  {rate:8,.0f} rows/s  "
              f"{cpu * 1e6:5.0f} us of CPU a row  {rate * cpu:4.2f} cores busy")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
