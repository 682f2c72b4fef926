"""The process detail says what is (the dashboard audit's items 1 and 5): absolute times
are shown whole, and a process that does not exist, or no longer does, is said to be so
and offered no action."""

from __future__ import annotations

from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey

from lashtui.admin import Processes
from lashtui.clock import ManualClock
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.tui import format as fmt
from lashtui.tui.app import make_app
from lashtui.tui.screens.detail import ProcessDetailScreen
from tests.tui.scene import home_loaded, until
from tests.tui.test_hostile_app import check_screen, loaded, screen_text

SIZE = (160, 30)


async def test_absolute_times_are_shown_whole_and_relative_ones_narrow_again(
    scene: tuple[SqliteProcessRegistry, ManualClock],
) -> None:
    """`r` re-set the AT cells without measuring them: the column kept the width of `1m
    ago` and showed `2026-1` of `2026-12-06 07:49:57.303Z`."""
    registry, clock = scene
    processes = Processes(registry, clock=clock)
    events = await processes.events("d-failed")
    app = make_app(processes, clock=clock, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        (await home_loaded(pilot)).action_open("d-failed")
        await pilot.pause()
        detail = app.screen
        assert isinstance(detail, ProcessDetailScreen)
        await loaded(detail)
        relative = fmt.event_ago(events[-1], clock.now_ms())
        await until(pilot, lambda: relative in screen_text(app))
        column = detail.query_one("#timeline", DataTable).columns[ColumnKey("at")]
        narrow = column.content_width

        await pilot.press("r")
        stamps = [fmt.event_timestamp(event) for event in events]
        await until(pilot, lambda: all(stamp in screen_text(app) for stamp in stamps))
        check_screen(app, *stamps)

        await pilot.press("r")  # back to relative: the column fits them again
        await until(pilot, lambda: stamps[-1] not in screen_text(app))
        await until(pilot, lambda: column.content_width == narrow)
        check_screen(app, relative)
