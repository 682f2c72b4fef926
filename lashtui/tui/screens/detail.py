"""Process detail: every fact of one process (its summary, detail_summary.py) and its event
timeline (detail_timeline.py), following new events live. A row whose stored record cannot
be decoded says so, why, and how it is ended; its events show as they are (an event that
does not decode says why in its row).

The screen reads the log with `events_after` from the last sequence it holds, so a long log
is read once and then only its tail, and holds what fits its budget. The timeline can be
narrowed (`/`); its times show relative or absolute (`r`); it exports as JSONL (`e`). Enter
on an event opens its payload as a tree, `i` and `o` the process's input and output
(`screens.payload`). An id that is not in the registry says so; a process pruned or deleted
while open is said gone, what was read of it is dropped, and its action keys are dimmed and
say why.

It reads the registry again only once the registry's change mark has moved (as the Leases
view does, live.py), or at once after an action; a once-a-second tick moves the times of
the summary and of the timeline rows on screen. Each refresh used to re-read the row,
re-set every timeline row's cells and sort the timeline: a process with 3,000 events held
open cost a third of a core while nothing happened. Now a read adds its new events' rows
(a long log `ROWS_A_TURN` at a time, so the loop is not held while it opens), sets a wake
cell only when its delivery changed, and sorts only when a row comes in below the last.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.css.query import NoMatches
from textual.events import Key
from textual.screen import Screen
from textual.widgets import DataTable, Header, Input, Static

from lashtui.errors import LashError
from lashtui.model import (
    CANCEL_REQUESTED,
    LeaseOwnerIdentity,
    ObservedProcess,
    ObservedProcessEvent,
    ProcessEvent,
    ProcessHandleGrant,
    ProcessLease,
)
from lashtui.model.rerun import RerunLink
from lashtui.registry.sql.blob_id import is_blob_row
from lashtui.tui import format as fmt
from lashtui.tui import text
from lashtui.tui.actions import ACTION_BINDINGS, COPY_BINDINGS, ProcessActions
from lashtui.tui.context import Dashboard
from lashtui.tui.export import start_export, timeline_export
from lashtui.tui.holder import owner_health, sweep_identity
from lashtui.tui.screens.detail_log import DetailLog
from lashtui.tui.screens.detail_summary import (
    Room,
    grants_line,
    rerun_lines,
    summary,
    unseen_line,
    wakes_line,
)
from lashtui.tui.screens.detail_summary import Summary as Summary  # (the screen's widget)
from lashtui.tui.screens.detail_timeline import PAYLOAD_CHARS as PAYLOAD_CHARS  # (tests)
from lashtui.tui.screens.detail_timeline import TIMELINE_COLUMNS, DetailTimeline
from lashtui.tui.screens.detail_values import DetailValues
from lashtui.tui.targets import TARGETED
from lashtui.tui.timeline_search import TimelineSearch
from lashtui.tui.widgets.footer import KeyFooter
from lashtui.tui.widgets.state_style import paint
from lashtui.untrusted import is_cut_id, is_visible

ROWS_A_TURN = 250  # timeline rows drawn in one turn of the event loop (~25-80 ms)
# The timeline draws the newest this many events (of those a search matches) and `[` this
# many more each time: every event stays read, searched and exported, but a table of
# 30,000 rows took 4-7 s to fill and a second of CPU each time it re-measured them.
TIMELINE_ROWS = 1_000
# The timeline holds (to draw and search) the newest events whose payloads' JSON fits in
# this many characters, and what `[` reads past them: a payload may be a mebibyte and a log
# has no length limit, and the detail held every event it had read (300 events of 0.9 MiB
# took 860 MB). Events older than what is held are read again only by `[` and the export.
HELD_CHARS = 32 << 20


class ProcessDetailScreen(
    DetailTimeline, DetailLog, DetailValues, ProcessActions, Screen[None]
):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        *ACTION_BINDINGS,
        Binding("slash", "find", "Search"),
        # Listed in `?` rather than the footer: at 80 columns it has no room left for them.
        Binding("i", "show_input", "Input", show=False),
        Binding("o", "show_output", "Output", show=False),
        Binding("r", "toggle_time", "Rel/abs time"),
        Binding("e", "export", "Export"),
        Binding("left_square_bracket", "older", "Older events", show=False),
        *COPY_BINDINGS,
    ]

    def __init__(
        self, dashboard: Dashboard, process_id: str, not_text: ObservedProcess | None = None
    ) -> None:
        """`not_text`: the row opened, when its id is not text (a NULL's, a blob's): read
        by `process_id`, its stand-in's spelling, the registry answers with a text row
        spelled alike where there is one (blob_id.py: the text row wins), so the row as
        the list read it is shown instead of that other one."""
        super().__init__()
        self.dashboard = dashboard
        self.process_id = process_id
        self.not_text = not_text
        self.absolute = False
        self.searching = TimelineSearch()  # `/`: type or payload, any case
        self.making_texts = False
        self.loaded = asyncio.Event()
        self._wake = asyncio.Event()
        self._forced = False  # the next refresh reads, whatever the change mark says
        self._facts: Text | None = None  # the summary as last drawn
        # Read once and then found no longer in the registry (pruned or deleted since): what
        # was read of it is dropped, and no action is offered on it.
        self.gone = False
        self._judge: LeaseOwnerIdentity | None = None  # who judges the holder (`recheck`)
        self._start_reading()

    def _start_reading(self) -> None:
        """What is held of the process and its log, as before the first read. Again once it
        is gone: an id pruned can be registered again, and its log is not the one held."""
        self.process: ObservedProcess | None = None
        self.events: list[ObservedProcessEvent] = []
        self.pending: list[int] = []  # sequences of wakes nobody has taken delivery of
        self.scopes: list[str] = []  # the scope ids holding a grant, as last read
        # The first cancel request: read once, then again only when new events hold one
        # (once made it never changes; the timeline's events say when one arrives).
        self.cancel: ProcessEvent | None = None
        self.cancel_read = False
        # Which process this one re-runs (read once: the link is its first event, made with
        # the row) and the re-runs of it (read each time: an operator may run it again).
        self.rerun_of: RerunLink | None = None
        self.rerun_read = False
        self.reruns: list[RerunLink] = []
        self.after = 0
        self.grants: list[tuple[str, ProcessHandleGrant]] = []
        # The held lease as last read (its fencing token), and its holder's health as the
        # sweep would judge it, judged again at each refresh: a holder dies without a commit.
        self.lease: ProcessLease | None = None
        self.health: str | None = None
        self._cells: dict[str, tuple[str, str]] = {}  # a timeline row's (at, wake) as drawn
        self._payload_room: int | None = None  # the PAYLOAD cells' width, once laid out
        self._by_sequence: dict[str, ObservedProcessEvent] = {}  # the events, by row key
        self._drawn_pending: set[int] = set()  # the wakes drawn as pending
        self._last_row = 0  # the highest sequence given a row
        self.window = TIMELINE_ROWS  # the newest events (matching the search) given rows
        self._window_note: Text | None = None  # says so when the window hides older ones
        self._unordered = False  # a row came in below it: the timeline needs sorting
        # What is held: the newest events whose payloads fit in `_budget` characters (each
        # event's size in `_sizes`), read from the log's end first (`_tail_read`); `older`:
        # events below the oldest held are in the registry, not held.
        self._sizes: dict[int, int] = {}
        self._held_chars = 0
        self._budget = HELD_CHARS  # grows by what `[` reads past it
        self._tail_read = False
        # Whether the timeline follows new events (its cursor was on the newest row when
        # the read began); the rows drawn below a cursor left elsewhere, and not yet seen.
        self._following = True
        self.unseen = 0
        self.older = False
        self.left_out = 0  # events no read of the log returns (`Processes.events_left_out`)
        self._wakes_through = 0  # every wake up to it that is pending is in `pending`

    def compose(self) -> ComposeResult:
        yield Header()
        yield Summary(id="summary")
        yield Input(
            placeholder="show events whose type or payload contains… (any case; Esc clears)",
            id="type-filter",
        )
        yield DataTable(id="timeline", cursor_type="row")
        yield KeyFooter()

    def on_mount(self) -> None:
        timeline = self.query_one("#timeline", DataTable)
        for key, label in TIMELINE_COLUMNS:
            timeline.add_column(label, key=key)
        timeline.focus()
        self.run_worker(self.refresh_detail(), group="refresh", name="refresh_detail")
        self.set_interval(1.0, self.tick)

    def target(self) -> ObservedProcess | None:
        return self.process

    def target_id(self) -> str:
        return self.process_id

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.gone and action in TARGETED:
            return None  # dimmed; pressed, it says why (`on_key`)
        return self.offers(action)

    async def refresh_detail(self) -> None:
        read_at: tuple[int, int] | None = None  # the change mark taken before the last read
        try:
            while True:
                self._wake.clear()  # before the read: a wake during it reads once more
                try:
                    mark = await self.dashboard.processes.change_mark()
                    if self._forced or mark != read_at:
                        self._forced, read_at = False, None  # a failed read is made again
                        await self.read()
                        read_at = mark
                    else:
                        await self.recheck()
                except LashError as error:
                    # Said in place of the summary, until a read draws it again.
                    self._facts, read_at = None, None
                    self.query_one("#summary", Static).update(text.plain(str(error)))
                self.loaded.set()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.dashboard.refresh_s):
                        await self._wake.wait()
        except NoMatches:
            return  # the screen was popped while a read was in flight

    async def recheck(self) -> None:
        """The holder's health, judged again (it changes without a commit: its process
        ends); the summary is drawn again only if it changed."""
        health = await self._judged(self.process)
        if health != self.health:
            self.health = health
            if self.process is not None and self._facts is not None:
                self.paint_summary(self.process)

    async def _judged(self, process: ObservedProcess | None) -> str | None:
        holder = process.lease_holder if process is not None else None
        if holder is None:
            return None
        if self._judge is None:
            self._judge = sweep_identity(self.dashboard.worker)
        # Judging reads /proc: off the event loop.
        return await asyncio.to_thread(owner_health, holder, self._judge)

    def acted(self) -> None:
        self._forced = True  # show the outcome now, not at the next refresh
        self._wake.set()

    def tick(self) -> None:
        """The times move with the clock, between reads: the summary's, and those of the
        timeline rows on screen (a long log's others are set as they scroll into view, at
        the next tick: a pass over 30,000 events each second cost ~40% of a core)."""
        if self.process is not None and self._facts is not None:
            with contextlib.suppress(NoMatches):  # the screen is closing
                self.paint_summary(self.process)
                self._move_times()

    async def read(self) -> None:
        processes = self.dashboard.processes
        process = await processes.get(self.process_id)
        if process is None:
            self._not_there()
            return
        if self.not_text is not None and not is_blob_row(process.undecodable):
            process = self.not_text  # (a text row answered for its spelling: see __init__)
        self.gone = False
        # Its other tables are keyed by the id it was cut from, or by text where its id is a
        # blob (blob_id.py: the read of its events is refused, and was the detail's end).
        if is_cut_id(self.process_id) or is_blob_row(process.undecodable):
            self.show(process, [], [])
            self._tail_read = True
            return
        # (A read that fails before its events are held is made again whole: from the end.)
        events = await (self._read_new() if self._tail_read else self._read_tail())
        grants = await processes.registry.handle_grant_scopes(self.process_id)
        leases = await processes.registry.get_process_leases([self.process_id])
        self.lease = leases.get(self.process_id)
        self.health = await self._judged(process)
        # Past the oldest wake still pending, or past the last event read when none is: an
        # event at or below it cannot become pending (events and acks are never taken back),
        # and the search reads every event's bytes (0.4 s a read on a log of 270 MB).
        scanned = min(self.pending, default=self._wakes_through + 1) - 1
        read_through = events[-1].sequence if events else self.after
        self.pending = await processes.pending_wakes(self.process_id, scanned)
        self.left_out = await processes.events_left_out(self.process_id)
        self._wakes_through = max(self._wakes_through, read_through)
        asked = any(event.event_type == CANCEL_REQUESTED for event in events)
        if self.cancel is None and (asked or not self.cancel_read):
            self.cancel = await processes.cancel_request(self.process_id)
            self.cancel_read = True
        if not self.rerun_read:
            self.rerun_of = await processes.rerun_link(self.process_id)
            self.rerun_read = True
        self.reruns = await processes.reruns(self.process_id) if process.terminal else []
        self._following = self.at_newest()
        if len(events) > self.window and not self.searching.needle:
            self._hold(events[: -self.window])  # older than the window: read, not drawn
            events = events[-self.window :]
        # A long log is drawn a share at a time, the loop's other work between: drawn
        # whole, 30,000 events held the loop for 2.7 s.
        for start in range(0, max(len(events), 1), ROWS_A_TURN):
            if start:
                await asyncio.sleep(0)
            share = events[start : start + ROWS_A_TURN]
            last = start + ROWS_A_TURN >= len(events)
            self.show(process, share, grants, follow=self._following and last and bool(events))
        self._tail_read = True

    def _not_there(self) -> None:
        """Say that the process is not in the registry: never was (as far as this screen
        knows), or no longer is. A process pruned while open kept its timeline and its
        actions (`c` said it had ended, `R` asked, then was refused as unknown)."""
        if self.process is not None or self.gone:
            sentence = text.plain(
                "process `", text.data(self.process_id), "` is gone: it is no longer in the "
                "registry (pruned or deleted since it was opened); what was read of it is dropped"
            )
            if not self.gone:
                self.gone = True
                self._start_reading()
                self.searching.texts.clear()
                self.query_one("#timeline", DataTable).clear()
                self.refresh_bindings()
        else:
            sentence = text.plain("there is no process `", text.data(self.process_id), "`")
        self._facts = None  # the tick leaves it said
        self.query_one("#summary", Static).update(sentence)

    def show(
        self,
        process: ObservedProcess,
        events: list[ObservedProcessEvent],
        grants: list[tuple[str, ProcessHandleGrant]],
        *,
        follow: bool = True,
    ) -> None:
        """The row as read and its new `events`; the timeline follows them to its end
        (the last share of a long log does, the ones before it do not)."""
        if process != self.process:
            self.process = process
            self.refresh_bindings()
        self.grants = grants
        self.scopes = [scope_id for scope_id, _ in grants]
        events = self._hold(events)  # (those the budget kept)
        self.render_timeline(follow=follow and bool(events), appended=events)
        self.paint_summary(process)  # (after the timeline: it says what the window holds)
        if events and self.searching.needle:
            self.search()  # the new events' text, for the search

    def paint_summary(self, process: ObservedProcess) -> None:
        """The summary as of now, drawn only when its text changed."""
        now = self.dashboard.clock.now_ms()
        painted = self.query_one("#summary", Summary)
        room = self.room(painted)
        facts = text.joined(
            [
                summary(
                    process, now, self.cancel, read_only=self.dashboard.read_only,
                    paint_=lambda name: paint(painted, name), lease=self.lease,
                    health=self.health, room=room,
                ),
                *rerun_lines(self.rerun_of, self.reruns, now, room),
                grants_line(self.grants, room),
                wakes_line(process, self.pending, room),
                *([self._window_note] if self._window_note is not None else []),
                *unseen_line(self.unseen),
            ]
        )
        if facts != self._facts:
            self._facts = facts
            painted.update(facts)

    def room(self, painted: Summary) -> Room:
        """What the summary's width leaves each stored value (detail_summary.Room): before
        it is laid out, the screen's width less its padding."""
        width = painted.content_region.width or self.app.size.width - 2
        return Room.of(width)

    def on_resize(self) -> None:
        """The values are cut to the summary's width: drawn again for the new one."""
        if self.process is not None and self._facts is not None:
            self.paint_summary(self.process)

    def _note_window(self, matching: int) -> None:
        """What the summary says of the window: nothing while it draws every event."""
        drawn = min(matching, self.window)
        notes = []
        if matching > drawn:
            which = "events" if not self.searching.needle else "matching events"
            notes.append(f"the newest {drawn:,} of {matching:,} {which} shown")
        if self.older and self.events:
            notes.append(
                f"events before #{self.events[0].sequence:,} not held (a log is held up to "
                f"{HELD_CHARS >> 20} MiB of payloads)"
            )
        self._window_note = None
        if notes:
            notes[-1] += f"; [ shows {TIMELINE_ROWS:,} more"
        if self.left_out:
            notes.append(fmt.events_left_out(self.left_out))
        if notes:
            self._window_note = text.plain(f"timeline: {'; '.join(notes)}")

    def action_older(self) -> None:
        """`[`: the timeline's window takes in the next `TIMELINE_ROWS` older events, the
        cursor staying on the event it was on; once it draws every held event, the events
        before them are read first."""
        matching = sum(1 for event in self.events if self.searching.matches(event))
        if matching <= self.window and self.older:
            self.run_worker(self.read_older(), group="older", name="load_older", exclusive=True)
            return
        self.widen()

    def widen(self) -> None:
        self.window += TIMELINE_ROWS
        self.render_timeline()  # (the cursor stays on the event it was on)

    def action_back(self) -> None:
        self.app.pop_screen()

    def on_key(self, event: Key) -> None:
        active = self.active_bindings.get(event.key)
        if self.gone and active is not None and active.binding.action in TARGETED:
            sentence = (
                f"{active.binding.action} is not offered: process {self.process_id} is no "
                "longer in the registry"
            )
            text.say(self, sentence, title="not offered", severity="warning")
            event.stop()
            return
        field = self.query_one("#type-filter", Input)
        if event.key == "escape" and field.has_focus:
            field.value = ""
            field.remove_class("-open")
            self.query_one("#timeline", DataTable).focus()
            event.stop()

    def action_export(self) -> None:
        board = self.dashboard
        export = timeline_export(board.processes, self.process_id, board.clock.now_ms())
        start_export(self, board, export)

    def default_scope(self) -> str:
        """A transfer from the detail starts from the grant it shows, when there is one
        (and its scope id can be typed back: no escaped characters in it)."""
        return next((scope for scope in self.scopes if is_visible(scope)), "")
