"""`WorkerMetrics` (lashtui/worker/metric.py) in this process, on both stores: the series
move with the hooks, and a commit by another connection stamps the last commit seen.
(tests/cli/test_worker_service.py scrapes the endpoint of a real worker process.)"""

from __future__ import annotations

import asyncio

from lashtui.clock import ManualClock
from lashtui.model import LeaseTimings
from lashtui.registry import ProcessRegistry, open_registry
from lashtui.worker import ProcessWorker
from lashtui.worker.metric import WorkerMetrics
from tests.builders import ext, local
from tests.worker.support import (
    GUARD_S,
    OB,
    Counting,
    register,
    started_by,
    sweep,
    worker_owner,
)


def _value(metrics: WorkerMetrics, name: str, **labels: str) -> float:
    value = metrics.registry.get_sample_value(name, labels)
    assert value is not None, name
    return value


async def test_a_run_moves_the_series(registry: ProcessRegistry, worker: ProcessWorker) -> None:
    metrics = WorkerMetrics()
    worker.add_observer(metrics)
    registry.observe_transactions(metrics.transaction)  # type: ignore[attr-defined]
    worker.engines.register("echo", Counting())
    await register(registry)

    await sweep(worker)

    assert _value(metrics, "lashtui_worker_runs_total", outcome="completed") == 1
    assert _value(metrics, "lashtui_worker_runs_total", outcome="failed") == 0
    assert _value(metrics, "lashtui_worker_runs_in_flight") == 0
    assert _value(metrics, "lashtui_worker_sweep_verdicts_total", verdict="ran") == 1
    assert _value(metrics, "lashtui_worker_claims_total", result="won") == 1
    assert _value(metrics, "lashtui_worker_claims_total", result="released") == 0
    count = "lashtui_registry_transaction_seconds_count"
    assert _value(metrics, count, kind="read") >= 1  # the worklist
    assert _value(metrics, "lashtui_worker_last_commit_seen_timestamp_seconds") > 0


async def test_a_claim_released_unused_is_not_counted_won(
    registry: ProcessRegistry, clock: ManualClock, worker: ProcessWorker
) -> None:
    """A silent owner_bound row (started, its lease lapsed, nothing proves its owner dead)
    is claimed and released by every drive (semantics §8, `left_running`): it raised
    `claims_total{result="won"}` every renew interval though nothing ran. Now `released`;
    `won` counts the claims that ran something."""
    metrics = WorkerMetrics()
    worker.add_observer(metrics)
    worker.engines.register("echo", Counting())
    await register(registry, "silent", disposition=OB)
    await started_by(registry, clock, "silent", local("gone-quiet"))  # its lease lapsed
    await register(registry, "job")

    for _ in range(3):
        await sweep(worker)

    claims = "lashtui_worker_claims_total"
    assert _value(metrics, claims, result="won") == 1  # the job's one run
    assert _value(metrics, claims, result="released") == 3  # the silent row, each drive
    assert _value(metrics, claims, result="abandoned") == 0
    assert _value(metrics, claims, result="lost") == 0
    verdicts = "lashtui_worker_sweep_verdicts_total"
    assert _value(metrics, verdicts, verdict="left_running") == 3


async def test_another_connections_commit_stamps_the_last_commit_seen(
    registry: ProcessRegistry, registry_target: str, clock: ManualClock
) -> None:
    """Through the worker's own watch (wake.py): a running worker's interval is a minute
    here, so only another connection's commit waking it can stamp the gauge."""
    metrics = WorkerMetrics()
    minute = LeaseTimings(ttl_ms=180_000, renew_interval_ms=60_000)
    worker = ProcessWorker(registry, owner=worker_owner(), timings=minute, clock=clock)
    worker.add_observer(metrics)
    try:
        async with worker.running():
            async with asyncio.timeout(GUARD_S):
                while worker.stats.drives == 0:  # noqa: ASYNC110 (armed before its first drive)
                    await asyncio.sleep(0.01)
            assert _value(metrics, "lashtui_worker_last_commit_seen_timestamp_seconds") == 0
            async with open_registry(registry_target, clock=clock) as other:
                await other.register_process(ext("elsewhere"))
            async with asyncio.timeout(GUARD_S):
                # A gauge has no event to wait on.
                while not _value(metrics, "lashtui_worker_last_commit_seen_timestamp_seconds"):  # noqa: ASYNC110
                    await asyncio.sleep(0.01)
    finally:
        await worker.stop()


async def test_the_write_lock_series_move_on_sqlite_and_are_absent_on_postgresql(
    registry: ProcessRegistry, worker: ProcessWorker
) -> None:
    """Read at each scrape from the registry's own counters (write_lock.py): a run's
    claim and terminal are write transactions under the file's lock. PostgreSQL has no
    such lock, and its registry offers no counters to export."""
    metrics = WorkerMetrics()
    read = getattr(registry, "write_lock_use", None)
    if read is None:
        assert metrics.registry.get_sample_value("lashtui_registry_write_lock_holds_total") is None
        return
    metrics.watch_write_lock(read)
    before = _value(metrics, "lashtui_registry_write_lock_holds_total")
    worker.engines.register("echo", Counting())
    await register(registry)

    await sweep(worker)

    assert _value(metrics, "lashtui_registry_write_lock_holds_total") >= before + 2
    assert _value(metrics, "lashtui_registry_write_lock_seconds_total") > 0
    assert _value(metrics, "lashtui_registry_write_lock_refused_total") == 0
