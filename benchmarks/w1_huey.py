"""W1's peer: huey's consumer at its default settings on SqliteHuey, and the task whose
start W1 times (a program W1 spawns).

    python -c 'from benchmarks.w1_huey import serve; serve()' PATH RECORD READY

The consumer is `huey.create_consumer()` with no arguments: one worker thread that polls
the queue, 0.1 s after an empty poll at first, then 1.15 times longer after each further
empty one, up to 10 s, and again after 0.1 s once it ran a task. Storage is `SqliteHuey`
as shipped (WAL, synchronous=FULL). The task's first line appends `<n> <time.time()>` to
RECORD with one O_APPEND write(2). The consumer touches READY once built, then runs until
SIGTERM.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from benchmarks.huey_peer import open_huey

_fd: dict[int, int] = {}


def make_huey(path: str, record: str) -> tuple[Any, Any]:
    """(the huey instance, its `first_line` task)."""
    huey = open_huey("w1", path, normal_sync=False)

    @huey.task(name="w1_first_line")  # type: ignore[untyped-decorator]
    def first_line(n: int) -> int:
        now = time.time()
        fd = _fd.get(0)
        if fd is None:
            fd = _fd[0] = os.open(record, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.write(fd, f"{n} {now!r}\n".encode())
        return n

    return huey, first_line


def serve() -> None:
    path, record, ready = sys.argv[1:4]
    huey, _ = make_huey(path, record)
    consumer = huey.create_consumer()  # every setting at huey's default
    open(ready, "w").close()
    consumer.run()
