"""The `worker` fixture: a worker on the test registry and ManualClock, stopped after."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from lashtui.clock import ManualClock
from lashtui.registry import ProcessRegistry
from lashtui.worker import ProcessWorker
from tests.worker.support import worker_on


@pytest.fixture
async def worker(registry: ProcessRegistry, clock: ManualClock) -> AsyncIterator[ProcessWorker]:
    async with worker_on(registry, clock) as running:
        yield running
