"""The detail's summary: every fact of one process, one a line (summary, output, grants,
lease, first started, abandon request, cancel request, the process it re-runs and its re-runs,
wait, wake deliveries), built as `Text` from the stored values so that none of them can
become markup or break a line. Pure: the screen (detail.py) reads the facts and paints them.
A row whose stored record cannot be decoded says so, why, and how it is ended.

Each stored value is shown to the room its line gives it (`Room`, from the summary's
width): an id, a label, a kind, an originator, a wake target, a lease's incarnation, who
asked for an abandon and why, a cancel's reason and the output, each cut with `…` (and the
characters left out counted, or an id cut in its middle as the lists cut it). Whole, one
label of the 1,024 characters a write allows wrapped over the whole detail at 60x24 and
pushed the timeline below the fold. What is cut is still reachable whole: `y` copies the
id, `Y` the process as JSON (every field whole) and `o` opens its output as a tree. A list
(grants, re-runs, pending wakes) is one line: as many as fit and how many more (`listed`);
30 grants on long scope ids pushed the timeline off the screen at 80x24.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual.widgets import Static

from lashtui.model import (
    LeaseOwnerIdentity,
    ObservedProcess,
    ProcessEvent,
    ProcessHandleGrant,
    ProcessLease,
    lease_lapsed_at,
    silent_not_dead,
)
from lashtui.model.owner import owner_ends
from lashtui.model.rerun import RerunLink
from lashtui.registry.sql.blob_id import BLOB_NOT_READ, is_blob_row
from lashtui.tui import format as fmt
from lashtui.tui import text
from lashtui.tui.holder import fence_text
from lashtui.tui.undecodable import way_out
from lashtui.tui.widgets.column_plan import clip
from lashtui.tui.widgets.state_style import STATE_CLASSES
from lashtui.untrusted import (
    CUT_NOT_READ,
    SHOWN_CHARS,
    is_cut_id,
    json_preview,
    shell_word,
    visible_clipped,
)

# The summary shows at most this many characters of a cancel request's reason.
REASON_CHARS = 300
# A listed item (a grant, a re-run) is not cut below this many cells: past it the line
# says how many more there are instead. A grant's label is left out below `LABEL_CELLS`.
ITEM_CELLS = 12
LABEL_CELLS = 8
# An id in a listed item keeps at least this many cells: its start, `…` and its end
# (a re-run's `-6`).
ID_CELLS = 7
# The least room a label is cut to: past it, an id beside it goes on a line of its own.
LABEL_ROOM = 16


@dataclass(frozen=True)
class Room:
    """How much of a stored value the summary shows: `line` cells of the label (a line of
    the summary's width) and of a sentence (a reason; the output two), cut at their end and the
    characters left out counted; and `name` cells of a name (an id, a kind, a scope, an
    owner: half a line, a whole one for the id), cut in the middle as the lists cut an id,
    so that its start and its end tell it from others. The default shows every value a
    write allows whole."""

    line: int = SHOWN_CHARS
    name: int = SHOWN_CHARS

    @classmethod
    def of(cls, width: int) -> Room:
        """The room in a summary `width` cells wide (its content: no padding)."""
        line = max(width, 40)
        return cls(line=line, name=line // 2)

    def sentence(self, value: str, lines: int = 1, used: int = 0) -> Text:
        """A label or a sentence cut to `lines` lines less the `used` cells of what shares
        them, the characters left out counted within that room (`text.fitted`): a cut to
        the whole line and its count after it wrapped onto the next line at every width."""
        return text.fitted(value, max(self.line * lines - used, LABEL_ROOM))

    def owner(self, identity: LeaseOwnerIdentity) -> Text:
        """An owner as the lists name it (`fmt.owner`) where that fits in `name` cells;
        else its whole name cut once in its middle to them (`owner_ends`)."""
        named = fmt.owner(identity)
        if cell_len(named) <= self.name:
            return text.data(named)
        return self.cut(owner_ends(identity, self.name))

    def cut(self, value: str, cells: int | None = None, style: str | Style = "") -> Text:
        """A name cut in its middle to `cells` (`name` unless given). A value past what a
        reader is shown (`SHOWN_CHARS`) says so at its end, which the cut keeps; a cut id's
        stand-in says what was not read, and is cut at its end, keeping that."""
        cells = self.name if cells is None else cells
        if is_cut_id(value):
            return text.fitted(value, cells, style)
        cut = clip(text.data(value, style), cells, middle=True)
        return cut if isinstance(cut, Text) else Text(cut, style=style, end="")


def _unpainted(name: str) -> Style:
    return Style()


class Summary(Static):
    """The detail's facts, with the states' styles (widgets/state_style.py)."""

    COMPONENT_CLASSES: ClassVar[set[str]] = set(STATE_CLASSES)


def summary(
    process: ObservedProcess,
    now_ms: int,
    cancel: ProcessEvent | None = None,
    *,
    read_only: bool = False,
    paint_: Callable[[str], Style] = _unpainted,
    lease: ProcessLease | None = None,
    health: str | None = None,
    room: Room = Room(),
) -> Text:
    """The process's facts, one a line; every stored value is `text.data` cut to `room`
    (see `Room`), so a label can neither become markup nor break a line, nor wrap over
    the detail. `cancel` is the first cancel request, if any; `paint_` styles the badge, a
    lapsed lease and a silent row by their theme variables. `lease` is the held lease as
    read (its fencing token) and `health` its holder's as the sweep would judge it
    (`holder.owner_health`; None before it is judged)."""
    started = process.first_started
    request = process.abandon_request
    wait = process.wait
    first = (
        text.plain(
            room.owner(started.owner),
            f" {fmt.ago(started.started_at_ms, now_ms)}",
        )
        if started
        else "-"
    )
    asked: str | Text = "-"
    if request:
        asked = text.plain(
            room.cut(request.requested_by), f" {fmt.ago(request.requested_at_ms, now_ms)}: "
        )
        used = len("abandon request ") + asked.cell_len
        asked.append_text(
            room.sentence(request.reason, used=used) if request.reason else Text("no reason given")
        )
    wake = room.cut(process.wake_target.id()) if process.wake_target else "-"
    signal = (
        text.plain("signal ", room.cut(wait.kind.name), f" #{wait.kind.ordinal}")
        if wait
        else "-"
    )
    badge = Text(fmt.badge(process), style=paint_(fmt.state(process)), end="")
    facts: list[str | Text] = [
        *heading(process, badge, room),
        *undecodable_line(process, room, read_only=read_only),
        text.plain(
            f"disposition {process.disposition_text()}   originator ",
            room.cut(process.originator.scope_id()), "   wake target ", wake,
        ),
        f"created {fmt.ago(process.created_at_ms, now_ms)}   updated "
        f"{fmt.ago(process.updated_at_ms, now_ms)}",
        lease_line(process, now_ms, room, paint_, lease, health),
        text.plain("first started ", first),
        text.plain("abandon request ", asked),
        *cancel_line(cancel, now_ms, room),
        text.plain("wait ", signal),
        text.plain("output ", output_text(process, room)),
    ]
    if silent_not_dead(process, now_ms):
        facts.append(Text(fmt.silent_sentence(process), style=paint_("silent"), end=""))
    return text.joined(facts)


def heading(process: ObservedProcess, badge: Text, room: Room) -> list[Text]:
    """`payroll-run  ✓ completed  nightly payroll (steps)`: the id, the badge, the label and
    the kind, the label cut to what the others leave of the line (its count too). An id too
    long to leave a label room beside it is a line of its own: where the terminal wrapped
    it, the label's room was not known and its count wrapped onto the next line."""
    process_id = room.cut(process.process_id, room.line)
    kind = room.cut(process.kind)
    after = len(" (") + kind.cell_len + len(")")
    beside = process_id.cell_len + len("  ") + badge.cell_len + len("  ")
    if beside + after + LABEL_ROOM <= room.line:
        label = room.sentence(process.label, used=beside + after)
        return [text.plain(process_id, "  ", badge, "  ", label, " (", kind, ")")]
    label = room.sentence(process.label, used=badge.cell_len + len("  ") + after)
    return [process_id, text.plain(badge, "  ", label, " (", kind, ")")]


def lease_line(
    process: ObservedProcess,
    now_ms: int,
    room: Room,
    paint_: Callable[[str], Style],
    lease: ProcessLease | None,
    health: str | None,
) -> Text:
    """`lease w-1@host:4242 (8m30s left)   fence 3   health ✓ alive   incarnation w-1:1`:
    its holder, the countdown (painted when lapsed), its fencing token, the holder's health
    as the sweep would judge it and its incarnation; `lease -` when none is held."""
    holder = process.lease_holder
    if holder is None:
        return text.plain("lease -")
    # The holder and its countdown painted as one when it has lapsed.
    held = Text(style=paint_("lapsed") if lease_lapsed_at(process, now_ms) else "", end="")
    held.append_text(room.owner(holder))
    held.append(f" ({fmt.lease_left(process, now_ms)})")
    return text.plain(
        "lease ",
        held,
        f"   fence {fence_text(lease)}   health {health if health is not None else '…'}",
        "   incarnation ",
        room.cut(holder.incarnation_id),
    )


def output_text(process: ObservedProcess, room: Room = Room()) -> str | Text:
    """The summary's output: its JSON (cut to two lines' `room`: `o` shows it whole), `-`
    before the end, or (an undecodable row's stand-in holds only a placeholder) that it is
    unknown."""
    output = process.status.await_output
    if process.undecodable is not None and output is not None:
        return fmt.UNKNOWN_VALUE
    if output is None:
        return "-"
    return room.sentence(output.model_dump_json(), lines=2, used=len("output "))



def undecodable_line(process: ObservedProcess, room: Room, *, read_only: bool) -> list[Text]:
    """For a row whose stored record cannot be decoded: why (cut to its line), and on a line
    of its own the one way to end it."""
    if process.undecodable is None:
        return []
    said = f"{fmt.UNDECODABLE}: "
    why = text.plain(said, text.fitted(process.undecodable, room.line - len(said)))
    if is_cut_id(process.process_id):  # (its words say nothing here can act on it)
        return [why, text.plain(f"not read: {CUT_NOT_READ}")]
    if is_blob_row(process.undecodable):  # (nor here: blob_id.py, `end-undecodable` refuses it)
        return [why, text.plain(f"not read: {BLOB_NOT_READ}")]
    # A command is shown whole or not at all (an id cut in it would not name the row): a
    # long id is named `ID`, and `y` copies it.
    if len(shell_word(process.process_id)) <= room.name:
        way = way_out(process.process_id, read_only=read_only)
    else:
        way = f"{way_out('ID', read_only=read_only)}; y copies its ID"
    return [why, text.plain("only ending it changes it: ", way)]


def cancel_line(cancel: ProcessEvent | None, now_ms: int, room: Room = Room()) -> list[Text]:
    """`cancel requested · requested by dana@h: stale · 5m ago`, from the first cancel
    request's payload (`reason` says who asked; another program may have stored any JSON),
    cut to a line's `room` and to `REASON_CHARS`."""
    if cancel is None:
        return []
    payload = cancel.payload
    reason = payload.get("reason") if isinstance(payload, dict) else None
    ago = fmt.event_ago(cancel, now_ms)
    chars = min(REASON_CHARS, room.line - len("cancel requested ·  · ") - len(ago))
    shown = (
        visible_clipped(reason, chars) if isinstance(reason, str) else json_preview(payload, chars)
    )
    asked = text.data(shown)
    return [
        text.plain("cancel requested · ", asked, f" · {ago}")
    ]


def rerun_lines(
    link: RerunLink | None, reruns: list[RerunLink], now_ms: int, room: Room = Room()
) -> list[Text]:
    """`re-runs x · by dana@h · 5m ago` on a re-run, `re-run as x~rerun-2 (by dana@h 5m
    ago), x~rerun-1 (...) … and 3 earlier` on a row run again: the newest first, as many
    as the line has room for (`listed`), each id cut to its `room`."""
    lines = []
    if link is not None:
        since = f" · {fmt.ago(link.at_ms, now_ms)}"
        lines.append(
            text.plain(
                "re-runs ", room.cut(link.rerun_of), " · by ", room.cut(link.by), since
            )
        )
    if reruns:
        newest = reruns[::-1]

        def rerun(index: int, cells: int) -> Text:
            made = newest[index]
            after = f" {fmt.ago(made.at_ms, now_ms)})"
            by = room.cut(made.by, room.name // 2)
            left = max(cells - len(" (by ") - by.cell_len - len(after), ID_CELLS)
            return text.plain(room.cut(made.process_id, min(room.name, left)), " (by ", by, after)

        lines.append(listed("re-run as ", len(reruns), rerun, "earlier", room))
    return lines


def unseen_line(unseen: int) -> list[Text]:
    """Says that events arrived below a cursor the operator left on an older one."""
    if not unseen:
        return []
    events = "event" if unseen == 1 else "events"
    return [text.plain(f"timeline: {unseen:,} new {events} below the cursor (ctrl+End: newest)")]


def grants_line(grants: list[tuple[str, ProcessHandleGrant]], room: Room = Room()) -> Text:
    """Each grant by the full scope id that holds it (`session:S/frame:F`): what a transfer
    names as its source. As many as the line has room for (`listed`), with their count when
    some are left out, each scope cut in its middle and its label at its end."""
    if not grants:
        return text.plain("grants -")

    def grant(index: int, cells: int) -> Text:
        scope_id, held = grants[index]
        scope = room.cut(scope_id, min(room.name, cells))
        label = held.descriptor.label
        left = cells - scope.cell_len - len(" ()")
        if not label or left < LABEL_CELLS:
            return scope
        return text.plain(scope, " (", text.fitted(label, min(room.name, left)), ")")

    head = f"grants {len(grants)}: " if len(grants) > 1 else "grants "
    return listed(head, len(grants), grant, "more grants", room)


def wakes_line(process: ObservedProcess, pending: list[int], room: Room = Room()) -> Text:
    """`wakes to session:s1: pending delivery #3, #4 … and 9 more`: the wake target cut to
    its room, and as many of the wakes nobody has taken delivery of as the line holds."""
    if process.wake_target is None:
        return text.plain("wakes -")
    said = ": pending delivery "
    # The target gives way to the first two wakes (and the count of the rest).
    first = ", ".join(f"#{seq}" for seq in pending[:2]) or "none"
    first += f" … and {len(pending) - 2:,} more" if len(pending) > 2 else ""
    cells = min(room.name, room.line - len("wakes to ") - len(said) - len(first))
    head = text.plain("wakes to ", room.cut(process.wake_target.id(), max(cells, ID_CELLS)), said)
    if not pending:
        return text.plain(head, "none")
    wake = lambda index, _: Text(f"#{pending[index]}")  # noqa: E731 (never cut)
    return listed(head, len(pending), wake, "more", room, least=1)


def listed(
    head: str | Text,
    total: int,
    item: Callable[[int, int], Text],
    more: str,
    room: Room,
    least: int = ITEM_CELLS,
) -> Text:
    """`head` and the first of `total` items, `item(index, cells)` each made to fit in
    `cells` (`least` at the least), joined by `, ` while the line (`room.line`) has room for
    them and for what is said of the rest: `… and 12 {more}`. The first is always shown. A
    list of grants or of pending wakes has no length limit, and drawn whole one pushed the
    timeline off the screen."""
    line = text.plain(head)
    shown = 0
    for index in range(total):
        rest = total - index - 1
        tail = f" … and {rest:,} {more}" if rest else ""
        sep = ", " if index else ""
        cells = room.line - line.cell_len - len(sep) - len(tail)
        if index and cells < least:
            break
        piece = item(index, max(cells, least))
        if index and piece.cell_len > cells:
            break
        line.append(sep)
        line.append_text(piece)
        shown += 1
    if shown < total:
        line.append(f" … and {total - shown:,} {more}")
    return line
