"""A run whose lease cannot be renewed stops when the lease expires (semantics §7.4: a
failed renewal cancels the run), even when the renewal neither succeeds nor fails in that
time: another worker may claim the row from then on, and the handler must not run on beside
it. Real `lashtui worker` processes, TTL 1.5 s (renew every 0.5 s): on SQLite another OS
process holds the write lock (a renewal waits up to the busy timeout, 15 s); on PostgreSQL
the worker reaches the server through a proxy that is killed (a renewal waits for the
pool's connect timeout, 10 s)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.cli.service import Worker, start, steps
from tests.proxy import Proxy, proxied, target_of

ENDLESS = steps({"sleep_ms": 600_000})
# Holds the write lock of the file in argv[1] until its stdin closes.
LOCK_HOLDER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.read()
conn.execute("ROLLBACK")
"""


def _stopped_as_lost(worker: Worker, process_id: str) -> None:
    lost = worker.until_event("lease_lost", process_id)
    assert "expired unrenewed" in lost["why"], lost
    ended = worker.until_event("run_ended", process_id)
    assert ended["outcome"] == "lease_lost", ended


def test_a_run_stops_when_its_lease_expires_behind_a_locked_file(
    tmp_path: Path, workers: list[Worker]
) -> None:
    db = tmp_path / "r.db"
    worker = Worker(db)
    workers.append(worker)
    start(db, "held", ENDLESS)
    worker.until_event("run_started", "held")
    holder = subprocess.Popen(
        [sys.executable, "-c", LOCK_HOLDER, str(db)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        # While the lock is held no renewal can commit: the run must stop all the same.
        _stopped_as_lost(worker, "held")
        assert holder.poll() is None  # (the lock was held throughout)
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(30)


def test_a_run_stops_when_its_lease_expires_with_the_server_out_of_reach(
    postgres_schema: str, workers: list[Worker]
) -> None:
    proxy = Proxy(*target_of(postgres_schema))
    proxy.start()
    try:
        worker = Worker(proxied(postgres_schema, proxy))
        workers.append(worker)
        # Started, and past start-up's one-off reads by the time the run below begins.
        worker.until_event("started")
        start(postgres_schema, "held", ENDLESS)
        worker.until_event("run_started", "held")
        proxy.kill()
        _stopped_as_lost(worker, "held")
    finally:
        proxy.kill()
