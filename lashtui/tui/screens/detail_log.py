"""What the detail holds of a process's event log: its newest events whose payloads fit a
budget of characters (`HELD_CHARS`, detail.py), read from the log's end, the oldest held
leaving once new ones pass it; `[` reads the page before the oldest held and grows the
budget by it. A mixin of `ProcessDetailScreen`, kept apart because it is the part of the
screen that bounds its memory: a payload may be a mebibyte and a log has no length limit,
and the detail held every event it had read (300 events of 0.9 MiB took 860 MB). Events
older than what is held stay in the registry, read again only by `[` and the export.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

import pydantic_core
from textual.css.query import NoMatches
from textual.widgets import DataTable

from lashtui.errors import LashError
from lashtui.tui import text
from lashtui.tui.screens.mixin import ScreenMixin

if TYPE_CHECKING:
    from lashtui.model import ObservedProcessEvent
    from lashtui.tui.context import Dashboard
    from lashtui.tui.timeline_search import TimelineSearch


def payload_sizes(events: list[ObservedProcessEvent]) -> list[int]:
    """Each event's payload as JSON, in bytes (pydantic-core's encoder: no text is built)."""
    return [len(pydantic_core.to_json(event.payload)) for event in events]


class DetailLog(ScreenMixin):
    if TYPE_CHECKING:  # provided by ProcessDetailScreen and DetailTimeline
        dashboard: Dashboard
        process_id: str
        searching: TimelineSearch
        events: list[ObservedProcessEvent]
        after: int
        older: bool
        _budget: int
        _sizes: dict[int, int]
        _held_chars: int
        _by_sequence: dict[str, ObservedProcessEvent]
        _cells: dict[str, tuple[str, str]]

        def widen(self) -> None: ...
        def search(self) -> None: ...
        def render_timeline(
            self,
            *,
            follow: bool = False,
            every_time: bool = False,
            appended: list[ObservedProcessEvent] | None = None,
        ) -> None: ...

    async def _read_tail(self) -> list[ObservedProcessEvent]:
        """The log's newest events that fit in the budget, read from its end a page at a
        time: a log of gigabytes opens as fast as its last few mebibytes."""
        pages: list[list[ObservedProcessEvent]] = []
        chars, before = 0, None
        while chars < self._budget:
            page = await self.dashboard.processes.events_before(self.process_id, before)
            if not page:
                break
            chars += await self._measure(page)
            pages.append(page)
            before = page[0].sequence
        self.older = chars >= self._budget and before is not None and before > 1
        return [event for page in reversed(pages) for event in page]

    async def _read_new(self) -> list[ObservedProcessEvent]:
        """The events since the last read (a page at a time); of a burst past the budget only
        its newest that fit are kept, and then nothing held before it."""
        new: list[ObservedProcessEvent] = []
        chars = 0
        async for page in self.dashboard.processes.event_pages(self.process_id, self.after):
            chars += await self._measure(page)
            new += page
            while chars > self._budget and len(new) > 1:
                chars -= self._sizes.pop(new.pop(0).sequence, 0)
                self._trim(len(self.events))  # what is held is older than what was dropped
        return new

    async def _measure(self, events: list[ObservedProcessEvent]) -> int:
        """Note the size of each event's payload (its JSON, made on a thread); their sum."""
        sizes = await asyncio.to_thread(payload_sizes, events)
        self._sizes.update(zip((event.sequence for event in events), sizes, strict=True))
        return sum(sizes)

    def _hold(self, events: list[ObservedProcessEvent]) -> list[ObservedProcessEvent]:
        """New events into the log the timeline is drawn from; the oldest held leave once
        it passes the budget (one event always stays). The new events still held."""
        self.events.extend(events)
        self._by_sequence.update((str(event.sequence), event) for event in events)
        self._held_chars += sum(self._sizes.get(event.sequence, 0) for event in events)
        if events:
            self.after = events[-1].sequence
        count = 0
        chars = self._held_chars
        while chars > self._budget and count < len(self.events) - 1:
            chars -= self._sizes.get(self.events[count].sequence, 0)
            count += 1
        self._trim(count)
        first = self.events[0].sequence if self.events else 0
        return [event for event in events if event.sequence >= first]

    def _trim(self, count: int) -> None:
        """The oldest `count` held events leave (their rows too): they stay in the registry."""
        if count <= 0:
            return
        gone, self.events = self.events[:count], self.events[count:]
        timeline = self.query_one("#timeline", DataTable)
        for event in gone:
            key = str(event.sequence)
            self._held_chars -= self._sizes.pop(event.sequence, 0)
            self._by_sequence.pop(key, None)
            self.searching.texts.pop(event.sequence, None)
            if key in timeline.rows:
                timeline.remove_row(key)
                self._cells.pop(key, None)
        self.older = True

    async def read_older(self) -> None:
        """A page of the events before the oldest held, held too (the budget grows by it:
        they were asked for), then drawn."""
        first = self.events[0].sequence if self.events else None
        try:
            page = await self.dashboard.processes.events_before(self.process_id, first)
            chars = await self._measure(page)
        except LashError as error:
            text.say(self, str(error), title="older events", severity="error")
            return
        if first != (self.events[0].sequence if self.events else None):
            return  # new events pushed the oldest held out meanwhile: `[` reads again
        with contextlib.suppress(NoMatches):  # (the screen was closed meanwhile)
            self._take_older(page, chars)

    def _take_older(self, page: list[ObservedProcessEvent], chars: int) -> None:
        if not page:
            self.older = False
            text.say(self, "no older events", title="older events")
            self.render_timeline()
            return
        self._budget += chars
        self._held_chars += chars
        self.events[:0] = page
        self._by_sequence.update((str(event.sequence), event) for event in page)
        self.older = page[0].sequence > 1
        if self.searching.needle:
            self.search()  # their text, for the search
        self.widen()
