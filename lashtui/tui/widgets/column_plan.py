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


def fitting(order: Sequence[str], widths: Mapping[str, int], available: int) -> tuple[str, ...]:
    """The columns (keys, in their on-screen `order`) a table `available` cells wide shows,
    given each column's drawn width (content and padding)."""
    shown = set(PRIORITY[:ALWAYS])
    used = sum(widths.get(key, 0) for key in shown)
    for key in PRIORITY[ALWAYS:]:
        used += widths.get(key, 0)
        if used > available:
            break
        shown.add(key)
    return tuple(key for key in order if key in shown)


def measure(
    order: Sequence[str], labels: Sequence[str], rows: Iterable[Sequence[str | Text]], padding: int
) -> dict[str, int]:
    """Each column's drawn width over `rows` (full rows, in `order`) and its label, as
    DataTable would draw it: the widest cell plus `padding` on each side."""
    widest = [cell_len(label) for label in labels]
    for row in rows:
        for index, value in enumerate(row):
            width = value.cell_len if isinstance(value, Text) else cell_len(value)
            if width > widest[index]:
                widest[index] = width
    return {key: width + 2 * padding for key, width in zip(order, widest, strict=True)}
