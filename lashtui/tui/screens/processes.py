"""The Processes view (home): every process, live, with the engine's state above it.

The change feed is the source: the first pages of `changes_since(0)` fill the table and the
same cursor then brings only what changed. Leases are not process changes (they move on
every claim and renewal), so the lease facts of the listed rows are re-read once a second,
together with re-rendering the clock-relative cells. A paused view keeps its cursor and
catches up on resume.
"""

from __future__ import annotations

import asyncio
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from lashtui.admin import Processes
from lashtui.clock import Clock
from lashtui.errors import LashError
from lashtui.model import ObservedProcess
from lashtui.tui import format as fmt
from lashtui.tui.actions import ProcessActions
from lashtui.tui.screens.detail import ProcessDetailScreen
from lashtui.tui.widgets.process_table import ProcessTable
from lashtui.worker import ProcessWorker

PAGE = 1_000


class ProcessesScreen(ProcessActions, Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Detail"),
        Binding("c", "cancel", "Cancel"),
        Binding("s", "signal", "Signal"),
        Binding("a", "abandon", "Request abandon"),
        Binding("p", "toggle_pause", "Pause"),
    ]

    def __init__(
        self,
        processes: Processes,
        *,
        clock: Clock,
        worker: ProcessWorker | None,
        read_only: bool,
        operator: str,
        refresh_s: float,
    ) -> None:
        super().__init__()
        self.operator = operator
        self.processes = processes
        self.clock = clock
        self.worker = worker
        self.read_only = read_only
        self.refresh_s = refresh_s
        self.paused = False
        self.cursor = 0
        self.last_error: str | None = None
        self.loaded = asyncio.Event()  # set once the first catch-up is on screen

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="engine-status")
        yield ProcessTable(id="process-table")
        yield Footer()

    def on_mount(self) -> None:
        self.run_worker(self.refresh_processes(), group="refresh", name="refresh_processes")
        self.set_interval(1.0, self.tick)
        self.show_status()

    async def refresh_processes(self) -> None:
        try:
            await self._follow_the_feed(self.query_one(ProcessTable))
        except NoMatches:
            return  # the app is closing while a read was in flight

    async def _follow_the_feed(self, table: ProcessTable) -> None:
        while True:
            if not self.paused:
                try:
                    await self.catch_up(table)
                    self.last_error = None
                except LashError as error:
                    self.last_error = str(error)
                self.show_status()
                self.loaded.set()
            await asyncio.sleep(self.refresh_s)

    async def catch_up(self, table: ProcessTable) -> None:
        while True:
            changed, cursor = await self.processes.changes_since(self.cursor, PAGE)
            if not changed:
                return
            table.apply(changed, self.clock.now_ms())
            self.cursor = cursor

    async def tick(self) -> None:
        try:
            await self._tick(self.query_one(ProcessTable))
        except NoMatches:
            return  # the app is closing while a read was in flight

    async def _tick(self, table: ProcessTable) -> None:
        if not self.paused:
            try:
                leases = await self.processes.registry.get_process_leases(list(table.processes))
            except LashError as error:
                self.last_error = str(error)
            else:
                table.apply_leases(leases, self.clock.now_ms())
        table.tick(self.clock.now_ms())
        self.show_status()

    def show_status(self) -> None:
        table = self.query_one(ProcessTable)
        states = [fmt.state(p) for p in table.processes.values()]
        counts = "  ".join(f"{s} {states.count(s)}" for s in fmt.BADGES if states.count(s))
        parts = [self.engine_state(), counts or "no processes"]
        if self.paused:
            parts.insert(0, "PAUSED")
        if self.last_error:
            parts.append(f"error: {self.last_error}")
        self.query_one("#engine-status", Static).update("  ·  ".join(parts))

    def engine_state(self) -> str:
        if self.read_only:
            return "read-only: observing, no actions"
        if self.worker is None:
            return "observer: no embedded worker"
        in_flight, drives = len(self.worker.in_flight), self.worker.stats.drives
        return f"worker {fmt.owner(self.worker.owner)}: {in_flight} in flight, {drives} drives"

    def target(self) -> ObservedProcess | None:
        table = self.query_one(ProcessTable)
        selected = table.selected_id
        return table.processes.get(selected) if selected else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.offers(action)

    def on_process_table_process_selected(self) -> None:
        self.refresh_bindings()

    def on_data_table_row_selected(self) -> None:
        self.action_open()

    def action_open(self) -> None:
        process = self.target()
        if process is None:
            return
        detail = ProcessDetailScreen(
            self.processes,
            process.process_id,
            clock=self.clock,
            read_only=self.read_only,
            operator=self.operator,
            refresh_s=self.refresh_s,
        )
        self.app.push_screen(detail)

    def action_toggle_pause(self) -> None:
        self.paused = not self.paused
        self.show_status()
