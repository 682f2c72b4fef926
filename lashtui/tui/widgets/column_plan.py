"""Which of the process table's columns a terminal of a given width shows.

Columns have a priority order: the first few (the mark, the id, the status, the label and
why a process ended) are always shown; the others follow, most useful first, each shown
only while it and every column before it in that order fit beside them. A strict prefix
rather than "whatever still fits": a narrow column of low priority never shows while a
more useful one is hidden, so the operator can tell what a width leaves out. The wide
toggle (`w`) shows every column and lets the table scroll sideways instead.

Pure: widths in, column keys out, so the rule is tested without an app.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Mapping, Sequence

from rich.cells import cell_len
from rich.text import Text

# Most useful first: what it is and why it ended, then who holds it and how old it is.
PRIORITY = (
    "mark",
    "id",
    "status",
    "label",
    "why",
    "lease",
    "age",
    "abandon",
    "disposition",
    "originator",
    "started",
    "updated",
)
ALWAYS = 5  # the first five of PRIORITY stay at any width


def fitting(
    order: Sequence[str], widths: Mapping[str, int], available: int, also: str | None = None
) -> tuple[str, ...]:
    """The columns (keys, in their on-screen `order`) a table `available` cells wide shows,
    given each column's drawn width (content and padding); `also` is shown whatever its
    priority (the column the rows are sorted by: its arrow says what the order is)."""
    shown = {*PRIORITY[:ALWAYS], *([also] if also else [])}
    used = sum(widths.get(key, 0) for key in shown)
    for key in PRIORITY[ALWAYS:]:
        used += widths.get(key, 0)
        if used > available:
            break
        shown.add(key)
    return tuple(key for key in order if key in shown)


def cell_widths(row: Sequence[str | Text]) -> tuple[int, ...]:
    """Each cell's width in terminal cells: kept per row, so a tick measures only the rows
    it rewrote."""
    return tuple(map(_width, row))


def _width(value: str | Text) -> int:
    shown = value.plain if isinstance(value, Text) else value
    return len(shown) if shown.isascii() else cell_len(shown)  # ASCII: one cell a character


def widest(labels: Sequence[str], rows: Iterable[tuple[int, ...]]) -> tuple[int, ...]:
    """Each column's widest cell over `rows` (their `cell_widths`) or its label."""
    return tuple(map(max, zip(tuple(map(cell_len, labels)), *rows, strict=True)))


def grew(widths: tuple[int, ...], widest_: tuple[int, ...]) -> bool:
    """Whether a row has a cell wider than its column's widest so far."""
    return any(map(operator.gt, widths, widest_))
