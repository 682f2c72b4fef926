"""`WorkerMetrics` (lashtui/worker/metric.py) in this process, on both stores: the series
move with the hooks, and a commit by another connection stamps the last commit seen.
(tests/cli/test_worker_service.py scrapes the endpoint of a real worker process.)"""

from __future__ import annotations

import asyncio

from lashtui.clock import ManualClock
from lashtui.registry import ProcessRegistry, open_registry
from lashtui.worker import ProcessWorker
from lashtui.worker.metric import WorkerMetrics
from tests.worker.support import GUARD_S, Counting, register, sweep


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
    count = "lashtui_registry_transaction_seconds_count"
    assert _value(metrics, count, kind="read") >= 1  # the worklist
    assert _value(metrics, "lashtui_worker_last_commit_seen_timestamp_seconds") > 0


async def test_another_connections_commit_stamps_the_last_commit_seen(
    registry: ProcessRegistry, registry_target: str, clock: ManualClock
) -> None:
    metrics = WorkerMetrics()
    follower = asyncio.create_task(metrics.follow_commits(registry))
    try:
        async with asyncio.timeout(GUARD_S):
            await metrics.following.wait()  # armed: from here on no commit is missed
        assert _value(metrics, "lashtui_worker_last_commit_seen_timestamp_seconds") == 0
        async with open_registry(registry_target, clock=clock) as other:
            await register(other, "elsewhere")
        async with asyncio.timeout(GUARD_S):
            # A gauge has no event to wait on.
            while not _value(metrics, "lashtui_worker_last_commit_seen_timestamp_seconds"):  # noqa: ASYNC110
                await asyncio.sleep(0.01)
    finally:
        follower.cancel()
        await asyncio.gather(follower, return_exceptions=True)
