"""`ProcessTable`: the rows of the Processes view's window, updated in place by process id.

Each row is keyed by `row_key` (tui/row_key.py): its process id, unless that id is not text
(a NULL's, a blob's), which is keyed apart, so a text row `NULL` and a NULL's row are two
rows. What the table calls an id (`selected_id`, `ProcessSelected`, the marks) is that key.

The table renders what it is given and nothing more: `show` diffs the new rows against the
ones on screen and rewrites only the cells that changed (a clear-and-re-add of 10k rows
costs seconds; in-place updates cost milliseconds). The cursor follows the selected process
id across inserts, removals and re-sorts, never a row index. When the cursor is pushed past
the first or last row the table posts `EdgeReached`, and the screen slides its window.
When the selected process leaves the rows without the operator choosing another (it ended
under a status filter, was pruned), no row is selected (`lost`, the cursor hidden): the
cursor used to stay at its index, on the next process, which an action then took as if the
operator had chosen it. The next cursor key or click selects a row again; so does the lost
process coming back.

Its lines are drawn by `PlainRowsTable` (widgets/plain_rows.py), cached by what they show,
so a change re-renders only the lines that changed.

Every cell that holds stored text (id, label, scope, owner) is made visible first
(`lashtui.untrusted.visible`: a control character shown as its escape), and is handed to
DataTable as a plain `str` only when DataTable's markup reading would show it unchanged;
anything else (`[@click=app.quit]x`, `[/]`, `:smile:`) becomes a `Text`, which DataTable
never parses. Both kinds are drawn by the fast path when they are one plain line, in one
style of their own or none.

States are told apart by style (the badge; a lapsed lease; a "silent, not dead" row's why),
each from a theme variable through a component class (widgets/state_style.py). A terminal
row says why it ended in the WHY column, from the record the page already read.

At a narrow width the lowest-priority columns are left out and the text columns (label,
WHY, holder, ...) are cut with `…` to fit, and the width left over goes to the text still
cut (widgets/column_plan.py): the table sets each column's width itself, and cuts a row's
cells to them as it writes the row (`_fit`). `w` shows every column whole, and the table
scrolls sideways with the mark and the id held in place (DataTable's `fixed_columns`, which
the fast path draws as DataTable does).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import replace
from functools import lru_cache
from typing import ClassVar, Literal

from rich.style import Style
from rich.text import Text
from textual import events
from textual._two_way_dict import TwoWayDict
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.message import Message
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowKey

from lashtui.model import ObservedProcess, lease_lapsed_at
from lashtui.tui import format as fmt
from lashtui.tui import text
from lashtui.tui.row_key import row_key
from lashtui.tui.widgets import column_plan
from lashtui.tui.widgets.plain_rows import Cell, PlainRowsTable, is_plain
from lashtui.tui.widgets.state_style import PAINTED, STATE_CLASSES, paint
from lashtui.untrusted import visible_clipped

COLUMNS = (
    ("mark", " "),
    ("id", "ID"),
    ("status", "STATUS"),
    ("label", "LABEL"),
    ("why", "WHY"),
    ("disposition", "DISPOSITION"),
    ("originator", "ORIGINATOR"),
    ("holder", "HOLDER"),
    ("lease", "LEASE"),
    ("started", "STARTED BY"),
    ("abandon", "ABANDON"),
    ("age", "AGE"),
    ("updated", "UPDATED"),
)
CLOCK_COLUMNS = ("lease", "age", "updated")  # cells that change with the clock alone
KEYS = tuple(key for key, _ in COLUMNS)
# The cells that can grow with the clock alone (a countdown, an age, a row falling silent),
# whose widths a tick checks: measured only when their process changed, a lease column
# drawn as wide as `9s left` cut `lapsed 1m05s ago` to `lapsed 1m`.
CLOCK_INDEXES = tuple(KEYS.index(key) for key in (*CLOCK_COLUMNS, "why"))
LABELS = tuple(label for _, label in COLUMNS)
FIXED = 2  # the mark and the id stay put while the table scrolls sideways
# The most of why a process ended a WHY cell holds (the column shows as much of it as the
# width leaves: widgets/column_plan.py): a failure message can be 4,096 characters, and the
# detail shows it whole.
WHY_CHARS = 200
# Most useful first: what it is, when its lease lapses and how old it is, its label and why
# it ended (text, cut to the room left; given up first on a narrow screen); then who holds
# the lease. The lease is two columns, its countdown and its holder: as one cell
# (`worker-7@host-b:4242 (8m30s left)`, the holder up to ~90 characters) it was too wide to
# fit beside the label at 120 columns, and the countdown and the age gave way with it.
# Who holds the lease is shown with them wherever each of the text columns can have a fair
# share (20 cells for the id, 16 for the others), the id cut in its middle to make room: as
# the first column past them, shown only once they had their comfortable widths (a long id
# counted 64 cells), it was off the screen at 130 and 160 columns whenever one long id was
# listed, while that id was drawn 32-42 cells wide.
PLAN = column_plan.Plan(
    priority=(
        "mark", "id", "status", "lease", "age", "label", "why",
        "holder", "abandon", "disposition", "originator", "started", "updated",
    ),
    always=8,
    # Below the fair widths the holder gives way (100 columns with long ids); at 60 columns
    # the seven, cut to their floors, are too wide: WHY gives way (the detail says it),
    # then the label; the id, the status, the lease and the age stay.
    key=5,
    fair_only=frozenset({"holder"}),
    flex={
        # An id cut in its middle: a write allows 512 characters, and ids that share a
        # long start differ at the end. The row is still keyed and acted on by the whole.
        "id": replace(column_plan.id_column(), fair=20),
        # A label to its whole LABEL_CHARS (`text.LABEL_CHARS`) before another column.
        "label": column_plan.Flex(floor=8, comfort=text.LABEL_CHARS, fair=16),
        "why": column_plan.Flex(floor=8, comfort=48, fair=16),
        "holder": column_plan.Flex(floor=8, comfort=24, fair=16),
        "originator": column_plan.Flex(floor=8, comfort=24),
        "started": column_plan.Flex(floor=8, comfort=24),
    },
)  # fmt: skip
MARK = "▶"
# top/bottom: pushed past the window's first/last row; first/last: jump to the very ends
Edge = Literal["top", "bottom", "first", "last"]
ROW_RENDERABLES = 64  # DataTable's per-row `Text` cells kept (it measures new rows with them)


Paint = Callable[[str], Style]  # a state's or mark's style, by name (state_style.paint)


@lru_cache(maxsize=8192)
def _shown(value: str) -> tuple[str, bool]:
    """`value` made visible, and whether DataTable shows that as is: cached, because the
    same ids, labels and scopes are rendered again on every tick. Cut at `text.CELL_CHARS`:
    a row another program wrote may hold an id of any length (50 ids of 200,000
    characters held the event loop 0.25 s as they were escaped and measured)."""
    shown = visible_clipped(value, text.CELL_CHARS)
    return shown, is_plain(shown)


def stored(value: str) -> Cell:
    """A cell of stored text: the visible string when DataTable would show it unchanged
    (the common case, and the cheap one), else a `Text` it never parses."""
    shown, plain = _shown(value)
    return shown if plain else text.cell(shown)


@lru_cache(maxsize=4096)
def _cut(value: str, width: int, middle: bool) -> Cell:
    """A plain cell cut to `width` cells (in its `middle`: an id): cached, as the same
    cells are cut on every tick."""
    return stored(str(column_plan.clip(value, width, middle=middle)))


def _same(new: object, old: object) -> bool:
    """Whether two cells show the same: `Text` equality ignores the text's own style, and
    a cell can change in style alone (a theme change; a lease lapsing while paused)."""
    return new == old and (new.__class__ is not Text or new.style == old.style)  # type: ignore[attr-defined]


def _same_row(new: tuple[Cell, ...], old: tuple[Cell, ...]) -> bool:
    # Rows usually differ in their text (the clock moved): the plain comparison decides.
    return new == old and all(map(_same, new, old))


@lru_cache(maxsize=64)
def _badge(state: str, style: Style) -> Text:
    """A status badge in its style: one `Text` per state and theme, shared by every row
    (nothing mutates a cell once it is in the table)."""
    return Text(fmt.badge_of(state), style=style, end="")


@lru_cache(maxsize=4096)
def _why_cell(why: str) -> Cell:
    """A reason as its cell: made visible, then clipped (an escape is never cut open by
    clipping first); cached, as the same reasons come back on every tick."""
    return stored(visible_clipped(why, WHY_CHARS)) if why else ""


def _why(process: ObservedProcess, now_ms: int, paint_: Paint) -> Cell:
    """The WHY cell: stored text clipped; a silent row's in the `silent` style. A live
    row's pending cancel request is said here, first, not in the status cell: WHY is a text
    column the plan cuts to the width, and the status column is not (in the status cell,
    `● running · cancel requested` pushed AGE off an 80-column screen)."""
    why = fmt.why(process, now_ms)
    silent = why in fmt.SILENT_WHYS
    if process.cancel_requested:  # (only ever set on a live row: its why is ours, not stored)
        why = f"{fmt.CANCEL_ASKED} · {why}" if why else fmt.CANCEL_ASKED
    if silent:
        return text.cell(why, paint_("silent"))
    return _why_cell(why)


def _lease(process: ObservedProcess, now_ms: int, paint_: Paint) -> Cell:
    """The LEASE cell: the countdown, in the lapsed style once it lapsed."""
    left = fmt.lease_left(process, now_ms)
    return text.cell(left, paint_("lapsed")) if lease_lapsed_at(process, now_ms) else left


def cells(
    process: ObservedProcess,
    now_ms: int,
    marked: bool,
    paint_: Paint,
    frozen: Style | None = None,
) -> tuple[Cell, ...]:
    """A row's cells as of `now_ms`, every column (the table shows those that fit);
    `paint_` gives the states' styles; `frozen` (the view is paused) styles the cells that
    are relative to the clock, so the operator sees they are as of the last read."""
    started = process.first_started
    state = fmt.state(process)
    row = (
        MARK if marked else " ",
        stored(process.process_id),
        _badge(state, paint_(state)),
        stored(visible_clipped(process.label, text.LABEL_CHARS)),  # whole in the detail
        _why(process, now_ms, paint_),
        process.disposition_text(),
        stored(process.originator.scope_id()),
        stored(fmt.owner(process.lease_holder)),
        _lease(process, now_ms, paint_),
        stored(fmt.owner(started.owner)) if started else "-",
        fmt.abandon_column(process),
        fmt.age(process.created_at_ms, now_ms),
        fmt.ago(process.updated_at_ms, now_ms),
    )
    if frozen is None:
        return row
    return tuple(
        text.cell(str(value), frozen) if key in CLOCK_COLUMNS else value
        for key, value in zip(KEYS, row, strict=True)
    )


class ProcessTable(PlainRowsTable):
    """Processes keyed by id; `show` makes the table match a window of rows."""

    # The clock-relative cells of a paused view (styles/app.tcss gives them the theme's
    # disabled text colour): frozen at the last read, and seen to be.
    COMPONENT_CLASSES: ClassVar[set[str]] = (
        DataTable.COMPONENT_CLASSES | {"process-table--frozen"} | STATE_CLASSES
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("w", "toggle_wide", "Wide", show=False),
    ]

    class ProcessSelected(Message):
        """The operator moved the cursor onto a process (`process_id`: its row's key)."""

        def __init__(self, process_id: str) -> None:
            super().__init__()
            self.process_id = process_id

    class EdgeReached(Message):
        """The operator pushed past the first or last row: the window should slide."""

        def __init__(self, edge: Edge) -> None:
            super().__init__()
            self.edge = edge

    def __init__(self, *, id: str | None = None) -> None:
        self._paints: dict[str, Style] | None = None  # before DataTable's watchers run
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        # DataTable keys this cache on its update counter, which every change moves, so
        # its entries (each row's cells as `Text`) are never read twice; 1,000 of them were
        # ~30k objects for the garbage collector to walk (lashtui/tui/heap.py).
        self._row_renderable_cache = LRUCache(ROW_RENDERABLES)
        self.processes: dict[str, ObservedProcess] = {}  # the rows on screen, by `row_key`
        self.rendered: dict[str, tuple[Cell, ...]] = {}  # their cells as last written
        self.widths: dict[str, tuple[int, ...]] = {}  # and those cells' widths
        self.widest: tuple[int, ...] = column_plan.widest(LABELS, ())  # by column, as fitted
        self.announced: str | None = None  # the process id last announced as selected
        self.lost: str | None = None  # the selected process once it left: no row selected
        self.order: list[str] = []  # the row ids in the order they are shown
        self.sorted_by: tuple[str | None, bool] = (None, False)  # the header's arrow
        self.wide = False  # every column, scrolling sideways (`w`)
        self.shown_columns: tuple[str, ...] = KEYS  # the columns on screen, in order
        self.shown_set = frozenset(KEYS)
        self.drawn: dict[str, int] = {}  # the shown columns' widths, as the plan drew them
        # (cell index, width, cut in the middle) of the text columns
        self._cuts: tuple[tuple[int, int, bool], ...] = ()
        self._shown_as: tuple[int, Collection[str], bool] = (0, (), False)  # the last `show`

    def on_mount(self) -> None:
        if not self.columns:  # a resize before the mount has already laid them out
            for key, label in COLUMNS:
                self.add_column(label, key=key)

    # --- columns: what fits and how wide (widgets/column_plan.py), or everything (`w`)

    def action_toggle_wide(self) -> None:
        self.wide = not self.wide
        self.fit_columns()

    def on_resize(self) -> None:
        self.fit_columns()

    def watch_show_vertical_scrollbar(self) -> None:
        # The vertical scrollbar takes its 2 cells from the width the columns were fitted
        # to. The row that brings it (the list grew past the screen's height, as the demo's
        # does within a minute) widens no column, so nothing fitted them again: the table
        # was 2 cells wider than its room, scrolled sideways, and its last column was cut
        # at the screen's edge with no `…` (AGE `1m17s` read `1m17`). Once the scrollbar
        # is laid out, the columns are fitted to the width it leaves (or gives back).
        self.call_after_refresh(self.fit_columns)

    def _labels(self) -> tuple[str, ...]:
        """The headers as drawn: the sorted column's with its arrow."""
        column, descending = self.sorted_by
        arrow = "▼" if descending else "▲"
        return tuple(f"{label} {arrow}" if key == column else label for key, label in COLUMNS)

    def fit_columns(self) -> None:
        """Show the columns the width allows, as wide as the plan draws them (every one at
        its widest when wide), holding the mark and the id in place whenever the rest can
        scroll sideways."""
        self.widest = column_plan.widest(self._labels(), self.widths.values())
        pad = 2 * self.cell_padding
        widest = dict(zip(KEYS, self.widest, strict=True))
        available = self.scrollable_content_region.width
        if self.wide:
            drawn = widest
        else:
            sorted_by = self.sorted_by[0]
            drawn = column_plan.fitting(KEYS, widest, available, PLAN, pad=pad, also=sorted_by)
        fixed = FIXED if sum(drawn.values()) + pad * len(drawn) > available else 0
        if drawn != self.drawn:
            self.drawn = drawn
            cuts = PLAN.cuts(drawn)
            self._cuts = tuple((index, *cuts[key]) for index, key in enumerate(KEYS) if key in cuts)
            shown = tuple(drawn)
            if shown != self.shown_columns:
                self._rebuild(shown)
            else:
                self._refit()
            self._set_widths()
        if self.fixed_columns != fixed:
            self.fixed_columns = fixed

    def _set_widths(self) -> None:
        """The columns drawn as wide as the plan says: DataTable's own widths follow the
        cells it measured, which a row rewritten in place (`_rewrite`) never updated."""
        for key, width in self.drawn.items():
            column = self.columns.get(ColumnKey(key))
            if column is not None:
                column.width, column.auto_width = width, False
        self._require_update_dimensions = True
        self._update_count += 1
        self.refresh()

    def _fit(self, row: tuple[Cell, ...]) -> tuple[Cell, ...]:
        """A row with its text cells cut to their columns' drawn widths (an ellipsis where
        cut): the table draws a cell wider than its column cropped, with no sign of a cut."""
        if not self._cuts:
            return row
        fitted = list(row)
        for index, width, middle in self._cuts:
            value = fitted[index]
            if column_plan.width(value) <= width:
                continue
            if isinstance(value, str):
                fitted[index] = _cut(value, width, middle)
            else:  # a `Text` keeps its style (a silent row's why)
                fitted[index] = column_plan.clip(value, width, middle=middle)
        return tuple(fitted)

    def _row(self, process: ObservedProcess, pid: str) -> tuple[Cell, ...]:
        """A row's cells as last shown (`_shown_as`), cut to the columns' widths."""
        now_ms, marked, frozen = self._shown_as
        style = self.get_component_rich_style("process-table--frozen") if frozen else None
        paint_ = self._painted().__getitem__
        return self._fit(cells(process, now_ms, pid in marked, paint_, style))

    def _refit(self) -> None:
        """Every row again at the columns' new widths (a resize, `w`, a column that grew)."""
        rewritten = []
        for pid, process in self.processes.items():
            row, old = self._row(process, pid), self.rendered[pid]
            if not _same_row(row, old):
                self._rewrite(pid, row, old)
                self.rendered[pid] = row
                rewritten.append(pid)
        if rewritten:
            self._repaint(rewritten)

    def _rebuild(self, shown: tuple[str, ...]) -> None:
        """The table again with `shown` columns, rows in the same order, the cursor on the
        same process (a width change or `w`: rare, and one window of rows)."""
        selected = self.selected_id
        order = [str(row.key.value) for row in self.ordered_rows]
        self.clear(columns=True)
        self.shown_columns = shown
        self.shown_set = frozenset(shown)
        for key, label in COLUMNS:
            if key in shown:
                self.add_column(label, key=key, width=self.drawn[key])
        for pid in order:
            self.rendered[pid] = self._row(self.processes[pid], pid)
            self.add_row(*self._project(self.rendered[pid]), key=pid)
        self.order = order
        self.show_order(*self.sorted_by)  # the new header's arrow
        if selected is not None and selected in self.processes:
            self.move_cursor(row=self.get_row_index(selected))

    def _project(self, row: tuple[Cell, ...]) -> tuple[Cell, ...]:
        """The cells of a full row that the shown columns hold."""
        if self.shown_columns is KEYS:
            return row
        return tuple(
            value for key, value in zip(KEYS, row, strict=True) if key in self.shown_columns
        )

    def _painted(self) -> dict[str, Style]:
        """The states' styles, read once per style change: Textual's own cache of them is
        emptied far more often, and reading one walks the DOM (~0.1 ms)."""
        if self._paints is None:
            self._paints = {name: paint(self, name) for name in PAINTED}
        return self._paints

    def notify_style_update(self) -> None:
        super().notify_style_update()
        if self.processes:  # a theme change restyles the states, which the cells hold
            self.call_after_refresh(self._restyle)

    def _restyle(self) -> None:
        """Rewrite the rows when the states' styles changed (a focus or hover change
        updates the widget's styles too, and leaves them as they were)."""
        before, self._paints = self._paints, None
        if self._painted() != before:
            now_ms, marked, frozen = self._shown_as
            self.show(self._in_order(), now_ms, marked, frozen=frozen)

    @property
    def selected_id(self) -> str | None:
        """The selected row's key (`row_key`: its process id, unless that is not text)."""
        if not self.row_count or self.lost is not None:
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
        frozen: bool = False,
    ) -> None:
        """Make the table hold exactly `rows` (in id order), keeping the cursor on
        `select` or else on the process it was on (or its neighbour, if that one left).
        `marked` and `select` are row keys (`row_key`), as are the table's own.

        `retime=False` leaves the clock-relative cells of unchanged rows (the same
        `ObservedProcess` object, the same mark) as they are: a change from the feed then
        costs its own rows, not the window's (a young row's age moves every millisecond, so
        retiming would rewrite, and repaint, every such row on every change). `frozen`:
        `now_ms` is the time of the last read of a paused view, and its clock-relative
        cells say so by their style."""
        selected = select or self.selected_id
        index = self.cursor_row
        self._shown_as = (now_ms, marked, frozen)
        wanted = {row_key(p): p for p in rows}
        gone = [pid for pid in self.processes if pid not in wanted]
        for pid in gone:
            del self.processes[pid], self.rendered[pid], self.widths[pid]
            self.remove_row(pid)
        inserted = grew = shrank = False
        rewritten: list[str] = []
        style = self.get_component_rich_style("process-table--frozen") if frozen else None
        paint_ = self._painted().__getitem__
        for pid, process in wanted.items():
            old = self.rendered.get(pid)
            if (
                not retime
                and old is not None
                and self.processes[pid] is process
                and (old[0] == MARK) == (pid in marked)
            ):
                continue
            natural = cells(process, now_ms, pid in marked, paint_, style)
            row = self._fit(natural)
            if old is None:
                self.add_row(*self._project(row), key=pid)
                inserted = True
            elif not _same_row(row, old):
                self._rewrite(pid, row, old)
                rewritten.append(pid)
                if self.processes[pid] is process and self._outgrew(natural):
                    self.widths[pid] = column_plan.cell_widths(natural)
                    grew = True
            if old is None or self.processes[pid] is not process:
                # Measured when the row is new or its process changed, not when only the
                # clock moved its ages (a tick would measure every row, every second).
                before = self.widths.get(pid)
                widths = self.widths[pid] = column_plan.cell_widths(natural)
                grew = grew or column_plan.grew(widths, self.widest)
                shrank = shrank or column_plan.shrank(before, widths, self.widest)
            self.processes[pid] = process
            self.rendered[pid] = row
        if rewritten:
            self._repaint(rewritten)
        order = list(wanted)
        if inserted or order != self.order:
            self._order_rows(order)
        if grew or gone or shrank:
            self.fit_columns()  # a column widened, or one may have narrowed
        target = index
        if self.lost is not None and self.lost in self.processes:
            selected = select or self.lost  # it came back: selected again
        if selected is not None and selected in self.processes:
            target = self.get_row_index(selected)
            self._select_again(announce=False)  # (the screen refreshes its offers after)
        elif selected is not None:
            self.lost = selected  # it left: no row is selected (the cursor stays, hidden)
            self.show_cursor = False
        if self.row_count and (target != self.cursor_row or target >= self.row_count):
            # only a real move: each move announces a highlight, and screens react to it
            self.move_cursor(row=min(target, self.row_count - 1))

    def _outgrew(self, row: tuple[Cell, ...]) -> bool:
        """Whether a cell the clock alone changes is wider than its column's widest."""
        widest = self.widest
        return any(column_plan.width(row[i]) > widest[i] for i in CLOCK_INDEXES)

    def _order_rows(self, order: list[str]) -> None:
        """Rows in the window's order (`order`, the ids as `show` got them: by id, or by
        the view's sort column): the same private state `sort` writes, without comparing
        cells (a `Text` cell does not compare with a `str` one)."""
        self.order = order
        self._row_locations = TwoWayDict({RowKey(pid): index for index, pid in enumerate(order)})
        self._update_count += 1
        self.refresh()

    def show_order(self, column: str | None, descending: bool) -> None:
        """Mark the header of the column the rows are sorted by with an arrow (▲ ascending:
        the smallest value shown first; ▼ descending); `column` None for none."""
        previous, self.sorted_by = self.sorted_by[0], (column, descending)
        if column != previous:
            self.fit_columns()  # the sorted column is shown whatever its priority
        for key, label in COLUMNS:
            wanted = f"{label} {'▼' if descending else '▲'}" if key == column else label
            found = self.columns.get(ColumnKey(key))
            if found is None or found.label.plain == wanted:
                continue
            found.label = Text(wanted)  # (as wide as `fit_columns` drew it, arrow included)
            self._require_update_dimensions = True
            self._update_count += 1
            self.refresh()

    def _rewrite(self, pid: str, row: tuple[Cell, ...], old: tuple[Cell, ...]) -> None:
        """`update_cell` for the cells that changed, without its repaint (see `_repaint`):
        the same private state `update_cell` writes."""
        cells_ = self._data[RowKey(pid)]
        shown = self.shown_set
        for key, new_value, old_value in zip(KEYS, row, old, strict=True):
            if new_value is old_value:
                continue  # the common case: a shared badge, a cached stored string
            if new_value == old_value and (
                new_value.__class__ is not Text or new_value.style == old_value.style  # type: ignore[union-attr]
            ):
                continue  # `_same`, inline: this runs for every cell of every row, each tick
            if key in shown:
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
        self.show(self._in_order(), now_ms, marked)

    def _in_order(self) -> list[ObservedProcess]:
        """The rows on screen in their shown order (the window's: by id or by a column)."""
        return [self.processes[key] for key in self.order if key in self.processes]

    def _select_again(self, *, announce: bool = True) -> bool:
        """Show the cursor again after the selected process left; whether it was hidden."""
        if self.lost is None:
            return False
        self.lost = None
        self.show_cursor = True
        self.announced = None  # (the row under the cursor is announced at its next move)
        if announce and self.row_count:
            self.post_message(self.ProcessSelected(str(self.selected_id)))
        return True

    async def _on_click(self, event: events.Click) -> None:
        self._select_again()  # (DataTable moves no hidden cursor)
        await super()._on_click(event)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Enter is the view's key, named in its footer: see KeyedTable.check_action.
        if action == "select_cursor":
            return False
        return super().check_action(action, parameters)

    def _at_edge(self, edge: Edge) -> bool:
        if edge == "top":
            return self.cursor_row <= 0
        return self.cursor_row >= self.row_count - 1

    def action_cursor_down(self) -> None:
        if self._select_again():
            return  # on the row that took the lost one's place: the one after it
        if self._at_edge("bottom"):
            self.post_message(self.EdgeReached("bottom"))
        super().action_cursor_down()

    def action_cursor_up(self) -> None:
        self._select_again()
        if self._at_edge("top"):
            self.post_message(self.EdgeReached("top"))
        super().action_cursor_up()

    def action_page_down(self) -> None:
        self._select_again()
        super().action_page_down()
        if self._at_edge("bottom"):
            self.post_message(self.EdgeReached("bottom"))

    def action_page_up(self) -> None:
        self._select_again()
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
