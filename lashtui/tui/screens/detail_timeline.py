"""The detail's timeline: the rows of a process's events, drawn as they are read and
updated in place, narrowed by a search (`/`), with times relative or absolute (`r`). A
mixin of `ProcessDetailScreen`, kept apart because it is the part of the screen that draws
what the screen has read (detail.py reads the log and decides how much of it is held).

The search is a filter, like `/` in the Processes view, because the timeline follows new
events live and a filter keeps following (a new event that matches appears; the match count
is on the field's border). The timeline follows new events as `tail -f` does, only while its
cursor is on the newest row: moved up to read an older event, the cursor stays on that event
as new ones arrive (Enter opened the newest instead), and the summary says how many arrived
below it until the cursor is back at the end.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from rich.cells import cell_len
from rich.text import Text
from textual import work
from textual.css.query import NoMatches
from textual.widgets import DataTable, Input
from textual.widgets.data_table import ColumnKey

from lashtui.tui import format as fmt
from lashtui.tui import text
from lashtui.tui.screens.mixin import ScreenMixin
from lashtui.tui.widgets import column_plan

if TYPE_CHECKING:

    from lashtui.model import ObservedProcess, ObservedProcessEvent
    from lashtui.tui.context import Dashboard
    from lashtui.tui.timeline_search import TimelineSearch

# A timeline row shows this many characters of its payload (Enter shows all of it), cut with
# `…` to the room the other columns leave it (`fit_payloads`): drawn whole, a payload ran past
# the right edge, cropped with no sign of the cut (the table's rows are not scrolled sideways
# in practice: the cursor moves by row). Never cut below `PAYLOAD_FLOOR` cells.
PAYLOAD_CHARS = 200
PAYLOAD_FLOOR = 16

TIMELINE_COLUMNS = (
    ("seq", "SEQ"),
    ("at", "AT"),
    ("type", "TYPE"),
    ("wake", "WAKE"),
    ("payload", "PAYLOAD"),
)


TIMELINE_KEYS = tuple(ColumnKey(key) for key, _ in TIMELINE_COLUMNS)
AT = ColumnKey("at")
PAYLOAD = ColumnKey("payload")


def fit_column(
    timeline: DataTable[Any], key: ColumnKey, width: int, *, narrow: bool = False
) -> None:
    """Make column `key` `width` wide (its label's at least) at once, in the turn that set
    its cells: a frame is never drawn with a cell in a column too narrow for it. DataTable
    measures a changed or new cell only once it is next idle, so a frame drawn before then
    showed it cut to the old width (`r`: `2026-05-2` for a moment), and on a busy process
    (events arriving several a second) the table was seldom idle: each new row's TYPE and
    PAYLOAD read `work`, `{"step"` until the events paused. A time the clock moved was never
    measured (`update_cell` without `update_width`): `9s ago` at the next tick read `10s
    ag`, until `r` measured the column. Widened only, unless `narrow` (every cell is in
    `width`'s reckoning: times back to relative)."""
    column = timeline.columns[key]
    width = max(width, cell_len(column.label.plain))
    if width == column.content_width or (width < column.content_width and not narrow):
        return
    column.content_width = width
    # The table's scrollable width follows its columns': DataTable's own flag (as `sort`
    # and `update_cell` set it), read when it is next idle.
    timeline._require_update_dimensions = True
    timeline.refresh()


def cursor_key(timeline: DataTable[Any]) -> str | None:
    """The key of the timeline row under the cursor (None for an empty timeline)."""
    if not timeline.row_count:
        return None
    return str(timeline.coordinate_to_cell_key(timeline.cursor_coordinate).row_key.value)


class DetailTimeline(ScreenMixin):
    if TYPE_CHECKING:  # provided by ProcessDetailScreen
        dashboard: Dashboard
        absolute: bool
        searching: TimelineSearch
        making_texts: bool
        process: ObservedProcess | None
        events: list[ObservedProcessEvent]
        pending: list[int]
        window: int
        older: bool
        unseen: int
        _facts: Text | None
        _cells: dict[str, tuple[str, str]]
        _by_sequence: dict[str, ObservedProcessEvent]
        _drawn_pending: set[int]
        _last_row: int
        _unordered: bool
        _tail_read: bool
        _following: bool
        _payload_room: int | None

        def paint_summary(self, process: ObservedProcess) -> None: ...
        def _note_window(self, matching: int) -> None: ...

    def _move_times(self) -> None:
        timeline = self.query_one("#timeline", DataTable)
        now = self.dashboard.clock.now_ms()
        first = max(0, int(timeline.scroll_offset.y))
        widest = 0
        for row in timeline.ordered_rows[first : first + timeline.size.height + 1]:
            key = str(row.key.value)
            event, drawn = self._by_sequence.get(key), self._cells.get(key)
            if event is None or drawn is None:
                continue
            at = self.at(event, now)
            if at != drawn[0]:
                timeline.update_cell(key, "at", at)
                self._cells[key] = (at, drawn[1])
                widest = max(widest, cell_len(at))
        fit_column(timeline, AT, widest)
        self.fit_payloads()  # (each tick too: a scrollbar that came with rows took room)

    def at_newest(self) -> bool:
        """Whether new events should move the cursor to them: on the first read of the log,
        with no rows, or with the cursor on the newest row (as `tail -f`); not when the
        operator moved it up to an older event."""
        if not self._tail_read:
            return True
        with contextlib.suppress(NoMatches):
            timeline = self.query_one("#timeline", DataTable)
            return timeline.row_count == 0 or timeline.cursor_row >= timeline.row_count - 1
        return True

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """Back on the newest row: the events that arrived below are seen."""
        timeline = event.data_table
        if self.unseen and event.cursor_row >= timeline.row_count - 1:
            self.unseen = 0
            if self.process is not None and self._facts is not None:
                self.paint_summary(self.process)

    def at(self, event: ObservedProcessEvent, now_ms: int) -> str:
        if self.absolute:
            return fmt.event_timestamp(event)
        return fmt.event_ago(event, now_ms)

    def render_timeline(
        self,
        *,
        follow: bool = False,
        every_time: bool = False,
        appended: list[ObservedProcessEvent] | None = None,
    ) -> None:
        """Rows for the shown events, updated in place (wakes move from pending to
        delivered; times move with the clock: those on screen here and at each tick, every
        row's with `every_time`). `appended`: only these events are new, and the rows
        already drawn still stand (no new search), so only they are looked at."""
        timeline = self.query_one("#timeline", DataTable)
        held = cursor_key(timeline)  # the event the operator is on, kept unless following
        if appended is not None and not self.searching.needle:
            for event in appended:
                self._add_row(timeline, event)
            self._move_wakes(timeline)  # (the times on screen move at the next tick)
            excess = timeline.row_count - self.window
            for row in timeline.ordered_rows[: max(excess, 0)]:  # the oldest leave
                timeline.remove_row(row.key)
                self._cells.pop(str(row.key.value), None)
            self._note_window(len(self.events))
        else:
            self._render_all(timeline, every_time)
            self._move_times()
            if self.process is not None and self._facts is not None:
                self.paint_summary(self.process)  # what the window holds may have changed
        self.fit_payloads()  # a column beside the payloads may have widened
        timeline.call_after_refresh(self.fit_payloads)  # and once the new rows are laid out
        if self._unordered:  # new events come in order, but rows a filter brings back may not
            timeline.sort("seq", key=int)
            self._unordered = False
        if follow and timeline.row_count:
            self.unseen = 0
            timeline.move_cursor(row=timeline.row_count - 1)
            # Scrolled again once this turn's rows are laid out: the cursor's own scroll is
            # made against the table's size before them, and on a loaded machine a long
            # log drawn a share at a time could stay short of its end (CI saw it twice).
            timeline.call_after_refresh(timeline.scroll_end, animate=False)
            return
        if appended and not self._following:
            self.unseen += sum(1 for event in appended if str(event.sequence) in timeline.rows)
        # Rows taken from above it (the oldest leaving the window) or sorted in would leave
        # the cursor at its index, on another event: it goes back to its own.
        if held is not None and held in timeline.rows:
            index = timeline.get_row_index(held)
            if index != timeline.cursor_row:
                timeline.move_cursor(row=index)

    def _render_all(self, timeline: DataTable[Any], every_time: bool) -> None:
        now = self.dashboard.clock.now_ms()
        matching = [e for e in self.events if self.searching.matches(e)]
        field = self.query_one("#type-filter", Input)
        held = "held events" if self.older else "events"
        counted = f"{len(matching):,} of {len(self.events):,} {held} match"
        field.border_title = text.plain(counted) if self.searching.needle else None
        shown = matching[-self.window :]
        self._note_window(len(matching))
        keys = {str(e.sequence) for e in shown}
        cells = self._cells
        for row_key in [k for k in timeline.rows if k.value not in keys]:
            timeline.remove_row(row_key)
            cells.pop(str(row_key.value), None)
        self._drawn_pending = set(self.pending)
        for event in shown:
            key = str(event.sequence)
            if key not in timeline.rows:
                self._add_row(timeline, event)
                continue
            wake = "pending" if event.sequence in self._drawn_pending else ""
            at, was = cells[key]
            if every_time:
                at = self.at(event, now)
                timeline.update_cell(key, "at", at)
            if was != wake:
                timeline.update_cell(key, "wake", wake)
            cells[key] = (at, wake)
        if every_time:
            # Times switched between relative and absolute change width, both ways: the
            # column fits the widest of them now (every row's time is in `cells`).
            widest = max((cell_len(at) for at, _ in cells.values()), default=0)
            fit_column(timeline, AT, widest, narrow=True)

    def _add_row(self, timeline: DataTable[Any], event: ObservedProcessEvent) -> None:
        key = str(event.sequence)
        at = self.at(event, self.dashboard.clock.now_ms())
        wake = "pending" if event.sequence in self._drawn_pending else ""
        # The payload's start only: a payload may be a mebibyte, and a cell holding all of it
        # is escaped and measured whole (300 such events held the event loop for 5 s).
        payload = self._payload_cell(event)
        # (An event that does not decode shows its type column as stored: any length.)
        kind = text.cell(fmt.event_type(event))
        timeline.add_row(key, at, kind, wake, payload, key=key)
        # Every cell of the row measured now, not when the table is next idle (`fit_column`):
        # ~7 us a row measured here (a 250-row share of a long log: ~2 ms more), against
        # ~65 us for the rest of adding it.
        widths = (len(key), cell_len(at), kind.cell_len, cell_len(wake), payload.cell_len)
        for column, width in zip(TIMELINE_KEYS, widths, strict=True):
            fit_column(timeline, column, width)
        self._cells[key] = (at, wake)
        self._unordered = self._unordered or event.sequence < self._last_row
        self._last_row = max(self._last_row, event.sequence)

    def _payload_cell(self, event: ObservedProcessEvent) -> Text:
        """A row's PAYLOAD: its start, cut with `…` to the room the other columns leave."""
        payload = text.cell(fmt.payload(event, PAYLOAD_CHARS))
        room = self._payload_room
        if room is None or payload.cell_len <= room:
            return payload
        cut = column_plan.clip(payload, room)
        assert isinstance(cut, Text)
        return cut

    def fit_payloads(self) -> None:
        """The PAYLOAD column as wide as the screen leaves it, its cells cut to that anew
        when it changed (a resize; a wider TYPE or AT beside it): every row's payload is made
        again from its event, so a wider screen shows more of it."""
        timeline = self.query_one("#timeline", DataTable)
        available = timeline.scrollable_content_region.width
        if available <= 0 or PAYLOAD not in timeline.columns:
            return  # not laid out yet: the first resize fits them
        others = sum(
            column.get_render_width(timeline)
            for column in timeline.ordered_columns
            if column.key != PAYLOAD
        )
        room = max(available - others - 2 * timeline.cell_padding, PAYLOAD_FLOOR)
        if room == self._payload_room:
            return
        self._payload_room = room
        widest = 0
        for row_key in list(timeline.rows):
            event = self._by_sequence.get(str(row_key.value))
            if event is not None:
                cell = self._payload_cell(event)
                timeline.update_cell(row_key, PAYLOAD, cell)
                widest = max(widest, cell.cell_len)
        fit_column(timeline, PAYLOAD, widest, narrow=True)

    def on_resize(self) -> None:
        self.call_after_refresh(self.fit_payloads)  # once the timeline has its new width

    def _move_wakes(self, timeline: DataTable[Any]) -> None:
        """The wake cells of the rows whose delivery changed since they were drawn."""
        pending = set(self.pending)
        for sequence in pending ^ self._drawn_pending:
            key = str(sequence)
            if key in timeline.rows:
                wake = "pending" if sequence in pending else ""
                timeline.update_cell(key, "wake", wake)
                self._cells[key] = (self._cells[key][0], wake)
        self._drawn_pending = pending

    def search(self) -> None:
        """Show the matches known now; make the missing events' text (one worker at a time,
        never cancelled: the text does not depend on what is searched), then show again."""
        self.render_timeline()
        if self.searching.missing(self.events) and not self.making_texts:
            self.making_texts = True
            self.make_texts()

    @work(group="search", name="load_search")
    async def make_texts(self) -> None:
        try:
            while missing := self.searching.missing(self.events):
                await self.searching.made_for(missing)
        finally:
            self.making_texts = False
        self.render_timeline()

    def action_find(self) -> None:
        field = self.query_one("#type-filter", Input)
        field.add_class("-open")
        field.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.searching.set(event.value)
        self.search()

    def on_input_submitted(self) -> None:
        self.query_one("#timeline", DataTable).focus()

    def action_toggle_time(self) -> None:
        self.absolute = not self.absolute
        self.render_timeline(every_time=True)
