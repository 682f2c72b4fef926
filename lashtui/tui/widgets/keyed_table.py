"""`KeyedTable`: a DataTable of rows kept by key, for the views whose rows are not processes
in id order (lease holders grouped by owner, abandon requests). A paused view shows its
clock-relative columns (countdowns, ages, verdicts that turn on a lapse) in the theme's
disabled colour, as the Processes view's table does (`show(..., frozen=True)`)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.widgets import DataTable

from lashtui.tui import text


@dataclass(frozen=True)
class Row:
    """One row of a `KeyedTable`: its key, its cells, and a style for all of them (a group
    header is bold; no colours here, they belong to the theme). A `str` cell is the view's
    own words (newlines kept for a two-line row); stored text comes as `text.data`."""

    key: str
    cells: tuple[str | Text, ...]
    style: str = ""


class KeyedTable(DataTable[Text]):
    """Rows by key, changed in place: `show` rewrites only the cells that differ, adds and
    removes rows by key, re-orders only when the order changed, and keeps the cursor on the
    key it was on. Cells are `Text`, so an id or a reason with `[` is never read as markup.
    `clock_columns` are the columns whose cells move with the clock alone."""

    # The clock-relative cells of a paused view (styles/app.tcss: the disabled text colour).
    COMPONENT_CLASSES: ClassVar[set[str]] = DataTable.COMPONENT_CLASSES | {"keyed-table--frozen"}

    @staticmethod
    def _cell(cell: str | Text, style: str, frozen: Style | None = None) -> Text:
        """A new `Text` for each cell (`_arrange` tells rows apart by it), never markup."""
        shown = Text(style=style, end="")
        shown.append_text(cell if isinstance(cell, Text) else text.plain(cell))
        if frozen is not None:
            shown.stylize(frozen)
        return shown

    def __init__(
        self,
        columns: Sequence[tuple[str, str]],
        *,
        row_height: int = 1,
        id: str | None = None,
        clock_columns: Collection[str] = (),
    ) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.column_spec = tuple(columns)
        self.row_height = row_height
        self.clock_columns = frozenset(clock_columns)
        self.shown: dict[str, Row] = {}
        self.frozen = False

    def on_mount(self) -> None:
        for key, label in self.column_spec:
            self.add_column(label, key=key)

    @property
    def selected_key(self) -> str | None:
        if not self.row_count:
            return None
        return str(self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value)

    def show(self, rows: Sequence[Row], *, frozen: bool = False) -> bool:
        """Make the table hold exactly `rows`, in order; True if anything changed. `frozen`:
        the rows are as of a paused view's last read, and the clock columns look it."""
        refrozen = frozen != self.frozen
        self.frozen = frozen
        selected = self.selected_key
        wanted = {row.key for row in rows}
        gone = [key for key in self.shown if key not in wanted]
        for key in gone:
            del self.shown[key]
            self.remove_row(key)
        changed = bool(gone)
        for row in rows:
            old = self.shown.get(row.key)
            if old is None:
                cells = [
                    self._cell(cell, row.style, self._frozen(column))
                    for (column, _), cell in zip(self.column_spec, row.cells, strict=True)
                ]
                self.add_row(*cells, key=row.key, height=self.row_height)
            elif old != row or refrozen:
                self._update(row, old, refrozen)
            changed = changed or old != row
            self.shown[row.key] = row
        changed = self._arrange([row.key for row in rows]) or changed
        if selected in self.shown and self.selected_key != selected:
            self.move_cursor(row=self.get_row_index(selected))
        return changed

    def _frozen(self, column: str) -> Style | None:
        if self.frozen and column in self.clock_columns:
            return self.get_component_rich_style("keyed-table--frozen", partial=True)
        return None

    def _update(self, row: Row, old: Row, refrozen: bool = False) -> None:
        for (column, _), new, was in zip(self.column_spec, row.cells, old.cells, strict=True):
            retint = refrozen and column in self.clock_columns
            if new != was or row.style != old.style or retint:
                # update_width: a countdown grows from `59s left` to `1m00s left`
                cell = self._cell(new, row.style, self._frozen(column))
                self.update_cell(row.key, column, cell, update_width=True)

    def _arrange(self, order: list[str]) -> bool:
        if [str(row.key.value) for row in self.ordered_rows] == order:
            return False
        # DataTable sorts by cell values, not by row key, so rows are told apart by their
        # first cell: each is a distinct `Text` object this table made, so its id is unique.
        first = self.column_spec[0][0]
        position = {id(self.get_cell(key, first)): index for index, key in enumerate(order)}
        self.sort(first, key=lambda cell: position[id(cell)])
        return True
