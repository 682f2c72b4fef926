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
from textual.events import Key
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, Static

from lashtui.errors import LashError
from lashtui.model import ObservedProcess
from lashtui.tui import format as fmt
from lashtui.tui.actions import ProcessActions
from lashtui.tui.context import Dashboard
from lashtui.tui.screens.detail import ProcessDetailScreen
from lashtui.tui.widgets.process_table import ProcessTable

PAGE = 1_000
STATUS_FILTERS = ("all", "running", "waiting", "terminal")


class ProcessesScreen(ProcessActions, Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Detail"),
        Binding("c", "cancel", "Cancel"),
        Binding("s", "signal", "Signal"),
        Binding("a", "abandon", "Request abandon"),
        Binding("slash", "find", "Filter"),
        Binding("f", "cycle_status", "Status"),
        Binding("p", "toggle_pause", "Pause"),
        Binding("question_mark", "app.help", "Help"),
    ]

    def __init__(self, dashboard: Dashboard) -> None:
        super().__init__()
        self.dashboard = dashboard
        self.paused = False
        self.cursor = 0
        self.last_error: str | None = None
        self.loaded = asyncio.Event()  # set once the first catch-up is on screen
        self.text = ""
        self.status = STATUS_FILTERS[0]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="engine-status")
        yield Input(placeholder="filter by id, label or scope (Esc clears)", id="filter")
        yield ProcessTable(id="process-table")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(ProcessTable).focus()  # keys go to the list, not the hidden filter
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
            await asyncio.sleep(self.dashboard.refresh_s)

    async def catch_up(self, table: ProcessTable) -> None:
        while True:
            changed, cursor = await self.dashboard.processes.changes_since(self.cursor, PAGE)
            if not changed:
                return
            table.apply(changed, self.dashboard.clock.now_ms())
            self.cursor = cursor

    async def tick(self) -> None:
        try:
            await self._tick(self.query_one(ProcessTable))
        except NoMatches:
            return  # the app is closing while a read was in flight

    async def _tick(self, table: ProcessTable) -> None:
        if not self.paused:
            try:
                registry = self.dashboard.processes.registry
                leases = await registry.get_process_leases(list(table.processes))
            except LashError as error:
                self.last_error = str(error)
            else:
                table.apply_leases(leases, self.dashboard.clock.now_ms())
        table.tick(self.dashboard.clock.now_ms())
        self.show_status()

    def show_status(self) -> None:
        table = self.query_one(ProcessTable)
        states = [fmt.state(p) for p in table.known.values()]
        counts = "  ".join(f"{s} {states.count(s)}" for s in fmt.BADGES if states.count(s))
        parts = [self.engine_state(), counts or "no processes"]
        if self.status != "all" or self.text:
            shown = f"showing {len(table.processes)} of {len(table.known)}: {self.status}"
            parts.append(shown + (f' matching "{self.text}"' if self.text else ""))
        if self.paused:
            parts.insert(0, "PAUSED")
        if self.last_error:
            parts.append(f"error: {self.last_error}")
        self.query_one("#engine-status", Static).update("  ·  ".join(parts))

    def engine_state(self) -> str:
        worker = self.dashboard.worker
        if self.dashboard.read_only:
            return "read-only: observing, no actions"
        if worker is None:
            return "observer: no embedded worker"
        in_flight, drives = len(worker.in_flight), worker.stats.drives
        return f"worker {fmt.owner(worker.owner)}: {in_flight} in flight, {drives} drives"

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
        self.app.push_screen(ProcessDetailScreen(self.dashboard, process.process_id))

    def shows(self, process: ObservedProcess) -> bool:
        """The status filter and the text filter together."""
        state = fmt.state(process)
        if self.status == "terminal" and not process.terminal:
            return False
        if self.status not in ("all", "terminal") and state != self.status:
            return False
        haystack = f"{process.process_id} {process.label} {process.originator.scope_id()}"
        return self.text.lower() in haystack.lower()

    def refilter(self) -> None:
        self.query_one(ProcessTable).filter(self.shows, self.dashboard.clock.now_ms())
        self.show_status()

    def action_find(self) -> None:
        field = self.query_one("#filter", Input)
        field.add_class("-open")
        field.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter":
            self.text = event.value.strip()
            self.refilter()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            self.query_one(ProcessTable).focus()

    def on_key(self, event: Key) -> None:
        field = self.query_one("#filter", Input)
        if event.key == "escape" and field.has_focus:
            field.value = ""
            field.remove_class("-open")
            self.query_one(ProcessTable).focus()
            event.stop()

    def action_cycle_status(self) -> None:
        index = STATUS_FILTERS.index(self.status)
        self.status = STATUS_FILTERS[(index + 1) % len(STATUS_FILTERS)]
        self.refilter()

    def action_toggle_pause(self) -> None:
        self.paused = not self.paused
        self.show_status()
