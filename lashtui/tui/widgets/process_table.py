"""`ProcessTable`: the rows of the Processes view's window, updated in place by process id.

The table renders what it is given and nothing more: `show` diffs the new rows against the
ones on screen and rewrites only the cells that changed (a clear-and-re-add of 10k rows
costs seconds; in-place updates cost milliseconds). The cursor follows the selected process
id across inserts, removals and re-sorts, never a row index. When the cursor is pushed past
the first or last row the table posts `EdgeReached`, and the screen slides its window.

DataTable keys its render caches on a counter that every `update_cell`, `add_row` and
`sort` moves, so one changed cell re-renders every visible cell (~50 ms for a 50-row
screen, measured by benchmarks/d1_freshness.py; most of the loop's time at 100 changes/s).
`_render_cell` is therefore cached here by what the cell shows (its text, position, style,
width), so a change re-renders only the cells that changed. That overrides a private
method of textual's DataTable, which is why textual is pinned to one minor series.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Literal

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.coordinate import Coordinate
from textual.message import Message
from textual.strip import Strip
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowKey

from lashtui.model import ObservedProcess
from lashtui.tui import format as fmt

COLUMNS = (
    ("mark", " "),
    ("id", "ID"),
    ("status", "STATUS"),
    ("label", "LABEL"),
    ("disposition", "DISPOSITION"),
    ("originator", "ORIGINATOR"),
    ("lease", "LEASE"),
    ("started", "STARTED BY"),
    ("abandon", "ABANDON"),
    ("age", "AGE"),
    ("updated", "UPDATED"),
)
CLOCK_COLUMNS = ("lease", "age", "updated")  # cells that change with the clock alone
MARK = "▶"
# top/bottom: pushed past the window's first/last row; first/last: jump to the very ends
Edge = Literal["top", "bottom", "first", "last"]
CELL_CACHE = 20_000  # rendered cells kept: a few screens of 11 columns, in every style
LINE_CACHE = 2_000  # rendered lines kept


def cells(process: ObservedProcess, now_ms: int, marked: bool) -> tuple[str, ...]:
    started = process.first_started
    return (
        MARK if marked else " ",
        process.process_id,
        fmt.badge(process),
        process.label,
        process.disposition.value,
        process.originator.scope_id(),
        fmt.lease(process, now_ms),
        fmt.owner(started.owner) if started else "-",
        "requested" if process.abandon_request else "-",
        fmt.duration(now_ms - process.created_at_ms),
        fmt.ago(process.updated_at_ms, now_ms),
    )


class ProcessTable(DataTable[str]):
    """Processes keyed by id; `show` makes the table match a window of rows."""

    class ProcessSelected(Message):
        """The operator moved the cursor onto a process."""

        def __init__(self, process_id: str) -> None:
            super().__init__()
            self.process_id = process_id

    class EdgeReached(Message):
        """The operator pushed past the first or last row: the window should slide."""

        def __init__(self, edge: Edge) -> None:
            super().__init__()
            self.edge = edge

    def __init__(self, *, id: str | None = None) -> None:
        # Before DataTable's __init__, whose reactive watchers already clear caches.
        self._cells: dict[tuple[object, ...], list[list[Segment]]] = {}
        self._lines: dict[tuple[object, ...], Strip] = {}
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.processes: dict[str, ObservedProcess] = {}  # the rows on screen
        self.rendered: dict[str, tuple[str, ...]] = {}  # their cells as last written
        self.announced: str | None = None  # the process id last announced as selected

    def on_mount(self) -> None:
        for key, label in COLUMNS:
            self.add_column(label, key=key)

    # --- rendering: cells cached by what they show (see the module docstring)

    def _render_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ) -> list[list[Segment]]:
        column_key = self._column_locations.get_key(column_index)
        row_key = self._row_locations.get_key(row_index) if row_index != -1 else None
        if column_key is None or (row_index != -1 and row_key is None):
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        if row_key is None:
            shown: object = self.columns[column_key].label.plain
        else:
            shown = (row_key, self._data[row_key].get(column_key), self.rows[row_key].height)
        key = (
            row_index,
            column_index,
            shown,
            base_style,
            width,
            cursor,
            hover,
            self.show_cursor,
            self._show_hover_cursor,
            self._pseudo_class_state,
        )
        lines = self._cells.get(key)
        if lines is None:
            if len(self._cells) >= CELL_CACHE:
                self._cells.clear()
            lines = self._cells[key] = super()._render_cell(
                row_index, column_index, base_style, width, cursor, hover
            )
        return lines

    def _render_line(self, y: int, x1: int, x2: int, base_style: Style) -> Strip:
        try:
            row_key, line_no = self._get_offsets(y)
        except LookupError:
            return super()._render_line(y, x1, x2, base_style)
        if row_key is self._header_row_key:
            row_index, shown = -1, tuple(column.label.plain for column in self.ordered_columns)
        else:
            found = self._row_locations.get(row_key)
            row_index = -1 if found is None else found
            shown = tuple(self._data[row_key].values())
        cursor_type = self.cursor_type
        key = (
            y,
            x1,
            x2,
            self.size.width,
            row_key,
            line_no,
            row_index,
            shown,
            tuple(column.get_render_width(self) for column in self.ordered_columns),
            self._should_highlight(self.cursor_coordinate, Coordinate(row_index, 0), cursor_type),
            self._should_highlight(self.hover_coordinate, Coordinate(row_index, 0), cursor_type),
            base_style,
            cursor_type,
            self.show_cursor,
            self._show_hover_cursor,
            self._pseudo_class_state,
        )
        strip = self._lines.get(key)
        if strip is None:
            if len(self._lines) >= LINE_CACHE:
                self._lines.clear()
            strip = self._lines[key] = super()._render_line(y, x1, x2, base_style)
        return strip

    def _clear_caches(self) -> None:
        super()._clear_caches()
        self._cells.clear()
        self._lines.clear()

    def notify_style_update(self) -> None:
        self._cells.clear()  # a theme or CSS change restyles every cell
        self._lines.clear()
        super().notify_style_update()

    @property
    def selected_id(self) -> str | None:
        if not self.row_count:
            return None
        return str(self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value)

    def show(
        self,
        rows: Sequence[ObservedProcess],
        now_ms: int,
        marked: Collection[str] = (),
        select: str | None = None,
        *,
        retime: bool = True,
    ) -> None:
        """Make the table hold exactly `rows` (in id order), keeping the cursor on
        `select` or else on the process it was on (or its neighbour, if that one left).

        `retime=False` leaves the clock-relative cells of unchanged rows (the same
        `ObservedProcess` object, the same mark) as they are: a change from the feed then
        costs its own rows, not the window's (a young row's age moves every millisecond, so
        retiming would rewrite, and repaint, every such row on every change)."""
        selected = select or self.selected_id
        index = self.cursor_row
        wanted = {p.process_id: p for p in rows}
        for pid in [pid for pid in self.processes if pid not in wanted]:
            del self.processes[pid], self.rendered[pid]
            self.remove_row(pid)
        inserted = False
        rewritten: list[str] = []
        for pid, process in wanted.items():
            old = self.rendered.get(pid)
            if (
                not retime
                and old is not None
                and self.processes[pid] is process
                and (old[0] == MARK) == (pid in marked)
            ):
                continue
            row = cells(process, now_ms, pid in marked)
            if old is None:
                self.add_row(*row, key=pid)
                inserted = True
            elif old != row:
                self._rewrite(pid, row, old)
                rewritten.append(pid)
            self.processes[pid] = process
            self.rendered[pid] = row
        if rewritten:
            self._repaint(rewritten)
        if inserted:
            self.sort("id")
        target = index
        if selected is not None and selected in self.processes:
            target = self.get_row_index(selected)
        if self.row_count and (target != self.cursor_row or target >= self.row_count):
            # only a real move: each move announces a highlight, and screens react to it
            self.move_cursor(row=min(target, self.row_count - 1))

    def _rewrite(self, pid: str, row: tuple[str, ...], old: tuple[str, ...]) -> None:
        """`update_cell` for the cells that changed, without its repaint (see `_repaint`):
        the same private state `update_cell` writes."""
        cells_ = self._data[RowKey(pid)]
        for (key, _), new_value, old_value in zip(COLUMNS, row, old, strict=True):
            if new_value != old_value:
                cells_[ColumnKey(key)] = new_value

    def _repaint(self, pids: list[str]) -> None:
        """Repaint only the rewritten rows that are on screen: `update_cell` repaints the
        whole table for every cell, so a change to a row scrolled out of sight cost a full
        repaint. The cache counter moves once (DataTable recomputes its row order for each
        new value, so once per row made a re-render of the window O(rows^2))."""
        self._update_count += 1
        if len(pids) > self.size.height:
            self.refresh()
            return
        for pid in pids:
            self.refresh_row(self.get_row_index(pid))

    def tick(self, now_ms: int, marked: Collection[str] = ()) -> None:
        """Rewrite the clock-relative cells (ages, countdowns) for a new now."""
        self.show(list(self.processes.values()), now_ms, marked)

    def _at_edge(self, edge: Edge) -> bool:
        if edge == "top":
            return self.cursor_row <= 0
        return self.cursor_row >= self.row_count - 1

    def action_cursor_down(self) -> None:
        if self._at_edge("bottom"):
            self.post_message(self.EdgeReached("bottom"))
        super().action_cursor_down()

    def action_cursor_up(self) -> None:
        if self._at_edge("top"):
            self.post_message(self.EdgeReached("top"))
        super().action_cursor_up()

    def action_page_down(self) -> None:
        super().action_page_down()
        if self._at_edge("bottom"):
            self.post_message(self.EdgeReached("bottom"))

    def action_page_up(self) -> None:
        super().action_page_up()
        if self._at_edge("top"):
            self.post_message(self.EdgeReached("top"))

    # Home/End and ctrl+Home/End go to the ends of the whole list, not just the window.
    def action_scroll_top(self) -> None:
        self.post_message(self.EdgeReached("first"))

    def action_scroll_bottom(self) -> None:
        self.post_message(self.EdgeReached("last"))

    def action_scroll_home(self) -> None:
        self.post_message(self.EdgeReached("first"))

    def action_scroll_end(self) -> None:
        self.post_message(self.EdgeReached("last"))

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        if self.scroll_y >= self.max_scroll_y:
            self.post_message(self.EdgeReached("bottom"))

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        if self.scroll_y <= 0:
            self.post_message(self.EdgeReached("top"))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        process_id = event.row_key.value
        if process_id is not None and process_id != self.announced:
            self.announced = process_id
            self.post_message(self.ProcessSelected(str(process_id)))
