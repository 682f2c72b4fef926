"""The every-state scene (tests/tui/scene.py) as fixtures, for snapshot and Pilot tests, and
`snap_compare` made to wait for a screen that has stopped changing; and `spoiled`, a
registry with one undecodable row, which the tests of such rows and of ending them share."""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from lashtui.clock import ManualClock
from lashtui.registry import ProcessRegistry, open_registry
from lashtui.registry.sqlite import SqliteProcessRegistry
from tests.raw import raw_connection
from tests.tui.scene import START_MS, seed_every_state
from tests.tui.test_processes_view import wait_steps


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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Snapshot tests run in the suite's `alone` part (the README's test command), with no
    other test process on the CPUs: beside one, on 2 vCPUs, two of three runs caught a
    table mid-layout (its header's columns not yet widened to the rows') in a frame that
    then stayed still, which `settle` below cannot tell from a finished one."""
    for item in items:
        if "snap_compare" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.alone)


SETTLE_WITHIN_S = 5.0  # a guard: a screen still moving then is the snapshot's to judge
SETTLE_QUIET_S = 0.1


async def settle(pilot: Pilot[Any]) -> None:
    """Wait until two screenshots `SETTLE_QUIET_S` apart are the same. A test's own wait
    (the first read on screen) can end before the layout that read causes has run (a table
    sizing a column to its widest id): on a loaded machine, with two test processes, one
    snapshot in ~30 caught that half-drawn frame. Every snapshot here uses a manual clock,
    so a drawn screen stays still. A focused field's cursor would not: it blinks every half
    second, and the snapshot caught either phase (the typed-count question, whose field has
    the focus, failed one run in three), so every field's cursor is held on first."""
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False
    last = None
    try:
        async with asyncio.timeout(SETTLE_WITHIN_S):
            while True:
                await pilot.pause()
                await pilot.wait_for_scheduled_animations()
                shot = pilot.app.export_screenshot()
                if shot == last:
                    return
                last = shot
                await pilot.pause(SETTLE_QUIET_S)
    except TimeoutError:
        return


@pytest.fixture
def snap_compare(snap_compare: Callable[..., bool]) -> Callable[..., bool]:
    """pytest-textual-snapshot's `snap_compare`, settling the screen after `run_before`."""

    def compare(
        app: Any,
        terminal_size: tuple[int, int] = (80, 24),
        run_before: Callable[[Pilot[Any]], Awaitable[None] | None] | None = None,
    ) -> bool:
        async def then_settle(pilot: Pilot[Any]) -> None:
            if run_before is not None:
                result = run_before(pilot)
                if inspect.isawaitable(result):
                    await result
            await settle(pilot)

        return snap_compare(app, terminal_size=terminal_size, run_before=then_settle)

    return compare


async def spoil(registry: ProcessRegistry, db: str, process_id: str) -> None:
    """Give the row a record nested 300 levels deep: valid JSON that pydantic cannot read."""
    record = json.loads((await registry.get_process(process_id)).model_dump_json())  # type: ignore[union-attr]
    record["input"]["payload"] = "PLACEHOLDER"
    deep = json.dumps(record).replace('"PLACEHOLDER"', "[" * 300 + "]" * 300)
    with raw_connection(db) as conn:
        conn.execute(
            "UPDATE processes SET record_json = ? WHERE process_id = ?", (deep, process_id)
        )


@pytest.fixture
def db(tmp_path: Path) -> str:
    """The test's registry file."""
    return str(tmp_path / "r.db")


@pytest.fixture
async def spoiled(db: str) -> AsyncIterator[ProcessRegistry]:
    """`a-good`, `b-deep` (undecodable) and `c-good`, never run, in the file `db`."""
    async with open_registry(db) as registry:
        for pid in ("a-good", "b-deep", "c-good"):
            await registry.start_process(wait_steps(pid))
        await spoil(registry, db, "b-deep")
        yield registry
