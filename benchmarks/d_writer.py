"""The other OS process of the dashboard figures (D1, D2): it commits to a registry the
dashboard is watching, through its own registry handle and `Processes` facade, as a worker
or a CLI on the same host would.

    python -m benchmarks.d_writer register TARGET COUNT PREFIX   (D1; a file or postgresql:// URL)
    python -m benchmarks.d_writer churn PATH ROWS RUNNING RATE SECONDS   (D2)

`register` registers COUNT externally-owned processes `PREFIX-0000`, ... one at a time, a
random 40-90 ms apart (so commits never queue behind each other and never fall in step
with a 50 ms poll), and prints `{process id: CLOCK_MONOTONIC seconds when its commit
returned}` as JSON. CLOCK_MONOTONIC is system-wide on Linux, so the parent compares it with
its own `time.monotonic()`.

`churn` makes RATE changes a second for SECONDS against a `seed.big_registry(ROWS,
RUNNING)` file: nine in ten are cancel requests to live processes (an appended
`cancel_requested` event; nothing runs them, so they stay live: one in ten to a live row in
the first window the dashboard shows, the rest anywhere), one in ten registers a new
process. It prints how many changes it made and how far behind its schedule it fell.
Every run's cancel reasons (and new ids) carry a token of their own: a cancel request's
replay key is derived from its reason, so a run repeating an earlier run's reasons on the
same file would be replayed, commit nothing, and leave the dashboard ~10 commits a second
instead of 100 (what made every D2 repeat after the first look like a polling fallback).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import time

from lashtui.admin import Processes
from lashtui.model import ProcessEventAppendRequest, ProcessStartRequest
from lashtui.registry import open_registry

D1_GAP_S = (0.04, 0.09)


async def register(target: str, count: int, prefix: str) -> dict[str, float]:
    async with open_registry(target, create=False) as registry:
        processes = Processes(registry)
        committed: dict[str, float] = {}
        rng = random.Random(1)
        for n in range(count):
            await asyncio.sleep(rng.uniform(*D1_GAP_S))
            pid = f"{prefix}-{n:04d}"
            await processes.start(ProcessStartRequest.external(pid))
            committed[pid] = time.monotonic()
        return committed


async def churn(
    path: str, rows: int, running: int, rate: float, seconds: float
) -> dict[str, float]:
    stride = max(1, rows // max(1, running))
    live = [f"p-{n:07d}" for n in range(0, rows, stride)][:running]
    first_window = [pid for pid in live if pid < f"p-{150:07d}"] or live[:1]
    rng = random.Random(2)
    made, late = 0, 0.0
    async with open_registry(path, create=False) as registry:
        processes = Processes(registry)
        start = time.monotonic()
        run = os.urandom(4).hex()
        total = int(rate * seconds)
        for n in range(total):
            due = start + n / rate
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                late = max(late, -delay)
            if n % 10 == 9:
                await processes.start(ProcessStartRequest.external(f"q-{n:07d}-{run}"))
            else:
                pid = rng.choice(first_window if n % 10 == 0 else live)
                # The append a cancel makes, every time: the facade's cancel now leaves a row
                # that already has a cancel request unchanged, and the churn needs a change.
                request = ProcessEventAppendRequest.cancel_requested(pid, f"d2 churn {run} {n}")
                await processes.registry.append_event(pid, request)
            made += 1
        return {"changes": made, "seconds": time.monotonic() - start, "max_late_s": late}


def main(argv: list[str]) -> None:
    kind, path, *rest = argv
    if kind == "register":
        result = asyncio.run(register(path, int(rest[0]), rest[1]))
    elif kind == "churn":
        rows, running, rate, seconds = int(rest[0]), int(rest[1]), float(rest[2]), float(rest[3])
        result = asyncio.run(churn(path, rows, running, rate, seconds))
    else:
        raise SystemExit(f"unknown writer {kind!r}")
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1:])
