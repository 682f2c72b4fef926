"""Process detail: every fact of one process, and its event timeline following new events
live (the timeline pages with `events_after` from the last sequence it has)."""

from __future__ import annotations

import asyncio
import json
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from lashtui.errors import LashError
from lashtui.model import ObservedProcess, ObservedProcessEvent
from lashtui.tui import format as fmt
from lashtui.tui.actions import ProcessActions
from lashtui.tui.context import Dashboard


def summary(process: ObservedProcess, now_ms: int) -> str:
    started = process.first_started
    request = process.abandon_request
    wait = process.wait
    output = process.status.await_output
    first = (
        f"{fmt.owner(started.owner)} {fmt.ago(started.started_at_ms, now_ms)}" if started else "-"
    )
    asked = f"{request.requested_by}: {request.reason or 'no reason given'}" if request else "-"
    facts = [
        f"{process.process_id}  {fmt.badge(process)}  {process.label} ({process.kind})",
        f"disposition {process.disposition.value}   originator {process.originator.scope_id()}"
        f"   wake target {process.wake_target.id() if process.wake_target else '-'}",
        f"created {fmt.ago(process.created_at_ms, now_ms)}   updated "
        f"{fmt.ago(process.updated_at_ms, now_ms)}",
        f"lease {fmt.lease(process, now_ms)}",
        f"first started {first}",
        f"abandon request {asked}",
        f"wait {f'signal {wait.kind.name} #{wait.kind.ordinal}' if wait else '-'}",
        f"output {output.model_dump_json() if output else '-'}",
    ]
    if fmt.silent_not_dead(process, now_ms):
        facts.append("silent, not dead: started owner_bound work whose lease has lapsed")
    return "\n".join(facts)


class ProcessDetailScreen(ProcessActions, Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("c", "cancel", "Cancel"),
        Binding("s", "signal", "Signal"),
        Binding("a", "abandon", "Request abandon"),
    ]

    def __init__(self, dashboard: Dashboard, process_id: str) -> None:
        super().__init__()
        self.dashboard = dashboard
        self.process_id = process_id
        self.process: ObservedProcess | None = None
        self.after = 0
        self.loaded = asyncio.Event()

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="summary")
        yield DataTable(id="timeline", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        timeline = self.query_one("#timeline", DataTable)
        for key, label in (("seq", "SEQ"), ("at", "AT"), ("type", "TYPE"), ("payload", "PAYLOAD")):
            timeline.add_column(label, key=key)
        self.run_worker(self.refresh_detail(), group="refresh", name="refresh_detail")

    def target(self) -> ObservedProcess | None:
        return self.process

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.offers(action)

    async def refresh_detail(self) -> None:
        try:
            while True:
                try:
                    processes = self.dashboard.processes
                    process = await processes.get(self.process_id)
                    events = await processes.events(self.process_id, self.after)
                except LashError as error:
                    self.query_one("#summary", Static).update(str(error))
                else:
                    self.show(process, events)
                self.loaded.set()
                await asyncio.sleep(self.dashboard.refresh_s)
        except NoMatches:
            return  # the screen was popped while a read was in flight

    def show(self, process: ObservedProcess | None, events: list[ObservedProcessEvent]) -> None:
        now = self.dashboard.clock.now_ms()
        if process is None:
            self.query_one("#summary", Static).update(f"process `{self.process_id}` is gone")
            return
        if process != self.process:
            self.process = process
            self.refresh_bindings()
        self.query_one("#summary", Static).update(summary(process, now))
        timeline = self.query_one("#timeline", DataTable)
        for event in events:
            payload = json.dumps(event.payload, ensure_ascii=False, separators=(",", ":"))
            at = fmt.ago(event.occurred_at_ms, now)
            timeline.add_row(
                str(event.sequence), at, event.event_type, payload, key=str(event.sequence)
            )
            self.after = event.sequence
        if events:
            timeline.move_cursor(row=timeline.row_count - 1)
