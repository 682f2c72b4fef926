"""What an operator does beyond one row: page through a large registry, mark rows and act on
them together, drive the view from the `:` command line and the palette, export, prune.
All on real registry files, through the real app."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from textual.coordinate import Coordinate
from textual.pilot import Pilot
from textual.widgets import Input

from lashtui.admin import Processes
from lashtui.admin import processes as admin_processes
from lashtui.clock import ManualClock
from lashtui.model import SessionScope
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.tui.app import LashtuiApp, make_app
from lashtui.tui.palette import ProcessIdProvider
from lashtui.tui.screens.modals import ConfirmScreen, TransferScreen
from lashtui.tui.screens.processes import ProcessesScreen
from lashtui.tui.screens.prune import PruneScreen
from lashtui.tui.widgets.process_table import ProcessTable
from lashtui.tui.window import WINDOW
from tests.builders import ext
from tests.tui.scene import START_MS, seed_every_state, seed_many

MANY = 20_000


async def until(pilot: Pilot[Any], condition: Any, within: float = 10) -> None:
    async with asyncio.timeout(within):
        while not condition():
            await pilot.pause(0.02)


async def home(pilot: Pilot[Any]) -> tuple[ProcessesScreen, ProcessTable]:
    screen = pilot.app.screen
    assert isinstance(screen, ProcessesScreen)
    async with asyncio.timeout(10):
        await screen.loaded.wait()
    await pilot.pause()
    return screen, screen.query_one(ProcessTable)


async def command(pilot: Pilot[Any], line: str) -> None:
    """Open the `:` line with `line` already typed (typing key by key costs ~60 ms a key
    under Pilot; one test below does type), then press Enter."""
    screen = pilot.app.screen
    assert isinstance(screen, ProcessesScreen)
    screen.action_command_line(line)
    await pilot.pause()
    await pilot.press("enter")


@pytest.fixture
async def many(tmp_path: Path) -> AsyncIterator[tuple[Processes, ManualClock]]:
    path = str(tmp_path / "many.db")
    await asyncio.to_thread(seed_many, path, MANY)
    clock = ManualClock(START_MS + 60_000)
    registry = await SqliteProcessRegistry.open(path, clock=clock)
    yield Processes(registry, clock=clock), clock
    await registry.close()


@pytest.fixture
async def scene(tmp_path: Path) -> AsyncIterator[tuple[Processes, ManualClock]]:
    clock = ManualClock(START_MS)
    registry = await SqliteProcessRegistry.open(str(tmp_path / "scene.db"), clock=clock)
    await seed_every_state(registry, clock)
    yield Processes(registry, clock=clock), clock
    await registry.close()


def actionable(processes: Processes, clock: ManualClock) -> LashtuiApp:
    return make_app(processes, clock=clock, operator="operator:test", refresh_s=0.05)


async def test_a_large_registry_is_paged_never_loaded_whole(many: Any) -> None:
    processes, clock = many
    app = make_app(processes, clock=clock, read_only=True)
    async with app.run_test(size=(140, 30)) as pilot:
        screen, table = await home(pilot)
        assert table.row_count <= WINDOW and table.selected_id == "p-000000"
        assert "running 13,333" in str(screen.query_one("#engine-status").render())
        await pilot.press("end")
        await until(pilot, lambda: table.selected_id == f"p-{MANY - 1:06d}")
        first = str(table.coordinate_to_cell_key(Coordinate(0, 0)).row_key.value)
        table.move_cursor(row=0)
        await pilot.press("up", "up")  # past the top of the window: the page before is read
        await until(pilot, lambda: table.selected_id is not None and table.selected_id < first)
        assert table.row_count <= WINDOW
        await pilot.press("pageup", "pageup")
        await pilot.press("home")
        await until(pilot, lambda: table.selected_id == "p-000000")
        table.move_cursor(row=table.row_count - 1)
        last = str(table.selected_id)
        await pilot.press("down", "down")  # past the bottom: the next page is read
        await until(pilot, lambda: table.selected_id is not None and table.selected_id > last)
        assert table.row_count <= WINDOW
        assert list(table.processes) == sorted(table.processes)


async def test_the_command_line_jumps_filters_and_refuses_in_one_sentence(many: Any) -> None:
    processes, clock = many
    app = make_app(processes, clock=clock, read_only=True)
    async with app.run_test(size=(140, 30)) as pilot:
        screen, table = await home(pilot)
        await command(pilot, "goto p-012346")
        await until(pilot, lambda: table.selected_id == "p-012346")
        await command(pilot, "status terminal")
        await until(pilot, lambda: all(p.terminal for p in table.processes.values()))
        assert table.selected_id == "p-012348"  # the nearest terminal row at or after it
        await pilot.press("colon", *"status runing", "enter")
        await until(pilot, lambda: "error: `runing` is not a status" in screen.status_line)
        assert screen.status_name == "terminal"  # unchanged
        await pilot.press("escape")  # clears the filter; the selection stays
        await until(pilot, lambda: len(table.processes) > 100 and not screen.filters())
        assert table.selected_id == "p-012348"
        await command(pilot, "view leases")
        await until(pilot, lambda: app.current_mode == "leases")


async def test_the_palette_finds_a_process_by_id(many: Any) -> None:
    processes, clock = many
    app = make_app(processes, clock=clock, read_only=True)
    async with app.run_test(size=(140, 30)) as pilot:
        _, table = await home(pilot)
        provider = ProcessIdProvider(app.screen)
        hits = [hit async for hit in provider.search("p-01999")]
        assert [hit.text for hit in hits][:2] == ["process p-019990", "process p-019991"]
        app.call_later(hits[1].command)
        await until(pilot, lambda: table.selected_id == "p-019991")


async def test_marked_rows_are_cancelled_together_with_a_result_for_each(scene: Any) -> None:
    processes, clock = scene
    app = actionable(processes, clock)
    async with app.run_test(size=(140, 30)) as pilot:
        screen, table = await home(pilot)
        for pid in ("a-running", "c-done", "g-silent"):
            table.move_cursor(row=table.get_row_index(pid))
            await pilot.press("space")
        assert screen.marked_ids() == ["a-running", "c-done", "g-silent"]
        assert table.get_cell("c-done", "mark") == "▶"
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        question = str(app.screen.query_one("#question").render())
        assert "2 processes: a-running, g-silent (1 marked process has already ended" in question
        await pilot.press("enter")  # No has the focus
        assert screen.marked_ids()  # nothing happened
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.click("#yes")
        await until(pilot, lambda: not screen.marked_ids())
        toasts = [n.message for n in app._notifications]
        # The ended row was left out, as asked: not refused (an error), nor cancelled.
        assert any(
            m.startswith("2 requested\n")
            and m.endswith("\n1 marked process has already ended and is left out: c-done")
            for m in toasts
        )
        for pid in ("a-running", "g-silent"):
            events = await processes.events(pid)
            assert events[-1].event_type == "process.cancel_requested"


async def test_transfer_moves_the_grants_of_the_selection(scene: Any) -> None:
    processes, clock = scene
    s1, s2 = SessionScope(session_id="s1"), SessionScope(session_id="s2")
    await processes.registry.register_process(ext("z-granted"))
    from lashtui.model import ProcessHandleDescriptor

    await processes.registry.grant_handle(s1, "z-granted", ProcessHandleDescriptor(label="z"))
    app = actionable(processes, clock)
    async with app.run_test(size=(140, 30)) as pilot:
        _screen, table = await home(pilot)
        await command(pilot, "granted s1")
        await until(pilot, lambda: list(table.processes) == ["z-granted"])
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, TransferScreen))
        app.screen.query_one("#to-scope", Input).value = "session:s2"
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))  # then it asks
        await pilot.click("#yes")
        await until(pilot, lambda: isinstance(app.screen, ProcessesScreen))
        await until(pilot, lambda: not table.processes)  # no longer granted to s1
        assert await processes.registry.has_handle_grant(s2, "z-granted")
        assert not await processes.registry.has_handle_grant(s1, "z-granted")


async def test_prune_from_the_command_line_removes_old_terminal_rows(scene: Any) -> None:
    processes, clock = scene
    clock.advance(8 * 86_400_000)
    app = actionable(processes, clock)
    async with app.run_test(size=(140, 30)) as pilot:
        screen, table = await home(pilot)
        assert "c-done" in table.processes
        await command(pilot, "prune 7d")
        await until(pilot, lambda: isinstance(app.screen, PruneScreen) and app.screen.preview)
        await pilot.click("#prune")
        await until(pilot, lambda: "c-done" not in table.processes)
        assert all(not p.terminal for p in table.processes.values())
        assert screen.counts is not None and screen.counts.counts()["completed"] == 0


@pytest.mark.parametrize("page_chars", [None, 1], ids=["pages-by-count", "pages-by-size"])
async def test_export_writes_every_matching_row_as_jsonl(
    scene: Any, tmp_path: Path, page_chars: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Cut by size (one row a page, as mebibyte records would be cut every ~16), the file
    # still holds every row: the export reads on past short pages (`Processes.pages`).
    if page_chars is not None:
        monkeypatch.setattr(admin_processes, "PAGE_CHARS", page_chars)
    processes, clock = scene
    out = tmp_path / "out.jsonl"
    app = actionable(processes, clock)  # (a read-only dashboard exports nothing: test_export)
    async with app.run_test(size=(140, 30)) as pilot:
        _screen, table = await home(pilot)
        await command(pilot, "status live")
        await until(pilot, lambda: len(table.processes) == 5)
        await command(pilot, f"export {out}")
        await until(pilot, out.exists)
        lines = out.read_text().splitlines()
        assert [json.loads(line)["process_id"] for line in lines] == sorted(table.processes)
        await command(pilot, "export /nonexistent-dir/x.jsonl")
        await until(
            pilot, lambda: any("cannot write the export" in n.message for n in app._notifications)
        )
