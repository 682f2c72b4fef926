"""W1: the headless worker wakes on commit: `lashtui start` in one OS process -> the run's
first line in the worker, another OS process, p50 and p95, on SQLite and on PostgreSQL.

lashtui: the real `lashtui worker` command (its own OS process, default settings: a 10 s
renew interval, which is also its full drive's) on a fresh registry. A warm-up process is
run through it first, so what follows is steady state. Then another OS process
(`benchmarks/w_submit.py lashtui`) starts `steps` processes one at a time, a random
40-90 ms apart, with the `lashtui start` command's own request builder and the facade's
`start`, and stamps `time.time()` just before each start's transaction (the handle is
opened once, so no interpreter start-up is counted). Each process's plan begins with an
`emit` step, so its first event (`w1.first`) is the handler's first line; the event's time
is the worker's wall clock when the step ran. Latency = that time - the stamp.

Peer, in the same run: huey's consumer at its default settings (`benchmarks/w1_huey.py`:
one worker thread polling SqliteHuey, from 0.1 s after an empty poll up to 10 s), with
tasks enqueued from another OS process (`w_submit.py huey`) on the same schedule, each
stamped just before its enqueue; the task's first line stamps `time.time()` in the
consumer.

What would make it unfair: the event's time is whole milliseconds, truncated, so each
lashtui latency reads up to 1 ms short (huey's is a float). Starts are spaced wider than
either side's latency, so neither is measured batching a burst (a busy worker spaces its
wake-up reads: `lashtui/worker/wake.py`). The submitter's commit is inside the figure on
both sides (lashtui's start, huey's enqueue); the note says how long lashtui's took.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import pg_server
from benchmarks.d_probe import percentile
from benchmarks.report import Figure, Mode, scratch
from lashtui.model import ProcessLifecycleStatus
from lashtui.registry import ProcessRegistry, open_registry

LASHTUI = str(Path(sys.executable).parent / "lashtui")
GUARD_S = 60.0  # how long to wait for work to show before giving up on it
FIRST_EVENT = "w1.first"


def _submit(argv: list[str]) -> dict[str, Any]:
    """Run the submitter as another OS process; its stamps."""
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.w_submit", *argv],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"W1: the submitter failed ({done.returncode}): {done.stderr[-2000:]}")
    stamps: dict[str, Any] = json.loads(done.stdout)
    return stamps


def _stop(child: subprocess.Popen[bytes]) -> None:
    child.send_signal(signal.SIGTERM)
    try:
        child.wait(timeout=30)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


async def _first_lines(registry: ProcessRegistry, ids: list[str]) -> dict[str, float]:
    """Each process's first line (its `w1.first` event's time, epoch seconds), once every
    one has ended. Polled: a guard, not a measurement (the times are the events')."""
    deadline = time.monotonic() + GUARD_S
    pending = list(ids)
    while pending:
        found = await registry.get_processes(pending)
        pending = [
            pid for pid in pending
            if pid not in found or found[pid].status.state is ProcessLifecycleStatus.RUNNING
        ]  # fmt: skip
        if pending and time.monotonic() > deadline:
            raise RuntimeError(f"W1: {len(pending)} runs never ended, e.g. {pending[0]}")
        await asyncio.sleep(0.02)
    firsts: dict[str, float] = {}
    for pid in ids:
        events = await registry.events_after(pid, 0)
        first = next(e for e in events if e.event_type == FIRST_EVENT)
        firsts[pid] = first.occurred_at_ms / 1000
    return firsts


async def _prepare(target: str, warm_up: str) -> None:
    """Create the registry and start the warm-up process (the worker runs it)."""
    from lashtui.admin import Processes
    from lashtui.cli import build_parser
    from lashtui.command.action import start_request

    plan = json.dumps({"steps": [{"emit": {"type": FIRST_EVENT, "payload": 0}}]})
    args = build_parser().parse_args(
        ["--db", target, "start", warm_up, "--engine", "steps",
         "--disposition", "rerunnable", "--payload", plan]
    )  # fmt: skip
    async with open_registry(target) as registry:
        await Processes(registry).start(start_request(args))


async def _collect(target: str, ids: list[str]) -> dict[str, float]:
    async with open_registry(target, create=False) as registry:
        return await _first_lines(registry, ids)


def lashtui_run(tmp: str, target: str, count: int, prefix: str) -> tuple[list[float], list[float]]:
    """One run against a `lashtui worker` process: (latencies, the submitter's commit
    times), in seconds."""
    warm_up = f"{prefix}-warm"
    asyncio.run(_prepare(target, warm_up))
    log = open(os.path.join(tmp, f"{prefix}-worker.log"), "wb")  # noqa: SIM115 (closed below)
    worker = subprocess.Popen([LASHTUI, "--db", target, "worker"], stdout=log, stderr=log)
    try:
        asyncio.run(_collect(target, [warm_up]))  # the worker is up and has run one
        stamps = _submit(["lashtui", target, str(count), prefix])
        firsts = asyncio.run(_collect(target, list(stamps)))
    finally:
        _stop(worker)
        log.close()
    latencies = [firsts[pid] - before for pid, (before, _) in stamps.items()]
    commits = [after - before for before, after in stamps.values()]
    return latencies, commits


def huey_run(tmp: str, count: int) -> list[float]:
    db, record, ready = (os.path.join(tmp, name) for name in ("h.db", "h.record", "h.ready"))
    log = open(os.path.join(tmp, "huey.log"), "wb")  # noqa: SIM115 (closed below)
    code = "from benchmarks.w1_huey import serve; serve()"
    consumer = subprocess.Popen(
        [sys.executable, "-c", code, db, record, ready], stdout=log, stderr=log
    )
    try:
        _wait_for(lambda: os.path.exists(ready), "the huey consumer to be ready")
        stamps = _submit(["huey", db, record, str(count)])
        _wait_for(lambda: len(_lines(record)) >= count, "every huey task to start")
        started = {n: float(at) for n, at in (line.split() for line in _lines(record))}
    finally:
        _stop(consumer)
        log.close()
    return [started[n] - at for n, at in stamps.items()]


def _lines(path: str) -> list[str]:
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as handle:
        return [line for line in handle.read().splitlines() if line]


def _wait_for(ready: Any, what: str) -> None:
    deadline = time.monotonic() + GUARD_S
    while not ready():
        if time.monotonic() > deadline:
            raise RuntimeError(f"W1: gave up waiting for {what}")
        time.sleep(0.02)


@dataclass
class Runs:
    """p95 and p50 per run, of one side."""

    p95: list[float] = field(default_factory=list)
    p50: list[float] = field(default_factory=list)
    worst: float = 0.0
    commits: list[float] = field(default_factory=list)

    def add(self, latencies: list[float], commits: list[float] | None = None) -> None:
        self.p95.append(percentile(latencies, 0.95))
        self.p50.append(statistics.median(latencies))
        self.worst = max(self.worst, *latencies)
        self.commits.extend(commits or [])


def run(mode: Mode) -> list[Figure]:
    count = mode.size(15, 200, smoke=5)
    skip = pg_server.unavailable()
    sqlite, on_pg, huey = Runs(), Runs(), Runs()
    for n in range(mode.repeats):
        with scratch("w1") as tmp:
            sqlite.add(*lashtui_run(tmp, os.path.join(tmp, "w1.db"), count, f"w1-{n}"))
        if skip is None:
            with scratch("w1") as tmp, pg_server.scratch_schema("w1") as url:
                on_pg.add(*lashtui_run(tmp, url, count, f"w1-{n}"))
        with scratch("w1") as tmp:
            huey.add(huey_run(tmp, count))
    return [*_figures(count, sqlite, huey), *_figures(count, on_pg, huey, pg_server.STORE, skip)]


def _figures(
    count: int, ours: Runs, peer: Runs, store: str = "", skip: str | None = None
) -> list[Figure]:
    common: dict[str, Any] = dict(
        id="W1", unit="s", peer_name="huey consumer, default settings", store=store
    )
    p95: dict[str, Any] = dict(
        figure="`lashtui start` in another process -> first line in the worker, p95",
        target="p95 <= 25 ms", rule="max<=:0.025", **common,
    )  # fmt: skip
    p50: dict[str, Any] = dict(
        figure="`lashtui start` in another process -> first line in the worker, p50",
        target="context", **common,
    )  # fmt: skip
    if skip is not None:
        return [Figure.unmeasured(reason=skip, **p95), Figure.unmeasured(reason=skip, **p50)]
    commit = statistics.median(ours.commits) * 1000 if ours.commits else 0.0
    notes = [
        f"{count} starts a run, 40-90 ms apart; worst single latency {ours.worst * 1000:.0f} ms "
        f"(huey {peer.worst * 1000:.0f} ms); the start's own commit, inside the figure: "
        f"median {commit:.1f} ms"
    ]
    if store == pg_server.STORE:
        notes.append(pg_server.settings())
    return [
        Figure(lashtui=ours.p95, peer=peer.p95, notes=notes, **p95),
        Figure(lashtui=ours.p50, peer=peer.p50, **p50),
    ]
