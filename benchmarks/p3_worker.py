"""One lashtui worker OS process for P3 and P4 (a program the benchmarks spawn, not a module
they import):

    python -m benchmarks.p3_worker --db PATH --owner-id ID --record FILE --stats FILE \
        [--ttl-ms 1500] [--renew-ms 500] [--until-empty] [--hold FILE]

A `ProcessWorker` inside `worker.running()` with a `SystemClock` and a `local_process`
identity (this host, a fresh incarnation), as `lashtui worker` runs one; only the engines
differ, so that every execution is counted outside the registry: each appends one line
`<process_id> <os pid>\\n` to `--record` with one O_APPEND write(2), so lines from several
processes never interleave. Engines (the ones tests/worker/worker_child.py uses):

- `count`: records and succeeds at once (P3).
- `block`: records, then never ends on its own (P4's owner_bound row).
- `once`:  records; succeeds if the row had been recorded before, else blocks forever (P4's
  rerunnable row: its first run hangs until the worker dies, its re-run ends).

`--until-empty` exits 0 once no row is live (running or waiting) and nothing is in flight.
`--hold FILE` waits for FILE to exist before the worker starts driving (P4 starts the
survivor early, so its interpreter start-up overlaps the victim's). `--stats` gets `{"pid",
"drives", "verdicts", "runs"}` rewritten atomically when they change, and on SQLite
`"write_lock"`: the worker's use of the file's write lock so far (holds, seconds held, tries
refused: registry/sqlite/write_lock.py).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import os
import sys
import time
import uuid
from typing import Any

from lashtui.clock import SystemClock
from lashtui.model import LIVE_STATES, LeaseOwnerIdentity, LeaseTimings, ProcessPageQuery
from lashtui.registry import open_registry
from lashtui.tui.heap import worker_heap
from lashtui.worker import ProcessWorker
from lashtui.worker.identity import host_id

POLL_S = 0.02
# "Is any row still live?", reading one row at most: listing every non-terminal record would
# decode them all, 2-3 s of CPU per check at 10,000 rows, in a worker that is only waiting.
ANY_LIVE = ProcessPageQuery(states=frozenset(state.value for state in LIVE_STATES), limit=1)


class Recorder:
    """One `<process_id> <pid>` line per execution, one write(2) per line."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def record(self, process_id: str) -> None:
        os.write(self.fd, f"{process_id} {os.getpid()}\n".encode())

    def seen(self, process_id: str) -> bool:
        # A local file of a few lines in P4; a read here does not stall anything measured.
        with open(self.path, encoding="utf-8") as handle:
            return any(line.split(" ", 1)[0] == process_id for line in handle)


def register_engines(worker: ProcessWorker, recorder: Recorder) -> None:
    async def count(ctx: Any, payload: Any) -> Any:
        recorder.record(ctx.process_id)
        return {"by": os.getpid()}

    async def block(ctx: Any, payload: Any) -> Any:
        recorder.record(ctx.process_id)
        await asyncio.Event().wait()

    async def once(ctx: Any, payload: Any) -> Any:
        again = recorder.seen(ctx.process_id)
        recorder.record(ctx.process_id)
        if again:
            return {"by": os.getpid()}
        await asyncio.Event().wait()

    worker.engines.register("count", count)
    worker.engines.register("block", block)
    worker.engines.register("once", once)


def write_stats(path: str, worker: ProcessWorker) -> dict[str, Any]:
    stats = worker.stats
    data: dict[str, Any] = {
        "pid": os.getpid(),
        "drives": stats.drives,
        "verdicts": {str(k): v for k, v in stats.verdicts.items()},
        "runs": {str(k): v for k, v in stats.runs.items()},
    }
    # On SQLite, the worker's hold of the file's write lock (registry/sqlite/write_lock.py).
    write_lock_use = getattr(worker.registry, "write_lock_use", None)
    if callable(write_lock_use):
        data["write_lock"] = dataclasses.asdict(write_lock_use())
    temporary = f"{path}.tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(data, handle)
    os.replace(temporary, path)
    return data


async def publish(worker: ProcessWorker, path: str) -> None:
    """Rewrite the stats when the drives change (P4 waits for a drive), and when only the
    runs do, at most every `RUNS_EVERY_S`: rewriting them every 20 ms while thousands of
    rows run cost a P3 worker ~8% of its CPU, and nothing reads them mid-run."""
    last: dict[str, Any] = {}
    written = 0.0
    while True:
        drives, runs = worker.stats.drives, sum(worker.stats.runs.values())
        moved = runs != sum(last.get("runs", {}).values())
        if drives != last.get("drives") or (moved and time.monotonic() - written > RUNS_EVERY_S):
            last = write_stats(path, worker)
            written = time.monotonic()
        await asyncio.sleep(POLL_S)


RUNS_EVERY_S = 0.5


def wait_for_file(path: str) -> None:
    while not os.path.exists(path):
        time.sleep(POLL_S)


async def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.p3_worker")
    parser.add_argument("--db", required=True)
    parser.add_argument("--owner-id", required=True)
    parser.add_argument("--record", required=True)
    parser.add_argument("--stats", required=True)
    parser.add_argument("--ttl-ms", type=int, default=1500)
    parser.add_argument("--renew-ms", type=int, default=500)
    parser.add_argument("--until-empty", action="store_true")
    parser.add_argument("--hold", metavar="FILE")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    owner = LeaseOwnerIdentity.local_process(args.owner_id, uuid.uuid4().hex, host_id())
    timings = LeaseTimings(ttl_ms=args.ttl_ms, renew_interval_ms=args.renew_ms)
    recorder = Recorder(args.record)
    async with open_registry(args.db, clock=SystemClock()) as registry:
        worker = ProcessWorker(registry, owner=owner, timings=timings, clock=SystemClock())
        register_engines(worker, recorder)
        write_stats(args.stats, worker)
        if args.hold:
            await asyncio.to_thread(wait_for_file, args.hold)
        publisher = asyncio.create_task(publish(worker, args.stats))
        try:
            # The collector's settings of `lashtui worker` (command/worker.py, tui/heap.py).
            with worker_heap():
                async with worker.running():
                    while True:
                        await asyncio.sleep(0.05)
                        if not args.until_empty or worker.in_flight:
                            continue
                        if not await worker.registry.page_processes(ANY_LIVE):
                            break
        finally:
            publisher.cancel()
            await asyncio.gather(publisher, return_exceptions=True)
            write_stats(args.stats, worker)
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(sys.argv[1:])))
