"""What is wrong, at a glance: every state in a style of its own (in the default theme and
the high-contrast one, where it is not colour alone), lapsed leases and silent rows that
stand out, a terminal row's reason in the list, and columns that give way by priority at
80 columns, with `w` showing them all and the id held in place while the table scrolls."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from rich.style import Style
from rich.text import Text
from textual.content import Content
from textual.pilot import Pilot
from textual.style import Style as TextualStyle
from textual.widgets.data_table import ColumnKey

from lashtui.admin import Processes
from lashtui.clock import ManualClock
from lashtui.model import (
    AbandonedOutput,
    AbandonEvidence,
    AbandonRequest,
    AbandonWriter,
    ProcessStarted,
    ProcessStatus,
    failure,
)
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.tui import format as fmt
from lashtui.tui.app import make_app
from lashtui.tui.screens.abandon import AbandonRequestsScreen
from lashtui.tui.screens.detail import ProcessDetailScreen, Summary
from lashtui.tui.screens.leases import LeasesScreen, process_key
from lashtui.tui.screens.live import LiveScreen
from lashtui.tui.theme import MARKS, STATES
from lashtui.tui.widgets import column_plan
from lashtui.tui.widgets.keyed_table import KeyedTable
from lashtui.tui.widgets.process_table import KEYS, PLAN, WHY_CHARS, ProcessTable, cells
from lashtui.tui.widgets.state_style import paint
from lashtui.untrusted import visible
from tests.builders import ob, rr
from tests.tui.scene import START_MS, far, home_loaded, until

HIGH_CONTRAST = "lashtui-high-contrast"
THEMES = ("textual-dark", HIGH_CONTRAST)


def observer(registry: SqliteProcessRegistry, clock: ManualClock, theme: str = "") -> Any:
    app = make_app(
        Processes(registry, clock=clock), clock=clock, read_only=True, subtitle="scene.db"
    )
    if theme:
        app.theme = theme
    return app


async def open_view(pilot: Pilot[Any], key: str) -> None:
    await pilot.press(key)
    screen = pilot.app.screen
    assert isinstance(screen, LiveScreen)
    async with asyncio.timeout(10):
        await screen.loaded.wait()
    await pilot.pause()


# --- snapshots


@pytest.mark.parametrize("view", ["processes", "detail", "leases", "abandon"])
def test_high_contrast_snapshot(
    every_state: tuple[SqliteProcessRegistry, ManualClock], snap_compare: Any, view: str
) -> None:
    """Each view that shows a state, in the high-contrast theme (the default theme's are
    test_processes_view's and test_views' snapshots)."""
    registry, clock = every_state

    async def run_before(pilot: Pilot[Any]) -> None:
        await home_loaded(pilot)
        if view == "detail":
            table = pilot.app.screen.query_one(ProcessTable)
            table.move_cursor(row=table.get_row_index("g-silent"))
            await pilot.press("enter")
            screen = pilot.app.screen
            assert isinstance(screen, ProcessDetailScreen)
            async with asyncio.timeout(10):
                await screen.loaded.wait()
            await pilot.pause()
        elif view != "processes":
            await open_view(pilot, {"leases": "2", "abandon": "3"}[view])

    app = observer(registry, clock, HIGH_CONTRAST)
    assert snap_compare(app, terminal_size=(160, 24), run_before=run_before)


def test_eighty_columns_snapshot(
    every_state: tuple[SqliteProcessRegistry, ManualClock], snap_compare: Any
) -> None:
    """At 80x24 the id, status, label and why stay; the rest give way."""
    registry, clock = every_state
    assert snap_compare(observer(registry, clock), terminal_size=(80, 24), run_before=home_loaded)


def test_wide_scrolled_sideways_snapshot(
    every_state: tuple[SqliteProcessRegistry, ManualClock], snap_compare: Any
) -> None:
    """`w`: every column, scrolled to the right, the id held at the left."""
    registry, clock = every_state

    async def run_before(pilot: Pilot[Any]) -> None:
        await home_loaded(pilot)
        await pilot.press("w")
        table = pilot.app.screen.query_one(ProcessTable)
        await pilot.pause()
        table.scroll_to(x=70, animate=False)
        await pilot.pause()

    app = observer(registry, clock)
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


# --- the operator at work


async def test_each_state_and_mark_has_a_style_of_its_own_in_both_themes(
    scene: tuple[SqliteProcessRegistry, ManualClock],
) -> None:
    registry, clock = scene
    app = observer(registry, clock)
    async with app.run_test(size=(160, 24)) as pilot:
        await home_loaded(pilot)
        table = app.screen.query_one(ProcessTable)
        for theme in THEMES:
            app.theme = theme
            await pilot.pause()
            styles = {name: paint(table, name) for name in (*STATES, *MARKS)}
            badges = {name: styles[name] for name in STATES}
            assert len(set(badges.values())) == len(STATES), theme
            assert all(style.color is not None for style in styles.values())
            assert styles["lapsed"] != Style() and styles["silent"] != Style()
            # The badge on screen is drawn in its state's style.
            assert table.get_cell("d-failed", "status").style == styles["failed"]
        # Not colour alone where it matters: failed, abandoned and silent carry a text style.
        assert styles["failed"].reverse and styles["abandoned"].reverse
        assert styles["silent"].reverse and styles["lapsed"].underline


async def test_terminal_rows_say_why_they_ended_and_silent_rows_say_so(
    scene: tuple[SqliteProcessRegistry, ManualClock],
) -> None:
    registry, clock = scene
    app = observer(registry, clock)
    async with app.run_test(size=(160, 24)) as pilot:
        await home_loaded(pilot)
        table = app.screen.query_one(ProcessTable)

        def why(pid: str) -> str:
            return str(table.get_cell(pid, "why"))

        assert why("d-failed") == "upstream_timeout: no answer in 30s"
        assert why("e-cancelled") == "requested by host"
        assert why("f-abandoned-sweep") == "owner provably dead"
        assert why("f-abandoned-owner_drain") == "owner drained without an outcome"
        assert why("g-silent") == "silent, not dead: lease lapsed"
        assert table.get_cell("g-silent", "why").style == paint(table, "silent")
        assert table.get_cell("g-silent", "lease").style == paint(table, "lapsed")
        assert why("c-done") == why("a-running") == why("h-requested") == ""
        assert table.get_cell("h-requested", "lease") == "8m30s left"
        assert table.get_cell("h-requested", "holder") == "worker-7@host-b:4242"


async def test_a_silent_row_whose_lease_was_released_says_so_not_lapsed(
    scene: tuple[SqliteProcessRegistry, ManualClock],
) -> None:
    """An orderly stop that does not drain releases its owner_bound leases: the row is
    silent, not dead, but no lease lapsed, and no view may say one did."""
    registry, clock = scene
    await registry.register_process(ob("g-released"))
    owner = far("worker-4", "host-e")
    lease = (await registry.claim_process_lease("g-released", owner, 600_000)).acquired()
    assert lease is not None
    await registry.record_first_started(
        "g-released", ProcessStarted(owner=owner, started_at_ms=clock.now_ms()), lease
    )
    await registry.release_process_lease(lease)  # long before its 10 minutes are up
    app = observer(registry, clock)
    async with app.run_test(size=(160, 30)) as pilot:
        home = await home_loaded(pilot)
        table = home.query_one(ProcessTable)
        assert str(table.get_cell("g-released", "why")) == "silent, not dead: no lease held"
        cell = table.get_cell("g-released", "why")
        assert isinstance(cell, Text) and cell.style == paint(table, "silent")
        assert str(table.get_cell("g-silent", "why")) == "silent, not dead: lease lapsed"
        table.move_cursor(row=table.get_row_index("g-released"))
        await pilot.press("enter")
        detail = app.screen
        assert isinstance(detail, ProcessDetailScreen)
        async with asyncio.timeout(10):
            await detail.loaded.wait()
        shown = str(detail.query_one(Summary).render())
        assert "silent, not dead: started owner_bound work that holds no lease" in shown
        assert "lapsed" not in shown
        await pilot.press("escape")
        await open_view(pilot, "3")
        abandon = app.screen
        assert isinstance(abandon, AbandonRequestsScreen)
        silent_table = abandon.query_one("#silent-table", KeyedTable)
        assert str(silent_table.get_cell("g-released", "lapsed")) == "no lease"
        assert not silent_table.get_cell("g-released", "lapsed").spans  # not marked lapsed
        assert silent_table.get_cell("g-silent", "lapsed").spans


async def test_the_detail_leases_and_abandon_views_style_states_and_lapses(
    scene: tuple[SqliteProcessRegistry, ManualClock],
) -> None:
    registry, clock = scene
    app = observer(registry, clock)
    async with app.run_test(size=(160, 30)) as pilot:
        home = await home_loaded(pilot)
        table = home.query_one(ProcessTable)
        table.move_cursor(row=table.get_row_index("g-silent"))
        await pilot.press("enter")
        detail = app.screen
        assert isinstance(detail, ProcessDetailScreen)
        async with asyncio.timeout(10):
            await detail.loaded.wait()
        summary = detail.query_one(Summary)
        shown = summary.render()  # Textual `Content`: its spans carry Textual styles
        assert isinstance(shown, Content)
        styles = {
            str(shown)[span.start : span.end]: span.style.rich_style
            for span in shown.spans
            if isinstance(span.style, TextualStyle)
        }
        assert styles["● running"] == paint(summary, "running")
        assert styles["worker-3@host-d:4242 (lapsed 1m29s ago)"] == paint(summary, "lapsed")
        silent = "silent, not dead: started owner_bound work whose lease has lapsed"
        assert styles[silent] == paint(summary, "silent")
        await pilot.press("escape")
        await open_view(pilot, "2")
        leases = app.screen
        assert isinstance(leases, LeasesScreen)
        held = leases.query_one(KeyedTable)
        silent_lease = (process_key("g-silent"), "lease")
        lapsed = held.get_cell(*silent_lease)
        assert str(lapsed) == "lapsed 1m29s ago" and lapsed.spans[-1].style == paint(held, "lapsed")
        assert not held.get_cell(process_key("h-requested"), "lease").spans  # 8m30s left
        before = paint(held, "lapsed")
        app.theme = HIGH_CONTRAST  # a theme change repaints the cells it painted
        await until(pilot, lambda: paint(held, "lapsed") != before)
        await until(
            pilot,
            lambda: held.get_cell(*silent_lease).spans[-1].style == paint(held, "lapsed"),
        )
        await open_view(pilot, "3")
        abandon = app.screen
        assert isinstance(abandon, AbandonRequestsScreen)
        silent_table = abandon.query_one("#silent-table", KeyedTable)
        cell = silent_table.get_cell("g-silent", "process")
        assert cell.spans[-1].style == paint(silent_table, "silent")


async def test_at_eighty_columns_id_status_label_and_why_stay_and_w_shows_all(
    scene: tuple[SqliteProcessRegistry, ManualClock],
) -> None:
    registry, clock = scene
    app = observer(registry, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await home_loaded(pilot)
        table = app.screen.query_one(ProcessTable)
        assert table.shown_columns[:5] == ("mark", "id", "status", "label", "why")
        assert "updated" not in table.shown_columns
        assert len(table.columns) == len(table.shown_columns)
        selected = table.selected_id
        await pilot.press("w")
        assert table.shown_columns == KEYS and len(table.columns) == len(KEYS)
        assert table.fixed_columns == 2  # wider than the screen: the id is held in place
        assert table.selected_id == selected
        assert str(table.get_cell("d-failed", "why")) == "upstream_timeout: no answer in 30s"
        await pilot.press("w")
        assert "updated" not in table.shown_columns
        table.show_order("updated", True)  # the sorted column shows, whatever its priority
        assert "updated" in table.shown_columns
        assert str(table.columns[ColumnKey("updated")].label) == "UPDATED ▼"
        table.show_order(None, False)
        assert "updated" not in table.shown_columns
        await pilot.resize_terminal(240, 24)
        await pilot.pause()
        assert table.shown_columns == KEYS and table.fixed_columns == 0


def test_columns_give_way_in_priority_order() -> None:
    widths = dict.fromkeys(KEYS, 10)
    always = ("mark", "id", "status", "label", "why", "lease", "age")
    # Too narrow even for the columns always shown, cut to their floors: WHY and the label
    # give way (the lowest priority first), the key columns stay and the table scrolls.
    assert tuple(column_plan.fitting(KEYS, widths, 10, PLAN)) == (
        "mark", "id", "status", "lease", "age",
    )  # fmt: skip
    assert tuple(column_plan.fitting(KEYS, widths, 60, PLAN)) == (
        "mark", "id", "status", "label", "lease", "age",
    )  # fmt: skip
    assert tuple(column_plan.fitting(KEYS, widths, 70, PLAN)) == always
    assert tuple(column_plan.fitting(KEYS, widths, 85, PLAN)) == (
        "mark", "id", "status", "label", "why", "holder", "lease", "age",
    )  # on screen in the table's order, chosen in priority order  # fmt: skip
    assert tuple(column_plan.fitting(KEYS, widths, 130, PLAN)) == KEYS
    # A strict prefix: a narrow column never shows while a more useful one is hidden.
    widths["holder"] = widths["abandon"] = 60
    shown = column_plan.fitting(KEYS, widths, 100, PLAN)
    assert "disposition" not in shown and set(always) <= set(shown)
    assert set(PLAN.priority) == set(KEYS)


def test_text_columns_are_cut_first_and_take_the_room_left() -> None:
    """The columns always shown fit by cutting the widest text first (never below its
    floor); room left over goes to the text still cut, up to its widest cell."""
    widths = dict.fromkeys(KEYS, 6) | {"label": 40, "why": 120}
    narrow = column_plan.fitting(KEYS, widths, 80, PLAN, pad=2)
    assert tuple(narrow) == ("mark", "id", "status", "label", "why", "lease", "age")
    assert sum(narrow.values()) + 2 * len(narrow) == 80
    assert narrow["label"] == narrow["why"] or narrow["why"] - narrow["label"] == 1
    wide = column_plan.fitting(KEYS, widths, 400, PLAN, pad=2)
    assert tuple(wide) == KEYS and wide["why"] == 120 and wide["label"] == 40
    # The holder is shown once every text column can have its fair width (16 cells;
    # `PLAN.fair_only`), the text cut level with it (it was hidden here until the label
    # and WHY had their comfortable widths, 40 and 48); below that, it gives way.
    widths["holder"] = 30
    middle = column_plan.fitting(KEYS, widths, 140, PLAN, pad=2)
    assert (middle["label"], middle["why"], middle["holder"]) == (35, 35, 24)
    assert column_plan.fitting(KEYS, widths, 100, PLAN, pad=2)["holder"] == 18
    assert "holder" not in column_plan.fitting(KEYS, widths, 90, PLAN, pad=2)


async def test_a_hostile_failure_message_is_shown_as_text_and_clipped(tmp_path: Path) -> None:
    clock = ManualClock(START_MS)
    registry = await SqliteProcessRegistry.open(str(tmp_path / "why.db"), clock=clock)
    try:
        await registry.register_process(rr("p"))
        owner = far("w")
        lease = (await registry.claim_process_lease("p", owner, 60_000)).acquired()
        assert lease is not None
        message = "[@click=app.quit]x[/] \x1b[2J" + "long " * 40
        await registry.complete_process_with_lease(lease, failure("bad:[b]", message))
        process = await Processes(registry, clock=clock).get("p")
        assert process is not None
        row = dict(zip(KEYS, cells(process, START_MS, False, lambda _: Style()), strict=True))
        shown = str(row["why"])
        assert shown == visible(fmt.why(process, START_MS))[: WHY_CHARS - 1] + "…"
        assert shown.startswith("bad:[b]: [@click=app.quit]x[/] \\x1b[2J")
        # Abandoned: who wrote it, and the operator's request when one was honoured.
        evidence = AbandonEvidence(writer=AbandonWriter.RECONCILED_REQUEST, epoch_ms=START_MS)
        request = AbandonRequest(requested_by="dana", requested_at_ms=START_MS, reason="gone")
        abandoned = process.model_copy(
            update={
                "status": ProcessStatus.terminal(AbandonedOutput(evidence=evidence)),
                "abandon_request": request,
            }
        )
        assert fmt.why(abandoned, START_MS) == (
            "abandon request, lease lapsed · requested by dana: gone"
        )
    finally:
        await registry.close()
