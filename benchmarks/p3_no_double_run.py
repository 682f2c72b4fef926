"""P3: no process runs twice. 4 worker OS processes drain N rerunnable processes.

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

What would make it unfair: as in P1, a lashtui run is a fenced lease claim, a started fact,
a terminal event and a release, where a huey task is a message taken and a result stored;
and huey's consumer hands tasks out from one process, where lashtui's 4 workers compete for
every row through the registry (that competition is what this benchmark is about).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field

from benchmarks.report import Figure, Mode, scratch
from lashtui.admin import Processes
from lashtui.model import Engine, ProcessStartRequest, RecoveryDisposition
from lashtui.registry import open_registry

WORKERS = 4
POLL_S = 0.01
GUARD_S = 300.0
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclass
class Drain:
    rows: int
    elapsed: float
    executions: Counter[str]
    errors: list[str] = field(default_factory=list)

    @property
    def duplicates(self) -> int:
        return sum(n - 1 for n in self.executions.values() if n > 1)

    @property
    def missing(self) -> int:
        return self.rows - len(self.executions)

    @property
    def wrong(self) -> int:
        return self.duplicates + self.missing + len(self.errors)


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


def wait_for(condition: object, what: str) -> None:
    deadline = time.monotonic() + GUARD_S
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise RuntimeError(f"P3: timed out waiting for {what}")
        time.sleep(POLL_S)


def spawn(argv: list[str], stderr_path: str) -> subprocess.Popen[bytes]:
    with open(stderr_path, "wb") as stderr:
        return subprocess.Popen(
            argv, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr
        )


def lashtui_drain(tmp: str, rows: int, workers: int = WORKERS) -> Drain:
    db, record, hold = (os.path.join(tmp, name) for name in ("l.db", "l.record", "l.hold"))
    asyncio.run(_start_rows(db, [f"p3-{n:06d}" for n in range(rows)]))
    common = ["--db", db, "--record", record, "--hold", hold, "--until-empty"]
    timings = ["--ttl-ms", "30000", "--renew-ms", "10000"]  # lash's defaults
    stats = [os.path.join(tmp, f"l-stats-{n}.json") for n in range(workers)]
    logs = [os.path.join(tmp, f"l-stderr-{n}.log") for n in range(workers)]
    argv = [sys.executable, "-m", "benchmarks.p3_worker", *common, *timings]
    children = [
        spawn([*argv, "--owner-id", f"p3-worker-{n}", "--stats", stats[n]], logs[n])
        for n in range(workers)
    ]
    reader = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        wait_for(lambda: all(os.path.exists(path) for path in stats), "the workers to be ready")
        query = "SELECT count(*) FROM processes WHERE status != 'running'"
        start = time.perf_counter()
        open(hold, "w").close()
        wait_for(lambda: reader.execute(query).fetchone()[0] == rows, "every row terminal")
        elapsed = time.perf_counter() - start
        completed = reader.execute(
            "SELECT count(*) FROM processes WHERE status = 'completed'"
        ).fetchone()[0]
        errors = []
        if completed != rows:
            errors.append(f"{rows - completed} row(s) ended other than completed")
        for n, child in enumerate(children):
            if (code := child.wait(timeout=60)) != 0:
                errors.append(f"worker {n} exited {code}")
            with open(logs[n], encoding="utf-8", errors="replace") as log:
                logged = [line for line in log if line.startswith(("WARNING", "ERROR", "Trace"))]
            errors.extend(f"worker {n}: {line.strip()}" for line in logged)
    finally:
        reader.close()
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
    return Drain(rows, elapsed, read_record(record), errors)


def huey_drain(tmp: str, rows: int) -> Drain:
    from benchmarks.p3_huey import make_huey

    db, record, ready, hold = (
        os.path.join(tmp, name) for name in ("h.db", "h.record", "h.ready", "h.hold")
    )
    huey, count = make_huey(db, record)
    for n in range(rows):
        count(n)
    code = "from benchmarks.p3_huey import serve; serve()"
    consumer = spawn(
        [sys.executable, "-c", code, db, record, ready, hold], os.path.join(tmp, "h-stderr.log")
    )
    errors: list[str] = []
    try:
        wait_for(lambda: os.path.exists(ready), "the huey consumer to be ready")
        start = time.perf_counter()
        open(hold, "w").close()
        wait_for(lambda: huey.storage.result_store_size() == rows, "every huey result")
        elapsed = time.perf_counter() - start
    finally:
        consumer.send_signal(signal.SIGTERM)
        try:
            consumer.wait(timeout=30)
        except subprocess.TimeoutExpired:
            consumer.kill()
            consumer.wait()
        huey.storage.close()
    return Drain(rows, elapsed, read_record(record), errors)


def run(mode: Mode) -> list[Figure]:
    rows = mode.size(1_000, 10_000)
    ours: list[Drain] = []
    peer: list[Drain] = []
    for _ in range(mode.repeats):
        with scratch("p3") as tmp:
            ours.append(lashtui_drain(tmp, rows))
        with scratch("p3") as tmp:
            peer.append(huey_drain(tmp, rows))
    return figures(rows, ours, peer)


def figures(rows: int, ours: list[Drain], peer: list[Drain]) -> list[Figure]:
    def runs(side: str, drains: list[Drain]) -> str:
        each = ", ".join(
            f"{sum(d.executions.values())}/{d.duplicates}/{d.missing}/{len(d.errors)}"
            for d in drains
        )
        errors = "; ".join(e for d in drains for e in d.errors[:3])
        return f"{side} runs (executions/duplicates/missing/errors): {each}" + (
            f"; {errors}" if errors else ""
        )

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
            notes=[runs("lashtui", ours), runs("huey", peer)],
        ),
        Figure(
            id="P3",
            figure=f"{label}: duplicates + missing + errors",
            unit="rows",
            lashtui=[float(d.wrong) for d in ours],
            peer_name=peer_name,
            peer=[float(d.wrong) for d in peer],
            target="0 in every run",
            # The rule reads the median; every run must have none, so one bad run fails it.
            rule=f"max<=:{0 if all(d.wrong == 0 for d in ours) else -1}",
            compare=False,
        ),
        Figure(
            id="P3",
            figure=f"{label}: throughput",
            unit="proc/s",
            lashtui=[d.rows / d.elapsed for d in ours],
            peer_name=peer_name,
            peer=[d.rows / d.elapsed for d in peer],
            target="context (no target)",
            notes=[
                "clock: hold file released -> every row terminal (huey: every result stored); "
                "interpreter start-up is before the clock; lease TTL 30 s, drive every 10 s"
            ],
        ),
    ]
