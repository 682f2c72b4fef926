"""A lapsed lease is worded one way in every view that shows when it lapsed: the Processes
view's LEASE cell, the Leases view, the Abandon requests view's silent list and the detail
all say `lapsed 1m29s ago` of g-silent's lease, from one function (`fmt.countdown`). The
silent list said `lapsed 1m29s ago` where the other three said `lapsed 1m29s`."""

from __future__ import annotations

from textual.widgets import Static

from lashtui.admin import Processes
from lashtui.clock import ManualClock
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.tui.app import make_app
from lashtui.tui.screens.abandon import AbandonRequestsScreen
from lashtui.tui.screens.detail import ProcessDetailScreen
from lashtui.tui.screens.leases import LeasesScreen, process_key
from lashtui.tui.widgets.keyed_table import KeyedTable
from lashtui.tui.widgets.process_table import ProcessTable
from tests.tui.scene import home_loaded, until
from tests.tui.test_views import open_view

SAID = "lapsed 1m29s ago"  # g-silent's 1 s lease, 90 s into the scene


def last_cell(table: KeyedTable, key: str) -> str:
    return str(table.get_row(key)[-1])


async def test_every_view_says_a_lapse_the_same_way(
    scene: tuple[SqliteProcessRegistry, ManualClock],
) -> None:
    registry, clock = scene
    app = make_app(Processes(registry, clock=clock), clock=clock, read_only=True)
    async with app.run_test(size=(200, 30)) as pilot:
        home = await home_loaded(pilot)
        table = home.query_one(ProcessTable)
        said = {"processes": str(table.get_cell("g-silent", "lease"))}
        leases = await open_view(pilot, "2", LeasesScreen)
        leases_table = leases.query_one("#leases-table", KeyedTable)
        said["leases"] = last_cell(leases_table, process_key("g-silent"))
        abandon = await open_view(pilot, "3", AbandonRequestsScreen)
        said["abandon"] = last_cell(abandon.query_one("#silent-table", KeyedTable), "g-silent")
        await pilot.press("1")
        await until(pilot, lambda: app.screen is home)
        table.move_cursor(row=table.get_row_index("g-silent"))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ProcessDetailScreen))
        detail = app.screen
        assert isinstance(detail, ProcessDetailScreen)
        summary = detail.query_one("#summary", Static)
        await until(pilot, lambda: "lease " in str(summary.render()))
        said["detail"] = next(
            line for line in str(summary.render()).splitlines() if line.startswith("lease ")
        )
    assert said["processes"] == SAID
    assert said["leases"] == SAID
    assert said["abandon"] == SAID
    assert f"({SAID})" in said["detail"]
