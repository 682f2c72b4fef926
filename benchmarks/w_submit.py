"""W1's submitting OS process: it starts work, one at a time, a random 40-90 ms apart, and
prints `{key: time.time() just before the commit}` as JSON (`lashtui`: `{id: [before, after
the start returned]}`).

    python -m benchmarks.w_submit lashtui TARGET COUNT PREFIX   (a file or postgresql:// URL)
    python -m benchmarks.w_submit huey PATH RECORD COUNT

`lashtui`: what `lashtui start ID --engine steps --disposition rerunnable --payload PLAN`
does (the command's own `start_request` on its own parser, then the facade's `start`), on a
registry handle opened once, so the stamp is taken right before the start's transaction
rather than before an interpreter's start-up. The plan's first step emits `w1.first`.

`huey`: enqueues `first_line(n)` (one commit to huey's SQLite queue).

Both stamp `time.time()` (CLOCK_REALTIME, system-wide), which the worker's event time (the
registry's clock is the wall clock in milliseconds) and huey's task line compare against.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from typing import Any

GAP_S = (0.04, 0.09)
PLAN = json.dumps({"steps": [{"emit": {"type": "w1.first", "payload": 1}}, {"finish": "ok"}]})


async def lashtui(target: str, count: int, prefix: str) -> dict[str, tuple[float, float]]:
    from lashtui.admin import Processes
    from lashtui.cli import build_parser
    from lashtui.command.action import start_request
    from lashtui.registry import open_registry

    parser = build_parser()
    stamps: dict[str, tuple[float, float]] = {}
    rng = random.Random(1)
    async with open_registry(target, create=False) as registry:
        processes = Processes(registry)
        for n in range(count):
            await asyncio.sleep(rng.uniform(*GAP_S))
            pid = f"{prefix}-{n:04d}"
            args = parser.parse_args(
                ["--db", target, "start", pid, "--engine", "steps",
                 "--disposition", "rerunnable", "--payload", PLAN]
            )  # fmt: skip
            request = start_request(args)
            before = time.time()
            await processes.start(request)
            stamps[pid] = (before, time.time())
    return stamps


def huey(path: str, record: str, count: int) -> dict[str, float]:
    from benchmarks.w1_huey import make_huey

    _, first_line = make_huey(path, record)
    stamps: dict[str, float] = {}
    rng = random.Random(1)
    for n in range(count):
        time.sleep(rng.uniform(*GAP_S))
        stamps[str(n)] = time.time()
        first_line(n)
    return stamps


def main(argv: list[str]) -> None:
    kind, *rest = argv
    result: dict[str, Any]
    if kind == "lashtui":
        result = asyncio.run(lashtui(rest[0], int(rest[1]), rest[2]))
    elif kind == "huey":
        result = huey(rest[0], rest[1], int(rest[2]))
    else:
        raise SystemExit(f"unknown submitter {kind!r}")
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1:])
