"""Sorting the Processes view from the registry: htop's keys (`>` / `<` the next / previous
column, `I` inverts) and `:sort`, the header's arrow and the status line, the rows in the
registry's order, and the selection kept on its process across every order change; a
snapshot of the table sorted by a column."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Static

from lashtui.admin import Processes
from lashtui.clock import ManualClock
from lashtui.model import PROCESS_ORDERS
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.tui.app import make_app
from lashtui.tui.command_line import Command, parse
from lashtui.tui.screens.process_filters import ORDER_COLUMNS
from lashtui.tui.widgets.process_table import COLUMNS, ProcessTable
from lashtui.tui.window import WINDOW
from tests.tui.scene import START_MS, home_loaded, seed_every_state, seed_many, until


async def sorted_by_label_descending(pilot: Pilot[Any]) -> None:
    screen = await home_loaded(pilot)
    await pilot.press("greater_than_sign", "greater_than_sign", "I")  # label, inverted
    table = screen.query_one(ProcessTable)

    def shown() -> bool:
        query = screen.page_query
        return query.order == "label" and query.descending and table.order == screen.window.ids

    await until(pilot, shown)
    await pilot.pause()


def test_sorted_by_a_column_snapshot(
    every_state: tuple[SqliteProcessRegistry, ManualClock], snap_compare: Any
) -> None:
    """LABEL ▼ in the header, "sorted by label descending" on the status line, the rows by
    label from z to a."""
    registry, clock = every_state
    app = make_app(
        Processes(registry, clock=clock), clock=clock, read_only=True, subtitle="scene.db"
    )
    assert snap_compare(app, terminal_size=(160, 24), run_before=sorted_by_label_descending)


async def test_every_order_keeps_the_selection_and_shows_the_registrys_order(
    tmp_path: Path,
) -> None:
    clock = ManualClock(START_MS)
    registry = await SqliteProcessRegistry.open(str(tmp_path / "s.db"), clock=clock)
    try:
        await seed_every_state(registry, clock)
        processes = Processes(registry, clock=clock)
        app = make_app(processes, clock=clock, read_only=True)
        async with app.run_test(size=(160, 24)) as pilot:
            screen = await home_loaded(pilot)
            table = screen.query_one(ProcessTable)
            status = screen.query_one("#engine-status", Static)
            table.move_cursor(row=table.get_row_index("d-failed"))
            await pilot.pause()
            seen = []
            for key in ("greater_than_sign",) * 5 + ("I", "less_than_sign", "I"):
                before = screen.page_query
                await pilot.press(key)
                await until(pilot, lambda before=before: screen.page_query != before)
                query = screen.page_query
                expected = [
                    p.process_id
                    for p in await processes.page(query.model_copy(update={"limit": 100}))
                ]
                await until(pilot, lambda expected=expected: table.order == expected)
                assert table.selected_id == "d-failed", query
                seen.append((query.order, query.descending))
                default = (query.order, query.descending) == ("id", False)
                header = [str(c.label) for c in table.ordered_columns]
                assert sum("▲" in h or "▼" in h for h in header) == (0 if default else 1)
                assert ("sorted by" in str(status.render())) != default
            assert seen == [
                ("status", False),
                ("label", False),
                ("age", False),
                ("updated", False),
                ("lease_expiry", False),
                ("lease_expiry", True),
                ("updated", True),
                ("updated", False),
            ]
            assert "UPDATED ▲" in [str(c.label) for c in table.ordered_columns]
            assert "sorted by last update ascending" in str(status.render())
            await pilot.press("colon", *"sort label desc", "enter")
            await until(pilot, lambda: screen.page_query.order == "label")
            assert screen.page_query.descending
            await until(pilot, lambda: "LABEL ▼" in [str(c.label) for c in table.ordered_columns])
            assert table.selected_id == "d-failed"
    finally:
        await registry.close()


async def test_a_sorted_view_pages_through_the_registry(tmp_path: Path) -> None:
    """More rows than the window holds, in status order: End reaches the registry's last
    row of that order, Home its first, and the rows between come in the registry's order."""
    path = str(tmp_path / "many.db")
    await asyncio.to_thread(seed_many, path, WINDOW * 3)  # it runs its own event loop
    clock = ManualClock(START_MS)
    registry = await SqliteProcessRegistry.open(path, clock=clock)
    try:
        processes = Processes(registry, clock=clock)
        app = make_app(processes, clock=clock, read_only=True)
        async with app.run_test(size=(120, 20)) as pilot:
            screen = await home_loaded(pilot)
            table = screen.query_one(ProcessTable)
            await pilot.press("colon", *"sort status desc", "enter")
            await until(pilot, lambda: screen.page_query.order == "status")
            query = screen.page_query
            everything = [
                p.process_id for p in await processes.page(query.model_copy(update={"limit": 1000}))
            ]
            assert len(everything) == WINDOW * 3
            # running rows first (descending), completed after; ids descending within each
            assert everything[0] == "p-000899" and everything[-1] == "p-000000"

            def contiguous() -> bool:
                if not table.order or table.order[0] not in everything:
                    return False
                start = everything.index(table.order[0])
                return table.order == everything[start : start + len(table.order)]

            # The selection (the first row in id order) stays: it is last in this order.
            await until(pilot, lambda: contiguous() and table.selected_id == "p-000000")
            await pilot.press("home")
            await until(pilot, lambda: table.selected_id == everything[0])
            assert table.order == everything[: len(table.order)]
            # Down past the window's last row: the next page comes in from the registry.
            table.move_cursor(row=table.row_count - 1)
            last = table.order[-1]
            await pilot.press("down")
            following = everything[everything.index(last) + 1]
            await until(pilot, lambda: table.selected_id == following)
            assert contiguous() and table.order[-1] != last
            await pilot.press("end")
            await until(pilot, lambda: table.selected_id == everything[-1])
            assert table.order == everything[-len(table.order) :]
            # Up past the window's first row: the page before comes in.
            table.move_cursor(row=0)
            first = table.order[0]
            await pilot.press("up")
            preceding = everything[everything.index(first) - 1]
            await until(pilot, lambda: table.selected_id == preceding)
            assert contiguous() and table.order[0] != first
    finally:
        await registry.close()


def test_sort_takes_the_word_on_each_sortable_columns_header() -> None:
    """`:sort lease` was refused ("unknown process order `lease`") under a header reading
    LEASE: the command line took only the orders' names, and the lease column's is
    `lease_expiry`. Each sortable column's header word, in any case, sorts by its order."""
    labels = dict(COLUMNS)
    for order in PROCESS_ORDERS:
        word = labels[ORDER_COLUMNS[order]]
        assert parse(f"sort {word}") == Command("sort", text=order), word
        assert parse(f"sort {word.lower()} desc") == Command("sort", text=order, descending=True)
    assert parse("sort lease_expiry") == Command("sort", text="lease_expiry")  # as `ls --sort`


async def test_sort_lease_from_the_command_line_sorts_by_the_lease_column(
    scene: tuple[SqliteProcessRegistry, ManualClock],
) -> None:
    """Typed as the header reads, `:sort lease` sorts the rows by lease expiry (the header
    marks LEASE) where it said "unknown process order" and left the order as it was."""
    registry, clock = scene
    app = make_app(Processes(registry, clock=clock), clock=clock, read_only=True)
    async with app.run_test(size=(160, 24)) as pilot:
        screen = await home_loaded(pilot)
        table = screen.query_one(ProcessTable)
        await pilot.press("colon", *"sort lease", "enter")
        await until(pilot, lambda: screen.page_query.order == "lease_expiry")
        await until(pilot, lambda: table.order == screen.window.ids)
        header = [str(c.label) for c in table.ordered_columns]
        assert "LEASE ▲" in header
        # The soonest expiry first: g-silent's (lapsed longest ago), a-running's and
        # b-waiting's, the 10-minute lease; the rows holding none come after them.
        assert table.order[:4] == ["g-silent", "a-running", "b-waiting", "h-requested"]
