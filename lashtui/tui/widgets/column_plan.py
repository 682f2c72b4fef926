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

An id is a text column too, cut in the middle (`Flex.middle`): ids that share a long start
(`tenant-acme/region-eu/...-7`, `...-8`) stay told apart by their ends. Uncut, one id of the
512 characters a write allows pushed every column after it off the screen and made the
table scroll sideways. Only what is drawn is cut (the detail cuts it to a line, and `y`
copies it whole): the rows are keyed, selected and acted on by the real one.

When even the columns always shown, cut to their floors, are wider than the screen (60
columns), those past the plan's `key` columns give way, the lowest priority first, rather
than being drawn past the right edge: a table shows its key columns whole at any width it
can, and scrolls sideways only when those alone do not fit. A column that says nothing cut
to its floor (a lease holder: `worker-…`) is `fair_only`: it gives way as soon as the
columns shown cannot each have their `fair` width. So it is shown beside an id cut in its
middle, where before a long id (counted 64 cells wide) kept it off the screen at 160
columns, and hidden where it would only be a few cells wide.

The width a table plans for is what it has beside its vertical scrollbar, which comes once
its rows outgrow the screen: the tables plan again when it comes or goes (a table whose
rows grew past its height without a wider cell kept the plan made for 2 more cells, and
scrolled sideways with its last column cut at the edge). The floors leave those 2 cells at
60 columns: the Leases view's owner, cut no narrower than 12 cells, and the Abandon
requests view's verdict, 28, made their key columns fill 60 columns exactly.

Pure: widths in, columns and widths out, so the rule is tested without an app.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from rich.cells import cell_len, set_cell_size
from rich.text import Text

from lashtui.tui import text


@dataclass(frozen=True)
class Flex:
    """A text column the plan may cut: never below `floor` cells (unless its widest cell is
    narrower), and counted `comfort` cells wide when deciding what else fits."""

    floor: int
    comfort: int
    # Cut in the middle, keeping its start and its end (an id); in a two-line cell only its
    # first line (the label under an id is cut at its end, as every label is).
    middle: bool = False
    # Cut only once the other text columns are this many cells narrower than it: an id is
    # how a row is told apart, so the demo's 15-character ids stay whole at 80 columns
    # while a label beside them is cut.
    held: int = 0
    # The width at which it still says something: what the plan's `fair_only` columns
    # leave it (its floor where it has none).
    fair: int | None = None
    # A sentence over the lines of a two-line cell: when a line does not fit, its words
    # flow over the cell's lines at the column's width, and only the last line is cut
    # (`flow`), so the sentence's start is said whole in half the width.
    flow: bool = False


# An id column: cut in its middle, counted `text.ID_CELLS` wide when deciding what else fits,
# and held 4 cells wider than the label and the reason beside it when they are all cut.
def id_column(floor: int = 12) -> Flex:
    return Flex(floor=floor, comfort=text.ID_CELLS, middle=True, held=4)


@dataclass(frozen=True)
class Plan:
    """A table's columns by priority (the first `always` of them shown whenever they fit
    cut to their floors, the first `key` of them at any width) and its text columns that
    may be cut. `key` None: every column always shown is a key column."""

    priority: tuple[str, ...]
    always: int
    flex: Mapping[str, Flex]
    key: int | None = None
    # Columns past the key columns shown only while every column shown can have its fair
    # width (`Flex.fair`), not just its floor: a lease holder cut to 8 cells says nothing.
    fair_only: frozenset[str] = frozenset()

    def cuts(self, drawn: Mapping[str, int]) -> dict[str, tuple[int, bool]]:
        """The text columns among `drawn`, each with its width and whether it is cut in
        the middle."""
        flex = self.flex
        return {key: (width, flex[key].middle) for key, width in drawn.items() if key in flex}


def fitting(
    order: Sequence[str],
    widths: Mapping[str, int],
    available: int,
    plan: Plan,
    *,
    pad: int = 0,
    also: str | None = None,
    needs: Mapping[str, int] | None = None,
) -> dict[str, int]:
    """The columns a table `available` cells wide shows (keys in their on-screen `order`)
    and the width of each one's content, given each column's widest cell (`widths`,
    content only: `pad` cells are added to each); `also` is shown whatever its priority
    (the column the rows are sorted by: its arrow says what the order is). `needs`: what
    each `Flex.flow` column's cells need to flow whole over their lines (`flow_need`)."""
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
    floors = {key: min(widths.get(key, 0), flex[key].floor) for key in flex}
    # A sentence is cut no narrower than it needs to flow whole while the columns past the
    # key ones can give way for it; where even the key ones do not fit so, at its floor.
    raised = {
        key: max(floor, min((needs or {}).get(key, 0), flex[key].comfort))
        for key, floor in floors.items()
    }
    kept = _giving_way(shown, want, widths, available, plan, pad, also, raised)
    if _floor_width(kept, want, raised, pad) <= available:
        shown, floors = kept, raised
    else:
        shown = _giving_way(shown, want, widths, available, plan, pad, also, floors)
    drawn = {key: want.get(key, 0) for key in shown}
    texts = [key for key in plan.priority if key in shown and key in flex]
    room = available - sum(drawn.values()) - pad * len(drawn)
    if room < 0:
        _cut(drawn, texts, -room, floors, {key: flex[key].held for key in texts})
    else:
        _widen(drawn, texts, room, widths)
    return {key: drawn[key] for key in order if key in shown}


def _giving_way(
    shown: set[str],
    want: Mapping[str, int],
    widths: Mapping[str, int],
    available: int,
    plan: Plan,
    pad: int,
    also: str | None,
    floors: Mapping[str, int],
) -> set[str]:
    """`shown` less the columns past the key columns that give way, the lowest priority
    first, until the rest fit cut to their `floors` (the sorted column stays: its arrow
    says what the order is); a `fair_only` column gives way when the fair widths do not."""
    flex = plan.flex
    fairs = {key: min(widths.get(key, 0), flex[key].fair or flex[key].floor) for key in flex}
    key_columns = plan.always if plan.key is None else plan.key
    shown = set(shown)
    givers = [key for key in plan.priority[key_columns:] if key in shown and key != also]
    while givers:
        least = (
            {key: max(fair, floors[key]) for key, fair in fairs.items()}
            if givers[-1] in plan.fair_only
            else floors
        )
        if _floor_width(shown, want, least, pad) <= available:
            break
        shown.discard(givers.pop())
    return shown


def _floor_width(
    shown: set[str], want: Mapping[str, int], floors: Mapping[str, int], pad: int
) -> int:
    """How wide `shown` is with its text columns cut to their floors."""
    return sum(min(want.get(key, 0), floors.get(key, want.get(key, 0))) + pad for key in shown)


def _cut(
    drawn: dict[str, int],
    texts: list[str],
    excess: int,
    floors: Mapping[str, int],
    held: Mapping[str, int],
) -> None:
    """Narrow the text columns by `excess` cells in all, the widest first (so the cut
    levels them; a column `held` cells wider counts that much narrower), none below its
    floor."""
    while excess > 0:
        cuttable = [key for key in texts if drawn[key] > floors[key]]
        if not cuttable:
            return  # the table is wider than the screen: it scrolls sideways
        widest = max(cuttable, key=lambda key: drawn[key] - held[key])
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


def clip(value: str | Text, room: int, *, middle: bool = False) -> str | Text:
    """A cell cut to `room` cells, with an ellipsis when cut (at its end, or in its
    `middle`); as it is when it fits. A `Text` keeps its style and spans (a lapsed lease, a
    silent row's why). A cell of several lines (a two-line row's) has each line cut."""
    if width(value) <= room:
        return value
    if "\n" in (value.plain if isinstance(value, Text) else value):
        return _clip_lines(value, room, middle)
    if middle and room >= 3:
        return _clip_middle(value, room)
    if isinstance(value, Text):
        cut = value.copy()
        cut.truncate(room, overflow="ellipsis")
        return cut
    return set_cell_size(value, max(room - 1, 0)) + "…"


def flow(value: Text, room: int, lines: int) -> Text:
    """`value` (a cell of one or more lines) as it is when each line fits in `room` cells;
    otherwise its words laid over the row's `lines`, each filled up to `room` cells, and the
    last cut with `…` when they do not all fit (`Flex.flow`). Styles and spans are kept."""
    parts = value.split("\n", allow_blank=True)
    if all(width(part) <= room for part in parts):
        return value
    flat = Text(" ", style=value.style, end=value.end).join(parts)
    plain = flat.plain
    starts: list[int] = []  # where each line begins: a word that no longer fits the one before
    for word in re.finditer(r"\S+", plain):
        if not starts or (
            len(starts) < lines and cell_len(plain[starts[-1] : word.end()]) > room
        ):
            starts.append(word.start())
    if not starts:  # (blank)
        return value
    pieces: list[Text] = []
    for at, until in zip(starts, [*starts[1:], len(plain)], strict=True):
        piece = flat[at:until]
        piece.rstrip()
        cut = clip(piece, room)  # (a word wider than the column, or the words left over)
        assert isinstance(cut, Text)
        pieces.append(cut)
    joined = Text("\n", style=value.style, end=value.end).join(pieces)
    joined.no_wrap = value.no_wrap
    return joined


def flow_need(value: str | Text, lines: int) -> int:
    """The narrowest width at which `flow` lays `value` over `lines` lines uncut: its
    widest line, or fewer cells where its words, filled line by line, still fit."""
    plain = value.plain if isinstance(value, Text) else value
    widest_line = width(plain)
    words = plain.split()
    if not words:
        return widest_line
    least = max(max(map(cell_len, words)), -(-cell_len(" ".join(words)) // lines))
    for room in range(least, widest_line):
        filled, taken = 1, 0  # the lines begun, and the cells taken of the last
        for word in words:
            cells = cell_len(word)
            if taken and taken + 1 + cells > room:
                filled, taken = filled + 1, cells
            else:
                taken += cells + (1 if taken else 0)
        if filled <= lines:
            return room
    return widest_line


def _clip_lines(value: str | Text, room: int, middle: bool) -> str | Text:
    """Each line cut to `room`; in the `middle` the first line only (`Flex.middle`)."""
    if isinstance(value, str):
        return "\n".join(
            str(clip(line, room, middle=middle and not at))
            for at, line in enumerate(value.split("\n"))
        )
    lines = [
        clip(line, room, middle=middle and not at)
        for at, line in enumerate(value.split("\n", allow_blank=True))
    ]
    joined = Text("\n", style=value.style, end=value.end).join(lines)  # type: ignore[arg-type]
    joined.no_wrap = value.no_wrap
    return joined


def _clip_middle(value: str | Text, room: int) -> str | Text:
    """`value` as its start, `…` and its end, `room` cells in all: the end gets the
    smaller half."""
    plain = value.plain if isinstance(value, Text) else value
    head = len(set_cell_size(plain, (room - 1) - (room - 1) // 2).rstrip())
    tail, cells = len(plain), 0
    while tail > 0 and cells + cell_len(plain[tail - 1]) <= (room - 1) // 2:
        tail -= 1
        cells += cell_len(plain[tail])
    if isinstance(value, str):
        return plain[:head] + "…" + plain[tail:]
    # The ellipsis takes the place (and so the styles) of the first character left out: a
    # silent row's id is painted whole, `…` included.
    cut = value[: head + 1]
    cut.plain = plain[:head] + "…"
    cut.append_text(value[tail:])
    cut.no_wrap, cut.end = value.no_wrap, value.end
    return cut


def cell_widths(row: Sequence[str | Text]) -> tuple[int, ...]:
    """Each cell's width in terminal cells: kept per row, so a tick measures only the rows
    it rewrote."""
    return tuple(map(width, row))


def width(value: str | Text) -> int:
    """A cell's width in terminal cells."""
    shown = value.plain if isinstance(value, Text) else value
    if "\n" in shown:  # a two-line row's cell: as wide as its widest line
        return max(map(width, shown.split("\n")))
    return len(shown) if shown.isascii() else cell_len(shown)  # ASCII: one cell a character


def widest(labels: Sequence[str], rows: Iterable[tuple[int, ...]]) -> tuple[int, ...]:
    """Each column's widest cell over `rows` (their `cell_widths`) or its label."""
    return tuple(map(max, zip(tuple(map(cell_len, labels)), *rows, strict=True)))


def grew(widths: tuple[int, ...], widest_: tuple[int, ...]) -> bool:
    """Whether a row has a cell wider than its column's widest so far."""
    return any(map(operator.gt, widths, widest_))


def shrank(
    before: tuple[int, ...] | None, widths: tuple[int, ...], widest_: tuple[int, ...]
) -> bool:
    """Whether a row measured again (`widths`; as measured `before`) no longer has a cell
    as wide as its column's widest (`widest_`, as last fitted): the column may narrow.
    Without it a column stayed as wide as a cell long gone (LEASE 16 cells for a `lapsed
    1m29s ago` since released, the label beside it cut) until a row left the table."""
    if before is None or len(widest_) != len(widths):  # (new, or never fitted yet)
        return False
    measured = zip(before, widths, widest_, strict=True)
    return any(old == most and new < old for old, new, most in measured)
