"""P3's peer: a huey consumer with 4 (or WORKERS) worker OS processes on SQLite (a
program P3 spawns).

    python -c 'from benchmarks.p3_huey import serve; serve()' PATH RECORD READY HOLD [WORKERS]

Run through `-c`, not `-m`, so the task is registered under this module's name in both the
enqueuing process and the consumer (huey names a task by its function's module).

Storage: huey's `SqliteStorage` (WAL) with synchronous=NORMAL, as in P1, so both sides
commit alike. Each execution appends `<n> <os pid>\\n` to RECORD with one O_APPEND
write(2), as P3's lashtui engine does. The consumer is built (imports done), touches READY,
then waits for the file HOLD before it forks its workers and starts taking tasks; workers
poll every 1 ms (huey's default backs off to 10 s when idle, which would measure its sleep,
not its work).
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from benchmarks.huey_peer import open_huey

_fd: dict[int, int] = {}


def make_huey(path: str, record: str) -> tuple[Any, Any]:
    """(the huey instance, its `count` task)."""
    huey = open_huey("p3", path, normal_sync=True)

    @huey.task(name="p3_count")  # type: ignore[untyped-decorator]
    def count(n: int) -> int:
        pid = os.getpid()
        fd = _fd.get(pid)
        if fd is None:  # one descriptor per forked worker
            fd = _fd[pid] = os.open(record, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.write(fd, f"{n} {pid}\n".encode())
        return n

    return huey, count


def serve() -> None:
    path, record, ready, hold = sys.argv[1:5]
    workers = int(sys.argv[5]) if len(sys.argv) > 5 else 4
    huey, _ = make_huey(path, record)
    consumer = huey.create_consumer(
        workers=workers, worker_type="process", periodic=False, initial_delay=0.001,
        backoff=1.0, max_delay=0.001, check_worker_health=False,
    )  # fmt: skip
    open(ready, "w").close()
    while not os.path.exists(hold):
        time.sleep(0.005)
    consumer.run()
