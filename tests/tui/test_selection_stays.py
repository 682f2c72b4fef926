"""The Processes view never acts on a row the operator did not choose, when another program
moves the selected process: one that leaves the window's range but not the list stays
selected (the window is read again around it, as `:goto` does); one that leaves the list
(it no longer matches the filters) leaves no row selected, and `c` then offers nothing.

Both used to leave the cursor at the row's index, on the next process, and `c` asked
"Cancel process p-001502?" of a process the operator never chose. Real SQLite, the real
app under Pilot, the change made through a second connection, as another program would.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from lashtui.admin import Processes
from lashtui.clock import ManualClock
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.tui.app import make_app
from lashtui.tui.screens.detail import ProcessDetailScreen
from lashtui.tui.screens.modals import ConfirmScreen
from lashtui.tui.screens.processes import ProcessesScreen
from lashtui.tui.widgets.process_table import ProcessTable
from tests.registry.rows import success
from tests.tui.scene import START_MS, home_loaded, seed_many, until
from tests.tui.test_hostile_app import screen_text


@pytest.fixture
async def many(tmp_path: Path) -> AsyncIterator[tuple[Processes, str]]:
    """3,000 rows (every third completed, the rest running) and the file's path."""
    path = str(tmp_path / "many.db")
    await asyncio.to_thread(seed_many, path, 3_000)  # it runs its own event loop
    clock = ManualClock(START_MS)
    registry = await SqliteProcessRegistry.open(path, clock=clock)
    try:
        yield Processes(registry, clock=clock), path
    finally:
        await registry.close()


async def end_elsewhere(path: str, process_id: str) -> None:
    """Another program completes the process."""
    other = await SqliteProcessRegistry.open(path, clock=ManualClock(START_MS + 1_000))
    try:
        await other.complete_process(process_id, success())
    finally:
        await other.close()


async def command(pilot: Pilot[Any], line: str) -> None:
    await pilot.press("colon", *line, "enter")


async def test_the_selection_stays_on_its_process_when_it_moves_out_of_the_window(
    many: tuple[Processes, str],
) -> None:
    """Sorted by status, the running row `p-001501` sits among the running rows; ended by
    another program, it moves among the completed ones, far outside the window of rows
    held. It stays selected there: `c` says it has ended, Enter opens it."""
    processes, path = many
    app = make_app(processes, clock=processes.clock, refresh_s=0.05)
    async with app.run_test(size=(160, 40)) as pilot:
        screen = await home_loaded(pilot)
        table = screen.query_one(ProcessTable)
        await command(pilot, "sort status")
        await until(pilot, lambda: screen.page_query.order == "status")
        picked = "p-001501"
        await command(pilot, f"goto {picked}")
        await until(pilot, lambda: table.selected_id == picked)
        assert table.processes[picked].lifecycle.value == "running"
        held_before = set(table.processes)

        await end_elsewhere(path, picked)

        def ended_and_selected() -> bool:
            shown = table.processes.get(picked)
            return shown is not None and shown.terminal and table.selected_id == picked

        await until(pilot, ended_and_selected)
        # The window moved with it: among the completed rows now, not where it was.
        assert not held_before & set(table.processes) - {picked}
        assert table.order == screen.window.ids
        await pilot.press("c")  # about the operator's process, which has ended: not offered
        said = f"cancel is not offered for process {picked}: it has already ended"
        await until(pilot, lambda: any(said in n.message for n in app._notifications))
        assert app.screen is screen  # no question (it asked to cancel p-001502)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ProcessDetailScreen))
        assert app.screen.process_id == picked  # type: ignore[attr-defined]

async def test_a_selected_process_that_leaves_the_list_leaves_no_row_selected(
    many: tuple[Processes, str],
) -> None:
    """Filtered to running rows, the selected one ends elsewhere and leaves the list: no
    row is selected (not the one that took its place), the status line says so, `c` opens
    nothing; a cursor key selects a row again, the one now in its place."""
    processes, path = many
    app = make_app(processes, clock=processes.clock, refresh_s=0.05)
    async with app.run_test(size=(160, 40)) as pilot:
        screen = await home_loaded(pilot)
        table = screen.query_one(ProcessTable)
        await pilot.press("f")  # running
        await until(pilot, lambda: "p-000000" not in table.processes)
        picked = "p-000004"
        await command(pilot, f"goto {picked}")
        await until(pilot, lambda: table.selected_id == picked)

        await end_elsewhere(path, picked)
        await until(pilot, lambda: picked not in table.processes)
        assert table.selected_id is None and table.lost == picked
        assert not table.show_cursor
        await until(pilot, lambda: f"{picked} left the list" in screen_text(app))
        await pilot.press("c", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ProcessesScreen)  # no question, no detail

        await pilot.press("down")  # the row now where it was: the next running one
        assert table.selected_id == "p-000005" and table.show_cursor
        await until(pilot, lambda: "left the list" not in screen_text(app))
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "process p-000005" in screen_text(app)


async def test_a_selected_process_pruned_elsewhere_leaves_no_row_selected(
    many: tuple[Processes, str],
) -> None:
    """A prune reaches the window by its re-read, not the feed: the pruned selection leaves
    no row selected there too, until the operator changes the filter: that reads the window
    again around where it was and selects the nearest row."""
    processes, path = many
    app = make_app(processes, clock=processes.clock, refresh_s=0.05)
    async with app.run_test(size=(160, 40)) as pilot:
        screen = await home_loaded(pilot)
        table = screen.query_one(ProcessTable)
        picked = "p-000003"  # completed
        await command(pilot, f"goto {picked}")
        await until(pilot, lambda: table.selected_id == picked)
        other = await SqliteProcessRegistry.open(path, clock=ManualClock(START_MS))
        try:
            await other.prune_terminal_processes(START_MS + 1)
        finally:
            await other.close()
        await until(pilot, lambda: picked not in table.processes)
        assert table.selected_id is None and table.lost == picked
        await pilot.press("c")
        await pilot.pause()
        assert app.screen is screen
        await pilot.press("f")  # a filter the operator sets: the row nearest to where it was
        await until(pilot, lambda: table.selected_id == "p-000004")
        assert table.lost is None and table.show_cursor


async def test_clearing_the_filter_selects_again_the_process_that_left(
    many: tuple[Processes, str],
) -> None:
    """The process that left the running filter is still in the registry: Esc (the filters
    cleared) reads the window around it and selects it again, not a neighbour."""
    processes, path = many
    app = make_app(processes, clock=processes.clock, refresh_s=0.05)
    async with app.run_test(size=(160, 40)) as pilot:
        screen = await home_loaded(pilot)
        table = screen.query_one(ProcessTable)
        await pilot.press("f")  # running
        await until(pilot, lambda: "p-000000" not in table.processes)
        picked = "p-000004"
        await command(pilot, f"goto {picked}")
        await until(pilot, lambda: table.selected_id == picked)
        await end_elsewhere(path, picked)
        await until(pilot, lambda: table.lost == picked)
        await pilot.press("escape")
        await until(pilot, lambda: screen.status_name == "all" and table.selected_id == picked)
        assert table.show_cursor and table.processes[picked].terminal
