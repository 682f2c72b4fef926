"""A run whose lease cannot be renewed stops when the lease expires (semantics §7.4: a
failed renewal cancels the run), even when the renewal neither succeeds nor fails in that
time: another worker may claim the row from then on, and the handler must not run on beside
it. Real `lashtui worker` processes, TTL 1.5 s (renew every 0.5 s): on SQLite another OS
process holds the write lock (a renewal waits up to the busy timeout, 15 s); on PostgreSQL
the worker reaches the server through a proxy that is killed (a renewal waits for the
pool's connect timeout, the URL's 3 s: conftest.py, twice the TTL)."""

from __future__ import annotations

import contextlib
import json
import resource
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from tests.cli.service import Worker, start, steps
from tests.proxy import Proxy

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
    postgres_schema: str, proxy: Proxy, worker_through_proxy: Callable[..., Worker]
) -> None:
    # Started, and past start-up's one-off reads by the time the run below begins.
    worker = worker_through_proxy()
    start(postgres_schema, "held", ENDLESS)
    worker.until_event("run_started", "held")
    proxy.kill()
    _stopped_as_lost(worker, "held")


def _slow_once(db: Path, workers: list[Worker]) -> Worker:
    """`worker --once` (TTL 3 s: a renewal every second) running `slow`, a 4 s sleep."""
    start(db, "slow", steps({"sleep_ms": 4000}, {"finish": "done"}))
    worker = Worker(db, "--once", ttl_ms="3000")
    workers.append(worker)
    worker.until_event("run_started", "slow")
    return worker


@contextlib.contextmanager
def _writes_refused(worker: Worker) -> Iterator[None]:
    """While in the block, the worker may write no file past its first byte (RLIMIT_FSIZE,
    set on it from here): a write past it fails with EFBIG, which Python's ignored SIGXFSZ
    leaves to SQLite as a failed write, so no renewal can append to the WAL."""
    pid = worker.process.pid
    limits = resource.prlimit(pid, resource.RLIMIT_FSIZE)
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (1, limits[1]))
    try:
        yield
    finally:
        resource.prlimit(pid, resource.RLIMIT_FSIZE, limits)


def test_a_once_pass_whose_lease_was_renewed_after_a_refused_renewal_exits_0(
    tmp_path: Path, workers: list[Worker]
) -> None:
    """A renewal the registry refused for a moment is made good by the next: the lease
    never lapsed, the run completed and its terminal was written, so the registry served
    the pass and `worker --once` exits 0 (it exited 1, as for a refused claim or terminal
    write; the refusal is still said on stderr and counted in the registry-errors metric).
    The refusal is real (`_writes_refused`), for a moment: one renewal cannot append to the
    WAL, and 2 s of the lease are left after it."""
    worker = _slow_once(tmp_path / "r.db", workers)
    with _writes_refused(worker):
        worker.until(lambda: _refused_renewal(worker), "a refused renewal")

    assert worker.wait() == 0, worker.lines
    assert worker.events("run_ended")[0]["outcome"] == "completed", worker.lines
    assert not worker.events("lease_lost"), worker.lines
    assert worker.process.stdout is not None
    assert worker.process.stdout.read().endswith(": 1 ran\n")


def test_a_once_pass_whose_lease_lapsed_after_refused_renewals_exits_1(
    tmp_path: Path, workers: list[Worker]
) -> None:
    """The converse: renewals refused until the lease lapsed cost the run its lease, so
    the registry did not serve the pass: exit 1 with the store's sentence, as for a
    refused claim or terminal write (README, the worker as a service)."""
    worker = _slow_once(tmp_path / "r.db", workers)
    with _writes_refused(worker):  # (looked for as text: the error line after it is not JSON)
        worker.until(lambda: any('"lease_lost"' in line for line in worker.lines), "lease_lost")

    assert worker.wait() == 1, worker.lines
    *logged, said = worker.lines  # the log's JSON lines, then the command's error
    assert said.startswith("lashtui: process registry `"), worker.lines
    assert said.endswith("` failed: disk I/O error"), worker.lines
    ended = [json.loads(line) for line in logged if '"run_ended"' in line]
    assert [e["outcome"] for e in ended] == ["lease_lost"], worker.lines


def test_a_once_pass_whose_lease_lapsed_behind_a_slow_renewal_exits_1(
    tmp_path: Path, workers: list[Worker]
) -> None:
    """A renewal that neither fails nor comes back before the lease expires (another OS
    process holds the file's write lock: the renewal waits for it, up to the busy
    timeout, 15 s) costs the run its lease with no error from the registry: the run is
    stopped at the lease's expiry, unfenced from then on. `worker --once` exited 0 for it,
    its JSON saying only `run_lease_lost`. It exits 1 now, as for a lease that lapsed after
    refused renewals, and its document and its last line say the lease lapsed."""
    db = tmp_path / "r.db"
    start(db, "slow", steps({"sleep_ms": 4000}, {"finish": "done"}))
    worker = Worker(db, "--once", "-o", "json")  # TTL 1.5 s: a renewal every 0.5 s
    workers.append(worker)
    worker.until_event("run_started", "slow")
    holder = subprocess.Popen(
        [sys.executable, "-c", LOCK_HOLDER, str(db)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        worker.until(lambda: any('"lease_lost"' in line for line in worker.lines), "lease_lost")
        assert holder.poll() is None  # (held past the lease's expiry)
    finally:
        assert holder.stdin is not None
        holder.stdin.close()  # the renewal waiting for the lock goes through, too late
        holder.wait(30)

    assert worker.wait() == 1, worker.lines
    *logged, said = worker.lines  # the log's JSON lines, then the command's sentence
    assert not _refused_renewal(worker), worker.lines  # slow, never refused
    ended = [json.loads(line) for line in logged if '"run_ended"' in line]
    assert [e["outcome"] for e in ended] == ["lease_lost"], worker.lines
    assert said == (
        "lashtui: the lease of 1 run lapsed before it ended (slow): no renewal went "
        "through before the lease expired"
    ), worker.lines
    assert worker.process.stdout is not None
    counts = json.loads(worker.process.stdout.read())
    assert (counts["run_lease_lapsed"], counts["run_lease_lost"]) == (1, 0), counts


def _refused_renewal(worker: Worker) -> bool:
    return any("could not renew the lease of slow" in line for line in worker.lines)


def test_a_once_pass_whose_run_lost_its_lease_to_another_worker_exits_1(
    tmp_path: Path, workers: list[Worker]
) -> None:
    """A run whose lease the registry refused to renew, for it is no longer this worker's
    (here another program takes it, as a worker whose clock runs ahead could: a new
    token, the next fence), is stopped and writes nothing: the pass did not do what it
    claimed of it. `worker --once` exited 0 for it, counted in `run_lease_lost` alone; it
    exits 1 now, its last line and its document naming the row and why."""
    db = tmp_path / "r.db"
    start(db, "taken", steps({"sleep_ms": 4000}, {"finish": "done"}))
    worker = Worker(db, "--once", "-o", "json")  # TTL 1.5 s: a renewal every 0.5 s
    workers.append(worker)
    worker.until_event("run_started", "taken")
    conn = sqlite3.connect(db, timeout=30)
    with conn:
        conn.execute(
            "UPDATE process_leases SET lease_owner_id = 'worker-b', lease_token = 'theirs', "
            "lease_fencing_token = lease_fencing_token + 1, lease_expires_at_ms = "
            "lease_expires_at_ms + 600000 WHERE process_id = 'taken'"
        )
    conn.close()

    assert worker.wait() == 1, worker.lines
    *logged, said = worker.lines  # the log's JSON lines, then the command's sentence
    ended = [json.loads(line) for line in logged if '"run_ended"' in line]
    assert [e["outcome"] for e in ended] == ["lease_lost"], worker.lines
    why = (
        "at renewal, which the registry refused: the lease is no longer this worker's "
        "(another worker took it, or it was released)"
    )
    assert said == (
        f"lashtui: the lease of 1 run was lost before it ended (stopped, no terminal "
        f"written): taken {why}"
    ), worker.lines
    assert worker.process.stdout is not None
    counts = json.loads(worker.process.stdout.read())
    assert (counts["run_lease_lost"], counts["run_lease_lapsed"]) == (1, 0), counts
    assert counts["lost_leases"] == [{"process_id": "taken", "why": why, "lapsed": False}]
