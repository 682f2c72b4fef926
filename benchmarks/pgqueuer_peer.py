"""PG1's context peer: pgqueuer on PostgreSQL (asyncpg driver), in the shapes of P1 and P3.

pgqueuer is imported only here, and only when PG1 runs (an optional benchmark dependency,
`lashtui[bench]`). It is context, not a target: it claims 10 jobs per statement
(`batch_size`) and writes completions in batches (every 10 or 100 ms), so a finished job
can be re-run after a crash (at least once), where lashtui and procrastinate commit each
terminal before moving on. Each run is in a fresh database with pgqueuer's schema
(`Queries.install`); the `noop` entrypoint appends `<n> <os pid>` to a record file (one
O_APPEND write), as the other sides do. A job leaves the `pgqueuer` table once finished,
so the census counts what is left.

- `e2e`: one process: a QueueManager task works (0.5 s to LISTEN before the clock) while
  another connection enqueues each job and awaits it; the clock stops when the census
  (every 10 ms, after the last enqueue) finds the queue empty.
- drain: `prefill` enqueues n jobs before the clock; each worker OS process
  (`python -m benchmarks.pgqueuer_peer URL RECORD READY HOLD`) connects, touches READY,
  waits for HOLD, then runs in drain mode and exits once the queue is empty.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

from benchmarks.p3_worker import Recorder, wait_for_file

BATCH = 10  # qm.run's default batch_size
LISTEN_S = 0.5
POLL_S = 0.01


def census(n: int) -> str:
    """Jobs finished, out of n enqueued."""
    return f"SELECT {int(n)} - count(*) FROM pgqueuer"


async def _connect(url: str) -> tuple[Any, Any]:
    import asyncpg
    from pgqueuer import AsyncpgDriver

    conn = await asyncpg.connect(url)
    return conn, AsyncpgDriver(conn)


def _manager(driver: Any, recorder: Recorder) -> Any:
    from pgqueuer import QueueManager
    from pgqueuer.models import Job
    from pgqueuer.queries import Queries

    manager = QueueManager(Queries(driver))

    @manager.entrypoint("noop")  # type: ignore[untyped-decorator]
    async def noop(job: Job) -> None:
        recorder.record((job.payload or b"").decode())

    return manager


async def _prefill(url: str, n: int) -> None:
    from pgqueuer.queries import Queries

    conn, driver = await _connect(url)
    queries = Queries(driver)
    await queries.install()
    for first in range(0, n, 1000):
        ids = range(first, min(n, first + 1000))
        await queries.enqueue(["noop"] * len(ids), [str(i).encode() for i in ids], [0] * len(ids))
    await conn.close()


def prefill(url: str, n: int) -> None:
    """pgqueuer's schema, and n jobs enqueued, in the empty database at `url`."""
    asyncio.run(_prefill(url, n))


async def _e2e(url: str, n: int, record: str, guard_s: float) -> float:
    from pgqueuer.queries import Queries

    work_conn, work_driver = await _connect(url)
    put_conn, put_driver = await _connect(url)
    queries = Queries(put_driver)
    await queries.install()
    manager = _manager(work_driver, Recorder(record))
    worker = asyncio.create_task(manager.run(batch_size=BATCH))
    await asyncio.sleep(LISTEN_S)
    start = time.perf_counter()
    for i in range(n):
        await queries.enqueue("noop", str(i).encode())
    deadline = time.monotonic() + guard_s
    while await put_conn.fetchval(census(n)) != n:
        if time.monotonic() > deadline:
            raise RuntimeError(f"PG1: pgqueuer did not finish {n} jobs")
        await asyncio.sleep(POLL_S)
    elapsed = time.perf_counter() - start
    manager.shutdown.set()
    await asyncio.wait_for(worker, 30)
    await put_conn.close()
    await work_conn.close()
    return elapsed


def e2e(url: str, n: int, record: str, guard_s: float) -> float:
    """Seconds for n jobs enqueued one by one and run by a worker in this process."""
    return asyncio.run(_e2e(url, n, record, guard_s))


async def _worker(url: str, record: str, ready: str, hold: str) -> None:
    from pgqueuer.types import QueueExecutionMode

    conn, driver = await _connect(url)
    manager = _manager(driver, Recorder(record))
    open(ready, "w").close()  # noqa: ASYNC230 (before the clock; nothing else runs yet)
    await asyncio.to_thread(wait_for_file, hold)
    await manager.run(batch_size=BATCH, mode=QueueExecutionMode.drain)
    await conn.close()


if __name__ == "__main__":
    asyncio.run(_worker(*sys.argv[1:5]))
