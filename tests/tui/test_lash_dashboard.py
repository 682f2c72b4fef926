"""The dashboard on registries lash itself wrote (tests/lash/fixture.py): snapshots of the
Processes view and of a process's detail on lash's v21 fixture (header "lash registry v21,
read-only") and of the Processes view on lash's v6 agent run, and a Pilot run over the v6
fixture that tries every action key; after each the folder is byte-for-byte and file-list
unchanged."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from lashtui.admin import Processes
from lashtui.clock import ManualClock
from lashtui.registry import lash_version_of
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.tui.app import LashtuiApp, make_app
from lashtui.tui.screens.detail import ProcessDetailScreen
from lashtui.tui.widgets.process_table import ProcessTable
from tests.lash.fixture import FILES, copied, listing
from tests.tui.scene import home_loaded, until

# A minute after lash wrote the v21 fixture's rows (1700000000000).
V21_NOW_MS = 1_700_000_060_000
SIZE = (140, 16)
# About two days after lash v6's agent run (June 2026).
V6_NOW_MS = 1_780_600_000_000


def lash_app(registry: SqliteProcessRegistry, clock: ManualClock, version: int) -> LashtuiApp:
    """The dashboard as `lashtui dash` builds it on a lash registry (command/dashboard.py)."""
    assert lash_version_of(registry) == version
    return make_app(
        Processes(registry, clock=clock),
        clock=clock,
        subtitle=FILES[version],
        lash_version=version,
    )


@pytest.fixture
def v21(tmp_path: Path) -> Iterator[tuple[SqliteProcessRegistry, ManualClock, dict[str, str]]]:
    db = copied(21, tmp_path)
    before = listing(tmp_path)
    clock = ManualClock(V21_NOW_MS)
    # Asked read-write, as the dashboard asks: a lash file opens read-only all the same.
    registry = asyncio.run(SqliteProcessRegistry.open(str(db), clock=clock, create=False))
    yield registry, clock, before
    asyncio.run(registry.close())
    assert listing(tmp_path) == before


def test_processes_view_snapshot(v21: Any, snap_compare: Any) -> None:
    registry, clock, _ = v21

    async def run_before(pilot: Pilot[Any]) -> None:
        await home_loaded(pilot)

    app = lash_app(registry, clock, 21)
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
    assert app.sub_title == "lash registry v21, read-only · v21-durable-read.db"


def test_detail_snapshot(v21: Any, snap_compare: Any) -> None:
    registry, clock, _ = v21

    async def run_before(pilot: Pilot[Any]) -> None:
        await home_loaded(pilot)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(pilot.app.screen, ProcessDetailScreen))
        screen: Any = pilot.app.screen
        async with asyncio.timeout(10):
            await screen.loaded.wait()
        await pilot.pause()

    assert snap_compare(
        lash_app(registry, clock, 21), terminal_size=(140, 30), run_before=run_before
    )


def _processes_view_snapshot(
    tmp_path: Path, snap_compare: Any, version: int, now_ms: int, size: tuple[int, int]
) -> LashtuiApp:
    """The Processes view on lash's fixture of `version`, opened as the dashboard opens it;
    the folder unchanged afterwards."""
    db = copied(version, tmp_path)
    before = listing(tmp_path)
    clock = ManualClock(now_ms)
    registry = asyncio.run(SqliteProcessRegistry.open(str(db), clock=clock, create=False))
    try:

        async def run_before(pilot: Pilot[Any]) -> None:
            await home_loaded(pilot)

        app = lash_app(registry, clock, version)
        assert snap_compare(app, terminal_size=size, run_before=run_before)
    finally:
        asyncio.run(registry.close())
    assert listing(tmp_path) == before
    return app


def test_v6_processes_view_snapshot(tmp_path: Path, snap_compare: Any) -> None:
    """lash v6's agent run: its 68 processes in id order, lashlang processes named as lash
    named their handles, a failure's reason in WHY, the counts in the status line."""
    _processes_view_snapshot(tmp_path, snap_compare, 6, V6_NOW_MS, (160, 24))


async def test_action_keys_change_nothing(tmp_path: Path) -> None:
    db = copied(6, tmp_path)
    before = listing(tmp_path)
    clock = ManualClock(V6_NOW_MS)
    registry = await SqliteProcessRegistry.open(str(db), clock=clock, create=False)
    try:
        app = lash_app(registry, clock, 6)
        async with app.run_test(size=(140, 30)) as pilot:
            await home_loaded(pilot)
            for key in (
                "down",
                "enter",
                "c",
                "y",
                "escape",
                "a",
                "escape",
                "p",
                "2",
                "3",
                "4",
                "5",
                "6",
                "1",
            ):
                await pilot.press(key)
                await pilot.pause()
            assert app.dashboard.read_only and app.dashboard.worker is None
    finally:
        await registry.close()
    assert listing(tmp_path) == before


def test_v24_processes_view_snapshot(tmp_path: Path, snap_compare: Any) -> None:
    """lash's newest layout read (v24: v21's rows, with parent-end plans and tool intents
    beside them): the same two processes, the header naming v24."""
    app = _processes_view_snapshot(tmp_path, snap_compare, 24, V21_NOW_MS, SIZE)
    assert app.sub_title == "lash registry v24, read-only · v24-durable-read.db"


async def test_a_held_v6_lease_names_its_holder(tmp_path: Path) -> None:
    """HOLDER on lash v6 is `-` on every row of the fixture, whose 65 lease rows were all
    released; it stays, because v6 does store who holds a lease (`lease_owner_id`, with
    no incarnation or liveness): a v6 registry of a lash that is running names each holder
    by that id, as here one lease taken back by hand in a copy of the fixture."""
    db = copied(6, tmp_path)
    held = "process:2affdc3e-a0fd-4e52-afd3-319c5d6309a1"
    with sqlite3.connect(db) as conn:  # (as a running lash v6 would leave it)
        conn.execute(
            "UPDATE process_leases SET lease_owner_id = 'lash-worker-9', lease_token = 't', "
            "lease_claimed_at_ms = ?, lease_expires_at_ms = ? WHERE process_id = ?",
            (V6_NOW_MS - 60_000, V6_NOW_MS + 600_000, held),
        )
    conn.close()
    clock = ManualClock(V6_NOW_MS)
    registry = await SqliteProcessRegistry.open(str(db), clock=clock, create=False)
    try:
        app = lash_app(registry, clock, 6)
        async with app.run_test(size=(160, 24)) as pilot:
            home = await home_loaded(pilot)
            table = home.query_one(ProcessTable)
            assert "holder" in table.drawn, table.drawn
            assert str(table.get_cell(held, "holder")) == "lash-worker-9"
            assert str(table.get_cell(held, "lease")) == "10m00s left"
    finally:
        await registry.close()
