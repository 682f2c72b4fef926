"""The Processes view (home): a live window onto every process, with the engine's state.

The screen wires its parts, each a mixin in a module of its own: how it follows the
registry (process_feed.py: the change feed, the tick's re-read, the selection kept across
them), how the operator narrows it (process_filters.py), the status line
(process_status.py) and the marks a bulk action applies to (process_marks.py). It keeps
here what they share: the window and its rendering, paging when the cursor leaves the
window (the next keyset page is read, under `reading` like the feed's reads), the
selection, pause, and the actions' hooks. A paused view keeps its cursor and catches up on
resume.
"""

from __future__ import annotations

import asyncio
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Header, Input, Static

from lashtui.errors import LashError
from lashtui.model import ObservedProcess, ProcessPageQuery
from lashtui.tui import pause, text
from lashtui.tui.actions import ACTION_BINDINGS, COPY_BINDINGS, ProcessActions
from lashtui.tui.context import Dashboard
from lashtui.tui.counts import StateCounts
from lashtui.tui.export import rows_export, start_export
from lashtui.tui.row_key import is_not_text, key_id
from lashtui.tui.screens.detail import ProcessDetailScreen
from lashtui.tui.screens.process_feed import RECOUNT_S, ProcessFeed
from lashtui.tui.screens.process_filters import ORDER_COLUMNS, ProcessFilters
from lashtui.tui.screens.process_marks import ProcessMarks
from lashtui.tui.screens.process_status import ProcessStatus
from lashtui.tui.widgets.footer import KeyFooter
from lashtui.tui.widgets.process_table import ProcessTable
from lashtui.tui.window import ProcessWindow


class ProcessesScreen(
    ProcessFilters, ProcessFeed, ProcessStatus, ProcessMarks, ProcessActions, Screen[None]
):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Detail"),
        *ACTION_BINDINGS,
        Binding("P", "prune", "Prune", show=False),
        Binding("space", "mark", "Mark", show=False),
        Binding("asterisk", "mark_all", "Mark all", show=False),
        Binding("slash", "find", "Filter"),
        Binding("f", "cycle_status", "Status"),
        Binding("g", "lens('granted')", "Granted to", show=False),
        Binding("o", "lens('originated')", "Originated by", show=False),
        Binding("greater_than_sign", "sort(1)", "Sort by next column", show=False),
        Binding("less_than_sign", "sort(-1)", "Sort by previous column", show=False),
        Binding("I", "invert_sort", "Invert sort", show=False),
        Binding("colon", "command_line", "Command"),
        Binding("p", "toggle_pause", "Pause"),
        *COPY_BINDINGS,
        Binding("e", "export", "Export", show=False),
        Binding("escape", "clear", "Clear", show=False),
        Binding("question_mark", "app.help", "Help"),
    ]

    def __init__(self, dashboard: Dashboard) -> None:
        super().__init__()
        self.dashboard = dashboard
        self.window = ProcessWindow(dashboard.processes, census=lambda: self.counts)
        self.reading = asyncio.Lock()
        self.wake = asyncio.Event()
        self.counts: StateCounts | None = None
        self.cursor = 0
        self._prune_mark: str | None = None  # the newest prune in the audit trail, once read
        self._prune_looked = 0.0  # time.monotonic() of the last look (`_pruned_elsewhere`)
        self._census_at = 0.0  # time.monotonic() of the last census
        self._recount_due = False  # a census is owed (`_recount_if_due`)
        self._rewind = False  # ...and the feed follows on from its cursor, not the view's
        # The registry's change mark taken before the last window re-read (`_reread`).
        self._reread_mark: tuple[int, int] | None = None
        self.paused = False
        self.marked: dict[str, None] = {}  # an ordered set of rows' keys (`row_key`)
        self.status_name = "all"
        self.last_error: str | None = None
        self.loaded = asyncio.Event()  # set once the first window is on screen
        self.applied = 0  # change batches applied, for tests and benchmarks to wait on
        self.status_line = ""  # the status line as one line (what it says)
        self._status_width = 0  # the width it was drawn in lines of

    @property
    def page_query(self) -> ProcessPageQuery:
        return self.window.query

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="engine-status")
        yield Input(placeholder="filter by id, label or scope (Esc clears)", id="filter")
        yield ProcessTable(id="process-table")
        yield Static(id="process-empty", classes="view-empty")  # (process_status.py)
        # Not selected on focus: `g`/`o` fill in the start of a command to be finished, and
        # a selection made the first key typed replace it.
        yield Input(
            placeholder=":command (help lists them; Esc closes)",
            select_on_focus=False,
            id="command",
        )
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one(ProcessTable).focus()  # keys go to the list, not the hidden inputs
        self.run_worker(self.refresh_processes(), group="refresh", name="refresh_processes")
        self.run_worker(self.refresh_on_commit(), group="refresh", name="refresh_on_commit")
        self.set_interval(1.0, self.tick)
        self.set_interval(RECOUNT_S, self.recount)
        self.show_status()

    def render_window(self, select: str | None = None, *, retime: bool = True) -> None:
        """Show the window; `retime=False` (a feed change) re-renders only changed rows."""
        table = self.query_one(ProcessTable)
        query = self.page_query
        default = query.order == "id" and not query.descending  # unmarked, as before sorting
        table.show_order(None if default else ORDER_COLUMNS[query.order], query.descending)
        table.show(
            self.window.ordered(), self.now_ms(), self.marked, select,
            retime=retime, frozen=self.frozen(),
        )
        self.refresh_offers()
        self.show_status()

    def frozen(self) -> bool:
        """Paused with rows on screen: nothing is read, so the clock-relative cells are
        computed for the time of the last read, not for a clock moving over frozen rows
        (which would show a lease renewed since as lapsed)."""
        return self.paused and self.dashboard.pulse.last_read_ms is not None

    def now_ms(self) -> int:
        """The time the view's ages and countdowns are relative to (see `frozen`)."""
        read_at = self.dashboard.pulse.last_read_ms
        return pause.as_of(self.paused, read_at, self.dashboard.clock.now_ms())

    def on_process_table_edge_reached(self, event: ProcessTable.EdgeReached) -> None:
        self.run_worker(self.slide(event.edge), group="page", exclusive=True, name="load_page")

    async def slide(self, edge: str) -> None:
        table = self.query_one(ProcessTable)
        async with self.reading:
            try:
                if edge == "first":
                    await self.window.load(self.page_query)
                elif edge == "last":
                    await self.window.load_last()
                elif edge == "bottom":
                    await self.window.extend_down()
                else:
                    await self.window.extend_up()
            except LashError as error:
                text.say(self, str(error), title="paging failed", severity="error")
                return
            ids = self.window.ids
            select = {"first": ids[:1], "last": ids[-1:]}.get(edge, [None])
            self.render_window(select=select[0] if select else None)
        if edge == "bottom" and table.cursor_row < table.row_count - 1:
            table.move_cursor(row=table.cursor_row + 1)
        elif edge == "top" and table.cursor_row > 0:
            table.move_cursor(row=table.cursor_row - 1)

    # --- selection and actions (the marks: process_marks.py)

    def selected_id(self) -> str | None:
        """The selected row's key: its process id, unless that is not text (`row_key`)."""
        return self.query_one(ProcessTable).selected_id

    def anchor_id(self) -> str | None:
        """Where a reload centres: the selection, or the process that left it (a filter
        that lets it back in selects it again)."""
        table = self.query_one(ProcessTable)
        return table.selected_id or table.lost

    def target(self) -> ObservedProcess | None:
        selected = self.selected_id()
        return self.window.rows.get(selected) if selected else None

    def acted(self) -> None:
        self.marked.clear()
        self.wake.set()
        self.render_window()

    def pruned(self) -> None:
        self.run_worker(self._after_prune(), group="refresh", name="refresh_after_prune")

    async def _after_prune(self) -> None:
        await self._read(self.recount)
        await self._read(self._reread_now)
        self.render_window()

    def default_scope(self) -> str:
        query = self.page_query
        return query.scope.id() if query.lens == "granted" and query.scope else ""

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.offers(action)

    def on_process_table_process_selected(self) -> None:
        self.refresh_bindings()

    def on_data_table_row_selected(self) -> None:
        self.action_open()

    def action_open(self, process_id: str | None = None) -> None:
        """The detail of `process_id` (`:open ID`), else of the selected row: a row whose
        id is not text is handed over, as a text row spelled alike would be read for it."""
        if process_id is not None:
            self.app.push_screen(ProcessDetailScreen(self.dashboard, process_id))
            return
        key = self.selected_id()
        if key is None:
            return
        held = self.window.rows.get(key) if is_not_text(key) else None
        self.app.push_screen(ProcessDetailScreen(self.dashboard, key_id(key), held))

    def action_export(self, path: str = "") -> None:
        board = self.dashboard
        export = rows_export(board.processes, self.page_query, path, board.clock.now_ms())
        start_export(self, board, export)

    def action_toggle_pause(self) -> None:
        if not self.paused:
            self.paused = self.dashboard.pulse.paused = True
            self.render_window()  # freeze the clock-relative cells now
        else:
            self.run_worker(self._resume(), group="refresh", name="refresh_on_resume")

    async def _resume(self) -> None:
        """Read the window again before the clock moves its cells: rows held through a
        pause are as old as the pause, and a lease renewed meanwhile is not lapsed."""
        try:
            await self._read(self._reread_now)
            self.paused = self.dashboard.pulse.paused = False
            self.wake.set()
            self.render_window()
        except NoMatches:
            return  # the app is closing
