"""A registry that cannot serve for a while, under a worker: a real SQLite file whose write
lock another connection holds (a short busy timeout makes each refused write fail fast).

What the worker's runs did meanwhile must be what it says: a finished run's terminal is
written once the registry can take it, while the lease is the run's; a lease that lapsed
meanwhile is a lost lease, never a "stop".
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from lashtui.clock import ManualClock
from lashtui.command.worker import _once
from lashtui.errors import StoreError
from lashtui.model import ProcessLifecycleStatus, ProcessRecord, SuccessOutput
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.worker import ProcessWorker, Verdict
from lashtui.worker.metric import WorkerMetrics
from lashtui.worker.observer import WorkerObserver
from lashtui.worker.runtime import HURRIED_RELEASE_S
from lashtui.worker.shutdown import shut_down
from tests.worker.support import (
    GUARD_S,
    OB,
    PAST_TTL_MS,
    Blocking,
    event_types,
    record,
    register,
    terminal,
    worker_on,
)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "outage.db"


@pytest.fixture
async def registry(path: Path, clock: ManualClock) -> AsyncIterator[SqliteProcessRegistry]:
    opened = await SqliteProcessRegistry.open(str(path), clock=clock, busy_timeout_ms=100)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def lock(path: Path) -> Iterator[sqlite3.Connection]:
    """Another connection to the file, to hold its write lock with BEGIN IMMEDIATE."""
    holder = sqlite3.connect(path, isolation_level=None)
    yield holder
    if holder.in_transaction:
        holder.execute("ROLLBACK")
    holder.close()


class Ends(WorkerObserver):
    """The outcome of every run that ended, and the leases said lost."""

    def __init__(self) -> None:
        self.outcomes: list[str] = []
        self.lost: list[str] = []
        self.ended = asyncio.Event()

    def run_ended(self, record: ProcessRecord, outcome: str, duration_s: float) -> None:
        self.outcomes.append(outcome)
        self.ended.set()

    def lease_lost(self, process_id: str, why: str) -> None:
        self.lost.append(why)


async def _finish_under_lock(
    registry: SqliteProcessRegistry, worker: ProcessWorker, lock: sqlite3.Connection
) -> tuple[Blocking, Ends]:
    """A run whose handler returns while the file is locked: its terminal write refused."""
    handler, ends = Blocking(), Ends()
    worker.engines.register("echo", handler)
    worker.add_observer(ends)
    await register(registry, disposition=OB)
    await worker.drive_pending_processes()
    await handler.wait_started()
    lock.execute("BEGIN IMMEDIATE")
    handler.release.set()
    await asyncio.sleep(0.5)  # a few refused tries (each fails after 100 ms)
    assert ends.outcomes == []  # still trying, not given up
    return handler, ends


async def test_a_finished_run_writes_its_terminal_once_the_registry_can_take_it(
    registry: SqliteProcessRegistry, clock: ManualClock, lock: sqlite3.Connection
) -> None:
    """The lock outlasts the busy timeout: the write is tried again while the lease lasts.
    It was thrown away: the run said `stopped`, then "recovery of p failed", and the
    owner_bound row stayed running with no lease, silent, its handler's work lost."""
    async with worker_on(registry, clock) as worker:
        handler, ends = await _finish_under_lock(registry, worker, lock)
        lock.execute("ROLLBACK")

        assert await terminal(worker, "p") == SuccessOutput(value="done")
        async with asyncio.timeout(GUARD_S):
            await ends.ended.wait()

    assert ends.outcomes == ["completed"]
    assert handler.calls == 1
    assert (await record(registry, "p")).status.state is ProcessLifecycleStatus.COMPLETED
    assert await registry.get_process_lease("p") is None


async def test_a_lease_that_lapses_while_the_terminal_waits_is_a_lost_lease(
    registry: SqliteProcessRegistry, clock: ManualClock, lock: sqlite3.Connection
) -> None:
    """Once the lease has lapsed the run is no longer the writer: it stops trying, writes
    nothing, releases nothing, and says it lost the lease (never `stopped`)."""
    async with worker_on(registry, clock) as worker:
        _, ends = await _finish_under_lock(registry, worker, lock)
        clock.advance(PAST_TTL_MS)
        async with asyncio.timeout(GUARD_S):
            await ends.ended.wait()
        lock.execute("ROLLBACK")

    assert ends.outcomes == ["lease_lost"]
    # Told once, by whichever noticed first: the terminal's tries, or the lease keeper,
    # whose renewals the same lock refused (guard.py: a lease that expires unrenewed).
    assert len(ends.lost) == 1, ends.lost
    assert any(w in ends.lost[0] for w in ("could not take its terminal", "expired unrenewed"))
    assert (await record(registry, "p")).status.state is ProcessLifecycleStatus.RUNNING
    assert (await event_types(registry, "p")) == []
    assert await registry.get_process_lease("p") is not None  # left to its new writer


async def test_a_once_pass_on_a_locked_registry_fails_with_the_stores_sentence(
    registry: SqliteProcessRegistry,
    clock: ManualClock,
    lock: sqlite3.Connection,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The claim cannot be made: that is the registry failing (exit 1, its sentence), not
    a verdict on the row. It was counted Busy: "1 busy (held by a live lease)" of a row no
    one held, and exit 0."""
    await register(registry, "l3")
    lock.execute("BEGIN IMMEDIATE")
    args = argparse.Namespace(output="table", grace=0.0, drain=False)
    async with worker_on(registry, clock) as worker:
        with pytest.raises(StoreError, match="is locked by another process"):
            await _once(args, worker, run=True)  # `lashtui` prints it and exits 1

        assert worker.stats.verdicts[Verdict.BUSY] == 0
    assert capsys.readouterr().out == ""  # no pass line made of what it could not do


async def test_a_claim_the_registry_could_not_serve_is_counted_for_an_alert(
    registry: SqliteProcessRegistry, clock: ManualClock, lock: sqlite3.Connection
) -> None:
    metrics = WorkerMetrics()
    await register(registry, "l3")
    lock.execute("BEGIN IMMEDIATE")
    async with worker_on(registry, clock) as worker:
        worker.add_observer(metrics)
        async with asyncio.timeout(GUARD_S):
            await asyncio.gather(*await worker.drive_pending_processes())

    value = metrics.registry.get_sample_value("lashtui_worker_registry_errors_total")
    assert value == 1


class Failures(WorkerObserver):
    """What the registry could not serve the worker, in order."""

    def __init__(self) -> None:
        self.doing: list[str] = []
        self.seen = asyncio.Event()

    def registry_failed(self, doing: str, error: StoreError) -> None:
        self.doing.append(doing)
        self.seen.set()


async def test_a_renewal_the_registry_could_not_serve_is_counted_for_an_alert(
    registry: SqliteProcessRegistry, clock: ManualClock, lock: sqlite3.Connection
) -> None:
    """A renewal refused by a file locked past its busy timeout (100 ms here) is the
    registry failing, as a refused claim or terminal write is: it was logged and retried,
    but `lashtui_worker_registry_errors_total` stayed 0. The run goes on: the lease lasts
    (the clock stands still), and the next renewal once the lock is gone succeeds."""
    metrics, failures, handler = WorkerMetrics(), Failures(), Blocking()
    await register(registry)
    async with worker_on(registry, clock) as worker:
        worker.engines.register("echo", handler)
        worker.add_observer(metrics)
        worker.add_observer(failures)
        await worker.drive_pending_processes()
        await handler.wait_started()
        lock.execute("BEGIN IMMEDIATE")
        async with asyncio.timeout(GUARD_S):
            await failures.seen.wait()  # the keeper renews every 100 ms
        lock.execute("ROLLBACK")
        errors = metrics.registry.get_sample_value("lashtui_worker_registry_errors_total")
        handler.release.set()
        assert await terminal(worker, "p") == SuccessOutput(value="done")

    assert failures.doing[0] == "renewing a lease"
    assert errors == len(failures.doing) >= 1
    assert metrics.registry.get_sample_value("lashtui_worker_leases_lost_total") == 0


async def test_a_stopped_run_whose_lease_lapsed_in_an_outage_is_a_lost_lease(
    registry: SqliteProcessRegistry, clock: ManualClock, lock: sqlite3.Connection
) -> None:
    """Stopped while the registry could not be reached, after its lease had lapsed: the
    run lost its lease, and says so (the metric an operator alerts on moves). It was
    counted `stopped`, "lease released", and no lost lease was told."""
    metrics, handler = WorkerMetrics(), Blocking()
    async with worker_on(registry, clock) as worker:
        worker.add_observer(metrics)
        worker.engines.register("echo", handler)
        await register(registry)
        await worker.drive_pending_processes()
        await handler.wait_started()
        lock.execute("BEGIN IMMEDIATE")
        clock.advance(PAST_TTL_MS)
        await worker.stop()
    lock.execute("ROLLBACK")

    sample = metrics.registry.get_sample_value
    assert sample("lashtui_worker_leases_lost_total") == 1
    assert sample("lashtui_worker_runs_total", {"outcome": "lease_lost"}) == 1
    assert sample("lashtui_worker_runs_total", {"outcome": "stopped"}) == 0


async def test_the_stop_reports_a_lease_it_could_not_release_as_left_to_lapse(
    registry: SqliteProcessRegistry, clock: ManualClock, lock: sqlite3.Connection
) -> None:
    """It said "stopped with their leases released" of a lease still held."""
    handler = Blocking()
    async with worker_on(registry, clock) as worker:
        worker.engines.register("echo", handler)
        await register(registry)
        await worker.drive_pending_processes()
        await handler.wait_started()
        lock.execute("BEGIN IMMEDIATE")
        report = await shut_down(
            worker, grace_s=0.0, hurry=asyncio.Event(), drain=False, why="SIGTERM"
        )
    lock.execute("ROLLBACK")

    assert report.stopped == []
    assert list(report.unreleased) == ["p"]
    assert "is locked by another process" in report.unreleased["p"]
    assert await registry.get_process_lease("p") is not None  # indeed not released


async def test_a_hurried_stop_waits_for_a_release_only_a_moment(
    path: Path, clock: ManualClock
) -> None:
    """A release that waits for a locked file (here 30 s; a PostgreSQL server out of reach:
    the connect timeout) held the hurried stop, and the exit, that long."""
    handler = Blocking()
    registry = await SqliteProcessRegistry.open(str(path), clock=clock, busy_timeout_ms=30_000)
    lock = sqlite3.connect(path, isolation_level=None)  # (once the file is a registry)
    try:
        async with worker_on(registry, clock) as worker:
            worker.engines.register("echo", handler)
            await register(registry)
            await worker.drive_pending_processes()
            await handler.wait_started()
            lock.execute("BEGIN IMMEDIATE")
            hurry = asyncio.Event()
            asyncio.get_running_loop().call_later(0.3, hurry.set)
            async with asyncio.timeout(HURRIED_RELEASE_S + 2):
                report = await shut_down(
                    worker, grace_s=0.0, hurry=hurry, drain=False, why="SIGTERM"
                )
    finally:
        lock.close()  # (its transaction rolled back)
        await registry.close()

    assert report.hurried and report.stopped == []
    assert "hurried" in report.unreleased["p"]
