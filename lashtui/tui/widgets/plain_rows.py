"""`PlainRowsTable`: a DataTable that draws its own lines for the one layout the process
table has (one-line rows, a one-line header, a row cursor, fixed columns or none), as
DataTable draws them, segment for segment (tests/tui/test_process_table.py holds the two
side by side).

DataTable keys its render caches on a counter that every `update_cell`, `add_row` and
`sort` moves, so one changed cell re-renders every visible cell (~50 ms for a 50-row
screen, measured by benchmarks/d1_freshness.py; most of the loop's time at 100 changes/s).
Lines are therefore drawn and cached here by what they show (their cells, each cell's own
style, position, widths, cursor), so a change re-renders only the lines that changed. That
overrides private methods of textual's DataTable, which is why textual is pinned to one
minor series. A cell only rich can lay out (markup DataTable would read, a tab, spans) is
left to DataTable.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Self

from rich.cells import cell_len, set_cell_size
from rich.errors import MarkupError
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual._segment_tools import line_crop
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowKey

Cell = str | Text  # a str cell is one DataTable shows as it is (see `is_plain`)


@lru_cache(maxsize=4096)
def is_plain(value: str) -> bool:
    """Whether DataTable would show `value` as is: it reads a str cell as markup (and
    `:emoji:` codes), and a character `isprintable` refuses needs rich's layout."""
    if not value.isprintable():
        return False
    if "[" not in value and ":" not in value:
        return True
    try:
        return Text.from_markup(value, end="").plain == value
    except MarkupError:  # `[/]`: not markup DataTable could read at all
        return False


Line = tuple[str, Style | None]  # a cell the fast path draws: its text, and its own style


def _line(value: object) -> Line | None:
    """What the fast path draws for a cell, or None when only rich can lay it out."""
    if type(value) is str:
        return (value, None) if is_plain(value) else None
    if isinstance(value, Text) and not value.spans:
        plain = value.plain
        if not plain.isprintable():
            return None
        style = value.style
        if not style:
            return plain, None
        return (plain, style) if isinstance(style, Style) else None
    return None


def _styles(shown: Sequence[object]) -> tuple[object, ...]:
    """The own styles of a line's `Text` cells (`Text` equality ignores them)."""
    return tuple([cell.style for cell in shown if isinstance(cell, Text)])


@dataclass(frozen=True)
class _Where:
    """The row a line draws, and whether the cursor and the mouse are on it."""

    row_index: int
    cursor: bool
    hover: bool


@dataclass
class _Frame:
    """What the lines of one frame share (`PlainRowsTable.render_line`)."""

    width: int
    scroll_x: int
    scroll_y: int
    base_style: Style
    widths: tuple[int, ...]
    columns: tuple[ColumnKey, ...]
    cursor_row: int | None
    hover_row: int | None
    fixed: int  # columns held in place while the table scrolls sideways
    plain: bool  # the layout `render_line` draws itself
    signature: tuple[object, ...]  # what, besides a row's cells, every line depends on
    row_styles: dict[int, Style] = field(default_factory=dict)  # by row parity


class PlainRowsTable(DataTable[Cell]):
    """A DataTable whose plain one-line rows are drawn by `render_line` below."""

    def __init__(self, **kwargs: Any) -> None:
        # Before DataTable's __init__, whose reactive watchers already clear caches.
        self._lines: dict[int, tuple[tuple[object, ...], Strip]] = {}  # by table line
        self._frame: _Frame | None = None
        self._resizing_quietly = False  # inside `_update_dimensions`, see there
        super().__init__(**kwargs)

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        """DataTable's, except that when the table's size is its container's to decide
        (a height and a width that are not `auto`: the views' tables fill what is left),
        the virtual size it sets (rows added, a column widened) moves the scrollbars and
        repaints the table instead of laying out the whole screen again. Textual lays out
        every widget on the screen when any widget's virtual size changes, as a widget
        sized by its content would need: with a worker starting 100 processes a second
        each new row did that, ~10 ms of the event loop each time, ~20 times a second."""
        styles = self.styles
        quiet = not (styles.height is not None and styles.height.is_auto) and not (
            styles.width is not None and styles.width.is_auto
        )
        self._resizing_quietly = quiet
        try:
            super()._update_dimensions(new_rows)
        finally:
            self._resizing_quietly = False

    def refresh(
        self, *regions: Region, repaint: bool = True, layout: bool = False,
        recompose: bool = False,
    ) -> Self:
        if layout and self._resizing_quietly:
            # What a layout would do for this table alone: show or hide its scrollbars (a
            # change there asks for a layout of the screen, as it must: not quietly), size
            # their thumbs, keep the scroll offset in range.
            self._resizing_quietly = False
            self._scroll_update(self.virtual_size)
            # DataTable's render caches are keyed on this count, not on the column widths
            # `_update_dimensions` may just have changed: counted up, every line is drawn
            # again at the new widths (without it, one snapshot run drew the header at its
            # old widths).
            self._update_count += 1
            layout = False
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)

    def render_lines(self, crop: Region) -> list[Strip]:
        self._frame = None  # styles and geometry are read again once per frame
        return super().render_lines(crop)

    def _frame_state(self) -> _Frame:
        """What every line of this frame shares, read once: DataTable reads the widget's
        style (a walk up the DOM) and every column's width for each line."""
        if self._frame is None:
            width = self.size.width
            base_style = self.rich_style
            self._frame = _Frame(
                width=width,
                scroll_x=self.scroll_offset.x,
                scroll_y=self.scroll_offset.y,
                base_style=base_style,
                widths=tuple(column.get_render_width(self) for column in self.ordered_columns),
                columns=tuple(column.key for column in self.ordered_columns),
                cursor_row=self.cursor_coordinate.row if self.cursor_type == "row" else None,
                hover_row=self.hover_coordinate.row if self.cursor_type == "row" else None,
                fixed=self.fixed_columns,
                plain=(
                    self.cursor_type == "row"
                    and not self.fixed_rows
                    and not self._should_render_row_labels
                    and self.show_header
                    and self.header_height == 1
                ),
                signature=(
                    width,
                    base_style,
                    self.cursor_type,
                    self.show_cursor,
                    self._show_hover_cursor,
                    self._pseudo_class_state,
                    self.cell_padding,
                    self.fixed_columns,
                ),
            )
        return self._frame

    def render_line(self, y: int) -> Strip:
        """One line of the table, as DataTable draws it (tests/tui/test_process_table.py
        holds the two side by side) for the plain layout this table has (one-line rows, a
        one-line header, no fixed rows, a row cursor), without going through
        rich's padding and styling per cell. A line is kept per row position with what it
        showed, so a repaint re-renders only the lines whose cells changed."""
        frame = self._frame_state()
        if not frame.plain:
            return super().render_line(y)
        at = y + frame.scroll_y if y >= 1 else y  # the header stays put; rows scroll under it
        try:
            row_key, _ = self._get_offsets(at)
        except LookupError:
            return Strip.blank(frame.width, frame.base_style)
        if row_key is self._header_row_key:
            row_index = -1
            shown: tuple[object, ...] = tuple(c.label.plain for c in self.ordered_columns)
        else:
            found = self._row_locations.get(row_key)
            row_index = -1 if found is None else found
            data = self._data[row_key]
            shown = tuple(data.get(column) for column in frame.columns)
        key = (
            row_key,
            row_index,
            shown,
            _styles(shown),
            frame.widths,
            frame.scroll_x,
            row_index == frame.cursor_row,
            row_index == frame.hover_row,
            frame.signature,
        )
        cached = self._lines.get(at)
        if cached is not None and cached[0] == key:
            return cached[1]
        texts = [line for line in map(_line, shown) if line is not None]
        if row_index == -1 or len(texts) != len(shown):
            strip = super().render_line(y)  # the header, or a cell only rich can lay out
        else:
            strip = self._row_strip(frame, row_index, texts)
        self._lines[at] = (key, strip)
        return strip

    def _row_strip(self, frame: _Frame, row_index: int, shown: list[Line]) -> Strip:
        """DataTable's `_render_line_in_row` and `_render_line` for one-line cells of plain
        text: each cell is its padded text in the row's style plus the cursor's (and its
        own style, under the cursor's colour), with the row and column in its meta (mouse
        clicks and hover read them back). Fixed columns are drawn twice, as DataTable
        does: held at the left in the fixed style, and in the row under the crop."""
        cursor = row_index == frame.cursor_row
        hover = row_index == frame.hover_row
        row_style = frame.row_styles.get(row_index % 2)  # zebra stripes, or the base style
        if row_style is None:
            row_style = frame.row_styles[row_index % 2] = self._get_row_style(
                row_index, frame.base_style
            )
        where = _Where(row_index, cursor, hover)
        scrolling, held_ = self._cursor_styles(where, False), self._cursor_styles(where, True)
        segments: list[Segment] = []
        for column_index, (value, width) in enumerate(zip(shown, frame.widths, strict=True)):
            styles = held_ if column_index < frame.fixed else scrolling
            segments += self._cell_segments(
                row_style, row_index, column_index, value, width, styles
            )
        extend, _ = self._get_styles_to_render_cell(
            False, False, False, hover, cursor, self.show_cursor, self._show_hover_cursor,
            False, False,
        )
        extend = row_style + extend
        extend += Style.from_meta({"row": row_index, "column": 0, "out_of_bounds": True})
        scrolled = sum(frame.widths[frame.fixed :])
        segments.append(Segment(" " * max(0, frame.width - scrolled), extend))
        held = sum(frame.widths[: frame.fixed])
        start, end = frame.scroll_x + held, frame.scroll_x + frame.width
        line = self._held(frame, where, shown) + line_crop(segments, start, end, frame.width)
        return Strip(line).adjust_cell_length(frame.width, frame.base_style).simplify()

    def _held(self, frame: _Frame, where: _Where, shown: list[Line]) -> list[Segment]:
        """The fixed columns, drawn at the left in the fixed style whatever the scroll."""
        if not frame.fixed:
            return []
        style = self.get_component_styles("datatable--fixed").rich_style
        style += Style.from_meta({"fixed": True})
        styles = self._cursor_styles(where, True)
        segments: list[Segment] = []
        for column_index in range(frame.fixed):
            value, width = shown[column_index], frame.widths[column_index]
            segments += self._cell_segments(
                style, where.row_index, column_index, value, width, styles
            )
        return segments

    def _cursor_styles(self, where: _Where, fixed: bool) -> tuple[Style, Style]:
        """The cursor's and the hover's style for a cell, and the colour drawn over it."""
        return self._get_styles_to_render_cell(
            False,
            False,
            fixed,
            where.hover,
            where.cursor,
            self.show_cursor,
            self._show_hover_cursor,
            self.cursor_foreground_priority == "css",
            self.cursor_background_priority == "css",
        )

    def _cell_segments(
        self,
        base: Style,
        row_index: int,
        column_index: int,
        value: Line,
        width: int,
        styles: tuple[Style, Style],
    ) -> list[Segment]:
        """One cell as DataTable's `_render_cell` draws it: padding and text in `base` plus
        the cursor's style, the text's own style between them, the cursor's colour last."""
        component, post = styles
        style = base + Style.from_meta({"row": row_index, "column": column_index})
        style = style + component
        outer = style + post if post else style
        pad = " " * self.cell_padding
        inner = max(width - 2 * self.cell_padding, 0)
        body, own = value
        if own is None:
            return [Segment(pad + set_cell_size(body, inner) + pad, outer)]
        fill = max(inner - cell_len(body), 0)
        body = set_cell_size(body, inner - fill)
        return [
            Segment(pad, outer),
            Segment(body, style + own + post if post else style + own),
            Segment(" " * fill + pad, outer),
        ]

    def _clear_caches(self) -> None:
        super()._clear_caches()
        self._lines.clear()

    def notify_style_update(self) -> None:
        self._lines.clear()  # a theme or CSS change restyles every line
        super().notify_style_update()
