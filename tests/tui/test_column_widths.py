"""The tables use the width they have (widgets/column_plan.py), on the demo's rows with
leases held as the demo's worker holds them (an owner that reads `lashtui-worker@build-7/
pid:[4026531836]:14324`) and a failure whose message is longer than 48 characters.

At 120 and 130 columns the Processes view showed no LEASE and no AGE (the lease cell, holder
and countdown in one, was too wide for the plan), WHY was cut at 48 characters whatever the
room, and the Leases view drew its countdowns past the right edge. At 80 columns the header
cut why the dashboard is read-only; and a list whose first read was in flight showed its
column headers alone, as an empty registry's did."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len
from textual.pilot import Pilot
from textual.widgets import DataTable, Static
from textual.widgets.data_table import ColumnKey

from lashtui import demo
from lashtui.admin import Processes
from lashtui.clock import ManualClock
from lashtui.model import LeaseOwnerIdentity, LocalProcessLiveness, failure
from lashtui.registry import open_registry
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.tui.app import make_app
from lashtui.tui.screens.leases import LeasesScreen
from lashtui.tui.screens.processes import ProcessesScreen
from lashtui.tui.widgets.keyed_table import KeyedTable
from lashtui.tui.widgets.process_table import KEYS, ProcessTable
from tests.conftest import fresh_schema
from tests.tui.scene import START_MS, home_loaded, until
from tests.tui.test_hostile_app import screen_text

WIDTHS = (80, 100, 120, 130, 160)
# The demo's worker as another host's (so its health reads the same on every machine).
WORKER = LeaseOwnerIdentity(
    owner_id="lashtui-worker@build-7",
    incarnation_id="lashtui-worker@build-7:1",
    liveness=LocalProcessLiveness(
        host_id="build-7/pid:[4026531836]", boot_id="b", pid=14324, process_start="1"
    ),
)
HELD = ("crawl-docs", "deploy-approval", "review-wait")  # 9m left on each
LONG_WHY = "upstream_timeout: upstream did not answer in 30s after three retries"


async def seed(registry: SqliteProcessRegistry, clock: ManualClock) -> None:
    """The demo's rows (no worker runs them), three leases its worker would hold, and
    one failure with a long message."""
    processes = Processes(registry, clock=clock)
    await demo.seed(processes)
    for pid in HELD:
        assert (await registry.claim_process_lease(pid, WORKER, 540_000)).acquired()
    lease = (await registry.claim_process_lease("flaky-sync", WORKER, 60_000)).acquired()
    assert lease is not None
    code, message = LONG_WHY.split(": ", 1)
    await registry.complete_process_with_lease(lease, failure(code, message))


@pytest.fixture
def demo_rows(tmp_path: Path) -> Any:
    clock = ManualClock(START_MS)

    async def build() -> SqliteProcessRegistry:
        registry = await SqliteProcessRegistry.open(str(tmp_path / "demo.db"), clock=clock)
        await seed(registry, clock)
        return registry

    registry = asyncio.run(build())
    yield registry, clock
    asyncio.run(registry.close())


@pytest.fixture
async def demo_scene(tmp_path: Path) -> Any:
    clock = ManualClock(START_MS)
    registry = await SqliteProcessRegistry.open(str(tmp_path / "demo.db"), clock=clock)
    try:
        await seed(registry, clock)
        yield registry, clock
    finally:
        await registry.close()


def observer(registry: SqliteProcessRegistry, clock: ManualClock, **kwargs: Any) -> Any:
    kwargs.setdefault("read_only", True)
    return make_app(
        Processes(registry, clock=clock), clock=clock, subtitle="demo.db", **kwargs
    )


async def leases_view(pilot: Pilot[Any]) -> LeasesScreen:
    await home_loaded(pilot)
    await pilot.press("2")
    screen = pilot.app.screen
    assert isinstance(screen, LeasesScreen)
    async with asyncio.timeout(10):
        await screen.loaded.wait()
    await pilot.pause()
    return screen


def right_edge(table: DataTable[Any], key: str) -> int:
    """Where column `key` ends, in cells from the table's left."""
    edge = 0
    for column in table.ordered_columns:
        edge += column.get_render_width(table)
        if column.key == ColumnKey(key):
            return edge
    raise AssertionError(f"no column {key}")


def uses_its_width(table: DataTable[Any], drawn: dict[str, int], widest: dict[str, int]) -> None:
    """Room is left over only when no text column is cut."""
    used = sum(column.get_render_width(table) for column in table.ordered_columns)
    available = table.scrollable_content_region.width
    assert used <= available, (used, available)
    if any(drawn[key] < widest[key] for key in drawn if key in ("label", "why", "holder")):
        assert used == available, (used, available, drawn, widest)


@pytest.mark.parametrize("width", WIDTHS)
async def test_the_processes_view_keeps_its_key_columns_at_every_width(
    demo_scene: tuple[SqliteProcessRegistry, ManualClock], width: int
) -> None:
    registry, clock = demo_scene
    app = observer(registry, clock)
    async with app.run_test(size=(width, 30)) as pilot:
        home = await home_loaded(pilot)
        table = home.query_one(ProcessTable)
        key_columns = {"id", "status", "label", "why", "lease", "age"}
        assert key_columns <= set(table.shown_columns), table.shown_columns
        assert right_edge(table, "age") <= table.scrollable_content_region.width
        assert table.fixed_columns == 0  # nothing scrolls sideways
        screen = screen_text(app)
        assert "LEASE" in screen and "AGE" in screen and "9m00s left" in screen
        uses_its_width(table, table.drawn, dict(zip(KEYS, table.widest, strict=True)))
        # HOLDER beside the text cut to a fair share (16 cells), from 120 columns: it was
        # shown only at 160, once WHY had its comfortable 48 cells.
        if width >= 120:
            assert "HOLDER" in screen and "lashtui-worker@build" in screen
        else:
            assert "HOLDER" not in screen


@pytest.mark.parametrize("width", WIDTHS)
async def test_the_leases_view_keeps_its_countdowns_on_screen_at_every_width(
    demo_scene: tuple[SqliteProcessRegistry, ManualClock], width: int
) -> None:
    registry, clock = demo_scene
    app = observer(registry, clock)
    async with app.run_test(size=(width, 30)) as pilot:
        leases = await leases_view(pilot)
        table = leases.query_one(KeyedTable)
        screen = screen_text(app)
        assert screen.count("9m00s left") == len(HELD), screen
        for pid in HELD:
            assert pid in screen
        assert right_edge(table, "lease") <= table.scrollable_content_region.width
        assert {"owner", "process", "lease", "health"} <= set(table.shown_columns)
        keys = [key for key, _ in table.column_spec]
        uses_its_width(table, table.drawn, dict(zip(keys, table.widest, strict=True)))


async def test_a_cut_text_cell_says_it_was_cut(
    demo_scene: tuple[SqliteProcessRegistry, ManualClock],
) -> None:
    registry, clock = demo_scene
    app = observer(registry, clock)
    async with app.run_test(size=(80, 30)) as pilot:
        home = await home_loaded(pilot)
        table = home.query_one(ProcessTable)
        why = str(table.get_cell("flaky-sync", "why"))
        assert why.endswith("…") and LONG_WHY.startswith(why[:-1])
        assert cell_len(why) == table.columns[ColumnKey("why")].get_render_width(table) - 2
        await pilot.resize_terminal(400, 30)  # room again: the whole message
        await until(pilot, lambda: str(table.get_cell("flaky-sync", "why")) == LONG_WHY)


async def test_at_80_columns_the_reason_for_read_only_is_said_whole(
    demo_scene: tuple[SqliteProcessRegistry, ManualClock],
) -> None:
    """The header cut `read-only: no write permission on the file` after the path; the
    status line, which wraps, says it too."""
    registry, clock = demo_scene
    why = "no write permission on the file"
    app = make_app(
        Processes(registry, clock=clock), clock=clock, read_only_why=why,
        subtitle="/srv/lash/registries/payments-eu-west/registry.db",
    )  # fmt: skip
    async with app.run_test(size=(80, 24)) as pilot:
        await home_loaded(pilot)
        assert why in screen_text(app)
        assert f"read-only ({why}): observing, no actions" in screen_text(app)


async def test_an_empty_list_says_it_is_reading_until_its_first_read_is_in() -> None:
    """A read held up (here by a PostgreSQL lock another session holds, as a big census
    holds it up under load) shows `reading…` under the headers, not an empty list; then
    the rows."""
    import psycopg

    clock = ManualClock(START_MS)
    with fresh_schema() as url:
        async with open_registry(url, clock=clock) as registry:
            await demo.seed(Processes(registry, clock=clock))
            with psycopg.connect(url) as blocker:
                blocker.execute("LOCK TABLE processes IN ACCESS EXCLUSIVE MODE")
                app = make_app(Processes(registry, clock=clock), clock=clock, read_only=True)
                async with app.run_test(size=(60, 24)) as pilot:
                    home = app.screen
                    assert isinstance(home, ProcessesScreen)
                    await until(pilot, lambda: "reading…" in screen_text(app))
                    await pilot.pause(0.3)
                    assert not home.loaded.is_set() and "reading…" in screen_text(app)
                    assert "no processes" not in screen_text(app)
                    blocker.rollback()
                    await home_loaded(pilot)
                    await until(pilot, lambda: "payroll-run" in screen_text(app))
                    assert "reading…" not in screen_text(app)
                    assert not home.query_one("#process-empty", Static).display


async def test_an_empty_registry_says_it_has_no_processes(tmp_path: Path) -> None:
    clock = ManualClock(START_MS)
    registry = await SqliteProcessRegistry.open(str(tmp_path / "empty.db"), clock=clock)
    try:
        app = observer(registry, clock)
        async with app.run_test(size=(60, 24)) as pilot:
            home = await home_loaded(pilot)
            await until(pilot, lambda: "no processes" in screen_text(app))
            # Under the headers, not only among the counts on the status line.
            table = home.query_one(ProcessTable)
            below = screen_text(app).splitlines()[table.region.y + 1 :]
            assert any("no processes" in line for line in below)
            assert "reading…" not in screen_text(app)
    finally:
        await registry.close()


@pytest.mark.parametrize("width", [80, 120])
def test_processes_snapshot(
    demo_rows: tuple[SqliteProcessRegistry, ManualClock], snap_compare: Any, width: int
) -> None:
    registry, clock = demo_rows
    app = observer(registry, clock)
    assert snap_compare(app, terminal_size=(width, 24), run_before=home_loaded)


@pytest.mark.parametrize("width", [80, 120])
def test_leases_snapshot(
    demo_rows: tuple[SqliteProcessRegistry, ManualClock], snap_compare: Any, width: int
) -> None:
    registry, clock = demo_rows
    app = observer(registry, clock)
    assert snap_compare(app, terminal_size=(width, 24), run_before=leases_view)
