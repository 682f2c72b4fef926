"""A filtered Processes view says how many processes its filters match, of how many: the
status line said the filters and nothing of their matches but "no process matches" when
none did, so a filter that matched 3 of 11, or 334 of 1,000, looked the same as one that
matched every row. What the view does not know it does not claim: past the rows its window
holds, a text filter's matches are `at least` that many."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input

from lashtui.admin import Processes
from lashtui.clock import ManualClock
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.tui.app import make_app
from lashtui.tui.screens.processes import ProcessesScreen
from tests.tui.scene import START_MS, home_loaded, seed_many, send, until


async def typed(pilot: Pilot[Any], screen: ProcessesScreen, line: str, said: str) -> None:
    """`line` typed on the `:` line; then the status line ends with `said`."""
    await entered(pilot, line)
    await until(pilot, lambda: screen.status_line.endswith(said))


async def entered(pilot: Pilot[Any], line: str) -> None:
    """`:`, then `line` and Enter once the line has the focus. (Sent, not pressed: Pilot's
    `press` waited for an idle after each key, ~5 of test_counts_past_the_window's 7 s.)"""

    def line_open() -> bool:
        field = pilot.app.focused
        return isinstance(field, Input) and not field.value

    await until(pilot, lambda: not isinstance(pilot.app.focused, Input))  # the last closed
    send(pilot, "colon")
    await until(pilot, line_open)
    send(pilot, *line, "enter")


async def test_a_filter_says_how_many_of_the_processes_it_matches(
    scene: tuple[SqliteProcessRegistry, ManualClock],
) -> None:
    registry, clock = scene
    app = make_app(Processes(registry, clock=clock), clock=clock, read_only=True)
    async with app.run_test(size=(160, 24)) as pilot:
        screen = await home_loaded(pilot)
        assert " match" not in screen.status_line  # no filter: the counts say it all
        await typed(pilot, screen, "filter abandoned", '"abandoned" (Esc clears)  ·  3 of 11 match')
        await typed(pilot, screen, "filter g-silent", "  ·  1 of 11 matches")
        await typed(pilot, screen, "filter", "abandoned 3")  # cleared: no count
        await typed(pilot, screen, "status running", "running (Esc clears)  ·  4 of 11 match")


async def test_counts_past_the_window_are_the_census_or_at_least(tmp_path: Path) -> None:
    """Over 1,000 rows (every third completed) the window holds a few hundred: a status
    filter's matches are the census's count of that state, exact; a text filter's are at
    least the rows the window holds, and exact again once the window holds them all."""
    path = str(tmp_path / "many.db")
    await asyncio.to_thread(seed_many, path, 1_000)  # (it runs an event loop of its own)
    clock = ManualClock(START_MS)
    registry = await SqliteProcessRegistry.open(path, clock=clock)
    try:
        app = make_app(Processes(registry, clock=clock), clock=clock, read_only=True)
        async with app.run_test(size=(160, 24)) as pilot:
            screen = await home_loaded(pilot)
            window = screen.window
            await typed(pilot, screen, "status completed", "  ·  334 of 1,000 match")
            assert not (window.at_start and window.at_end)  # the count is the census's
            await typed(pilot, screen, "status all", "completed 334")
            await entered(pilot, "filter p-0")  # every id
            await until(pilot, lambda: "at least" in screen.status_line)
            held = len(window.rows)
            assert 0 < held < 1_000
            assert screen.status_line.endswith(f"  ·  at least {held:,} of 1,000 match")
            await typed(pilot, screen, "filter p-0001", "  ·  100 of 1,000 match")  # p-0001xx
            assert window.at_start and window.at_end
    finally:
        await registry.close()
