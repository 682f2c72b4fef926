"""The every-state scene (tests/tui/scene.py) as fixtures, for snapshot and Pilot tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from lashtui.clock import ManualClock
from lashtui.registry.sqlite import SqliteProcessRegistry
from tests.tui.scene import START_MS, seed_every_state


@pytest.fixture
def every_state(tmp_path: Path) -> Iterator[tuple[SqliteProcessRegistry, ManualClock]]:
    """The every-state scene for snapshot tests (plain `def` tests, no event loop of their
    own)."""
    clock = ManualClock(START_MS)

    async def build() -> SqliteProcessRegistry:
        registry = await SqliteProcessRegistry.open(str(tmp_path / "scene.db"), clock=clock)
        await seed_every_state(registry, clock)
        return registry

    registry = asyncio.run(build())
    yield registry, clock
    asyncio.run(registry.close())


@pytest.fixture
async def scene(tmp_path: Path) -> AsyncIterator[tuple[SqliteProcessRegistry, ManualClock]]:
    """The every-state scene opened in the test's own event loop (for Pilot tests)."""
    clock = ManualClock(START_MS)
    registry = await SqliteProcessRegistry.open(str(tmp_path / "scene.db"), clock=clock)
    try:
        await seed_every_state(registry, clock)
        yield registry, clock
    finally:
        await registry.close()
