"""A real `ProcessWorker` in its own OS process, for crash tests (not collected by pytest).

    python -m tests.worker.worker_child --db PATH --owner-id ID --host-id HOST \
        --record FILE --stats FILE [--ttl-ms 1500] [--renew-ms 500] [--gate-dir DIR] \
        [--until-empty]

It runs `async with worker.running():` with a `SystemClock` and a
`LeaseOwnerIdentity.local_process(owner_id, <fresh incarnation>, host_id)` identity until it is
killed, or, with `--until-empty`, until the registry has no non-terminal row and the worker is
idle (exit 0).

Every execution of a test engine is recorded outside the registry: one line
`<process_id> <os pid>\\n` appended to `--record` (O_APPEND, one write per line). Engines:

- `block`: records, then never ends on its own.
- `once`:  records; succeeds if this process id had been recorded before, else blocks forever.
- `count`: records and succeeds at once.
- `gate`:  records its n-th execution of the row, then waits for the file
  `<gate-dir>/<process_id>.<n>`, ignoring cancellation (a handler that does not cooperate),
  appends `<process_id> <os pid> <n>` to `<gate-dir>/done` and succeeds.

Successful outputs are `{"by": <os pid>}` so a test can tell whose output became terminal.
`--stats` is rewritten (atomically) whenever the worker's counters change:
`{"pid", "owner", "drives", "verdicts", "runs", "in_flight"}`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import uuid
from typing import Any

from lashtui.clock import SystemClock
from lashtui.model import LeaseOwnerIdentity, LeaseTimings
from lashtui.registry import open_registry
from lashtui.worker import ProcessWorker
from lashtui.worker.context import ProcessContext

STATS_POLL_S = 0.02
GATE_POLL_S = 0.02


class Recorder:
    """Appends one `<process_id> <pid>` line per execution, one `write(2)` per line."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def executions(self, process_id: str) -> int:
        """How many executions of `process_id` were recorded so far (by anyone)."""
        with open(self.path, encoding="utf-8") as handle:
            return sum(1 for line in handle if line.split(" ", 1)[0] == process_id)

    def record(self, process_id: str) -> None:
        os.write(self.fd, f"{process_id} {os.getpid()}\n".encode())


def _exists(path: str) -> bool:
    return os.path.exists(path)  # a local tmp file; a stat is not worth a thread


def engines(worker: ProcessWorker, recorder: Recorder, gate_dir: str | None) -> None:
    async def block(ctx: ProcessContext, payload: Any) -> Any:
        recorder.record(ctx.process_id)
        await asyncio.Event().wait()

    async def once(ctx: ProcessContext, payload: Any) -> Any:
        seen_before = recorder.executions(ctx.process_id) > 0
        recorder.record(ctx.process_id)
        if seen_before:
            return {"by": os.getpid()}
        await asyncio.Event().wait()

    async def count(ctx: ProcessContext, payload: Any) -> Any:
        recorder.record(ctx.process_id)
        return {"by": os.getpid()}

    async def gate(ctx: ProcessContext, payload: Any) -> Any:
        assert gate_dir is not None, "the gate engine needs --gate-dir"
        ordinal = recorder.executions(ctx.process_id) + 1
        recorder.record(ctx.process_id)
        opener = os.path.join(gate_dir, f"{ctx.process_id}.{ordinal}")
        while not _exists(opener):
            try:
                await asyncio.sleep(GATE_POLL_S)
            except asyncio.CancelledError:
                continue  # deliberately deaf to cancellation: it outlives whatever stops it
        done = os.open(os.path.join(gate_dir, "done"), os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        try:
            os.write(done, f"{ctx.process_id} {os.getpid()} {ordinal}\n".encode())
        finally:
            os.close(done)
        return {"by": os.getpid()}

    worker.engines.register("block", block)
    worker.engines.register("once", once)
    worker.engines.register("count", count)
    worker.engines.register("gate", gate)


def snapshot(worker: ProcessWorker) -> dict[str, Any]:
    stats = worker.stats
    return {
        "pid": os.getpid(),
        "owner": worker.owner.model_dump(mode="json"),
        "drives": stats.drives,
        "verdicts": {str(key): value for key, value in stats.verdicts.items()},
        "runs": {str(key): value for key, value in stats.runs.items()},
        "in_flight": worker.in_flight,
    }


def write_stats(path: str, data: dict[str, Any]) -> None:
    temporary = f"{path}.tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(data, handle)
    os.replace(temporary, path)


async def publish_stats(worker: ProcessWorker, path: str) -> None:
    last: dict[str, Any] | None = None
    while True:
        data = snapshot(worker)
        if data != last:
            write_stats(path, data)
            last = data
        await asyncio.sleep(STATS_POLL_S)


async def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="worker_child")
    parser.add_argument("--db", required=True)
    parser.add_argument("--owner-id", required=True)
    parser.add_argument("--host-id", required=True)
    parser.add_argument("--record", required=True)
    parser.add_argument("--stats", required=True)
    parser.add_argument("--ttl-ms", type=int, default=1500)
    parser.add_argument("--renew-ms", type=int, default=500)
    parser.add_argument("--gate-dir")
    parser.add_argument("--until-empty", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    owner = LeaseOwnerIdentity.local_process(args.owner_id, uuid.uuid4().hex, args.host_id)
    timings = LeaseTimings(ttl_ms=args.ttl_ms, renew_interval_ms=args.renew_ms)
    recorder = Recorder(args.record)
    async with open_registry(args.db, clock=SystemClock()) as registry:
        worker = ProcessWorker(registry, owner=owner, timings=timings, clock=SystemClock())
        engines(worker, recorder, args.gate_dir)
        publisher = asyncio.create_task(publish_stats(worker, args.stats))
        try:
            async with worker.running():
                while True:
                    await asyncio.sleep(0.05)
                    if not args.until_empty or worker.in_flight:
                        continue
                    if not await worker.registry.list_non_terminal():
                        break
        finally:
            publisher.cancel()
            await asyncio.gather(publisher, return_exceptions=True)
            write_stats(args.stats, snapshot(worker))
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(sys.argv[1:])))
