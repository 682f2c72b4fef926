"""Shared fixtures: a manual clock and a registry on a real SQLite file.

The `registry` fixture is parameterised by backend, so every contract test runs against each
store; adding a backend is adding a parameter and a branch in `_open`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from lashtui.clock import ManualClock
from lashtui.registry import ProcessRegistry, open_registry

BACKENDS = ["sqlite"]
START_MS = 1_780_000_000_000


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START_MS)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def registry_target(backend: str, tmp_path: Path) -> str:
    """Where the backend under test keeps its registry (a fresh one per test)."""
    if backend == "sqlite":
        return str(tmp_path / "registry.db")
    raise AssertionError(f"unknown backend {backend}")


@pytest.fixture
async def registry(registry_target: str, clock: ManualClock) -> AsyncIterator[ProcessRegistry]:
    async with open_registry(registry_target, clock=clock) as opened:
        yield opened
