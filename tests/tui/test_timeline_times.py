"""The detail timeline's AT column is never drawn too narrow for its times. `r` (relative /
absolute) set the new times and left DataTable to measure them when it was next idle, so a
frame drawn before then showed `2026-05-2` for a moment before the whole time; and a
relative time the clock moved was never measured: `5s ago` read `15s ag` ten seconds on,
and `1m05s` a minute on, until `r` measured the column again."""

from __future__ import annotations

from typing import Any

from textual.widgets import DataTable

from lashtui.admin import Processes
from lashtui.clock import ManualClock
from lashtui.model import SuccessOutput
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.tui.app import make_app
from lashtui.tui.format import timestamp
from lashtui.tui.screens.detail import ProcessDetailScreen
from tests.builders import rr
from tests.tui.scene import START_MS, _end, _started, far, home_loaded, until


def is_read(app: Any) -> bool:
    return isinstance(app.screen, ProcessDetailScreen) and app.screen.loaded.is_set()


def first_row(timeline: DataTable[Any]) -> str:
    """The timeline's first event as a frame drawn now would show it (below the header)."""
    return timeline.render_line(1).text


async def ended(registry: SqliteProcessRegistry) -> None:
    await registry.register_process(rr("p1"))
    await _started(registry, "p1", far("w"), 60_000)
    await _end(registry, "p1", SuccessOutput(value=1))  # one event, at START_MS


async def test_r_draws_every_time_whole_from_the_first_frame(
    scene: tuple[SqliteProcessRegistry, ManualClock],
) -> None:
    registry, clock = scene
    app = make_app(Processes(registry, clock=clock), clock=clock, read_only=True)
    async with app.run_test(size=(120, 30)) as pilot:
        (await home_loaded(pilot)).action_open("d-failed")
        await until(pilot, lambda: is_read(app))
        detail = app.screen
        assert isinstance(detail, ProcessDetailScreen)
        timeline = detail.query_one("#timeline", DataTable)
        await until(pilot, lambda: timeline.row_count == 1)
        await pilot.pause()
        assert "1m30s ago " in first_row(timeline)
        # What `r` does, and the frame drawn right after it, before the table is idle.
        detail.action_toggle_time()
        assert f" {timestamp(START_MS)} " in first_row(timeline)
        await pilot.pause()
        detail.action_toggle_time()  # back to relative: the column narrows to fit again
        assert " 1m30s ago  process.failed" in first_row(timeline)


async def test_a_relative_time_the_clock_widens_is_drawn_whole(tmp_path: Any) -> None:
    clock = ManualClock(START_MS)
    registry = await SqliteProcessRegistry.open(str(tmp_path / "t.db"), clock=clock)
    try:
        await ended(registry)
        clock.advance(5_000)
        app = make_app(Processes(registry, clock=clock), clock=clock, read_only=True)
        async with app.run_test(size=(120, 30)) as pilot:
            (await home_loaded(pilot)).action_open("p1")
            await until(pilot, lambda: is_read(app))
            timeline = app.screen.query_one("#timeline", DataTable)
            await until(pilot, lambda: timeline.row_count == 1)
            await pilot.pause()
            assert " 5s ago  process.completed" in first_row(timeline)
            for later, said in ((10_000, "15s ago"), (50_000, "1m05s ago")):
                clock.advance(later)  # the next tick (each second) moves the time
                await until(pilot, lambda said=said: timeline.get_cell("1", "at") == said)
                await pilot.pause()
                assert f" {said}  process.completed" in first_row(timeline)
    finally:
        await registry.close()
