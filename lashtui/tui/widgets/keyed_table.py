"""`KeyedTable`: a DataTable of rows kept by key, for the views whose rows are not processes
in id order (lease holders grouped by owner, abandon requests). A paused view shows its
clock-relative columns (countdowns, ages, verdicts that turn on a lapse) in the theme's
disabled colour, as the Processes view's table does (`show(..., frozen=True)`). Cells can
be painted in a state's style (widgets/state_style.py): a process in its state's, a lapsed
lease, a silent row.

When the selected row leaves the rows without the operator choosing another (its lease was
released, its abandon request honoured, it was pruned), no row is selected (`lost`, the
cursor hidden), as in the Processes view's table: the cursor used to stay at its index, on
the row that took its place, and `c`/`a`/Enter then acted on a process the operator never
chose. A row that only moved (a lease renewed into another owner's group) stays selected.
The next cursor key or click selects a row again; so does the lost row coming back.

A table given a `plan` (every view's but the Detail's) shows the columns that fit its width,
each as wide as the plan draws it, its text columns cut with `…` (an id in its middle;
widgets/column_plan.py), as the process table does; without one, every column is as wide as
its widest cell, and a cell past the screen's edge was cropped with no sign of the cut."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import events
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey

from lashtui.tui import text
from lashtui.tui.widgets import column_plan
from lashtui.tui.widgets.state_style import PAINTED, STATE_CLASSES, paint


@dataclass(frozen=True)
class Row:
    """One row of a `KeyedTable`: its key, its cells, and a style for all of them (a group
    header is bold; no colours here, they belong to the theme). A `str` cell is the view's
    own words (newlines kept for a two-line row); stored text comes as `text.data`.
    `states` paints cells by index in a state's or mark's theme style (`(3, "lapsed")`)."""

    key: str
    cells: tuple[str | Text, ...]
    style: str = ""
    states: tuple[tuple[int, str], ...] = ()


class KeyedTable(DataTable[Text]):
    """Rows by key, changed in place: `show` rewrites only the cells that differ, adds and
    removes rows by key, re-orders only when the order changed, and keeps the cursor on the
    key it was on. Cells are `Text`, so an id or a reason with `[` is never read as markup.
    `clock_columns` are the columns whose cells move with the clock alone."""

    # The clock-relative cells of a paused view (styles/app.tcss: the disabled text colour),
    # and the states' styles.
    COMPONENT_CLASSES: ClassVar[set[str]] = (
        DataTable.COMPONENT_CLASSES | {"keyed-table--frozen"} | STATE_CLASSES
    )

    def _cell(self, row: Row, index: int) -> Text:
        """A new `Text` for each cell (`_arrange` tells rows apart by it), never markup;
        cut to its column's width when the table has a plan and the column is text."""
        cell = row.cells[index]
        shown = Text(style=row.style, end="")
        shown.append_text(cell if isinstance(cell, Text) else text.plain(cell))
        for at, state in row.states:
            if at == index:
                shown.stylize(paint(self, state))
        key = self.column_spec[index][0]
        frozen = self._frozen(key)
        if frozen is not None:
            shown.stylize(frozen)
        cut = self._cuts.get(key)
        if cut is not None:
            room, middle = cut
            if self.plan is not None and self.plan.flex[key].flow:  # (a sentence: the verdict)
                return column_plan.flow(shown, room, self.row_height)
            clipped = column_plan.clip(shown, room, middle=middle)  # each line of a two-line cell
            assert isinstance(clipped, Text)
            return clipped
        return shown

    def __init__(
        self,
        columns: Sequence[tuple[str, str]],
        *,
        row_height: int = 1,
        id: str | None = None,
        clock_columns: Collection[str] = (),
        plan: column_plan.Plan | None = None,
    ) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.column_spec = tuple(columns)
        # With a `plan`, the columns that fit the width and how wide each is drawn
        # (widgets/column_plan.py: a two-line cell as wide as its wider line, each line cut
        # to the column); without one, every column, as wide as its widest cell.
        self.plan = plan
        self.shown_columns = tuple(key for key, _ in self.column_spec)
        self.widths: dict[str, tuple[int, ...]] = {}  # each row's cells' widths (a plan's)
        self.widest: tuple[int, ...] = ()
        # Each row's sentences (`Flex.flow` columns): the width each needs to flow whole.
        self.needs: dict[str, dict[str, int]] = {}
        self._most_needed: dict[str, int] = {}  # the most each needs, as last measured
        self.drawn: dict[str, int] = {}  # the shown columns' widths, as the plan drew them
        # The text columns the plan may cut: each one's width, and whether in the middle
        self._cuts: dict[str, tuple[int, bool]] = {}
        self.row_height = row_height
        self.clock_columns = frozenset(clock_columns)
        self.shown: dict[str, Row] = {}
        self.frozen = False
        self.lost: str | None = None  # the selected row's key once it left: no row selected
        self._paints: tuple[Style, ...] = ()  # the states' styles the cells were painted in

    def on_mount(self) -> None:
        if self.columns:  # a resize before the mount has already laid them out (a plan)
            return
        for key, label in self.column_spec:
            self.add_column(label, key=key)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Enter is the view's own key (`Binding("enter", "open", ...)`, named in its footer).
        # DataTable's Enter (`select_cursor`, hidden from footers) comes first in the chain
        # of bindings and hid the view's: no footer showed Enter. Refused here, the key goes
        # on to the view's binding, which opens what the row opens (nothing when no row is
        # selected); a click on the selected row still selects it (`RowSelected`).
        if action == "select_cursor":
            return False
        return super().check_action(action, parameters)

    @property
    def selected_key(self) -> str | None:
        if not self.row_count or self.lost is not None:
            return None
        return str(self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value)

    def show(self, rows: Sequence[Row], *, frozen: bool = False, anew: bool = False) -> bool:
        """Make the table hold exactly `rows`, in order; True if anything changed. `frozen`:
        the rows are as of a paused view's last read, and the clock columns look it. `anew`:
        the rows answer a new question the operator asked (a filter, another source): a
        selected row they leave out is not kept as lost, the cursor stays where it is."""
        refrozen = frozen != self.frozen
        self.frozen = frozen
        if anew and self.lost is not None:
            self.lost = None
            self.show_cursor = True
        selected = self.selected_key
        wanted = {row.key for row in rows}
        if self.lost is not None and self.lost in wanted:
            selected = self.lost  # it came back: selected again
        gone = [key for key in self.shown if key not in wanted]
        for key in gone:
            del self.shown[key]
            self.widths.pop(key, None)
            self.needs.pop(key, None)
            self.remove_row(key)
        changed = bool(gone)
        grew = shrank = False
        for row in rows:
            old = self.shown.get(row.key)
            if old is None:
                self.add_row(*self._cells(row), key=row.key, height=self.row_height)
            elif old != row or refrozen:
                self._update(row, old, refrozen)
            if self.plan is not None and old != row:
                before = self.widths.get(row.key)
                widths = self.widths[row.key] = column_plan.cell_widths(row.cells)
                grew = grew or column_plan.grew(widths, self.widest)
                shrank = shrank or column_plan.shrank(before, widths, self.widest)
                grew = self._measure_needs(row) or grew
            changed = changed or old != row
            self.shown[row.key] = row
        if self.plan is not None and (grew or gone or shrank):
            self.fit_columns()  # a column widened, or one may have narrowed
        changed = self._arrange([row.key for row in rows]) or changed
        if selected is not None and selected in self.shown:
            if self.lost is not None:
                self.lost = None
                self.show_cursor = True
            if self.cursor_row != self.get_row_index(selected):
                self.move_cursor(row=self.get_row_index(selected))
        elif selected is not None and not anew:
            self.lost = selected  # it left: no row is selected (the cursor stays, hidden)
            self.show_cursor = False
        return changed

    def select(self, key: str) -> None:
        """Select the row of `key` (the process the operator chose, found in this table)."""
        self.lost = None
        self.show_cursor = True
        self.move_cursor(row=self.get_row_index(key))

    def lose(self, key: str) -> None:
        """Select no row here: the operator's choice, `key`, left another table of the view
        and focus moved here, onto a row the operator never chose."""
        self.lost = key
        self.show_cursor = False

    def _select_again(self) -> bool:
        """Show the cursor again after the selected row left; whether it was hidden. The
        row now under it is announced, so the screen offers the keys that apply to it."""
        if self.lost is None:
            return False
        self.lost = None
        self.show_cursor = True
        if self.row_count:
            row_key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
            self.post_message(self.RowHighlighted(self, self.cursor_row, row_key))
        return True

    async def _on_click(self, event: events.Click) -> None:
        # Before DataTable's own handler, which moves no hidden cursor. (Textual runs the
        # handler of every class in the MRO: calling super's too opened the detail twice.)
        self._select_again()

    def action_cursor_down(self) -> None:
        if not self._select_again():  # (else on the row that took its place: selected)
            super().action_cursor_down()

    def action_cursor_up(self) -> None:
        self._select_again()
        super().action_cursor_up()

    def action_page_down(self) -> None:
        self._select_again()
        super().action_page_down()

    def action_page_up(self) -> None:
        self._select_again()
        super().action_page_up()

    def action_scroll_top(self) -> None:
        self._select_again()
        super().action_scroll_top()

    def action_scroll_bottom(self) -> None:
        self._select_again()
        super().action_scroll_bottom()

    def _cells(self, row: Row) -> list[Text]:
        """A row's cells in the columns shown."""
        return [
            self._cell(row, index)
            for index, (key, _) in enumerate(self.column_spec)
            if key in self.shown_columns
        ]

    # --- columns: with a plan, those that fit and how wide (widgets/column_plan.py)

    def on_resize(self) -> None:
        if self.plan is not None:
            self.fit_columns()

    def watch_show_vertical_scrollbar(self) -> None:
        # The scrollbar's 2 cells come out of the width the columns were fitted to, and the
        # row that brings it need not widen a column: fitted again once it is laid out, or
        # the table scrolled sideways and its last column was cut at the edge with no `…`
        # (as the process table's was: widgets/process_table.py).
        if self.plan is not None:
            self.call_after_refresh(self.fit_columns)

    def fit_columns(self) -> None:
        """Show the columns the width allows, each as wide as the plan draws it."""
        assert self.plan is not None
        labels = [label for _, label in self.column_spec]
        keys = [key for key, _ in self.column_spec]
        self.widest = column_plan.widest(labels, self.widths.values())
        widest = dict(zip(keys, self.widest, strict=True))
        available = self.scrollable_content_region.width
        pad = 2 * self.cell_padding
        needs: dict[str, int] = {}  # (again from the rows: one that needed most may be gone)
        for row_needs in self.needs.values():
            for key, need in row_needs.items():
                needs[key] = max(needs.get(key, 0), need)
        self._most_needed = needs
        drawn = column_plan.fitting(keys, widest, available, self.plan, pad=pad, needs=needs)
        if drawn == self.drawn:
            return
        self.drawn = drawn
        self._cuts = self.plan.cuts(drawn)
        shown = tuple(drawn)
        if shown != self.shown_columns:
            self._rebuild(shown)
            return
        for key, width in drawn.items():
            column = self.columns[ColumnKey(key)]
            column.width, column.auto_width = width, False
        for row in self.shown.values():  # the text cells cut anew
            for index, (key, _) in enumerate(self.column_spec):
                if key in self._cuts:
                    self.update_cell(row.key, key, self._cell(row, index))
        self._require_update_dimensions = True
        self.refresh()

    def _rebuild(self, shown: tuple[str, ...]) -> None:
        """The table again with `shown` columns, its rows in the same order, the same row
        selected (a width change: rare, and at most a read's rows)."""
        selected = self.selected_key
        order = [str(row.key.value) for row in self.ordered_rows]
        self.clear(columns=True)
        self.shown_columns = shown
        for key, label in self.column_spec:
            if key in shown:
                self.add_column(label, key=key, width=self.drawn[key])
        for key in order:
            self.add_row(*self._cells(self.shown[key]), key=key, height=self.row_height)
        if selected is not None:
            self.move_cursor(row=self.get_row_index(selected))

    def _measure_needs(self, row: Row) -> bool:
        """What the row's sentences need to flow whole (`column_plan.flow_need`); whether
        one needs more than any before it."""
        assert self.plan is not None
        flex = self.plan.flex
        needs = {
            key: column_plan.flow_need(row.cells[index], self.row_height)
            for index, (key, _) in enumerate(self.column_spec)
            if key in flex and flex[key].flow
        }
        self.needs[row.key] = needs
        grew = False
        for key, need in needs.items():
            if need > self._most_needed.get(key, 0):
                self._most_needed[key] = need
                grew = True
        return grew

    def _frozen(self, column: str) -> Style | None:
        if self.frozen and column in self.clock_columns:
            return self.get_component_rich_style("keyed-table--frozen", partial=True)
        return None

    def _update(self, row: Row, old: Row, refrozen: bool = False) -> None:
        restyled = row.style != old.style or row.states != old.states
        for index, (column, _) in enumerate(self.column_spec):
            if column not in self.shown_columns:
                continue
            retint = refrozen and column in self.clock_columns
            if row.cells[index] != old.cells[index] or restyled or retint:
                # update_width: a countdown grows from `59s left` to `1m00s left`
                cell = self._cell(row, index)
                self.update_cell(row.key, column, cell, update_width=True)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        if any(row.states for row in self.shown.values()):
            self.call_after_refresh(self._restyle)

    def _restyle(self) -> None:
        """Paint the painted cells again when the states' styles changed (a theme change;
        a focus change updates the widget's styles too, and leaves those as they were)."""
        paints = tuple(paint(self, name) for name in PAINTED)
        if paints == self._paints:
            return
        self._paints = paints
        for row in self.shown.values():
            for index, _ in row.states:
                column = self.column_spec[index][0]
                if row.key in self.rows and column in self.shown_columns:
                    self.update_cell(row.key, column, self._cell(row, index))

    def _arrange(self, order: list[str]) -> bool:
        if [str(row.key.value) for row in self.ordered_rows] == order:
            return False
        # DataTable sorts by cell values, not by row key, so rows are told apart by their
        # first cell: each is a distinct `Text` object this table made, so its id is unique.
        first = self.shown_columns[0]
        position = {id(self.get_cell(key, first)): index for index, key in enumerate(order)}
        self.sort(first, key=lambda cell: position[id(cell)])
        return True
