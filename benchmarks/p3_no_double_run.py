"""P3: no process runs twice. 4 worker OS processes drain N rerunnable processes, on SQLite
and on PostgreSQL.

lashtui: N rows (`Engine(kind="count")`, rerunnable) are started through the facade into a
fresh registry file, then 4 `python -m benchmarks.p3_worker` processes (each a
`ProcessWorker` with a `local_process` identity, lash's default lease timings: TTL 30 s,
renew and drive every 10 s) are spawned and wait, imports done, on a hold file. The clock
starts when the hold file appears and stops when a stdlib reader sees every row terminal
(polled every 10 ms); the workers then exit on their own (`--until-empty`).

Executions are counted outside the registry: the engine appends `<process id> <os pid>` to
a file with one O_APPEND write per execution before it returns. A row executed twice, a row
never executed, a row not `completed`, a worker that exits non-zero or logs a warning: each
is counted against the target (exactly N executions, 0 errors).

Peer, in the same run: huey's SqliteHuey (WAL, synchronous=NORMAL) with a consumer of 4
worker OS processes, N tasks enqueued first, the same hold file, the same O_APPEND record;
the clock stops when huey's result store holds N results. Sides alternate per repeat.
The throughput's target (issue 19) is >= 1.0x huey's 4-process consumer. A scaling table
follows it: the same drain with 1 and 2 worker processes on each side, then with 4 each on a
registry file of its own holding a quarter of the rows (huey: 4 one-process consumers, a
file each), which shares nothing but the machine (once in quick mode, every repeat in the
full one), each run's exactly-once counts in its notes. Each lashtui row's notes also say
how much of the drain its workers held the file's write lock, and how long a row
(`lock_note`, from the counters each worker keeps: registry/sqlite/write_lock.py). Each
side's CPU a row is printed with how busy other processes kept the machine meanwhile and
how often the drain's threads were switched out or waited (`cpu_note`): the same row's
instructions cost up to about twice the CPU while other threads share the two vCPUs
(cpu.py's docstring), so a figure from a loaded hour says so.

How lashtui's workers share the backlog: each claims free rerunnable rows several at a
time (`claim_processes_for_run`, one transaction per batch, one fenced lease per row), the
rows picked in SQL inside the claiming transaction, so no worker claims a row another has
taken or ended.

On PostgreSQL, in the same run, "P3 (PostgreSQL)": the same lashtui side with the rows in a
`PostgresProcessRegistry` in a fresh schema on the server `benchmarks/pg_server.py` finds
(the workers get its URL for `--db`; fewer rows in quick mode, the spec's 10,000 in full
mode), the same exactly-once accounting, and the stdlib reader replaced by a psycopg one
(autocommit, same query, same 10 ms poll). Its throughput is set against lashtui on SQLite
from the same repeat, as context with no target. On a server the workers also listen for
the registry's commit announcements (LISTEN/NOTIFY) and drive again after each burst, where
on SQLite they drive once and then every 10 s; both are how the worker runs on each store.
The test server runs with fsync=off (`.ci/postgres`; the note prints the server's
settings): like SQLite in WAL with synchronous=NORMAL, no commit waits for a disk flush.

What would make it unfair: as in P1, a lashtui run is a fenced lease claim, a started fact,
a terminal event and a release, where a huey task is a message taken and a result stored;
and huey's consumer hands tasks out from one process, where lashtui's 4 workers compete for
every row through the registry (that competition is what this benchmark is about).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from benchmarks import pg_server
from benchmarks.cpu import CpuMeter
from benchmarks.report import Figure, Mode, scratch
from lashtui.admin import Processes
from lashtui.model import Engine, ProcessStartRequest, RecoveryDisposition
from lashtui.registry import open_registry
from lashtui.registry.sqlite.write_lock import WriteLockUse

if TYPE_CHECKING:  # psycopg is imported only when there is a server to measure
    import psycopg
    from psycopg.rows import TupleRow

WORKERS = 4
POLL_S = 0.01
GUARD_S = 300.0
# A drain slower than this is stuck, not slow: the guard grows with the rows past GUARD_S
# (a 10,000-row drain on PostgreSQL took ~300 s on a busy 2-vCPU machine; PG1's ran at
# ~10 rows/s at load average 15).
GUARD_ROWS_PER_S = 4.0
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclass
class Drain:
    rows: int
    elapsed: float
    executions: Counter[str]
    errors: list[str] = field(default_factory=list)
    # CPU seconds on the clock: the workers' and, on PostgreSQL, the server's (cpu.py
    # `CpuMeter`); None where not read.
    cpu_s: float | None = None
    # On SQLite, the workers' use of the file's write lock during the drain, summed: seconds
    # held, holds, tries refused (`lock_use`); None where not read.
    lock: WriteLockUse | None = None
    # The vCPUs other processes kept busy meanwhile, on average, and the drain's threads'
    # context switches, (voluntary, involuntary): cpu.py `CpuMeter`. None where not read.
    others_busy: float | None = None
    switches: tuple[int, int] | None = None

    @property
    def duplicates(self) -> int:
        return sum(n - 1 for n in self.executions.values() if n > 1)

    @property
    def missing(self) -> int:
        return self.rows - len(self.executions)

    @property
    def wrong(self) -> int:
        return self.duplicates + self.missing + len(self.errors)


def lock_use(stats_paths: list[str]) -> WriteLockUse | None:
    """The write-lock use the workers' `--stats` files hold, summed; None when any lacks it
    (a PostgreSQL drain, or a worker that never wrote it)."""
    total = WriteLockUse()
    for path in stats_paths:
        with open(path, encoding="utf-8") as handle:
            use = json.load(handle).get("write_lock")
        if use is None:
            return None
        total += WriteLockUse(**use)
    return total


def read_record(path: str) -> Counter[str]:
    if not os.path.exists(path):
        return Counter()
    with open(path, encoding="utf-8") as handle:
        return Counter(line.split(" ", 1)[0] for line in handle if line.strip())


async def _start_rows(path: str, ids: list[str]) -> None:
    async with open_registry(path, create=True) as registry:
        processes = Processes(registry)
        for process_id in ids:
            await processes.start(
                ProcessStartRequest(
                    id=process_id,
                    input=Engine(kind="count", payload={}),
                    disposition=RecoveryDisposition.RERUNNABLE,
                )
            )


def wait_for(condition: object, what: str, guard_s: float = GUARD_S) -> None:
    deadline = time.monotonic() + guard_s
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise RuntimeError(f"P3: timed out waiting for {what}")
        time.sleep(POLL_S)


# The longest a census waits between two counts, while the end is still far off.
CENSUS_MAX_GAP_S = 0.05


def wait_for_count(count: Callable[[], int], total: int, what: str, guard_s: float) -> None:
    """Until `count()` reaches `total`: the drains' clock stop, on every side alike. A
    census is a query against the store being measured, on the same two cores: counted
    every `POLL_S` it took ~60 us of server time a job in PG1's drains (pg_stat_statements,
    a tenth of lashtui's), more on 10,000 rows. So the next count waits half the time the
    last interval's rate says is left, between `POLL_S` and `CENSUS_MAX_GAP_S`: the
    counts thin out several times over, and the end is still seen within `POLL_S` of when
    it comes, unless the rate more than doubles within one gap."""
    deadline = time.monotonic() + guard_s
    done, at = count(), time.monotonic()
    gap = POLL_S
    while done < total:
        if at > deadline:
            raise RuntimeError(f"P3: timed out waiting for {what}")
        time.sleep(gap)
        before, since = done, at
        done, at = count(), time.monotonic()
        gap = POLL_S
        if before < done < total:
            left = (total - done) * (at - since) / (done - before)
            gap = min(max(left / 2, POLL_S), CENSUS_MAX_GAP_S)


def spawn(argv: list[str], stderr_path: str) -> subprocess.Popen[bytes]:
    with open(stderr_path, "wb") as stderr:
        return subprocess.Popen(
            argv, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr
        )


class Census:
    """The registry's rows counted by status from outside the workers: a read-only stdlib
    connection to the file, or a psycopg connection (autocommit) to the schema."""

    def __init__(self, db: str) -> None:
        self.conn: sqlite3.Connection | psycopg.Connection[TupleRow]
        if db.startswith("postgresql://"):
            import psycopg

            self.conn = psycopg.connect(db, autocommit=True)
        else:
            self.conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)

    def count(self, where: str) -> int:
        row = self.conn.execute(f"SELECT count(*) FROM processes WHERE {where}").fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        self.conn.close()


def lashtui_drain(
    tmp: str, rows: int, workers: int = WORKERS, url: str | None = None, files: bool = False
) -> Drain:
    """The lashtui side on a registry file in `tmp`, or on the PostgreSQL registry at `url`
    (an empty schema). With `files`, each worker drains a registry file of its own holding
    its share of the rows (`SHARDED`)."""
    record, hold = (os.path.join(tmp, name) for name in ("l.record", "l.hold"))
    ids = [f"p3-{n:06d}" for n in range(rows)]
    if files:
        dbs = [os.path.join(tmp, f"l-{n}.db") for n in range(workers)]
        for n, db in enumerate(dbs):
            asyncio.run(_start_rows(db, ids[n::workers]))
    else:
        dbs = [url or os.path.join(tmp, "l.db")]
        asyncio.run(_start_rows(dbs[0], ids))
    common = ["--record", record, "--hold", hold, "--until-empty"]
    timings = ["--ttl-ms", "30000", "--renew-ms", "10000"]  # lash's defaults
    stats = [os.path.join(tmp, f"l-stats-{n}.json") for n in range(workers)]
    logs = [os.path.join(tmp, f"l-stderr-{n}.log") for n in range(workers)]
    argv = [sys.executable, "-m", "benchmarks.p3_worker", *common, *timings]
    children = [
        spawn([*argv, "--db", db, "--owner-id", f"p3-worker-{n}", "--stats", stats[n]], logs[n])
        for n, db in enumerate(dbs * workers if len(dbs) == 1 else dbs)
    ]
    census = [Census(db) for db in dbs]

    def count(where: str) -> int:
        return sum(each.count(where) for each in census)

    try:
        wait_for(lambda: all(os.path.exists(path) for path in stats), "the workers to be ready")
        lock_before = lock_use(stats)
        meter = CpuMeter([stats_pid(path) for path in stats], url)
        meter.start()
        start = time.perf_counter()
        open(hold, "w").close()
        wait_for_count(
            lambda: count("status != 'running'"),
            rows,
            "every row terminal",
            max(GUARD_S, rows / GUARD_ROWS_PER_S),
        )
        elapsed = time.perf_counter() - start
        cpu_s = meter.stop()
        completed = count("status = 'completed'")
        errors = []
        if completed != rows:
            errors.append(f"{rows - completed} row(s) ended other than completed")
        for n, child in enumerate(children):
            if (code := child.wait(timeout=60)) != 0:
                errors.append(f"worker {n} exited {code}")
            with open(logs[n], encoding="utf-8", errors="replace") as log:
                logged = [line for line in log if line.startswith(("WARNING", "ERROR", "Trace"))]
            errors.extend(f"worker {n}: {line.strip()}" for line in logged)
        # Read once every worker has exited (their last stats): the drive starts at the
        # hold file and the workers write nothing after the last row, so this is the
        # drain's use of the lock.
        lock_after = lock_use(stats)
    finally:
        for each in census:
            each.close()
        reap(children)
    lock = None if lock_before is None or lock_after is None else lock_after.since(lock_before)
    return Drain(
        rows, elapsed, read_record(record), errors, cpu_s, lock, meter.others_busy, meter.switches
    )


def stats_pid(path: str) -> int:
    """The OS pid a `p3_worker` wrote into its `--stats` file."""
    with open(path, encoding="utf-8") as handle:
        return int(json.load(handle)["pid"])


def reap(children: Iterable[subprocess.Popen[bytes]]) -> None:
    """Kill and wait for the children still running (a drain that failed or timed out)."""
    for child in children:
        if child.poll() is None:
            child.kill()
            child.wait()


def huey_drain(tmp: str, rows: int, workers: int = WORKERS, files: bool = False) -> Drain:
    """huey's side: one consumer of `workers` processes on one file or, with `files`,
    `workers` consumers of one process each, each on a file of its own holding its share
    of the tasks (`SHARDED`)."""
    from benchmarks.p3_huey import make_huey

    record, hold = (os.path.join(tmp, name) for name in ("h.record", "h.hold"))
    shards = workers if files else 1
    dbs = [os.path.join(tmp, f"h-{n}.db") for n in range(shards)]
    readies = [os.path.join(tmp, f"h-{n}.ready") for n in range(shards)]
    queues = [make_huey(db, record) for db in dbs]
    for n in range(rows):
        queues[n % shards][1](n)
    code = "from benchmarks.p3_huey import serve; serve()"
    consumers = [
        spawn(
            [sys.executable, "-c", code, db, record, ready, hold, str(workers // shards)],
            os.path.join(tmp, f"h-stderr-{n}.log"),
        )
        for n, (db, ready) in enumerate(zip(dbs, readies, strict=True))
    ]
    errors: list[str] = []
    meter = CpuMeter([consumer.pid for consumer in consumers], tree=True)

    def results() -> int:
        return sum(huey.storage.result_store_size() for huey, _ in queues)

    try:
        wait_for(lambda: all(map(os.path.exists, readies)), "the huey consumers to be ready")
        meter.start()
        start = time.perf_counter()
        open(hold, "w").close()
        wait_for_count(results, rows, "every huey result", GUARD_S)
        elapsed = time.perf_counter() - start
        cpu_s = meter.stop()
    finally:
        for consumer in consumers:
            consumer.send_signal(signal.SIGTERM)
        for consumer in consumers:
            try:
                consumer.wait(timeout=30)
            except subprocess.TimeoutExpired:
                consumer.kill()
                consumer.wait()
        for huey, _ in queues:
            huey.storage.close()
    return Drain(
        rows, elapsed, read_record(record), errors, cpu_s, None, meter.others_busy, meter.switches
    )


def run(mode: Mode) -> list[Figure]:
    rows = mode.size(1_000, 10_000, smoke=100)
    pg_rows = mode.size(200, 10_000, smoke=50)
    skip = pg_server.unavailable()
    ours: list[Drain] = []
    on_pg: list[Drain] = []
    peer: list[Drain] = []
    # The scaling table: the same drain with 1 and 2 workers each side (4 is the row above).
    # Quick mode measures it once, the full mode every repeat.
    scaling: dict[tuple[str, int], list[Drain]] = {}
    for repeat in range(mode.repeats):
        with scratch("p3") as tmp:
            ours.append(lashtui_drain(tmp, rows))
        if skip is None:
            with scratch("p3") as tmp, pg_server.scratch_schema("p3") as url:
                on_pg.append(lashtui_drain(tmp, pg_rows, url=url))
        with scratch("p3") as tmp:
            peer.append(huey_drain(tmp, rows))
        if mode.quick and repeat:
            continue
        for workers in SCALING:
            with scratch("p3") as tmp:
                scaling.setdefault(("lashtui", workers), []).append(
                    lashtui_drain(tmp, rows, workers)
                )
            with scratch("p3") as tmp:
                scaling.setdefault(("huey", workers), []).append(huey_drain(tmp, rows, workers))
        with scratch("p3") as tmp:
            scaling.setdefault(("lashtui", SHARDED), []).append(
                lashtui_drain(tmp, rows, files=True)
            )
        with scratch("p3") as tmp:
            scaling.setdefault(("huey", SHARDED), []).append(huey_drain(tmp, rows, files=True))
    return [
        *figures(rows, ours, peer),
        *scaling_figures(rows, scaling),
        *postgres_figures(pg_rows, on_pg, ours, skip),
    ]


SCALING = (1, 2)
# The scaling table's last row: the 4 workers each on a file of their own, with a quarter of
# the rows (huey: 4 one-process consumers). Nothing is shared but the machine, so set
# against the 4-worker row it splits what 4 workers cost a row into what sharing the 2
# vCPUs costs (here too) and what sharing one backlog costs (only there): how workers find
# and claim work across processes, and SQLite's one write lock, bound the second alone.
SHARDED = -WORKERS


def scaling_figures(rows: int, scaling: dict[tuple[str, int], list[Drain]]) -> list[Figure]:
    """P3's scaling table: throughput with 1 and 2 worker processes each side (the 4-worker
    row is the target's), then 4 on a file each (`SHARDED`), with each run's exactly-once
    counts."""
    return [
        Figure(
            id="P3",
            figure=f"{_procs(workers)} drain {rows:,} rerunnable: throughput (scaling)",
            unit="proc/s",
            lashtui=[d.rows / d.elapsed for d in scaling[("lashtui", workers)]],
            peer_name=f"huey SqliteHuey, {_procs(workers, huey=True)}",
            peer=[d.rows / d.elapsed for d in scaling[("huey", workers)]],
            target="context: scaling (exactly once every run)"
            if workers > 0
            else "context: the 4-worker row without a shared backlog (exactly once every run)",
            notes=[
                _runs("lashtui", scaling[("lashtui", workers)]),
                _runs("huey", scaling[("huey", workers)]),
                cpu_note(
                    {"lashtui": scaling[("lashtui", workers)], "huey": scaling[("huey", workers)]}
                ),
                lock_note(scaling[("lashtui", workers)], -workers if workers < 0 else 1),
            ],
        )
        for workers in (*SCALING, SHARDED)
    ]


def _procs(workers: int, huey: bool = False) -> str:
    """A scaling row's workers, as its figure (lashtui) or its peer (huey) names them."""
    if workers == SHARDED:
        if huey:
            return f"{-workers} consumers of 1 proc, a file each"
        return f"{-workers} worker procs, a registry file each,"
    procs = f"{workers} proc{'s' if workers > 1 else ''}"
    return procs if huey else f"{workers} worker {procs.split(' ', 1)[1]}"


def _runs(side: str, drains: list[Drain]) -> str:
    each = ", ".join(
        f"{sum(d.executions.values())}/{d.duplicates}/{d.missing}/{len(d.errors)}"
        for d in drains
    )
    errors = "; ".join(e for d in drains for e in d.errors[:3])
    return f"{side} runs (executions/duplicates/missing/errors): {each}" + (
        f"; {errors}" if errors else ""
    )


CLOCK_NOTE = (
    "clock: hold file released -> every row terminal (huey: every result stored); "
    "interpreter start-up is before the clock; lease TTL 30 s, drive every 10 s"
)


def figures(rows: int, ours: list[Drain], peer: list[Drain]) -> list[Figure]:
    label = f"{WORKERS} worker procs drain {rows:,} rerunnable"
    peer_name = f"huey SqliteHuey, {WORKERS} procs"
    return [
        Figure(
            id="P3",
            figure=f"{label}: executions",
            unit="runs",
            lashtui=[float(sum(d.executions.values())) for d in ours],
            peer_name=peer_name,
            peer=[float(sum(d.executions.values())) for d in peer],
            target=f"exactly {rows:,}",
            compare=False,
            notes=[_runs("lashtui", ours), _runs("huey", peer)],
        ),
        Figure(
            id="P3",
            figure=f"{label}: duplicates + missing + errors",
            unit="rows",
            lashtui=[float(d.wrong) for d in ours],
            peer_name=peer_name,
            peer=[float(d.wrong) for d in peer],
            target="0 in every run",
            rule="all<=:0",
            compare=False,
        ),
        Figure(
            id="P3",
            figure=f"{label}: throughput",
            unit="proc/s",
            lashtui=[d.rows / d.elapsed for d in ours],
            peer_name=peer_name,
            peer=[d.rows / d.elapsed for d in peer],
            target=">= 1.0x huey, 4 procs",
            rule="ratio>=:1",
            notes=[
                CLOCK_NOTE,
                cpu_note({"lashtui": ours, "huey": peer}),
                lock_note(ours),
                ceiling_note(ours, peer),
            ],
        ),
    ]


def cpu_note(sides: dict[str, list[Drain]], per: str = "row") -> str:
    """What each side's drains cost in CPU on the clock (cpu.py `CpuMeter`: the workers',
    and the server's on PostgreSQL), medians: a `per`'s, the cores it kept busy, and where
    read, what else kept the machine busy and the switches a `per` (`_beside`). On a
    2-vCPU machine the cores busy say when the CPU, not the design, bounds a drain, and a
    row's CPU is what the two sides' designs cost."""
    parts = []
    for side, drains in sides.items():
        spent = [(d.cpu_s, d) for d in drains if d.cpu_s is not None]
        if not drains or len(spent) < len(drains):
            parts.append(f"{side}: not read")
            continue
        per_row = statistics.median(cpu / d.rows * 1e6 for cpu, d in spent)
        cores = statistics.median(cpu / d.elapsed for cpu, d in spent)
        beside = _beside(drains, per)
        parts.append(f"{side} {per_row:,.0f} us a {per}, {cores:.2f} cores busy{beside}")
    return "CPU on the clock (medians): " + "; ".join(parts)


def _beside(drains: list[Drain], per: str) -> str:
    """What else kept the machine busy during `drains`, and how often their processes were
    switched out, medians, for `cpu_note`: the same work costs more CPU while other
    threads share the vCPUs (cpu.py's docstring), so a figure taken beside others' load
    says so."""
    others = [busy for d in drains if (busy := d.others_busy) is not None]
    if not drains or len(others) < len(drains):
        return ""
    note = f" ({statistics.median(others):.2f} more by other processes"
    counted = [(d.switches, d.rows) for d in drains if d.switches is not None]
    if len(counted) == len(drains):
        waited = statistics.median(each[0] / rows for each, rows in counted)
        switched = statistics.median(each[1] / rows for each, rows in counted)
        note += f"; switched out {switched:.2f} a {per}, waited {waited:.2f}"
    return note + ")"


def ceiling_note(ours: list[Drain], peer: list[Drain], cpus: int | None = None) -> str:
    """The arithmetic that bounds a drain on this machine, whatever the lock does: at
    lashtui's CPU a row, `cpus` CPUs busy all the time drain at most so many rows a second;
    and the most CPU a row may cost for the peer's rate (1.0x, the target). Both medians.
    While lashtui's CPU a row is above that most, the target needs a row that costs less
    CPU (its own work, or what sharing the file and the CPUs adds to it), not a lock held
    less."""
    cpus = cpus or os.cpu_count() or 1
    spent = [(d.cpu_s, d) for d in ours if d.cpu_s is not None]
    if not ours or not peer or len(spent) < len(ours):
        return "CPU ceiling: not read"
    per_row = statistics.median(cpu / d.rows for cpu, d in spent)
    peer_rate = statistics.median(d.rows / d.elapsed for d in peer)
    return (
        f"CPU ceiling: at {per_row * 1e6:,.0f} us a row, {cpus} CPUs drain at most "
        f"{cpus / per_row:,.0f} rows/s; 1.0x huey ({peer_rate:,.0f}/s) needs at most "
        f"{cpus / peer_rate * 1e6:,.0f} us a row"
    )


def lock_note(drains: list[Drain], files: int = 1) -> str:
    """lashtui's workers' use of the registry file's write lock (registry/sqlite/
    write_lock.py), medians over `drains`: the share of the drain's clock it was held (the
    workers' holds summed; with `files`, each file's lock counts, so up to `files` x 100%),
    its hold a row, and the tries another worker's hold refused. A share near 100% says the
    lock, not the CPU, bounds the drain: another worker would only wait for it."""
    used = [(d.lock, d) for d in drains if d.lock is not None]
    if not drains or len(used) < len(drains):
        return "write lock: not read"
    share = statistics.median(lock.held_s / d.elapsed for lock, d in used)
    per_row = statistics.median(lock.held_s / d.rows * 1e6 for lock, d in used)
    refused = statistics.median(lock.refused / d.rows for lock, d in used)
    which = "the file's write lock" if files == 1 else f"the {files} files' write locks"
    return (
        f"lashtui's hold of {which} (medians, the workers' holds summed): {share:.0%} of the "
        f"drain, {per_row:,.0f} us a row; {refused:.2f} tries a row refused by another's hold"
    )


def postgres_figures(
    rows: int, on_pg: list[Drain], sqlite: list[Drain], skip: str | None
) -> list[Figure]:
    """The same three figures on PostgreSQL. The throughput's peer is lashtui on SQLite in
    the same run; the exactly-once figures have none (their target is absolute)."""
    label = f"{WORKERS} worker procs drain {rows:,} rerunnable"
    sqlite_rows = sqlite[0].rows if sqlite else 0
    executions: dict[str, Any] = dict(
        id="P3", figure=f"{label}: executions", unit="runs", store=pg_server.STORE,
        target=f"exactly {rows:,}", compare=False,
    )  # fmt: skip
    wrong: dict[str, Any] = dict(
        id="P3", figure=f"{label}: duplicates + missing + errors", unit="rows",
        store=pg_server.STORE, target="0 in every run", rule="all<=:0", compare=False,
    )  # fmt: skip
    throughput: dict[str, Any] = dict(
        id="P3", figure=f"{label}: throughput", unit="proc/s", store=pg_server.STORE,
        peer_name=f"lashtui on SQLite, {sqlite_rows:,} rows, same run",
        target="context: the SQLite store (no target)",
    )  # fmt: skip
    if skip is not None:
        return [Figure.unmeasured(reason=skip, **spec) for spec in (executions, wrong, throughput)]
    return [
        Figure(
            lashtui=[float(sum(d.executions.values())) for d in on_pg],
            notes=[_runs("lashtui on PostgreSQL", on_pg)],
            **executions,
        ),
        Figure(lashtui=[float(d.wrong) for d in on_pg], **wrong),
        Figure(
            lashtui=[d.rows / d.elapsed for d in on_pg],
            peer=[d.rows / d.elapsed for d in sqlite],
            notes=[
                pg_server.settings(),
                CLOCK_NOTE + ", and after each burst of commits announced by LISTEN/NOTIFY",
            ],
            **throughput,
        ),
    ]
