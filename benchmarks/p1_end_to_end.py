"""P1: start -> claim -> run (no-op engine) -> terminal, end to end, against huey.

lashtui: a fresh registry file (WAL, synchronous=NORMAL, as the store opens it), one
embedded `ProcessWorker` on this event loop with an engine `noop` that returns at once, and
the `Processes` facade with that worker. The clock starts before the first `start`; each
process is started (awaited, one after another, as a host would) as a rerunnable
`Engine(kind="noop")` row; the facade drives the worker after every start, so runs overlap
with later starts. The clock stops when the worker has no run left in flight (each run
ends after its terminal commits); the registry's census then confirms, off the clock, that
every row completed.

Peer: huey's SQLite storage (`SqliteHuey`'s storage class: WAL) in a fresh file, a consumer
in this process with 2 worker threads (one per vCPU here), results stored. The clock starts
before the first enqueue and stops when the last task's result has been read. Two huey runs
per repeat:

* as it ships: SQLite's default synchronous=FULL (an fsync per commit) and the consumer's
  default polling (100 ms, backing off to 10 s when the queue is empty). This is how
  performance.md's baseline (608-681 tasks/s) was measured, and the peer the target is
  stated against;
* tuned: synchronous=NORMAL like lashtui's (no fsync per commit in WAL mode: a power cut
  may lose the last commits, a crash of the process loses nothing) and polling every 1 ms,
  the fastest huey goes here. Issue 19's targets: >= 3x huey as shipped and >= 1.2x huey
  tuned, each its own row, from the same runs.

On PostgreSQL, in the same run: the same lashtui side on a `PostgresProcessRegistry` in a
fresh schema on the server `benchmarks/pg_server.py` finds (a smaller count in quick mode),
reported as "P1 (PostgreSQL)" against lashtui on SQLite from the same repeat, as context with
no target (the targets against huey are the SQLite store's; the ratio to huey as shipped is
noted). Each transaction is a round trip to a server on this host and one thread hop, where
SQLite's runs on the loop's thread against a file. The test server runs with fsync=off
(`.ci/postgres`; the note prints the server's settings), so its commits flush nothing to
disk, and neither do SQLite's (WAL, synchronous=NORMAL): neither side pays an fsync per
commit. SQLite runs that way in production too; a production server (fsync=on) flushes its
WAL at every commit, so it would be slower than measured here.

What would make it unfair: the work differs in kind. A lashtui run is durable and
fenced: a registered record (one transaction, committed before `start` returns), a lease
claim with the fresh row and the started fact (one transaction), and a terminal event with
the release (one transaction). The store commits the writes made in one turn of the loop
together (group commit), each in its own savepoint, so a start's commit also carries the
worker's claims and terminals of that moment; no write is acknowledged before it is
committed. A huey task is a pickled message put, taken and a result stored. That
difference is the point of the comparison (what durability costs over a plain queue), not
a flaw in it. Sides alternate per repeat.
"""

from __future__ import annotations

import asyncio
import os
import signal
import statistics
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

from benchmarks import pg_server
from benchmarks.huey_peer import open_huey
from benchmarks.report import Figure, Mode, scratch
from lashtui.admin import Processes
from lashtui.model import Engine, ProcessStartRequest, RecoveryDisposition
from lashtui.registry import open_registry
from lashtui.worker import ProcessWorker


async def noop(ctx: object, payload: object) -> object:
    return None


EngineFn = Callable[[Any, Any], Awaitable[object]]


async def _lashtui(target: str, count: int, engine: EngineFn) -> float:
    async with open_registry(target) as registry:
        worker = ProcessWorker(registry)
        worker.engines.register("noop", engine)
        processes = Processes(registry, worker=worker)
        requests = [
            ProcessStartRequest(
                id=f"p1-{n:06d}",
                input=Engine(kind="noop", payload={}),
                disposition=RecoveryDisposition.RERUNNABLE,
            )
            for n in range(count)
        ]
        async with worker.running():
            start = time.perf_counter()
            for request in requests:
                await processes.start(request)
            await worker.idle()  # every run this worker spawned has ended
            elapsed = time.perf_counter() - start
        census = await registry.process_census()  # checked outside the clock
        if census.live or census.terminal.get("completed") != count:
            raise RuntimeError(f"P1: not every process completed: {census.terminal}")
        return count / elapsed


def lashtui_rate(target: str, count: int, engine: EngineFn = noop) -> float:
    """`count` processes end to end on the registry at `target` (a file path or a
    postgresql:// URL), per second. `engine` runs each (PG1 passes one that also counts its
    executions outside the registry)."""
    return asyncio.run(_lashtui(target, count, engine))


def huey_rate(path: str, count: int, tuned: bool) -> float:
    huey = open_huey("bench", path, normal_sync=tuned)

    @huey.task()  # type: ignore[untyped-decorator]
    def trivial(n: int) -> int:
        return n

    polling = (
        {"initial_delay": 0.001, "backoff": 1.0, "max_delay": 0.001} if tuned else {}
    )
    consumer = huey.create_consumer(
        workers=2, worker_type="thread", periodic=False, check_worker_health=False, **polling
    )
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    assert threading.current_thread() is threading.main_thread()
    consumer.start()
    try:
        start = time.perf_counter()
        results = [trivial(n) for n in range(count)]
        for n, result in enumerate(results):
            if result.get(blocking=True, timeout=120) != n:
                raise RuntimeError("P1: huey returned a wrong result")
        elapsed = time.perf_counter() - start
    finally:
        consumer.stop(graceful=True)
        for sig, handler in saved.items():
            signal.signal(sig, handler)
        huey.storage.close()
    return count / elapsed


def run(mode: Mode) -> list[Figure]:
    count = mode.size(1_000, 5_000, smoke=100)
    pg_count = mode.size(300, 5_000, smoke=50)
    skip = pg_server.unavailable()
    ours: list[float] = []
    on_pg: list[float] = []
    peer: list[float] = []
    tuned: list[float] = []
    for n in range(mode.repeats):
        with scratch("p1") as tmp:
            ours.append(lashtui_rate(os.path.join(tmp, f"lashtui-{n}.db"), count))
            if skip is None:
                with pg_server.scratch_schema("p1") as url:
                    on_pg.append(lashtui_rate(url, pg_count))
            peer.append(huey_rate(os.path.join(tmp, f"huey-{n}.db"), count, tuned=False))
            tuned.append(huey_rate(os.path.join(tmp, f"huey-tuned-{n}.db"), count, tuned=True))
    figure = f"start->claim->run->terminal, {count:,} no-op processes"
    return [
        Figure(
            id="P1",
            figure=figure,
            unit="proc/s",
            lashtui=ours,
            peer_name="huey SqliteHuey as shipped",
            peer=peer,
            target=">= 3x huey as shipped",
            rule="ratio>=:3",
        ),
        Figure(
            id="P1",
            figure=figure + " (huey tuned)",
            unit="proc/s",
            lashtui=ours,
            peer_name="huey tuned: synchronous=NORMAL, 1 ms polling",
            peer=tuned,
            target=">= 1.2x huey tuned",
            rule="ratio>=:1.2",
            notes=[
                "huey as shipped commits with synchronous=FULL (an fsync each); tuned, it "
                "commits like lashtui (WAL, synchronous=NORMAL) and polls every 1 ms"
            ],
        ),
        _postgres(pg_count, on_pg, ours, peer, skip),
    ]


def _postgres(
    count: int, on_pg: list[float], sqlite: list[float], huey: list[float], skip: str | None
) -> Figure:
    fields: dict[str, Any] = dict(
        store=pg_server.STORE,
        peer_name="lashtui on SQLite, same run",
        target="context: the SQLite store (no target)",
    )
    figure = f"start->claim->run->terminal, {count:,} no-op processes"
    if skip is not None:
        return Figure.unmeasured("P1", figure, "proc/s", skip, **fields)
    vs_huey = statistics.median(on_pg) / statistics.median(huey)
    return Figure(
        id="P1",
        figure=figure,
        unit="proc/s",
        lashtui=on_pg,
        peer=sqlite,
        notes=[
            f"{pg_server.settings()}; against huey as shipped in the same run: "
            f"{vs_huey:.2f}x (the targets against huey are stated for the SQLite store)"
        ],
        **fields,
    )
