"""How the operator narrows the Processes view: the lens, the status and text filters, and
the `:` command line. A mixin of `ProcessesScreen`, kept apart because it is the part of
the view that reads the operator's input rather than the registry."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.events import Key
from textual.widgets import Input

from lashtui.errors import LashError
from lashtui.model import PROCESS_ORDERS, ProcessOrder, ProcessPageQuery, SessionOriginator
from lashtui.tui import text
from lashtui.tui.command_line import (
    STATE_GROUPS,
    Command,
    as_typed,
    describe_states,
    parse,
)
from lashtui.tui.screens.mixin import ScreenMixin
from lashtui.tui.widgets.process_table import ProcessTable

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from lashtui.model import ObservedProcess
    from lashtui.tui.context import Dashboard
    from lashtui.tui.window import ProcessWindow

# What the status line calls each order (age and updated ascend from the smallest age).
ORDER_NAMES: dict[ProcessOrder, str] = {
    "id": "id",
    "status": "status",
    "label": "label",
    "age": "age",
    "updated": "last update",
    "lease_expiry": "lease expiry",
}
# The table column that shows each order's key, whose header carries the arrow.
ORDER_COLUMNS: dict[ProcessOrder, str] = {
    "id": "id",
    "status": "status",
    "label": "label",
    "age": "age",
    "updated": "updated",
    "lease_expiry": "lease",
}

STATUS_CYCLE: tuple[tuple[str, frozenset[str] | None], ...] = (
    ("all", None),
    ("running", frozenset({"running"})),
    ("waiting", frozenset({"waiting"})),
    ("live", STATE_GROUPS["live"]),
    ("terminal", STATE_GROUPS["terminal"]),
)


class ProcessFilters(ScreenMixin):
    # The last `:` command refused (one sentence naming the bad value), said as the status
    # line's error until the next command is taken, as the view's other refusals are (the
    # Audit filter's): it was a toast, gone in seconds, beside a status line that went on
    # saying the filters as if nothing had been typed.
    command_error: str | None = None

    if TYPE_CHECKING:  # provided by ProcessesScreen
        dashboard: Dashboard
        window: ProcessWindow
        status_name: str
        marked: dict[str, None]
        paused: bool

        @property
        def page_query(self) -> ProcessPageQuery: ...
        def target(self) -> ObservedProcess | None: ...
        def selected_id(self) -> str | None: ...
        def anchor_id(self) -> str | None: ...
        def render_window(self, select: str | None = None) -> None: ...
        async def reload(self, anchor: str | None = None) -> None: ...
        async def _read(self, step: Callable[[], Awaitable[None]]) -> None: ...
        def action_open(self, process_id: str | None = None) -> None: ...
        def action_mark_all(self) -> None: ...
        def action_export(self, path: str = "") -> None: ...
        async def action_prune(self, age: str = "7d") -> None: ...
        def action_toggle_pause(self) -> None: ...
        def show_status(self) -> None: ...

    def action_clear_all(self) -> None:
        """Back to every process: no lens, no status or text filter (the order stays)."""
        query = self.page_query
        everything = ProcessPageQuery(order=query.order, descending=query.descending)
        if query.model_copy(update={"limit": everything.limit}) == everything:
            return
        self.status_name = "all"
        field = self.query_one("#filter", Input)
        field.value = ""
        field.remove_class("-open")  # (left open, empty, it held three lines for nothing)
        self.requery(everything)

    def action_sort(self, step: int) -> None:
        """`>` / `<`: sort by the next / previous column (htop's keys), from the registry."""
        orders = list(PROCESS_ORDERS)
        order = orders[(orders.index(self.page_query.order) + step) % len(orders)]
        self.requery(self.page_query.model_copy(update={"order": order}))

    def action_invert_sort(self) -> None:
        """`I`: the same column the other way round."""
        descending = not self.page_query.descending
        self.requery(self.page_query.model_copy(update={"descending": descending}))

    def describe_order(self) -> str | None:
        """The order for the status line; None for the default (id, ascending)."""
        query = self.page_query
        if query.order == "id" and not query.descending:
            return None
        direction = "descending" if query.descending else "ascending"
        return f"sorted by {ORDER_NAMES[query.order]} {direction}"

    def requery(self, query: ProcessPageQuery, anchor: str | None = None) -> None:
        # The anchor is the selection now: a periodic re-read can land before the reload
        # (it reads with the new query over the old range) and move the cursor off it.
        anchor = anchor or self.anchor_id()
        self.window.query = query
        self.run_worker(
            self._read(lambda: self.reload(anchor)),
            group="load",
            exclusive=True,
            name="load_window",
        )

    def action_cycle_status(self) -> None:
        names = [name for name, _ in STATUS_CYCLE]
        name, states = (
            STATUS_CYCLE[(names.index(self.status_name) + 1) % len(names)]
            if self.status_name in names
            else STATUS_CYCLE[0]
        )
        self.status_name = name
        self.requery(self.page_query.model_copy(update={"states": states}))

    def action_find(self) -> None:
        field = self.query_one("#filter", Input)
        field.add_class("-open")
        field.focus()

    def action_lens(self, lens: str) -> None:
        """Open the command line on the lens, with the likeliest scope filled in."""
        query, scope = self.page_query, ""
        if query.scope is not None:
            scope = query.scope.id()
        elif (process := self.target()) and isinstance(process.originator, SessionOriginator):
            scope = process.originator.scope_id()
        self.action_command_line(f"{lens} {as_typed(scope)}")

    def action_command_line(self, text: str = "") -> None:
        """Open the `:` line holding `text`, the cursor after it (nothing selected)."""
        field = self.query_one("#command", Input)
        field.value = text
        field.cursor_position = len(text)
        field.add_class("-open")
        field.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter":
            text = event.value.strip()
            if text != self.page_query.text:
                self.requery(self.page_query.model_copy(update={"text": text}))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            self.query_one(ProcessTable).focus()
        elif event.input.id == "command":
            self.close_command_line()
            try:
                command = parse(event.value.strip().removeprefix(":"))
            except LashError as error:
                self.refuse_command(str(error))
                return
            self.refuse_command(None)
            self.run_command(command)

    def refuse_command(self, sentence: str | None) -> None:
        """Say `sentence` (a refused command) as the status line's error; None: no longer."""
        if sentence != self.command_error:
            self.command_error = sentence
            self.show_status()

    async def goto(self, process_id: str) -> None:
        """`:goto ID`: select that process, or say why not and leave the selection where it
        was. It used to select the row after where the id would sit, saying nothing, so a
        mistyped or pruned id selected some other process as if it were the one asked for."""
        stays = "the selection stays where it was"
        shown = self.window.key_of(process_id) is not None
        if not shown and not await self._exists(process_id, "goto", stays):
            return
        before = self.selected_id()
        await self._read(lambda: self.reload(process_id))
        if self.window.key_of(process_id) is not None:
            return
        # It exists, but the lens or the filters leave it out: back to where the cursor was.
        await self._read(lambda: self.reload(before))
        esc = "a second Esc clears them: the first unmarks" if self.marked else "Esc clears them"
        sentence = (
            f"process `{process_id}` is not shown: the lens and filters leave it out "
            f"({esc}); {stays}"
        )
        text.say(self, sentence, title="goto", severity="warning")

    async def open(self, process_id: str) -> None:
        """`:open ID`: the detail of a process in the registry; for any other id, one
        sentence and no detail (it opened one that called a process never there `gone`)."""
        if await self._exists(process_id, "open", "nothing opened"):
            self.action_open(process_id)

    async def _exists(self, process_id: str, title: str, so: str) -> bool:
        """Whether `process_id` is in the registry; if not, or the read fails, says so (`so`:
        what the command then did)."""
        try:
            found = await self.dashboard.processes.get(process_id)
        except LashError as error:
            text.say(self, str(error), title=title, severity="error")
            return False
        if found is None:
            sentence = f"there is no process `{process_id}`; {so}"
            text.say(self, sentence, title=title, severity="warning")
        return found is not None

    def close_command_line(self) -> None:
        field = self.query_one("#command", Input)
        field.remove_class("-open")
        self.query_one(ProcessTable).focus()

    def on_key(self, event: Key) -> None:
        if event.key != "escape":
            return
        field = self.query_one("#filter", Input)
        if field.has_focus:
            field.value = ""
            field.remove_class("-open")
            self.query_one(ProcessTable).focus()
            event.stop()
        elif self.query_one("#command", Input).has_focus:
            self.close_command_line()
            event.stop()

    def run_command(self, command: Command) -> None:
        """Carry out a parsed `:` command."""
        match command.name:
            case "all":
                self.requery(self.page_query.model_copy(update={"lens": "all", "scope": None}))
            case "granted" | "originated":
                update = {"lens": command.name, "scope": command.scope}
                self.requery(self.page_query.model_copy(update=update))
            case "status":
                self.status_name = describe_states(command.states)
                self.requery(self.page_query.model_copy(update={"states": command.states}))
            case "sort":
                order = {"order": command.text, "descending": command.descending}
                self.requery(self.page_query.model_copy(update=order))
            case "filter":
                # The text as the `/` field takes it (`on_input_changed`), outer blanks dropped.
                self.query_one("#filter", Input).value = command.text
                self.requery(self.page_query.model_copy(update={"text": command.text.strip()}))
            case "goto":
                goto = self.goto(command.text)
                self.run_worker(goto, group="load", exclusive=True, name="load_goto")
            case "open":
                self.run_worker(self.open(command.text), group="load", name="load_open")
            case "view":
                self.app.switch_mode(command.text)
            case "mark":
                if command.text == "all":
                    self.action_mark_all()
                else:
                    self.marked.clear()
                    self.render_window()
            case "export":
                self.action_export(command.text)
            case "prune":
                # (it reads first: is the registry still there to prune)
                self.run_worker(self.action_prune(command.text), group="load", name="load_prune")
            case "theme":
                if command.text not in self.app.available_themes:
                    names = ", ".join(sorted(self.app.available_themes))
                    self.refuse_command(f"`{command.text}` is not a theme; use one of {names}")
                else:
                    self.app.theme = command.text
            case "pause" | "resume":
                if self.paused != (command.name == "pause"):
                    self.action_toggle_pause()
            case "help":
                self.app.action_help()  # type: ignore[attr-defined]  # LashtuiApp defines it
            case "quit":
                self.app.call_later(self.app.action_quit)
