"""A dashboard's stop after the screen (command/dashboard_stop.py `stop_after_screen`), in an
OS process of its own, hurried by Ctrl-C while it waits for a start whose caller gave up
(not collected by pytest; tests/cli/test_cli_dashboard_stop.py runs it).

    python -m tests.cli.hurried_stop_child DB FREE_AFTER_S

A run `r` is in flight (a `steps` sleep) in the worker, and another connection holds the
registry's write lock; a start of `s` waits for it and its caller is cancelled (an orphan
the worker follows: worker/start.py `_end_orphan`). The stop after the screen is begun,
SIGINT comes a second later, and the lock is given up `FREE_AFTER_S` after the SIGINT: the
stop first waits for the orphan (a hurried wait: stop.py `_settle_orphans`), then cancels `r`,
whose release goes through once the lock is free. The process ends as the stop ends it
(`exit_within`), its stderr the stop's lines.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import sys
import threading

from pydantic import JsonValue

from lashtui.admin import Processes
from lashtui.command.dashboard_stop import stop_after_screen
from lashtui.model import Engine, ProcessStartRequest, RecoveryDisposition
from lashtui.registry import open_registry
from lashtui.worker import ProcessWorker, declared_event_types

SIGINT_AFTER_S = 1.0


def request(process_id: str) -> ProcessStartRequest:
    payload: JsonValue = {"steps": [{"sleep_ms": 60_000}]}
    return ProcessStartRequest(
        id=process_id,
        input=Engine(kind="steps", payload=payload),
        disposition=RecoveryDisposition.RERUNNABLE,
        event_types=declared_event_types(payload),
    )


async def main(db: str, free_after_s: float) -> int:
    async with open_registry(db) as registry:
        worker = ProcessWorker(registry)  # (lash's 30 s TTL: no lease lapses meanwhile)
        processes = Processes(registry, worker=worker)
        async with worker.running():
            await processes.start(request("r"))
            for _ in range(3000):  # (a guard: its handler begins within a moment)
                if worker.runs_begun == ["r"]:
                    break
                await asyncio.sleep(0.01)
            lock = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
            lock.execute("BEGIN IMMEDIATE")
            starting = asyncio.create_task(processes.start(request("s")))
            await asyncio.sleep(0.3)  # (its commit waits for the lock)
            starting.cancel()
            await asyncio.gather(starting, return_exceptions=True)
            assert worker.starts_followed == 1, "the start of s is not an orphan"

            def interrupt() -> None:
                threading.Timer(free_after_s, lock.rollback).start()
                print(json.dumps({"sigint": True}), flush=True)
                os.kill(os.getpid(), signal.SIGINT)

            asyncio.get_running_loop().call_later(SIGINT_AFTER_S, interrupt)
            status = await stop_after_screen(worker, 0)
            await asyncio.sleep(60)  # (ended by `exit_within`)
            return status


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(sys.argv[1], float(sys.argv[2]))))
