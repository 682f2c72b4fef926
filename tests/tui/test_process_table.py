"""`ProcessTable` draws its rows itself (process_table.py `render_line`, for the dashboard's
loop lag); what it draws must be what DataTable draws, segment for segment and style for
style (colours, zebra stripes, the cursor, the hover, the row/column meta that clicks read),
in every state the operator can put the table in, states' own styles and the id column held
in place while the table scrolls sideways included."""

from __future__ import annotations

from typing import Any

import pytest
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import DataTable

from lashtui.tui.widgets import column_plan
from lashtui.tui.widgets.process_table import COLUMNS, ProcessTable, stored


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield ProcessTable(id="process-table")


# A state's style as the theme gives it (colour and text style, no background).
STYLES = (Style(color="red", bold=True), Style(color="cyan"), Style(reverse=True, bold=True))


def row(n: int) -> tuple[str | Text, ...]:
    badges = ("● running", "✓ completed", "☠ abandoned", "⊘ cancelled")
    badge = badges[n % len(badges)]
    return (
        "▶" if n % 5 == 0 else " ",
        f"p-{n:04d}",
        Text(badge, style=STYLES[n % 3], end="") if n % 4 else badge,
        "処理ラベル" if n % 7 == 0 else f"label {n}",
        "upstream_timeout: no answer in 30s" if n % 6 == 1 else "",
        "rerunnable",
        "session:s-1" if n % 2 else "host",
        "w-1@host-a:42" if n % 3 else "-",
        Text(f"lapsed {n}s ago", style=STYLES[0], end="")
        if n % 3 == 1
        else f"{n}s left"
        if n % 3
        else "-",
        "-",
        "requested" if n % 11 == 0 else "-",
        f"{n}s",
        f"{n * 7}ms ago",
    )


def put(table: ProcessTable, key: str, cells: tuple[str | Text, ...]) -> None:
    """A row added as `ProcessTable.show` adds one: its cells measured, for the columns'
    widths (`fit_columns`), in a table showing every column (`w`)."""
    table.add_row(*cells, key=key)
    table.widths[key] = column_plan.cell_widths(cells)


def fast_and_slow(table: ProcessTable) -> tuple[list[list[Segment]], list[list[Segment]]]:
    """Every line of the table from its own renderer and from DataTable's, as one frame."""
    table._pseudo_class_state = table.get_pseudo_class_state()
    table._frame = None
    table._lines.clear()
    height = table.size.height
    fast = [list(table.render_line(y)) for y in range(height)]
    slow = [list(DataTable.render_line(table, y)) for y in range(height)]
    return fast, slow


async def test_rows_are_drawn_as_datatable_draws_them() -> None:
    app = TableApp()
    async with app.run_test(size=(200, 20)) as pilot:
        table = app.query_one(ProcessTable)
        table.action_toggle_wide()
        for n in range(40):
            put(table, f"p-{n:04d}", row(n))
        # Cells DataTable reads as markup or lays out with rich: left to DataTable.
        put(table, "p-9001", (" ", "p-9001", "[b]bold[/b]", ":smile:", "a\tb", *row(1)[5:]))
        # A styled cell wider than its column (not measured), cropped in its style.
        table.add_row(*row(3)[:4], Text("w" * 90, style=STYLES[1]), *row(3)[5:], key="p-9003")
        # Stored text that is not a plain line for DataTable: a `Text` it never parses,
        # drawn by the fast path when it is one plain line (a long one is cropped alike).
        hostile = ("[/]", "[@click=app.quit]x", "fake [green]ok[/]", "\x1b[2J" + "w" * 80)
        put(table, "p-9002", (" ", *(stored(value) for value in hostile), *row(2)[5:]))
        table.fit_columns()
        await pilot.pause()
        # A cell that outgrew its column (the clock cells are rewritten in place).
        table._data[table.ordered_rows[4].key][table.ordered_columns[11].key] = "12345678901m"
        fast, slow = fast_and_slow(table)
        assert fast == slow
        assert any("p-0000" in segment.text for segment in fast[1])  # rows, not blanks

        table.move_cursor(row=3)  # the cursor, focused and then not
        await pilot.pause()
        assert fast_and_slow(table)[0] == fast_and_slow(table)[1]
        table.blur()
        await pilot.pause()
        assert fast_and_slow(table)[0] == fast_and_slow(table)[1]

        table._set_hover_cursor(True)  # the mouse over a row
        table.hover_coordinate = table.hover_coordinate._replace(row=5)
        await pilot.pause()
        fast, slow = fast_and_slow(table)
        assert fast == slow

        table.scroll_to(y=table.max_scroll_y, animate=False)  # rows under the header
        await pilot.pause()
        fast, slow = fast_and_slow(table)
        assert fast == slow
        first = f"p-{round(table.scroll_y):04d}"
        assert table.scroll_y > 0 and first in "".join(segment.text for segment in fast[1])


@pytest.mark.parametrize("fixed", [0, 2])
async def test_a_narrow_table_scrolled_sideways_is_drawn_as_datatable_draws_it(
    fixed: int,
) -> None:
    app = TableApp()
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(ProcessTable)
        table.action_toggle_wide()  # every column: the rows below fill them all
        for n in range(20):
            put(table, f"p-{n:04d}", row(n))
        table.fit_columns()
        table.fixed_columns = fixed  # the mark and the id held in place, or not
        await pilot.pause()
        for x in (0, 7, 31):
            table.scroll_to(x=x, y=3, animate=False)
            table.move_cursor(row=x % 5)
            await pilot.pause()
            fast, slow = fast_and_slow(table)
            assert fast == slow
            if fixed:
                assert all(line[0].text.strip() in ("", "▶") for line in fast[1:])
                first = "".join(segment.text for segment in fast[1])  # under the header
                assert first.index(f"p-{round(table.scroll_y):04d}") < 10  # at the left
                assert "p-" not in "".join(s.text for s in slow[1])[10:]


async def test_a_theme_change_redraws_every_line() -> None:
    app = TableApp()
    async with app.run_test(size=(120, 10)) as pilot:
        table = app.query_one(ProcessTable)
        for n in range(5):
            table.add_row(*row(n), key=f"p-{n:04d}")
        await pilot.pause()

        def line(y: int) -> list[Segment]:  # as the next frame draws it, caches and all
            table._pseudo_class_state = table.get_pseudo_class_state()
            table._frame = None
            return list(table.render_line(y))

        before = [line(y) for y in range(4)]
        app.theme = "textual-light"
        await pilot.pause()
        after = [line(y) for y in range(4)]
        assert [[s.text for s in x] for x in after] == [[s.text for s in x] for x in before]
        assert all(new != old for new, old in zip(after, before, strict=True))
        assert after == [list(DataTable.render_line(table, y)) for y in range(4)]
        assert len(COLUMNS) == len(table.columns)


class TwoTablesApp(App[None]):
    """A table that fills what is left (as the views' do) and one sized by its rows."""

    CSS = "#process-table { height: 1fr; } #auto { height: auto; }"

    def compose(self) -> ComposeResult:
        yield ProcessTable(id="process-table")
        yield ProcessTable(id="auto")


async def test_rows_added_lay_out_the_screen_only_when_the_table_is_sized_by_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A row added to a table whose size its container decides moves its scrollbar and
    # repaints it; the screen is laid out again (~10 ms a time on a busy dashboard) only
    # when the scrollbar appears, or for a table whose height follows its rows.
    from textual.screen import Screen

    layouts: list[Screen[None]] = []
    original = Screen._refresh_layout

    def counted(screen: Screen[None], *args: Any, **kwargs: Any) -> None:
        layouts.append(screen)
        original(screen, *args, **kwargs)

    monkeypatch.setattr(Screen, "_refresh_layout", counted)
    app = TwoTablesApp()
    async with app.run_test(size=(200, 30)) as pilot:
        filled = app.query_one("#process-table", ProcessTable)
        sized = app.query_one("#auto", ProcessTable)
        sized.add_row(*row(0), key="p-0000")
        await pilot.pause()
        assert not filled.show_vertical_scrollbar
        layouts.clear()
        for n in range(3):  # fits: no scrollbar yet
            filled.add_row(*row(n), key=f"p-{n:04d}")
            await pilot.pause()
        assert layouts == []
        for n in range(3, 60):  # overflows: the scrollbar appears (and lays out the screen)
            filled.add_row(*row(n), key=f"p-{n:04d}")
            await pilot.pause()
        assert filled.show_vertical_scrollbar and 1 <= len(layouts) <= 2
        assert filled.max_scroll_y == filled.virtual_size.height - filled.size.height
        layouts.clear()
        for n in range(60, 70):
            filled.add_row(*row(n), key=f"p-{n:04d}")
            await pilot.pause()
        assert layouts == []
        filled.scroll_end(animate=False)
        await pilot.pause()
        assert filled.scroll_y == filled.max_scroll_y > 0
        sized.add_row(*row(1), key="p-0001")
        await pilot.pause()
        assert layouts  # its height follows its rows: the screen is laid out
        assert sized.size.height == 3  # a header and two rows
