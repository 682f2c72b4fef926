"""Which columns a table of a given width shows, and how wide each is drawn.

Columns have a priority order: the first few (a table's `always`: for the process table the
mark, the id, the status, the label, why a process ended, the lease's countdown and the age)
are always shown; the others follow, most useful first, each shown only while it and every
column before it in that order fit beside them. A strict prefix rather than "whatever still
fits": a narrow column of low priority never shows while a more useful one is hidden, so
the operator can tell what a width leaves out. The wide toggle (`w`) shows every column at
its full width and lets the table scroll sideways instead.

Text columns (`Flex`: a label, why a process ended, a holder) can be cut, each cell with an
ellipsis: such a column counts as `comfort` cells wide when the plan decides what else fits
(so a long label does not push the lease and the age off the screen, as one 1,024-character
label did), is cut no narrower than its `floor` when the columns always shown do not fit
(the widest first), and takes the width left over, up to its widest cell, when they do (the
most cut first): the spare width goes to the text, not to empty space at the right. A
column of another kind is drawn as wide as its widest cell. Every cell is bounded before it
gets here (text.LABEL_CHARS and the like), so no width comes from a stored string unbounded.

Pure: widths in, columns and widths out, so the rule is tested without an app.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from rich.cells import cell_len, set_cell_size
from rich.text import Text


@dataclass(frozen=True)
class Flex:
    """A text column the plan may cut: never below `floor` cells (unless its widest cell is
    narrower), and counted `comfort` cells wide when deciding what else fits."""

    floor: int
    comfort: int


@dataclass(frozen=True)
class Plan:
    """A table's columns by priority (the first `always` of them always shown) and its text
    columns that may be cut."""

    priority: tuple[str, ...]
    always: int
    flex: Mapping[str, Flex]


def fitting(
    order: Sequence[str],
    widths: Mapping[str, int],
    available: int,
    plan: Plan,
    *,
    pad: int = 0,
    also: str | None = None,
) -> dict[str, int]:
    """The columns a table `available` cells wide shows (keys in their on-screen `order`)
    and the width of each one's content, given each column's widest cell (`widths`,
    content only: `pad` cells are added to each); `also` is shown whatever its priority
    (the column the rows are sorted by: its arrow says what the order is)."""
    flex = plan.flex
    want = {
        key: min(width, flex[key].comfort) if key in flex else width
        for key, width in widths.items()
    }
    shown = {*plan.priority[: plan.always], *([also] if also else [])}
    used = sum(want.get(key, 0) + pad for key in shown)
    for key in plan.priority[plan.always :]:
        if key in shown:
            continue
        used += want.get(key, 0) + pad
        if used > available:
            break
        shown.add(key)
    drawn = {key: want.get(key, 0) for key in shown}
    texts = [key for key in plan.priority if key in shown and key in flex]
    room = available - sum(drawn.values()) - pad * len(drawn)
    if room < 0:
        floors = {key: min(widths.get(key, 0), flex[key].floor) for key in texts}
        _cut(drawn, texts, -room, floors)
    else:
        _widen(drawn, texts, room, widths)
    return {key: drawn[key] for key in order if key in shown}


def _cut(drawn: dict[str, int], texts: list[str], excess: int, floors: Mapping[str, int]) -> None:
    """Narrow the text columns by `excess` cells in all, the widest first (so the cut
    levels them), none below its floor."""
    while excess > 0:
        cuttable = [key for key in texts if drawn[key] > floors[key]]
        if not cuttable:
            return  # the table is wider than the screen: it scrolls sideways
        widest = max(cuttable, key=drawn.__getitem__)
        drawn[widest] -= 1
        excess -= 1


def _widen(drawn: dict[str, int], texts: list[str], room: int, widths: Mapping[str, int]) -> None:
    """Give `room` spare cells to the text columns still cut, the narrowest first, none past
    its widest cell."""
    while room > 0:
        cut = [key for key in texts if drawn[key] < widths.get(key, 0)]
        if not cut:
            return
        narrowest = min(cut, key=drawn.__getitem__)
        drawn[narrowest] += 1
        room -= 1


def clip(value: str | Text, room: int) -> str | Text:
    """A cell cut to `room` cells, with an ellipsis when cut; as it is when it fits. A
    `Text` keeps its style and spans (a lapsed lease, a silent row's why)."""
    if width(value) <= room:
        return value
    if isinstance(value, Text):
        cut = value.copy()
        cut.truncate(room, overflow="ellipsis")
        return cut
    return set_cell_size(value, max(room - 1, 0)) + "…"


def cell_widths(row: Sequence[str | Text]) -> tuple[int, ...]:
    """Each cell's width in terminal cells: kept per row, so a tick measures only the rows
    it rewrote."""
    return tuple(map(width, row))


def width(value: str | Text) -> int:
    """A cell's width in terminal cells."""
    shown = value.plain if isinstance(value, Text) else value
    return len(shown) if shown.isascii() else cell_len(shown)  # ASCII: one cell a character


def widest(labels: Sequence[str], rows: Iterable[tuple[int, ...]]) -> tuple[int, ...]:
    """Each column's widest cell over `rows` (their `cell_widths`) or its label."""
    return tuple(map(max, zip(tuple(map(cell_len, labels)), *rows, strict=True)))


def grew(widths: tuple[int, ...], widest_: tuple[int, ...]) -> bool:
    """Whether a row has a cell wider than its column's widest so far."""
    return any(map(operator.gt, widths, widest_))
