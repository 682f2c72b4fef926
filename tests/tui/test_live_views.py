"""The Leases and Abandon requests views as they follow the registry (issue 16, item 8): the
keys they offer follow the process under the cursor when it ends there (its cells need not
move, so a redraw alone would not tell the footer), and `p` pauses them as it pauses the
Processes view: nothing is read, countdowns, ages and the sweep's verdict stay as of the last
read and are greyed, the view says PAUSED, and resuming reads before the clock moves them.
A lease owner another program stored past the limits is shown clipped in each view."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import Static
from textual.widgets._footer import FooterKey

from lashtui.admin import Processes
from lashtui.clock import ManualClock
from lashtui.model import AbandonRequest, ProcessLease, ProcessStarted
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.tui.app import LashtuiApp, make_app
from lashtui.tui.screens.abandon import AbandonRequestsScreen
from lashtui.tui.screens.detail import ProcessDetailScreen
from lashtui.tui.screens.leases import LeasesScreen, process_key
from lashtui.tui.widgets.keyed_table import KeyedTable
from lashtui.tui.widgets.process_table import ProcessTable
from tests.builders import ext, ob
from tests.raw import raw_connection
from tests.registry.rows import success
from tests.tui.scene import START_MS, far, home_loaded, until
from tests.tui.test_hostile_app import cut_to_column, screen_text
from tests.tui.test_views import SIZE, open_view

TTL_MS = 10_000


def footer(app: LashtuiApp) -> dict[str, bool]:
    """The footer's keys as shown: description -> enabled (a dimmed key is disabled)."""
    return {k.description: not k.has_class("-disabled") for k in app.screen.query(FooterKey)}


def acting(registry: SqliteProcessRegistry, clock: ManualClock, **kw: Any) -> LashtuiApp:
    """Actions on, no worker (nothing runs, renews or sweeps but the test)."""
    processes = Processes(registry, clock=clock)
    return make_app(processes, clock=clock, operator="operator:dana", **kw)


@pytest.fixture
async def leased(tmp_path: Path) -> AsyncIterator[tuple[SqliteProcessRegistry, ManualClock]]:
    """`ext-held`: an externally-owned row whose lease is held; `ob-asked`: a started
    owner_bound row with an abandon request, its lease 10 s from lapsing."""
    clock = ManualClock(START_MS)
    registry = await SqliteProcessRegistry.open(str(tmp_path / "live.db"), clock=clock)
    try:
        for registration in (ext("ext-held"), ob("ob-asked")):
            await registry.register_process(registration)
            claimed = await registry.claim_process_lease(registration.id, far("w-1"), TTL_MS)
            assert claimed.acquired() is not None
        yield registry, clock
    finally:
        await registry.close()


async def _lease(registry: SqliteProcessRegistry, pid: str) -> ProcessLease:
    lease = await registry.get_process_lease(pid)
    assert lease is not None
    return lease


# --- offers follow the process in hand


async def test_a_lease_row_that_ends_under_the_cursor_stops_offering_cancel(
    leased: tuple[SqliteProcessRegistry, ManualClock],
) -> None:
    """The row stays listed (its lease is still held) and none of its cells change, as the
    clock does not move: only re-checking the offers after the read dims Cancel."""
    registry, clock = leased
    app = acting(registry, clock, refresh_s=0.05)
    async with app.run_test(size=SIZE) as pilot:
        await home_loaded(pilot)
        leases = await open_view(pilot, "2", LeasesScreen)
        table = leases.query_one(KeyedTable)
        table.move_cursor(row=table.get_row_index(process_key("ext-held")))
        await until(pilot, lambda: footer(app).get("Cancel") is True)

        await registry.complete_process("ext-held", success())

        await until(pilot, lambda: leases.by_id["ext-held"].terminal)
        assert table.selected_key == process_key("ext-held")
        await until(pilot, lambda: footer(app).get("Cancel") is False)
        assert leases.check_action("cancel", ()) is None  # dimmed, and says why if pressed


# --- pause


def verdict(pending: KeyedTable) -> str:
    return str(pending.shown["ob-asked"].cells[-1]).replace("\n", " ")


def _greyed(table: KeyedTable, key: str, column: str) -> bool:
    cell = table.get_cell(key, column)
    frozen = table.get_component_rich_style("keyed-table--frozen", partial=True)
    return isinstance(cell, Text) and any(span.style == frozen for span in cell.spans)


async def test_the_leases_view_takes_the_keys_again_once_leases_come_back(
    tmp_path: Path,
) -> None:
    """With no lease held the list is hidden ("no leases held"), and the focus it had was
    lost: once leases came again the arrows did nothing until a click (`↓` then Enter
    opened the lease the cursor was left on). The list now takes the focus back when it is
    shown again."""
    clock = ManualClock(START_MS)
    registry = await SqliteProcessRegistry.open(str(tmp_path / "l.db"), clock=clock)
    try:
        leases = []
        for pid in ("x-a", "x-b"):
            await registry.register_process(ext(pid))
            lease = (await registry.claim_process_lease(pid, far("w-1"), TTL_MS)).acquired()
            assert lease is not None
            leases.append(lease)
        app = acting(registry, clock, refresh_s=0.05)
        async with app.run_test(size=SIZE) as pilot:
            await home_loaded(pilot)
            await open_view(pilot, "2", LeasesScreen)
            await until(pilot, lambda: "x-b" in screen_text(app))
            for lease in leases:
                await registry.release_process_lease(lease)
            await until(pilot, lambda: "no leases held" in screen_text(app))
            for pid in ("x-a", "x-b"):
                await registry.claim_process_lease(pid, far("w-2"), TTL_MS)
            await until(pilot, lambda: "w-2" in screen_text(app) and "x-b" in screen_text(app))
            await pilot.pause()
            table = app.screen.query_one(KeyedTable)
            table.move_cursor(row=1)  # x-a, under its owner's row
            await pilot.press("down", "enter")
            await until(pilot, lambda: isinstance(app.screen, ProcessDetailScreen), within=3)
            assert app.screen.process_id == "x-b"  # type: ignore[attr-defined]
    finally:
        await registry.close()


async def test_pause_freezes_the_leases_view_at_its_last_read(
    leased: tuple[SqliteProcessRegistry, ManualClock],
) -> None:
    registry, clock = leased
    app = acting(registry, clock, refresh_s=0.05)
    async with app.run_test(size=SIZE) as pilot:
        await home_loaded(pilot)
        leases = await open_view(pilot, "2", LeasesScreen)
        table = leases.query_one(KeyedTable)
        status = leases.query_one("#leases-status", Static)
        assert table.shown[process_key("ob-asked")].cells[-1] == "10s left"
        assert footer(app).get("Pause") is True

        await pilot.press("p")
        # The owner renews and time passes beyond the old expiry: the paused view reads
        # neither, so it must not show the lease lapsed.
        clock.advance(8_000)
        await registry.renew_process_lease(await _lease(registry, "ob-asked"), TTL_MS)
        clock.advance(7_000)
        leases.tick()
        await pilot.pause(0.2)  # several refresh periods: a read would show here

        assert table.shown[process_key("ob-asked")].cells[-1] == "10s left"  # as of the last read
        assert _greyed(table, process_key("ob-asked"), "lease")
        assert not _greyed(table, process_key("ob-asked"), "process")
        assert str(status.render()).startswith("PAUSED: times as of the last read")
        assert "0 lapsed" in str(status.render())

        await pilot.press("p")  # resume: read first, then let the clock move the cells
        await until(pilot, lambda: table.shown[process_key("ob-asked")].cells[-1] == "3s left")
        assert not _greyed(table, process_key("ob-asked"), "lease")
        assert "PAUSED" not in str(status.render())


async def test_the_abandon_requests_view_takes_the_keys_once_rows_come_after_none(
    tmp_path: Path,
) -> None:
    """Opened with no request and no silent row, both lists are hidden and nothing has the
    focus; once requests came the arrows did nothing (`↓` then Enter opened the row the
    cursor was left on). The first list with rows now takes the focus."""
    clock = ManualClock(START_MS)
    registry = await SqliteProcessRegistry.open(str(tmp_path / "a.db"), clock=clock)
    try:
        app = acting(registry, clock, refresh_s=0.05)
        async with app.run_test(size=SIZE) as pilot:
            await home_loaded(pilot)
            await open_view(pilot, "3", AbandonRequestsScreen)
            await until(pilot, lambda: "no pending abandon requests" in screen_text(app))
            for pid in ("ob-a", "ob-b"):
                await registry.register_process(ob(pid))
                await registry.claim_process_lease(pid, far("w-1"), TTL_MS)
                request = AbandonRequest(requested_by="operator:dana", requested_at_ms=START_MS)
                await registry.request_process_abandon(pid, request)
            await until(pilot, lambda: "ob-b" in screen_text(app))
            await pilot.pause()
            app.screen.query_one("#pending-table", KeyedTable).move_cursor(row=0)
            await pilot.press("down", "enter")
            await until(pilot, lambda: isinstance(app.screen, ProcessDetailScreen), within=3)
            assert app.screen.process_id == "ob-b"  # type: ignore[attr-defined]
    finally:
        await registry.close()


async def test_pause_freezes_the_abandon_requests_view_and_its_verdict(
    leased: tuple[SqliteProcessRegistry, ManualClock],
) -> None:
    registry, clock = leased
    started = ProcessStarted(owner=far("w-1"), started_at_ms=START_MS)
    await registry.record_first_started("ob-asked", started, await _lease(registry, "ob-asked"))
    request = AbandonRequest(requested_by="operator:dana", requested_at_ms=START_MS)
    await registry.request_process_abandon("ob-asked", request)
    app = acting(registry, clock, refresh_s=0.05)
    async with app.run_test(size=SIZE) as pilot:
        await home_loaded(pilot)
        screen = await open_view(pilot, "3", AbandonRequestsScreen)
        pending = screen.query_one("#pending-table", KeyedTable)
        title = screen.query_one("#pending-title", Static)
        waiting = "will abandon once the owner's lease lapses"
        assert verdict(pending) == waiting

        await pilot.press("p")
        clock.advance(60_000)  # past the lease's expiry, which the paused view did not read
        screen.tick()
        await pilot.pause(0.2)

        assert verdict(pending) == waiting  # not "has lapsed": frozen
        assert _greyed(pending, "ob-asked", "verdict") and _greyed(pending, "ob-asked", "lease")
        assert not _greyed(pending, "ob-asked", "disposition")
        assert str(title.render()).startswith("PAUSED: times as of the last read")

        await pilot.press("p")
        lapsed = "will abandon at the next sweep: the owner's lease has lapsed"
        await until(pilot, lambda: verdict(pending) == lapsed)
        assert not _greyed(pending, "ob-asked", "verdict")
        assert "PAUSED" not in str(title.render())


# --- lease owners past the limits, stored by another program


async def test_the_health_view_marks_the_counts_a_paused_processes_view_holds(
    scene: tuple[SqliteProcessRegistry, ManualClock],
) -> None:
    """Paused, the Processes view keeps no counts per state: the Health view showed the ones
    it held as current while the charts below them moved on. They are now marked as last
    read, and why; resumed, the mark goes and the counts move again."""
    registry, clock = scene
    app = make_app(Processes(registry, clock=clock), clock=clock, refresh_s=0.05)
    async with app.run_test(size=(200, 50)) as pilot:
        await home_loaded(pilot)
        await pilot.press("p")
        await registry.register_process(ext("z-new"))  # a fifth running row, not counted
        clock.advance(30_000)
        await pilot.press("4")
        marked = "as last read, 30s ago: not counted since: the Processes view is paused"
        await until(pilot, lambda: marked in screen_text(app))
        assert "● running        4" in screen_text(app)
        await pilot.press("1", "p", "4")
        await until(pilot, lambda: "● running        5" in screen_text(app))
        assert "as last read" not in screen_text(app)


async def test_the_health_view_says_a_paused_processes_view_follows_no_change(
    scene: tuple[SqliteProcessRegistry, ManualClock],
) -> None:
    """The Health view's "last change" is the last change the Processes view applied. Paused,
    that view applies none: the line said `live` for 5 s after the pause, then `stale for
    Ns` (or `no change seen yet`) while other programs' commits went on. It now says the
    changes are not followed while the view is paused; resumed, `live` again."""
    registry, clock = scene
    app = make_app(Processes(registry, clock=clock), clock=clock, refresh_s=0.05)
    async with app.run_test(size=(200, 50)) as pilot:
        await home_loaded(pilot)
        await registry.register_process(ext("z-seen"))
        await until(pilot, lambda: app.dashboard.pulse.last_change_ms is not None)
        await pilot.press("p")
        await registry.register_process(ext("z-unseen"))  # a change no view follows
        await pilot.press("4")
        said = "last change  not followed: the Processes view is paused (p there resumes it)"
        await until(pilot, lambda: "last change" in screen_text(app))
        await pilot.pause(0.2)  # (a few of the view's reads)
        assert "last change  live" not in screen_text(app)
        assert said in screen_text(app)
        await pilot.press("1", "p", "4")
        await until(pilot, lambda: "last change  live" in screen_text(app))
        assert "not followed" not in screen_text(app)


async def test_an_over_long_lease_owner_is_clipped_in_every_view(
    leased: tuple[SqliteProcessRegistry, ManualClock],
) -> None:
    """The write path refuses such an owner (tests/registry/test_lease_limits.py); one
    written with raw SQL is shown clipped, visibly, and the views keep working. (Up to the
    ceiling on plain text, 4,096 characters: past it the lease is a stand-in,
    tests/registry/test_stored_text.py.)"""
    registry, clock = leased
    liveness = {
        "kind": "local_process", "host_id": "h" * 5_000, "boot_id": "b", "pid": 1,
        "process_start": "1",
    }  # fmt: skip
    with raw_connection(registry.path) as conn:
        conn.execute(
            "UPDATE process_leases SET lease_owner_id = ?, lease_owner_incarnation_id = ?, "
            "lease_owner_liveness_json = ? WHERE process_id = 'ob-asked'",
            ("o" * 4_092 + "\x1b[2J", "i" * 4_000, json.dumps(liveness)),
        )
    app = make_app(Processes(registry, clock=clock), clock=clock, read_only=True, refresh_s=60)
    async with app.run_test(size=SIZE) as pilot:
        home = await home_loaded(pilot)
        processes = home.query_one(ProcessTable)
        assert str(processes.get_cell("ob-asked", "lease")) == "10s left"
        holder = str(processes.get_cell("ob-asked", "holder"))  # cut again to its column
        assert cut_to_column(holder, "o" * 47 + "…@" + "h" * 31 + "…:1"), holder
        leases = await open_view(pilot, "2", LeasesScreen)
        table = leases.query_one(KeyedTable)
        header = next(r for r in table.shown.values() if r.key.startswith('owner:["ooo'))
        owner, incarnation = (str(cell) for cell in header.cells[:2])
        assert owner == "o" * 47 + "…@" + "h" * 31 + "…:1"
        assert incarnation == "i" * 15 + "…"
        assert table.shown[process_key("ob-asked")].cells[-1] == "10s left"


@pytest.mark.parametrize(
    ("key", "kind"), [("2", LeasesScreen), ("3", AbandonRequestsScreen)], ids=["leases", "abandon"]
)
def test_paused_snapshot(
    every_state: tuple[SqliteProcessRegistry, ManualClock],
    snap_compare: Any,
    key: str,
    kind: type[LeasesScreen | AbandonRequestsScreen],
) -> None:
    """Paused, then ten minutes pass: PAUSED, and the countdowns, ages and verdicts are
    greyed at the last read (h-requested's lease still `8m30s left`, not lapsed)."""
    registry, clock = every_state

    async def run_before(pilot: Pilot[Any]) -> None:
        await home_loaded(pilot)
        screen = await open_view(pilot, key, kind)
        await pilot.press("p")
        clock.advance(600_000)
        screen.tick()
        await pilot.pause()

    app = make_app(
        Processes(registry, clock=clock), clock=clock, read_only=True, subtitle="scene.db"
    )
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
