"""`ProcessTable`: the rows of the Processes view's window, updated in place by process id.

The table renders what it is given and nothing more: `show` diffs the new rows against the
ones on screen and rewrites only the cells that changed (a clear-and-re-add of 10k rows
costs seconds; in-place updates cost milliseconds). The cursor follows the selected process
id across inserts, removals and re-sorts, never a row index. When the cursor is pushed past
the first or last row the table posts `EdgeReached`, and the screen slides its window.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Literal

from textual import events
from textual.message import Message
from textual.widgets import DataTable

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
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.processes: dict[str, ObservedProcess] = {}  # the rows on screen
        self.rendered: dict[str, tuple[str, ...]] = {}  # their cells as last written
        self.announced: str | None = None  # the process id last announced as selected

    def on_mount(self) -> None:
        for key, label in COLUMNS:
            self.add_column(label, key=key)

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
    ) -> None:
        """Make the table hold exactly `rows` (in id order), keeping the cursor on
        `select` or else on the process it was on (or its neighbour, if that one left)."""
        selected = select or self.selected_id
        index = self.cursor_row
        wanted = {p.process_id: p for p in rows}
        for pid in [pid for pid in self.processes if pid not in wanted]:
            del self.processes[pid], self.rendered[pid]
            self.remove_row(pid)
        inserted = False
        for pid, process in wanted.items():
            row = cells(process, now_ms, pid in marked)
            old = self.rendered.get(pid)
            if old is None:
                self.add_row(*row, key=pid)
                inserted = True
            elif old != row:
                for (key, _), new_value, old_value in zip(COLUMNS, row, old, strict=True):
                    if new_value != old_value:
                        self.update_cell(pid, key, new_value)
            self.processes[pid] = process
            self.rendered[pid] = row
        if inserted:
            self.sort("id")
        target = index
        if selected is not None and selected in self.processes:
            target = self.get_row_index(selected)
        if self.row_count and (target != self.cursor_row or target >= self.row_count):
            # only a real move: each move announces a highlight, and screens react to it
            self.move_cursor(row=min(target, self.row_count - 1))

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
