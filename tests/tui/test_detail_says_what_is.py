"""The process detail says what is (the dashboard audit's items 1 and 5): absolute times
are shown whole, and a process that does not exist, or no longer does, is said to be so
and offered no action."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable, Static
from textual.widgets.data_table import ColumnKey

from lashtui.admin import Processes
from lashtui.clock import ManualClock
from lashtui.model import failure
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.tui import format as fmt
from lashtui.tui.app import make_app
from lashtui.tui.screens.detail import ProcessDetailScreen
from tests.builders import ext
from tests.tui.scene import START_MS, home_loaded, until
from tests.tui.test_actions import toasts
from tests.tui.test_hostile_app import check_screen, loaded, screen_text
from tests.tui.test_typed_commands import typed

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


def summary_text(detail: ProcessDetailScreen) -> str:
    return str(detail.query_one("#summary", Static).render())


async def test_open_names_an_id_that_is_not_a_process_and_opens_nothing(
    scene: tuple[SqliteProcessRegistry, ManualClock],
) -> None:
    """`:open nosuch` opened a detail that said `process nosuch is gone`."""
    registry, clock = scene
    app = make_app(Processes(registry, clock=clock), clock=clock, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        home = await home_loaded(pilot)
        await typed(pilot, "open nosuch")
        await until(pilot, lambda: bool(toasts(app)))
        assert toasts(app) == ["there is no process `nosuch`; nothing opened"]
        assert app.screen is home

        home.action_open("nosuch")  # a detail opened by id elsewhere says the same
        await pilot.pause()
        detail = app.screen
        assert isinstance(detail, ProcessDetailScreen)
        await loaded(detail)
        assert summary_text(detail) == "there is no process `nosuch`"
        assert "gone" not in screen_text(app)


async def test_a_process_pruned_while_its_detail_is_open_is_said_gone_and_offered_nothing(
    tmp_path: Path,
) -> None:
    """It kept its timeline; `c` said `it has already ended (failed)` and `R` asked, then
    was refused as an unknown process."""
    clock = ManualClock(START_MS)
    path = str(tmp_path / "gone.db")
    registry = await SqliteProcessRegistry.open(path, clock=clock)
    try:
        await registry.register_process(ext("x"))
        await registry.complete_process("x", failure("boom", "it broke"))
        app = make_app(Processes(registry, clock=clock), clock=clock, refresh_s=0.05)
        async with app.run_test(size=SIZE) as pilot:
            (await home_loaded(pilot)).action_open("x")
            await pilot.pause()
            detail = app.screen
            assert isinstance(detail, ProcessDetailScreen)
            await loaded(detail)
            timeline = detail.query_one("#timeline", DataTable)
            await until(pilot, lambda: timeline.row_count > 0)
            assert detail.check_action("rerun", ()) is True

            other = await SqliteProcessRegistry.open(path, clock=clock)  # another program
            try:
                report = await other.prune_terminal_processes(clock.now_ms() + 1)
                assert report.pruned_processes == 1
            finally:
                await other.close()

            await until(pilot, lambda: "gone" in summary_text(detail))
            assert summary_text(detail) == (
                "process `x` is gone: it is no longer in the registry (pruned or deleted since "
                "it was opened); what was read of it is dropped"
            )
            assert timeline.row_count == 0 and detail.process is None
            for key, action in (("c", "cancel"), ("R", "rerun")):
                assert detail.check_action(action, ()) is None  # dimmed
                await pilot.press(key)
                await until(pilot, lambda: len(toasts(app)) == 1)
                assert toasts(app) == [
                    f"{action} is not offered: process x is no longer in the registry"
                ]
                assert app.screen is detail  # nothing asked
                app.clear_notifications()
    finally:
        await registry.close()
