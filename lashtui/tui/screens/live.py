"""What the Leases, Abandon requests and Health views share: a refresh loop that reads the
registry only while its view is on screen.

A view reads once on mount (so it is ready when first shown), then every `refresh_s` while
it is current, and at once when it comes back on screen; a view in another mode, or under
the process detail, costs no registry reads. A one-second tick re-renders the clock-relative
cells (countdowns, ages) from what was last read, without reading again. A view with a `p`
binding pauses: it reads nothing until resumed, and renders as of its last read (pause.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import ClassVar

from rich.text import Text
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Static

from lashtui.errors import LashError
from lashtui.tui import pause, text
from lashtui.tui.context import Dashboard

TICK_S = 1.0


class LiveScreen(Screen[None]):
    """A view that `load`s from the registry and `show`s what it loaded for a given now.

    Textual runs `on_mount` of every class in the MRO, so a subclass must not call
    `super().on_mount()` (the refresh worker would start twice); the first table gets the
    focus through `AUTO_FOCUS`."""

    REFRESH_WORKER: ClassVar[str]  # `refresh_<view>`, the name of the refresh worker

    def __init__(self, dashboard: Dashboard) -> None:
        super().__init__()
        self.dashboard = dashboard
        self.loaded = asyncio.Event()  # set once the first read is on screen
        self.error: str | None = None  # the last read's LashError, shown in the view
        self.paused = False
        self.read_at_ms: int | None = None  # clock time of the last read
        self._wake = asyncio.Event()
        self._said: dict[str, str | Text] = {}

    @property
    def refresh_s(self) -> float:
        return self.dashboard.refresh_s

    async def load(self) -> None:
        """Read what the view shows from the registry (a `LashError` is shown, not raised)."""
        raise NotImplementedError

    def show(self, now_ms: int) -> None:
        """Render what was last loaded, as of `now_ms`."""
        raise NotImplementedError

    def on_mount(self) -> None:
        self.run_worker(self._follow(), group="refresh", name=self.REFRESH_WORKER)
        self.set_interval(TICK_S, self.tick)

    def on_screen_resume(self) -> None:
        self.wake()  # back on screen: read now, not at the end of the current wait

    def wake(self) -> None:
        """Read again now (after an action, say), not at the end of the current wait."""
        self._wake.set()

    async def _follow(self) -> None:
        first = True
        try:
            while True:
                self._wake.clear()  # before the read: a wake during it reads once more
                if first or (self.is_current and not self.paused):
                    first = False
                    await self._refresh()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.refresh_s):
                        await self._wake.wait()
        except NoMatches:
            return  # the app is closing while a read was in flight

    async def _refresh(self) -> None:
        await self._read()
        self.show(self.now_ms())
        self.loaded.set()

    async def _read(self) -> None:
        try:
            await self.load()
            self.error = None
            self.read_at_ms = self.dashboard.clock.now_ms()
        except LashError as error:
            self.error = str(error)

    def now_ms(self) -> int:
        """The time the clock-relative cells are computed for (pause.py)."""
        return pause.as_of(self.paused, self.read_at_ms, self.dashboard.clock.now_ms())

    @property
    def frozen(self) -> bool:
        """Paused with rows read: the clock-relative cells are as of that read, greyed."""
        return self.paused and self.read_at_ms is not None

    def paused_note(self) -> list[str]:
        """The words a view's status line starts with while it is paused."""
        return [pause.PAUSED] if self.paused else []

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

    def say(self, selector: str, words: str | Text) -> None:
        """Set a Static's text, only if it changed: a view re-rendered every refresh stays
        idle (no repaint, no layout) while nothing moves. The words may quote stored text
        (an error, an id): they are shown through `text.plain`, never as markup."""
        if self._said.get(selector) != words:
            self._said[selector] = words
            self.query_one(selector, Static).update(text.plain(words))

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
