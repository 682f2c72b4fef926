"""The `worker` fixture: a worker on the test registry and ManualClock, stopped after; and
the `lab` fixture: the crash lab (tests/worker/lab.py) on the test registry, its worker OS
processes killed after."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from lashtui.clock import ManualClock
from lashtui.registry import ProcessRegistry
from lashtui.worker import ProcessWorker
from tests.worker.lab import Lab
from tests.worker.support import worker_on


@pytest.fixture
async def worker(registry: ProcessRegistry, clock: ManualClock) -> AsyncIterator[ProcessWorker]:
    async with worker_on(registry, clock) as running:
        yield running


@pytest.fixture
async def lab(tmp_path: Path, registry_target: str) -> AsyncIterator[Lab]:
    async with Lab.running(tmp_path, registry_target) as running:
        yield running
