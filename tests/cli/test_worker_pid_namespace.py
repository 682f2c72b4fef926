"""Liveness proofs stay within one PID namespace (semantics §3.15: death is proved only on
the same host). Containers that share the host's network share its hostname and boot id but
not its pids: a worker in its own PID namespace is pid 1 there, and `/proc/1` in the host's
namespace is another process. Real workers here: one in a new PID namespace (`unshare -p -f
--mount-proc`, which needs root or user namespaces; skipped where it is refused), and a
`lashtui sweep` in the test's own namespace judging its leases."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lashtui.model import ProcessLifecycleStatus
from lashtui.registry import open_registry
from tests.cli.service import GUARD_S, LASHTUI, Worker, start, steps

ENDLESS = steps({"sleep_ms": 600_000})
# Long enough that no lease lapses while the test looks: only a death proof could free one.
LONG_TTL_MS = "60000"
# `--kill-child`: killing `unshare` kills the worker it forked (pid 1 in the namespace).
UNSHARE = ("unshare", "--pid", "--fork", "--mount-proc", "--kill-child")


def _unshare_works() -> bool:
    if shutil.which("unshare") is None:
        return False
    tried = subprocess.run([*UNSHARE, "true"], capture_output=True, timeout=GUARD_S, check=False)
    return tried.returncode == 0


def _sweep(db: Path) -> dict[str, int]:
    """One recovery pass from this test's own PID namespace: its verdicts by count."""
    done = subprocess.run(
        [LASHTUI, "--db", str(db), "sweep", "--ttl-ms", LONG_TTL_MS, "--output", "json"],
        capture_output=True, text=True, timeout=GUARD_S, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    counts: dict[str, int] = json.loads(done.stdout)
    return {k: v for k, v in counts.items() if v and k != "looked_at"}  # the verdicts found


async def _states(db: Path, *process_ids: str) -> list[ProcessLifecycleStatus]:
    async with open_registry(str(db), read_only=True) as registry:
        records = [await registry.get_process(pid) for pid in process_ids]
    return [record.status.state for record in records if record is not None]


async def test_a_worker_in_another_pid_namespace_is_never_proven_dead(
    tmp_path: Path, workers: list[Worker]
) -> None:
    if not _unshare_works():
        pytest.skip("no new PID namespace allowed here (unshare needs root or user namespaces)")
    db = tmp_path / "r.db"
    inside = Worker(db, ttl_ms=LONG_TTL_MS, wrapper=UNSHARE)
    workers.append(inside)
    start(db, "ob", ENDLESS, disposition="owner_bound")
    start(db, "rr", ENDLESS, disposition="rerunnable")
    inside.until_event("run_started", "ob")
    inside.until_event("run_started", "rr")

    # Its leases name pid 1, which here is another live process with another start time:
    # judged by pid alone, both holders were "provably dead", the owner_bound row abandoned
    # and the rerunnable one taken. Live holders: left alone (not even listed, or busy).
    assert set(_sweep(db)) <= {"busy"}
    assert await _states(db, "ob", "rr") == [ProcessLifecycleStatus.RUNNING] * 2
    assert inside.process.poll() is None and not inside.events("run_ended")


async def test_a_killed_worker_in_this_namespace_is_still_proven_dead(
    tmp_path: Path, workers: list[Worker]
) -> None:
    """The other side of the rule: within one namespace the proof stands, so a SIGKILLed
    worker's owner_bound work is abandoned at the next sweep, not after its lease."""
    db = tmp_path / "r.db"
    worker = Worker(db, ttl_ms=LONG_TTL_MS)
    workers.append(worker)
    start(db, "ob", ENDLESS, disposition="owner_bound")
    worker.until_event("run_started", "ob")
    worker.kill()

    assert _sweep(db) == {"abandoned_by_sweep": 1}
    assert await _states(db, "ob") == [ProcessLifecycleStatus.ABANDONED]


def test_a_worker_that_sees_another_namespaces_proc_claims_as_opaque() -> None:
    """In a new PID namespace without its own /proc mount, /proc/<its pid> is some other
    process of the parent namespace: nothing it could write about itself, or read about a
    peer, would be true, so it offers no liveness to prove anything with."""
    if not _unshare_works():
        pytest.skip("no new PID namespace allowed here (unshare needs root or user namespaces)")
    code = "from lashtui.worker import default_owner; print(default_owner().liveness.kind)"
    inside = subprocess.run(
        ["unshare", "--pid", "--fork", "--kill-child", sys.executable, "-c", code],
        capture_output=True, text=True, timeout=GUARD_S, check=False,
    )  # fmt: skip
    assert (inside.returncode, inside.stdout.strip()) == (0, "opaque"), inside.stderr
    here = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=GUARD_S, check=True
    )
    assert here.stdout.strip() == "local_process"
