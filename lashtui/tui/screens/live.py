"""What the Leases, Abandon requests and Health views share: a refresh loop that reads the
registry only while its view is on screen.

A view reads once on mount (so it is ready when first shown), then every `refresh_s` while
it is current, and at once when it comes back on screen; a view in another mode, or under
the process detail, costs no registry reads. A one-second tick re-renders the clock-relative
cells (countdowns, ages) from what was last read, without reading again. A view with a `p`
binding pauses: it reads nothing until resumed, and renders as of its last read (pause.py).

A view whose rows only a commit can change (`READS_ON_COMMIT`: the Leases, Abandon requests
and Audit views, a group of the Errors view) reads again only when the registry's change
mark has moved since its last read (`Processes.change_mark`: any connection's commit, this
handle's own included), or when its clock alone may have moved its rows (`clock_moved`),
and then no sooner than `READ_SHARE` times as long as its last read took. Reading on every
refresh was a polling storm on a big registry: left on the Leases view, a dashboard over
1,000,000 rows that nothing was writing spent ~47% of a core re-reading the same rows
four times a second (the lease table's scan and a thousand records decoded each time), the
Abandon requests view ~35%, and on PostgreSQL the server a share of one too. Between reads
a view re-checks what changes without a commit (`recheck`: the Leases view's owner health,
read from /proc).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import ClassVar

from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Static

from lashtui.errors import LashError
from lashtui.tui import pause, text
from lashtui.tui.context import Dashboard
from lashtui.untrusted import visible_clipped

TICK_S = 1.0
LOST_CHARS = 60  # of the id of a selected process that left its list, in a status line
# A re-read waits at least this many times as long as the last one took: on a registry
# that changes all the time, a view whose read is long takes at most a sixth of a core.
READ_SHARE = 5


class LiveScreen(Screen[None]):
    """A view that `load`s from the registry and `show`s what it loaded for a given now.

    Textual runs `on_mount` of every class in the MRO, so a subclass must not call
    `super().on_mount()` (the refresh worker would start twice); the first table gets the
    focus through `AUTO_FOCUS`."""

    REFRESH_WORKER: ClassVar[str]  # `refresh_<view>`, the name of the refresh worker
    # Whether what `load` reads changes only by a commit (or by the clock, `clock_moved`):
    # then a refresh reads only once the registry's change mark has moved.
    READS_ON_COMMIT: ClassVar[bool] = False

    def __init__(self, dashboard: Dashboard) -> None:
        super().__init__()
        self.dashboard = dashboard
        self.loaded = asyncio.Event()  # set once the first read is on screen
        self.error: str | None = None  # the last read's LashError, shown in the view
        self.paused = False
        self.read_at_ms: int | None = None  # clock time of the last read
        self._wake = asyncio.Event()
        self._forced = False  # the next refresh reads, whatever the change mark says
        # The change mark taken before the last read, when that read started (monotonic
        # seconds) and how long it took: what `_due` judges the next refresh by.
        self._mark: tuple[int, int] | None = None
        self._read_s = 0.0
        self._took_s = 0.0
        self._said: dict[str, text.Words] = {}

    @property
    def refresh_s(self) -> float:
        return self.dashboard.refresh_s

    async def load(self) -> None:
        """Read what the view shows from the registry (a `LashError` is shown, not raised)."""
        raise NotImplementedError

    def show(self, now_ms: int) -> None:
        """Render what was last loaded, as of `now_ms`."""
        raise NotImplementedError

    def clock_moved(self, now_ms: int) -> bool:
        """For a `READS_ON_COMMIT` view whose rows the clock alone can change too (a lease
        lapsing adds a row to the Abandon requests view without a commit): whether it may
        have since the last read. By default the clock moves only cells, which `show`
        computes for its `now_ms`."""
        return False

    async def recheck(self) -> None:
        """Between reads of a `READS_ON_COMMIT` view: bring up to date what changes without
        a commit and without reading the registry (nothing, unless a view says)."""

    def on_mount(self) -> None:
        self.run_worker(self._follow(), group="refresh", name=self.REFRESH_WORKER)
        self.set_interval(TICK_S, self.tick)

    def on_screen_resume(self) -> None:
        # Back on screen: its clock cells as of now at once (the tick would take up to a
        # second, and nothing may be read), then a refresh now rather than at the end of
        # the current wait (it reads if the registry moved meanwhile).
        if self.loaded.is_set():
            with contextlib.suppress(NoMatches):
                self.show(self.now_ms())
        self._wake.set()

    def wake(self) -> None:
        """Read again now (after an action, or a new query), not at the end of the current
        wait, whether or not the change mark has moved."""
        self._forced = True
        self._wake.set()

    async def _follow(self) -> None:
        first = True
        try:
            while True:
                self._wake.clear()  # before the read: a wake during it reads once more
                if first or (self.is_current and not self.paused):
                    forced, self._forced = first or self._forced, False
                    first = False
                    await self._refresh(forced)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.refresh_s):
                        await self._wake.wait()
        except NoMatches:
            return  # the app is closing while a read was in flight

    async def _refresh(self, forced: bool = True) -> None:
        error = self.error
        # A refresh that read nothing leaves the rendering to the once-a-second tick (which
        # shows what `recheck` found): re-rendering a thousand rows four times a second to
        # draw the same cells was most of what an idle view still cost.
        if await self._read(forced) or self.error != error or not self.loaded.is_set():
            self.show(self.now_ms())
        self.loaded.set()

    async def _read(self, forced: bool = True) -> bool:
        """Read what the view shows, unless a `READS_ON_COMMIT` view's registry has not
        moved; whether it read (a failed read counts: it has an error to show)."""
        clock = self.dashboard.clock
        try:
            mark = None
            if self.READS_ON_COMMIT:
                # Taken before the read, so a commit the read misses moves it for the next.
                mark = await self.dashboard.processes.change_mark()
                due = forced or self._due(mark, clock.now_ms())
                if due is not True:
                    await self.recheck()
                    if due is None:  # nothing moved since a read that loaded: it stands,
                        self.error = None  # and is what a read would return now
                        self.read_at_ms = clock.now_ms()
                    return False
            started = time.monotonic()
            self._mark = None  # a read that fails is made again at the next refresh
            await self.load()
            self._mark, self._read_s, self._took_s = mark, started, time.monotonic() - started
            self.error = None
            self.read_at_ms = clock.now_ms()
        except LashError as error:
            self.error = str(error)
        return True

    def _due(self, mark: tuple[int, int], now_ms: int) -> bool | None:
        """Whether a refresh of a `READS_ON_COMMIT` view reads: True; False when it must but
        not yet (its last read was long, `READ_SHARE`); None when nothing has moved."""
        # (Such a view's `read_at_ms` moves only when it loads: see `_read`.)
        if mark == self._mark and not self.clock_moved(now_ms):
            return None
        return time.monotonic() - self._read_s >= READ_SHARE * self._took_s

    @property
    def unread(self) -> bool:
        """No read of this view has loaded yet (its first failed): it holds nothing of the
        registry's, so it shows the error alone, with no count and no "none held"."""
        return self.read_at_ms is None

    @property
    def known_empty(self) -> bool:
        """Whether a view may say that it has no rows: only while its last read loaded (or
        stands). A read that failed leaves what was read before on screen, with the error,
        but claims no emptiness: the Leases view said "no leases held", where two were, next
        to the error of a first read of a registry deleted meanwhile."""
        return self.error is None and not self.unread

    def now_ms(self) -> int:
        """The time the clock-relative cells are computed for (pause.py)."""
        return pause.as_of(self.paused, self.read_at_ms, self.dashboard.clock.now_ms())

    @property
    def frozen(self) -> bool:
        """Paused with rows read: the clock-relative cells are as of that read, greyed."""
        return self.paused and self.read_at_ms is not None

    def hide_when_empty(self, table: Widget, empty: bool, state: str) -> None:
        """Set the screen class `state` that hides `table` (app.tcss) while `empty`, keeping
        the keys working. Hidden while focused, a list handed its focus on to the next field
        (the Audit view's open filter: `s` typed into it) or to nothing; and a list shown
        again was left unfocused, so the arrows and Enter did nothing (a Leases view opened
        with no lease held stayed so once leases came). Now the list gives up its focus
        before it is hidden, and takes it when it is shown and nothing else has it."""
        if empty and table.has_focus:
            self.set_focus(None)
        self.set_class(empty, state)
        if not empty and self.focused is None and self.is_current:
            table.focus()

    def paused_note(self) -> list[str]:
        """The words a view's status line starts with while it is paused."""
        return [pause.PAUSED] if self.paused else []

    @staticmethod
    def lost_note(lost: str | None) -> list[str]:
        """What a status line says while the selected process left its table's rows
        (`KeyedTable.lost`, here as the process id): no row is selected."""
        if lost is None:
            return []
        shown = visible_clipped(lost, LOST_CHARS)
        return [f"{shown} left the list: no process selected (↑/↓ select one)"]

    def action_toggle_pause(self) -> None:
        if not self.paused:
            self.paused = True
            self.show(self.now_ms())  # freeze (and grey) the clock-relative cells now
        else:
            self.run_worker(self._resume(), group="refresh", name="refresh_on_resume")

    async def _resume(self) -> None:
        """Read before the clock moves the cells again: what was held through the pause is
        as old as the pause, and a lease renewed meanwhile is not lapsed."""
        try:
            await self._read()
            self.paused = False
            self.show(self.now_ms())
        except NoMatches:
            return  # the app is closing

    def say(self, selector: str, words: text.Words) -> None:
        """Set a Static's text, only if it changed: a view re-rendered every refresh stays
        idle (no repaint, no layout) while nothing moves. The words may quote stored text
        (an error, an id): they are shown through `text.plain`, never as markup."""
        if self._said.get(selector) != words:
            self._said[selector] = words
            self.query_one(selector, Static).update(text.words(words))

    def tick(self) -> None:
        if not self.is_current or not self.loaded.is_set():
            return
        with contextlib.suppress(NoMatches):  # the app is closing
            self.show(self.now_ms())

    # A view's table rows: moving the cursor re-checks which keys apply (the footer dims
    # the rest), and Enter or a click opens the row (`action_open`). Textual runs a message
    # handler of every class in the MRO, so a view overrides `opened_process_id` or
    # `action_open`, never these two.
    def on_data_table_row_highlighted(self) -> None:
        self.refresh_bindings()

    def on_data_table_row_selected(self) -> None:
        self.action_open()

    def opened_process_id(self) -> str | None:
        """The process the row under the cursor opens; None when it opens nothing."""
        return None

    def action_open(self) -> None:
        process_id = self.opened_process_id()
        if process_id is not None:
            # Imported here: the detail is a screen of its own and imports much more.
            from lashtui.tui.screens.detail import ProcessDetailScreen

            self.app.push_screen(ProcessDetailScreen(self.dashboard, process_id))
