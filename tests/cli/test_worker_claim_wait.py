"""A claim that waited for the file's write lock dates its lease from when it got the lock,
not from before its wait. Another OS process holds the lock of a real file (BEGIN
IMMEDIATE) for longer than the TTL while `lashtui worker` claims a row through the one-row
claim (an owner_bound row: the batch claim takes rerunnable rows alone, and already read
its clock inside the transaction). The lease was dated from before the wait, so it came
back already expired: the worker logged `run started`, then at once `lost the lease ...
when it expired unrenewed` and `run ended ... lease_lost`, and counted a lost lease, for a
run that never had a live lease."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.cli.service import Worker, start, steps

HELD_S = 3.0  # twice the service tests' TTL (1.5 s), well inside the busy timeout (15 s)

# Another program's lease on `ob`, then: in argv[1], make it lapse in half a second, commit,
# and take the write lock at once, holding it until stdin closes. The worker, which saw
# `ob` held, claims it at its next drive after the lapse, and waits for the lock.
LAPSE_THEN_LOCK = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
conn.execute("BEGIN IMMEDIATE")
conn.execute("UPDATE process_leases SET lease_expires_at_ms = ? WHERE process_id = 'ob'",
             (int(time.time() * 1000) + 500,))
conn.execute("COMMIT")
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.read()
conn.execute("ROLLBACK")
"""


def test_a_claim_that_waited_for_the_lock_gets_a_whole_lease(
    tmp_path: Path, workers: list[Worker]
) -> None:
    db = tmp_path / "r.db"
    start(db, "ob", steps({"sleep_ms": 200}, {"finish": "done"}), disposition="owner_bound")
    now = int(time.time() * 1000)
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO process_leases (process_id, lease_owner_id, lease_owner_incarnation_id, "
            "lease_token, lease_fencing_token, lease_claimed_at_ms, lease_expires_at_ms) "
            "VALUES ('ob', 'worker-b', 'b-1', 'theirs', 1, ?, ?)",
            (now, now + 600_000),
        )
    conn.close()
    worker = Worker(db)  # TTL 1.5 s: a drive every 0.5 s
    workers.append(worker)
    worker.until_event("started")
    holder = subprocess.Popen(
        [sys.executable, "-c", LAPSE_THEN_LOCK, str(db)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        time.sleep(HELD_S)  # the worker's claim of `ob` waits for the lock meanwhile
        assert not worker.events("run_started"), worker.lines
        assert holder.poll() is None
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(30)

    ended = worker.until_event("run_ended", "ob")
    assert ended["outcome"] == "completed", worker.lines
    assert [r["process_id"] for r in worker.events("run_started")] == ["ob"], worker.lines
    assert not worker.events("lease_lost"), worker.lines
