"""The list views fit their screen once their rows outgrow its height, at every width from
the dashboard's narrowest up (60, 80, 100, 120, 160 columns), with values as long as a
write allows (tests/tui/test_every_view_fits.py) and rows a minute and more old.

Found by running `lashtui demo` at 120x32 in tmux: within a minute the demo's rows outgrew
the screen and the table's vertical scrollbar came, taking 2 cells of the width its columns
had been fitted to. The row that brought it widened no column, so nothing fitted them again:
the table scrolled sideways (its horizontal scrollbar showed) and its last column was cut
at the screen's edge with no `…`, AGE `1m17s` read `1m17`, a different age. At 80x24 it
did the same. The tables now fit their columns again when the scrollbar comes or goes
(widgets/process_table.py, widgets/keyed_table.py)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from rich.cells import cell_len
from textual.pilot import Pilot
from textual.widgets import DataTable

from lashtui.admin import Processes
from lashtui.clock import ManualClock
from lashtui.model import ProcessIdentity, failure
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.tui.widgets.keyed_table import KeyedTable
from lashtui.tui.widgets.process_table import ProcessTable
from tests.builders import ext, ob
from tests.tui.scene import far, home_loaded, until
from tests.tui.test_column_widths import observer
from tests.tui.test_every_view_fits import (
    HELD,
    LONG_LABEL,
    VIEWS,
    check_fits,
    long_scene,
    opened,
)
from tests.tui.test_hostile_app import screen_text

__all__ = ["long_scene"]  # (the fixture, used by name)

WIDTHS = (60, 80, 100, 120, 160)
LIST_WIDTHS = (60, 80, 120)  # (each failed at 60 or 80 and 120 before: three tell it)
HEIGHT = 32
AGE = 77_000  # how old the scene's rows are when checked: `1m17s`


def no_sideways_scroll(app: Any, table: DataTable[Any]) -> None:
    """No line of the screen is wider than it, and the table has no horizontal scrollbar:
    nothing it holds is past the screen's right edge."""
    width = app.size.width
    for line in screen_text(app).splitlines():
        assert cell_len(line) <= width, line
    assert table.show_vertical_scrollbar  # the case this is about: rows past the height
    assert not table.show_horizontal_scrollbar, (table.id, table.virtual_size, table.size)
    assert table.virtual_size.width <= table.scrollable_content_region.width, table.id
    check_fits(table, width, set())


async def outgrow(
    pilot: Pilot[Any], registry: SqliteProcessRegistry, table: DataTable[Any], tag: str
) -> None:
    """Register short rows, as the demo's trickle does (none widening a column), a screenful
    at a time, until the table has more rows than lines."""
    for n in range(4):
        if table.show_vertical_scrollbar:
            break
        for m in range(HEIGHT):
            pid = f"{tag}-{HEIGHT * n + m:04d}-a5cd"
            await registry.register_process(ext(pid, identity=ProcessIdentity(kind="external")))
        await until(pilot, lambda pid=pid: pid in {str(key.value) for key in table.rows})
        await pilot.pause()
    await pilot.pause(0.2)  # (the refit is laid out after the scrollbar is)
    await pilot.pause()


@pytest.mark.parametrize("width", WIDTHS)
async def test_the_processes_view_fits_once_its_rows_outgrow_the_screen(
    long_scene: tuple[SqliteProcessRegistry, ManualClock], width: int
) -> None:
    registry, clock = long_scene
    app = observer(registry, clock)
    async with app.run_test(size=(width, HEIGHT)) as pilot:
        home = await home_loaded(pilot)
        table = home.query_one(ProcessTable)
        assert not table.show_vertical_scrollbar  # the scene's rows fit: none yet
        clock.advance(AGE - 5_000)  # (the scene is 5 s old)
        await outgrow(pilot, registry, table, "thumb")
        no_sideways_scroll(app, table)
        screen = screen_text(app)
        # AGE whole on every row the scene made a minute and more ago.
        ages = re.findall(r"\b1m17s?", screen)
        assert len(ages) >= 15 and set(ages) == {"1m17s"}, ages
        if width >= 80:  # a long label is cut where the plan says, with its `…`
            label = str(table.get_cell(HELD, "label"))
            assert label.endswith("…") and LONG_LABEL.startswith(label[:-1]), label
            assert label in screen
        else:  # LABEL gave way (the detail says it whole); the key columns stay
            assert "label" not in table.shown_columns
        assert {"id", "status", "lease", "age"} <= set(table.shown_columns)


# What each view lists, one more of: a lease held (Leases), an abandon request on a held
# row (Abandon requests), a failure of a code of its own (Errors), an operator's action
# (Audit: a cancel of a row of its own). Short, as the demo's rows are: none widens a
# column.
async def one_more(registry: SqliteProcessRegistry, clock: ManualClock, key: str, n: int) -> None:
    pid = f"more-{n:04d}-a5cd"
    await registry.register_process(ob(pid, identity=ProcessIdentity(kind="external")))
    if key == "6":  # (a commit: the view reads again when the registry moved)
        await Processes(registry, clock=clock).actions.cancel(pid, "stuck", operator="dana@ops")
        return
    lease = (await registry.claim_process_lease(pid, far("worker-7"), 600_000)).acquired()
    assert lease is not None
    if key == "3":
        await Processes(registry, clock=clock).actions.request_abandon(pid, "dana@ops", "stuck")
    elif key == "5":
        await registry.complete_process_with_lease(lease, failure(f"e{n}", "no answer"))


@pytest.mark.parametrize("width", LIST_WIDTHS)
@pytest.mark.parametrize("key", list(VIEWS))
async def test_each_list_view_fits_once_its_rows_outgrow_the_screen(
    long_scene: tuple[SqliteProcessRegistry, ManualClock], key: str, width: int
) -> None:
    registry, clock = long_scene
    app = observer(registry, clock)
    async with app.run_test(size=(width, HEIGHT)) as pilot:
        screen = await opened(pilot, key, VIEWS[key])
        table = screen.query(KeyedTable).first()  # (Abandon requests: the pending ones)
        await until(pilot, lambda: table.row_count > 0)
        assert not table.show_vertical_scrollbar
        clock.advance(AGE - 5_000)
        for n in range(60):
            if table.show_vertical_scrollbar:
                break
            rows = table.row_count
            # (a screenful at once: one read brings the scrollbar, and the Errors view
            # reads again every few seconds only)
            for m in range(HEIGHT):
                await one_more(registry, clock, key, HEIGHT * n + m)
            await until(pilot, lambda rows=rows: table.row_count > rows)
            await pilot.pause()
        await pilot.pause(0.2)
        await pilot.pause()
        no_sideways_scroll(app, table)
        for other in screen.query(KeyedTable):
            assert not other.show_horizontal_scrollbar, other.id
            check_fits(other, width, set())

