"""The facade the admin tests act through, on the test registry and ManualClock: alone
(`processes`), or with an embedded worker running (`live`)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from lashtui.admin import Processes
from lashtui.clock import ManualClock
from lashtui.model import LeaseTimings
from lashtui.registry import ProcessRegistry
from lashtui.worker import ProcessWorker


@pytest.fixture
def processes(registry: ProcessRegistry, clock: ManualClock) -> Processes:
    return Processes(registry, clock=clock)


@pytest.fixture
async def live(registry: ProcessRegistry, clock: ManualClock) -> AsyncIterator[Processes]:
    """A facade with an embedded worker running."""
    worker = ProcessWorker(
        registry, timings=LeaseTimings(ttl_ms=30_000, renew_interval_ms=100), clock=clock
    )
    async with worker.running():
        yield Processes(registry, worker=worker, clock=clock)
