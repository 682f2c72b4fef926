"""`lashtui worker` keeps what its start-up made out of the garbage collector's sight
while it serves (`gc.freeze`), collects its young objects every 50,000 allocations rather
than 700 (tui/heap.py `worker_heap`), and puts both back once it stops. In this process:
the worker's `running()` is observed as it is entered, and the stop is a real SIGTERM,
handled by the command's own signal handlers."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

from lashtui.command.worker import _serve
from lashtui.registry import open_registry
from lashtui.tui.heap import WORKER_YOUNG_THRESHOLD
from lashtui.worker import ProcessWorker


async def test_the_start_up_heap_is_frozen_while_the_worker_serves(tmp_path: Path) -> None:
    # A command run earlier in this process (`ls --json`'s fast read: command/query.py) may
    # have frozen its own heap; the collector keeps one permanent generation for all.
    gc.unfreeze()
    threshold = gc.get_threshold()
    assert threshold[0] != WORKER_YOUNG_THRESHOLD  # CPython's own (700), or the host's
    frozen_at_start: list[int] = []
    thresholds: list[tuple[int, int, int]] = []
    entered = asyncio.Event()
    args = argparse.Namespace(db=str(tmp_path / "r.db"), metrics=None, grace=5.0, drain=False)
    async with open_registry(args.db, create=True) as registry:
        worker = ProcessWorker(registry)
        running = worker.running

        @contextlib.asynccontextmanager
        async def observed() -> AsyncIterator[ProcessWorker]:
            frozen_at_start.append(gc.get_freeze_count())
            thresholds.append(gc.get_threshold())
            entered.set()
            async with running() as inside:
                yield inside

        worker.running = observed  # type: ignore[method-assign]
        serving = asyncio.create_task(_serve(args, worker, registry))
        await asyncio.wait_for(entered.wait(), 30)  # the stop signals' handlers are set
        os.kill(os.getpid(), signal.SIGTERM)
        assert await asyncio.wait_for(serving, 30) == 0
    assert frozen_at_start[0] > 0
    assert gc.get_freeze_count() == 0
    assert thresholds[0] == (WORKER_YOUNG_THRESHOLD, *threshold[1:])
    assert gc.get_threshold() == threshold
