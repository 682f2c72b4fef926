"""PG1's peer: procrastinate on PostgreSQL, as shipped, in the two shapes of P1 and P3.

procrastinate is imported only here, and only when PG1 runs (an optional benchmark
dependency, `lashtui[bench]`, not lashtui's). Each run is in a fresh database with
procrastinate's own schema (`apply_schema_async`), `PsycopgConnector` (psycopg 3 and
psycopg_pool), the worker's defaults: LISTEN/NOTIFY on, concurrency 1, jobs kept after they
finish. The task is `async def noop(n)`, which appends `<n> <os pid>` to a record file with
one O_APPEND write (benchmarks/p3_worker.py's `Recorder`), so executions are counted
outside the queue, as for lashtui.

- `e2e`: one process, one event loop: the worker runs as a task (0.5 s to register and
  LISTEN before the clock); each job is deferred and awaited one after another (one INSERT
  committed per job, as P1 awaits each `start`); the clock stops when a census on another
  connection (every 10 ms, after the last defer) counts n jobs in a final status.
- drain: `prefill` defers n jobs before the clock (1,000 a statement); each worker OS
  process (`python -m benchmarks.procrastinate_peer URL RECORD READY HOLD`) opens the app,
  touches READY, waits for HOLD, then runs with `wait=False` and exits once the queue is
  empty. PG1 counts with `CENSUS`.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

from benchmarks.p3_worker import Recorder, wait_for_file

CENSUS = "SELECT count(*) FROM procrastinate_jobs WHERE status NOT IN ('todo', 'doing')"
SUCCEEDED = "SELECT count(*) FROM procrastinate_jobs WHERE status = 'succeeded'"
LISTEN_S = 0.5  # the e2e worker registers and LISTENs before the clock starts
POLL_S = 0.01


def make_app(url: str, recorder: Recorder | None) -> tuple[Any, Any]:
    """(the procrastinate App, its `noop` task)."""
    import procrastinate

    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=url))

    @app.task(name="noop")  # type: ignore[untyped-decorator]
    async def noop(n: int) -> None:
        if recorder is not None:
            recorder.record(str(n))

    return app, noop


async def _prefill(url: str, n: int) -> None:
    app, noop = make_app(url, None)
    async with app.open_async():
        await app.schema_manager.apply_schema_async()
        for first in range(0, n, 1000):
            await noop.batch_defer_async(*({"n": i} for i in range(first, min(n, first + 1000))))


def prefill(url: str, n: int) -> None:
    """procrastinate's schema, and n jobs deferred, in the empty database at `url`."""
    asyncio.run(_prefill(url, n))


async def _e2e(url: str, n: int, record: str, guard_s: float) -> float:
    import psycopg

    app, noop = make_app(url, Recorder(record))
    async with app.open_async():
        await app.schema_manager.apply_schema_async()
        census = await psycopg.AsyncConnection.connect(url, autocommit=True)
        worker = asyncio.create_task(app.run_worker_async(install_signal_handlers=False))
        await asyncio.sleep(LISTEN_S)
        start = time.perf_counter()
        for i in range(n):
            await noop.defer_async(n=i)
        deadline = time.monotonic() + guard_s
        while int((await (await census.execute(CENSUS)).fetchone() or (0,))[0]) != n:
            if time.monotonic() > deadline:
                raise RuntimeError(f"PG1: procrastinate did not finish {n} jobs")
            await asyncio.sleep(POLL_S)
        elapsed = time.perf_counter() - start
        succeeded = (await (await census.execute(SUCCEEDED)).fetchone() or (0,))[0]
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
        await census.close()
    if succeeded != n:
        raise RuntimeError(f"PG1: {succeeded} procrastinate jobs succeeded, expected {n}")
    return elapsed


def e2e(url: str, n: int, record: str, guard_s: float) -> float:
    """Seconds for n jobs deferred one by one and run by a worker in this process."""
    return asyncio.run(_e2e(url, n, record, guard_s))


async def _worker(url: str, record: str, ready: str, hold: str) -> None:
    app, _ = make_app(url, Recorder(record))
    async with app.open_async():
        open(ready, "w").close()  # noqa: ASYNC230 (before the clock; nothing else runs yet)
        await asyncio.to_thread(wait_for_file, hold)
        await app.run_worker_async(concurrency=1, wait=False, install_signal_handlers=False)


if __name__ == "__main__":
    asyncio.run(_worker(*sys.argv[1:5]))
