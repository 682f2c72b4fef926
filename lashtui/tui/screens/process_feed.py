"""How the Processes view follows the registry. Three loops keep it current without polling
storms:
- the change feed: a census gives the counts and a cursor, then every wake-up (a commit
  seen by `registry_changes`, or at the latest every `refresh_s`) reads only what changed
  since the cursor, moves the counts and updates the rows inside the window;
- a once-a-second tick re-reads the window (leases, grants and pruned rows change without
  a feed entry) and re-renders the clock-relative cells;
- paging: when the cursor leaves the window, the next keyset page is read (processes.py).
All three hold `reading`, so a slow read can never lay older rows over newer ones. A paused
view keeps its cursor and catches up on resume.

The selected process stays selected while it is in the list, wherever it moves: a change
that takes it out of the window's range (it ended, in status order; a renewal, in lease
order) reads the window again around it, as `:goto` does. One that takes it out of the list
(it no longer matches the filters; pruned) leaves no row selected, rather than the one that
took its place: the status line says so, and the next cursor key selects a row again.

A mixin of `ProcessesScreen`, kept apart because it is the part of the view that reads the
registry, where the view's other parts read the operator's keys.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING

from textual.css.query import NoMatches

from lashtui.errors import LashError
from lashtui.model.audit import AuditQuery
from lashtui.registry.watch import registry_changes
from lashtui.tui.counts import StateCounts
from lashtui.tui.row_key import key_id, row_key
from lashtui.tui.screens.mixin import ScreenMixin
from lashtui.tui.window import matches

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from lashtui.model import ObservedProcess, ProcessPageQuery
    from lashtui.tui.context import Dashboard
    from lashtui.tui.window import ProcessWindow

FEED_PAGE = 1_000
WATCH_AGAIN_S = 1.0  # after the registry failed to be watched (`refresh_on_commit`)
RECOUNT_S = 60.0  # a fresh census now and then (a prune that left no mark, lash's own)
# How often at most a commit that changed no row makes the view look for a prune made
# elsewhere (`_pruned_elsewhere`) and for a change clock moved back (`_look_elsewhere`).
PRUNE_LOOK_S = 1.0
# The least time between two censuses taken because the view saw rows vanish or the change
# clock move back (`_recount_if_due`): a program deleting rows every second would otherwise
# have a million-row registry counted every second (~50 ms a census there).
RECOUNT_SOON_S = 2.0
# The most vanished rows the view looks up to tell deleted rows from rows that moved out of
# its range (`_vanished`): a few suffice, and each is read whole.
VANISHED_LOOKED_UP = 16


class ProcessFeed(ScreenMixin):
    if TYPE_CHECKING:  # provided by ProcessesScreen and ProcessStatus
        dashboard: Dashboard
        window: ProcessWindow
        reading: asyncio.Lock
        wake: asyncio.Event
        counts: StateCounts | None
        cursor: int
        _prune_mark: str | None
        _prune_looked: float
        _census_at: float
        _recount_due: bool
        _rewind: bool
        _reread_mark: tuple[int, int] | None
        paused: bool
        last_error: str | None
        loaded: asyncio.Event
        applied: int

        @property
        def page_query(self) -> ProcessPageQuery: ...
        def selected_id(self) -> str | None: ...
        def anchor_id(self) -> str | None: ...
        def render_window(self, select: str | None = None, *, retime: bool = True) -> None: ...
        def show_status(self) -> None: ...

    async def refresh_processes(self) -> None:
        try:
            await self._start()
            while True:
                try:
                    async with asyncio.timeout(self.dashboard.refresh_s):
                        await self.wake.wait()
                except TimeoutError:
                    pass
                self.wake.clear()
                if not self.paused:
                    await self._read(self.catch_up)
        except NoMatches:
            return  # the app is closing while a read was in flight

    async def refresh_on_commit(self) -> None:
        """Wake the feed as soon as another process commits (a watch on the WAL, with a
        `data_version` poll as the fallback). A registry that cannot be read (deleted,
        replaced by another file, locked) is said in the status line, as a failed read is,
        and watched again a little later: it ended the dashboard with a traceback."""
        while True:
            try:
                async for _ in registry_changes(self.dashboard.processes.registry):
                    self.wake.set()
            except LashError as error:
                self.last_error = self.dashboard.pulse.error = str(error)
                with contextlib.suppress(NoMatches):  # (the app is closing)
                    self.show_status()
                await asyncio.sleep(WATCH_AGAIN_S)
                self.wake.set()  # (a read then says whether the registry is back)

    async def _start(self) -> None:
        await self._read(self.recount)
        await self._read(self.reload)
        self.loaded.set()

    async def _read(self, step: Callable[[], Awaitable[None]]) -> None:
        """Run one read step, timing it and keeping its error for the status line."""
        started = time.perf_counter()
        try:
            await step()
        except LashError as error:
            self.last_error = self.dashboard.pulse.error = str(error)
        else:
            pulse = self.dashboard.pulse
            pulse.read_latency_ms = (time.perf_counter() - started) * 1000
            if self.dashboard.observer is not None:
                self.dashboard.observer.read(step.__name__, pulse.read_latency_ms / 1000)
            pulse.last_read_ms = self.dashboard.clock.now_ms()
            self.last_error = pulse.error = None
        self.show_status()

    async def recount(self) -> None:
        async with self.reading:
            await self._take_census()
        self.show_status()

    async def _take_census(self) -> None:
        if self._prune_mark is None:  # (a prune before the first census is in it)
            self._prune_mark = await self._last_prune()
        census = await self.dashboard.processes.census()
        if self.counts is None or self._rewind:
            self.cursor = census.cursor  # the feed continues exactly where it counted
        self.counts = StateCounts(census, self.dashboard.clock.now_ms())
        self._census_at = time.monotonic()
        self._recount_due = self._rewind = False

    async def _recount_if_due(self) -> None:
        """The census owed, unless one was taken less than `RECOUNT_SOON_S` ago (then at a
        later read: the tick re-reads every second). Under `reading`."""
        if self._recount_due and time.monotonic() - self._census_at >= RECOUNT_SOON_S:
            await self._take_census()

    async def _look_elsewhere(self) -> None:
        """After a feed read that found nothing, at most every `PRUNE_LOOK_S`: whether
        another program pruned (`_pruned_elsewhere`), or moved the change clock back (the
        file restored from an older copy, another program renumbering). Then a census is
        owed: the feed reports no deleted row, and below the view's cursor it reports no
        change at all, so the counts kept deleted rows, and missed every change, until the
        census a minute later. After a clock moved back the feed follows on from the
        census's cursor."""
        now = time.monotonic()
        if now - self._prune_looked >= PRUNE_LOOK_S:
            if await self._pruned_elsewhere():
                self._recount_due = True
            if await self.dashboard.processes.registry.change_cursor() < self.cursor:
                self._recount_due = self._rewind = True
        await self._recount_if_due()

    async def _last_prune(self) -> str:
        """The newest prune in lashtui's audit trail ("" for none, or no trail)."""
        query = AuditQuery(action="prune", limit=1)
        page = await self.dashboard.processes.registry.operator_actions(query)
        return page.entries[0].id if page.entries else ""

    async def _pruned_elsewhere(self) -> bool:
        """Whether another program pruned since the last look. The feed reports no deleted
        row, so the counts kept the pruned rows until the next census, a minute later
        (and the Errors view, which reads afresh, disagreed meanwhile); every prune lashtui
        makes is in its audit trail. Looked at by `_look_elsewhere`, when a commit changed
        no row (a prune's does not)."""
        self._prune_looked = time.monotonic()
        mark = await self._last_prune()
        moved = self._prune_mark is not None and mark != self._prune_mark
        self._prune_mark = mark
        return moved

    async def reload(self, anchor: str | None = None) -> None:
        """Read the window again around `anchor` (else the selection), and select the
        anchor, or the nearest row after it if it is not shown."""
        async with self.reading:
            anchor = anchor or self.anchor_id()
            await self.window.load(self.page_query, anchor)
            select = self.window.nearest(anchor) if anchor is not None else None
            self.render_window(select=select)

    async def catch_up(self) -> None:
        async with self.reading:
            first = True  # (the feed's first page: empty when the commit changed no row)
            while True:
                changed, cursor = await self.dashboard.processes.changes_since(
                    self.cursor, FEED_PAGE
                )
                if not changed:
                    if first:
                        await self._look_elsewhere()
                    return
                first = False
                self.cursor = cursor
                if self.counts is not None:
                    self.counts.apply(changed)
                    if self.counts.stale:  # (an ended row's column lost its state)
                        await self._take_census()
                selected = self.selected_id()
                if self.window.apply(changed):
                    moved = selected in self.window.departed
                    followed = await self._follow(selected) if moved else None
                    self.render_window(select=followed, retime=followed is None)
                    self._report_applied(changed)
                self.applied += 1
                self.dashboard.pulse.last_change_ms = self.dashboard.clock.now_ms()

    async def _follow(self, selected: str | None) -> str | None:
        """The window read again around the selected process, which left the window's range
        but not the list; it, when the window then holds it and the operator has not moved
        the cursor meanwhile (else None: the table keeps the operator's row, or selects
        none). The cursor stayed at the row's index, on another process, and `c` asked to
        cancel that one."""
        if selected is None:
            return None
        await self.window.load(self.page_query, selected)
        if selected not in self.window.rows or self.selected_id() != selected:
            return None
        return selected

    def _report_applied(self, changed: list[ObservedProcess]) -> None:
        observer = self.dashboard.observer
        if observer is not None:
            shown = [p.process_id for p in changed if row_key(p) in self.window.rows]
            if shown:
                self.call_after_refresh(observer.applied, shown)

    async def tick(self) -> None:
        if self not in self.app.screen_stack:
            # Another view is on screen: the clock cells are redrawn on resume, not every
            # second (under a dialog of its own the table still shows, and still ticks).
            return
        try:
            if not self.paused and self.is_current:
                await self._read(self._reread)
                # Re-reading the window (building and comparing ~300 rows) and repainting
                # it are each 5-10 ms on the loop: a turn between them keeps them from
                # adding up to one long stall (D3, benchmarks/d3_loop_lag.py).
                await asyncio.sleep(0)
            self.render_window()
        except NoMatches:
            return  # the app is closing while a read was in flight

    def on_screen_resume(self) -> None:
        """Back on screen: the clock cells as of now, before the next tick."""
        if self.loaded.is_set():
            with contextlib.suppress(NoMatches):
                self.render_window()

    async def _reread(self) -> None:
        """The window read again, unless nothing has committed since the last re-read:
        then it would read what it holds (its leases, grants and rows change only with a
        commit; ages and countdowns are computed as the window is shown). Re-read every
        second regardless, an idle window over a registry with one stored id of 400 MB
        kept a core busy loading that id (SQLite loads a spilled key to compare it)."""
        async with self.reading:
            mark = await self.dashboard.processes.change_mark()
            if mark == self._reread_mark:
                return
            self._reread_mark = None  # (a re-read that fails is made again next time)
            selected = self.selected_id()
            held = set(self.window.rows)
            await self.window.reread()
            await self._vanished(held.difference(self.window.rows))
            await self._recount_if_due()
            if selected is not None and selected not in self.window.rows:
                # Moved out of the range without a feed entry (a lease renewal, in lease
                # order), or left the list (pruned; a grant taken away): followed if it is
                # still in the list.
                found = await self.dashboard.processes.get(key_id(selected))
                # (read by its spelling, a not-text row's may be answered by a text row)
                found = found if found is not None and row_key(found) == selected else None
                belongs = found is not None and matches(self.page_query, found) is not False
                if belongs and (followed := await self._follow(selected)):
                    self.render_window(select=followed)
            self._reread_mark = mark

    async def _vanished(self, gone: set[str]) -> None:
        """Rows the window held and its re-read did not find: deleted by another program
        (lash's own prune, an operator's sqlite3), which the feed does not report and the
        counts still held, or moved out of the window's range. A few are looked up, and a
        census is owed if one is gone from the registry."""
        if not gone or self.counts is None or self._recount_due:
            return
        looked = sorted({key_id(key) for key in gone})[:VANISHED_LOOKED_UP]
        found = await self.dashboard.processes.observe(looked)
        if len(found) < len(looked):
            self._recount_due = True

    async def _reread_now(self) -> None:
        """`_reread`, whether or not anything has committed since."""
        self._reread_mark = None
        await self._reread()
