"""The Leases and Abandon requests views, and a group of the Errors view, never act on a row
the operator did not choose, when another program changes the selected process: one whose
row only moves (its lease taken by another owner) stays selected; one whose row leaves (its
lease released, its abandon request settled) leaves no row selected, the status line says
so, and `c` then offers nothing, as in the Processes view (test_selection_stays.py).

They used to leave the cursor at the row's index, on the row that took its place, and
`c` asked "Cancel process p-3?" of a process the operator never chose. Real SQLite, the real
app under Pilot, the change made through a second connection, as another program would, and
the view refreshing on its own.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Static

from lashtui.admin import Processes
from lashtui.clock import ManualClock
from lashtui.model import AbandonRequest, LeaseOwnerIdentity, ProcessStarted
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.tui.app import make_app
from lashtui.tui.screens.abandon import AbandonRequestsScreen
from lashtui.tui.screens.detail import ProcessDetailScreen
from lashtui.tui.screens.errors import ErrorGroupScreen, ErrorsScreen
from lashtui.tui.screens.leases import LeasesScreen, owner_key, process_key
from lashtui.tui.screens.live import LiveScreen
from lashtui.tui.screens.modals import ConfirmScreen
from lashtui.tui.widgets.keyed_table import KeyedTable
from tests.builders import ob
from tests.registry.rows import success
from tests.tui.scene import START_MS, far, home_loaded, until
from tests.tui.test_errors_view import seed_errors
from tests.tui.test_hostile_app import screen_text
from tests.tui.test_views import open_view

MINUTES_10 = 600_000
HELD = ("p-1", "p-2", "p-3")
View = TypeVar("View", bound=LiveScreen)


@pytest.fixture
async def path(tmp_path: Path) -> AsyncIterator[str]:
    """A registry where worker-7 holds three leases, each with a pending abandon request."""
    file = str(tmp_path / "keyed.db")
    store = await SqliteProcessRegistry.open(file, clock=ManualClock(START_MS))
    try:
        for pid in HELD:
            await store.register_process(ob(pid))
            lease = await store.claim_process_lease(pid, far("worker-7"), MINUTES_10)
            assert lease.acquired() is not None
            asked = AbandonRequest(requested_by="operator:dana", requested_at_ms=START_MS)
            await store.request_process_abandon(pid, asked)
    finally:
        await store.close()
    yield file


@pytest.fixture
async def processes(path: str) -> AsyncIterator[Processes]:
    clock = ManualClock(START_MS)
    registry = await SqliteProcessRegistry.open(path, clock=clock)
    try:
        yield Processes(registry, clock=clock)
    finally:
        await registry.close()


@contextlib.asynccontextmanager
async def elsewhere(path: str) -> AsyncIterator[SqliteProcessRegistry]:
    """Another program's connection to the same file, closed after the block."""
    other = await SqliteProcessRegistry.open(path, clock=ManualClock(START_MS + 1_000))
    try:
        yield other
    finally:
        await other.close()


@contextlib.asynccontextmanager
async def viewing(
    processes: Processes, key: str, kind: type[View], height: int
) -> AsyncIterator[tuple[Pilot[Any], View]]:
    """The app on `processes`, refreshing on its own, with the view under `key` loaded."""
    app = make_app(processes, clock=processes.clock, refresh_s=0.05)
    async with app.run_test(size=(160, height)) as pilot:
        await home_loaded(pilot)
        yield pilot, await open_view(pilot, key, kind)


@contextlib.asynccontextmanager
async def p_2_chosen(
    processes: Processes,
) -> AsyncIterator[tuple[Pilot[Any], LeasesScreen, KeyedTable]]:
    """The Leases view, where the operator has moved from the first row, p-1, to p-2."""
    async with viewing(processes, "2", LeasesScreen, 30) as (pilot, leases):
        table = leases.query_one(KeyedTable)
        await until(pilot, lambda: table.selected_key == process_key("p-1"))
        await pilot.press("down")
        assert table.selected_key == process_key("p-2")
        yield pilot, leases, table


async def release_elsewhere(path: str, pid: str, to: LeaseOwnerIdentity | None = None) -> None:
    """Another program releases the lease (and `to` claims it)."""
    async with elsewhere(path) as other:
        lease = await other.get_process_lease(pid)
        assert lease is not None
        await other.release_process_lease(lease)
        if to is not None:
            assert (await other.claim_process_lease(pid, to, MINUTES_10)).acquired()


def words(screen: Screen[Any], selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def c_asks_about(pilot: Pilot[Any], pid: str) -> None:
    """`c` asks its question, and it is about process `pid`."""
    await pilot.press("c")
    await until(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen))
    assert f"process {pid}" in screen_text(pilot.app)


async def test_a_released_lease_leaves_no_row_selected_in_the_leases_view(
    processes: Processes, path: str
) -> None:
    async with p_2_chosen(processes) as (pilot, leases, table):
        await release_elsewhere(path, "p-2")
        await until(pilot, lambda: process_key("p-2") not in table.shown)
        assert table.selected_key is None and not table.show_cursor
        await until(pilot, lambda: "p-2 left the list" in words(leases, "#leases-status"))
        await pilot.press("c", "enter")
        await pilot.pause()
        assert pilot.app.screen is leases  # no question about p-3, no detail

        await pilot.press("down")  # the row now where it was: p-3, chosen
        assert table.selected_key == process_key("p-3") and table.show_cursor
        await until(pilot, lambda: "left the list" not in words(leases, "#leases-status"))
        await c_asks_about(pilot, "p-3")


async def test_a_lease_taken_by_another_owner_stays_selected_in_its_new_group(
    processes: Processes, path: str
) -> None:
    async with p_2_chosen(processes) as (pilot, _, table):
        nine = far("worker-9", host="host-c")

        await release_elsewhere(path, "p-2", to=nine)
        await until(pilot, lambda: owner_key(nine) in table.shown)
        await until(pilot, lambda: table.selected_key == process_key("p-2"))
        assert table.show_cursor
        order = [str(row.key.value) for row in table.ordered_rows]
        assert order.index(process_key("p-2")) == order.index(owner_key(nine)) + 1
        await c_asks_about(pilot, "p-2")


async def test_a_settled_abandon_request_leaves_no_row_selected(
    processes: Processes, path: str
) -> None:
    async with viewing(processes, "3", AbandonRequestsScreen, 40) as (pilot, view):
        pending = view.query_one("#pending-table", KeyedTable)
        await until(pilot, lambda: len(pending.shown) == len(HELD))
        pending.focus()
        await pilot.press("down")  # the operator chooses p-2
        assert pending.selected_key == "p-2"

        async with elsewhere(path) as other:
            lease = await other.get_process_lease("p-2")
            assert lease is not None
            await other.complete_process_with_lease(lease, success())  # its request is moot
        await until(pilot, lambda: "p-2" not in pending.shown)
        assert pending.selected_key is None and not pending.show_cursor
        await until(pilot, lambda: "p-2 left the list" in words(view, "#pending-title"))
        await pilot.press("c", "enter")
        await pilot.pause()
        assert pilot.app.screen is view  # no question about p-3, no detail

        await pilot.press("down")
        assert pending.selected_key == "p-3"
        await c_asks_about(pilot, "p-3")


async def test_a_row_pruned_from_an_error_group_leaves_no_row_selected(tmp_path: Path) -> None:
    """In a group of the Errors view (the three timeouts, newest first), the selected
    oldest row is pruned by another program: Enter then opens nothing (it opened j-timeout,
    the row that took its place)."""
    file = str(tmp_path / "errors.db")
    clock = ManualClock(START_MS)
    registry = await SqliteProcessRegistry.open(file, clock=clock)
    try:
        await seed_errors(registry, clock)
        processes = Processes(registry, clock=clock)
        app = make_app(processes, clock=clock, read_only=True, refresh_s=0.05)
        async with app.run_test(size=(160, 30)) as pilot:
            await home_loaded(pilot)
            await pilot.press("5")
            errors = app.screen
            assert isinstance(errors, ErrorsScreen)
            await until(pilot, lambda: errors.target() is not None)
            await pilot.press("enter")  # the largest group: the three timeouts
            group = app.screen
            assert isinstance(group, ErrorGroupScreen)
            rows = group.query_one(KeyedTable)
            await until(pilot, lambda: len(rows.shown) == 3)
            await pilot.press("down", "down")
            assert rows.selected_key == "d-failed"
            oldest = next(p for p in group.rows if p.process_id == "d-failed")

            async with elsewhere(file) as other:
                await other.prune_terminal_processes(oldest.updated_at_ms + 1)
            await until(pilot, lambda: "d-failed" not in rows.shown)
            assert rows.selected_key is None and not rows.show_cursor
            status = "#error-group-status"
            await until(pilot, lambda: "d-failed left the list" in words(group, status))
            await pilot.press("enter")
            await pilot.pause()
            assert app.screen is group  # no detail of j-timeout
            await pilot.press("down")  # the operator chooses again: the row at the cursor
            assert rows.selected_key == "j-timeout"
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, ProcessDetailScreen))
            assert app.screen.process_id == "j-timeout"  # type: ignore[attr-defined]
    finally:
        await registry.close()


async def test_a_silent_row_asked_to_abandon_is_followed_into_the_pending_section(
    processes: Processes, path: str
) -> None:
    """The selected silent row `s-2` gets an abandon request from another program: it moves
    to the pending section, which takes the focus with `s-2` selected; `c` asks about it,
    not about `s-1`, the silent row left under that section's cursor."""
    async with both_sections(processes, path) as (pilot, view, pending, silent):
        silent.focus()
        await pilot.press("down")  # the operator chooses s-2
        assert silent.selected_key == "s-2"

        async with elsewhere(path) as other:
            asked = AbandonRequest(requested_by="operator:eve", requested_at_ms=START_MS)
            await other.request_process_abandon("s-2", asked)
        await until(pilot, lambda: "s-2" in pending.shown)
        await until(pilot, lambda: view.focused is pending)
        assert pending.selected_key == "s-2"
        await c_asks_about(pilot, "s-2")


@contextlib.asynccontextmanager
async def both_sections(
    processes: Processes, path: str
) -> AsyncIterator[tuple[Pilot[Any], AbandonRequestsScreen, KeyedTable, KeyedTable]]:
    """The Abandon requests view showing both sections: the three pending requests, and
    the silent rows `silent_rows` adds."""
    await silent_rows(path)
    async with viewing(processes, "3", AbandonRequestsScreen, 40) as (pilot, view):
        pending = view.query_one("#pending-table", KeyedTable)
        silent = view.query_one("#silent-table", KeyedTable)
        await until(pilot, lambda: len(silent.shown) == 2 and len(pending.shown) == 3)
        yield pilot, view, pending, silent


async def silent_rows(path: str) -> None:
    """s-1 and s-2: started owner_bound work whose lease was released (silent, not dead)."""
    async with elsewhere(path) as other:
        for pid in ("s-1", "s-2"):
            await other.register_process(ob(pid))
            lease = (await other.claim_process_lease(pid, far("worker-8"), MINUTES_10)).acquired()
            assert lease is not None
            started = ProcessStarted(owner=far("worker-8"), started_at_ms=START_MS)
            await other.record_first_started(pid, started, lease)
            await other.release_process_lease(lease)


async def test_focus_moved_off_an_emptied_section_selects_no_row_there(
    processes: Processes, path: str
) -> None:
    """The pending section empties while p-2 is selected there (every request settled by
    another program): focus moves to the silent section, where no row is selected; `c`
    asks nothing (it asked about s-1, under that section's cursor)."""
    async with both_sections(processes, path) as (pilot, view, pending, silent):
        pending.focus()
        await pilot.press("down")
        assert pending.selected_key == "p-2"

        async with elsewhere(path) as other:
            for pid in HELD:
                lease = await other.get_process_lease(pid)
                assert lease is not None
                await other.complete_process_with_lease(lease, success())
        await until(pilot, lambda: not pending.shown and view.focused is silent)
        assert silent.selected_key is None and not silent.show_cursor
        await until(pilot, lambda: "p-2 left the list" in words(view, "#silent-title"))
        await pilot.press("c")
        await pilot.pause()
        assert pilot.app.screen is view
        await pilot.press("down")
        assert silent.selected_key == "s-1"
