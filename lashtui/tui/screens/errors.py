"""The Errors view: why processes ended badly, grouped by (state, code, message), with counts
and first/last seen, largest or most recent first; Enter lists a group's rows, and Enter on
one of those opens its detail.

A summary covers a window of the most recently changed processes, never the whole registry
(lashtui/model/error.py says why and what a group's parts are), and the status line says
exactly which. The read parses the JSON of every ended-badly row in the window, so it is
made only when the change feed has moved past what was last read (or every `FULL_READ_S`,
to notice prunes and rows leaving the window), and at most every `PACE` times
the other views' refresh period.
"""

from __future__ import annotations

import time
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Header, Static

from lashtui.model import (
    CLIP_CHARS,
    ErrorGroup,
    ErrorGroupKey,
    ErrorGroupQuery,
    ErrorSummary,
    ObservedProcess,
)
from lashtui.model.outcome import counted
from lashtui.tui import format as fmt
from lashtui.tui import text
from lashtui.tui.context import Dashboard
from lashtui.tui.screens.live import LiveScreen
from lashtui.tui.widgets import column_plan
from lashtui.tui.widgets.footer import KeyFooter
from lashtui.tui.widgets.keyed_table import KeyedTable, Row
from lashtui.untrusted import visible_clipped

# A twentieth of the other views' pace (every 5 s at the default 0.25 s): a read parses the
# JSON of up to a window of rows on the registry's one reader connection, which the other
# views' reads wait behind meanwhile.
PACE = 20
WINDOWS = (20_000, 100_000)  # the windows `w` switches between (0.2 s and ~1 s at 1M rows)
FULL_READ_S = 30.0  # read again even if the feed has not moved (prunes, the window sliding)
GROUP_ROWS = 500  # rows a group's list shows, newest change first
MESSAGE_CELL = 60  # characters of a message a cell shows (the detail has all of it)

# The widest column last, so a narrow terminal still shows each group's size and times.
GROUP_COLUMNS = (
    ("state", "STATE"),
    ("count", "COUNT"),
    ("last", "LAST SEEN"),
    ("first", "FIRST SEEN"),
    ("code", "CODE"),
    ("message", "MESSAGE"),
)
ROW_COLUMNS = (
    ("process", "PROCESS"),
    ("label", "LABEL"),
    ("ended", "ENDED"),
    ("reason", "REASON"),
)
ORDER_WORDS = {"count": "largest first", "last_seen": "most recent first"}
# What fits the width (widgets/column_plan.py): each group's state, size, last sighting and
# message first, the message cut with `…` to the room left (unplanned, it was cropped at 80
# columns with no sign of the cut); a group's rows by process (its id cut in the middle: a
# write allows 512 characters), when it ended and why.
GROUP_PLAN = column_plan.Plan(
    priority=("state", "count", "last", "message", "code", "first"),
    always=5,
    key=4,
    flex={
        "message": column_plan.Flex(floor=16, comfort=MESSAGE_CELL),
        "code": column_plan.Flex(floor=8, comfort=24),
    },
)
ROW_PLAN = column_plan.Plan(
    priority=("process", "ended", "reason", "label"),
    always=4,
    key=3,
    flex={
        "process": column_plan.id_column(),
        "reason": column_plan.Flex(floor=16, comfort=MESSAGE_CELL),
        "label": column_plan.Flex(floor=8, comfort=24),
    },
)


def group_key(group: ErrorGroupKey) -> str:
    """A table key for a group: its parts joined by a character no clip keeps apart."""
    return "\x00".join((group.state.value, group.code, group.message))


def group_row(group: ErrorGroup, now_ms: int) -> Row:
    message = text.cell(visible_clipped(group.message, MESSAGE_CELL)) if group.message else "—"
    code = text.cell(visible_clipped(group.code, 24)) if group.code else "—"
    cells = (
        fmt.BADGES[group.state.value],
        f"{group.count:,}",
        fmt.ago_or_unknown(group.last_seen_ms, now_ms),
        fmt.ago_or_unknown(group.first_seen_ms, now_ms),
        code,
        message,
    )
    return Row(group_key(group), cells)


def reason(process: ObservedProcess) -> str:
    """The whole reason of one row, as the group clips it (code and message)."""
    if process.abandon_request is not None and process.abandon_request.reason:
        return process.abandon_request.reason
    return process.error or ""


class ErrorsScreen(LiveScreen):
    REFRESH_WORKER = "refresh_errors"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Rows"),
        Binding("o", "toggle_order", "Order"),
        Binding("w", "toggle_window", "Window"),
        Binding("question_mark", "app.help", "Help"),
    ]

    def __init__(self, dashboard: Dashboard) -> None:
        super().__init__(dashboard)
        self.group_query = ErrorGroupQuery()
        self.summary: ErrorSummary | None = None
        self.groups: dict[str, ErrorGroup] = {}
        self._read_at = 0.0  # monotonic time of the last full read

    @property
    def refresh_s(self) -> float:
        return self.dashboard.refresh_s * PACE

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="errors-status", classes="view-status")
        yield Static(
            "no failed, cancelled or abandoned processes", id="errors-empty", classes="view-empty"
        )
        yield KeyedTable(GROUP_COLUMNS, id="errors-table", plan=GROUP_PLAN)
        yield KeyFooter()

    async def load(self) -> None:
        if self.summary is not None and not await self._moved():
            return
        self.summary = await self.dashboard.processes.error_groups(self.group_query)
        self._read_at = time.monotonic()
        self.groups = {group_key(g): g for g in self.summary.groups}

    async def _moved(self) -> bool:
        """Whether a full read is due: the change feed moved, or `FULL_READ_S` passed."""
        assert self.summary is not None
        if time.monotonic() - self._read_at >= FULL_READ_S:
            return True
        registry = self.dashboard.processes.registry
        changed, _ = await registry.processes_changed_since(self.summary.cursor, 1)
        return bool(changed)

    def show(self, now_ms: int) -> None:
        summary = self.summary
        groups = summary.groups if summary else []
        # No summary: the operator asked another question (o, w), not a group that left.
        rows = [group_row(g, now_ms) for g in groups]
        self.query_one(KeyedTable).show(rows, anew=summary is None)
        lost = self.query_one(KeyedTable).lost is not None
        note = "the selected group left the list: no row selected (↑/↓ select one)"
        self.say("#errors-status", "  ·  ".join([self.status(), *([note] if lost else [])]))
        self.set_class(summary is not None and not groups and self.error is None, "-empty")

    def status(self) -> str:
        summary = self.summary
        if summary is None:
            # A read that failed is said alone: it said "reading…" for ever beside it.
            if self.error:
                return f"error: {self.error}"
            words = "reading…"
        else:
            shown = (
                f", the first {len(summary.groups):,} shown"
                if len(summary.groups) < summary.total_groups
                else ""
            )
            words = (
                f"failed, cancelled and abandoned among {summary.covers()}: "
                f"{counted(summary.rows, 'row', 'rows')} in "
                f"{counted(summary.total_groups, 'group', 'groups')}{shown}, "
                f"{ORDER_WORDS[self.group_query.order]}  ·  o order, w window  ·  codes and "
                f"messages grouped on their first {CLIP_CHARS} characters"
            )
        if self.error:
            words = f"error: {self.error}  ·  {words}"
        return words

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "open":
            return self.target() is not None
        return True

    def target(self) -> ErrorGroup | None:
        selected = self.query_one(KeyedTable).selected_key
        return self.groups.get(selected) if selected else None

    def action_open(self) -> None:
        group = self.target()
        if group is not None and self.summary is not None:
            self.app.push_screen(ErrorGroupScreen(self.dashboard, group, self.summary.window))

    def action_toggle_order(self) -> None:
        order = "last_seen" if self.group_query.order == "count" else "count"
        self._requery(order=order)

    def action_toggle_window(self) -> None:
        wider = [w for w in WINDOWS if w > self.group_query.window]
        self._requery(window=wider[0] if wider else WINDOWS[0])

    def _requery(self, **change: object) -> None:
        self.group_query = self.group_query.model_copy(update=change)
        self.summary = None  # what was read answered another query: read again
        lost = self.query_one(KeyedTable).lost is not None
        note = "the selected group left the list: no row selected (↑/↓ select one)"
        self.say("#errors-status", "  ·  ".join([self.status(), *([note] if lost else [])]))
        self.wake()


class ErrorGroupScreen(LiveScreen):
    """The rows of one group, newest change first; Enter opens a row's detail."""

    REFRESH_WORKER = "refresh_error_group"
    READS_ON_COMMIT = True
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("enter", "open", "Detail"),
        Binding("question_mark", "app.help", "Help"),
    ]

    def __init__(self, dashboard: Dashboard, group: ErrorGroup, window: int) -> None:
        super().__init__(dashboard)
        self.group = group
        self.window = window
        self.rows: list[ObservedProcess] = []
        self.cut = False  # the rows stopped at the size of records a read holds

    @property
    def refresh_s(self) -> float:
        return self.dashboard.refresh_s * PACE

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="error-group-status", classes="view-status")
        yield KeyedTable(ROW_COLUMNS, id="error-group-table", plan=ROW_PLAN)
        yield KeyFooter()

    async def load(self) -> None:
        processes = self.dashboard.processes
        self.rows, self.cut = await processes.bounded_error_group_rows(
            self.group.key(), self.window, GROUP_ROWS
        )

    def show(self, now_ms: int) -> None:
        rows = [
            Row(
                p.process_id,
                (
                    text.cell(p.process_id),
                    text.cell(p.label),
                    fmt.ago(p.updated_at_ms, now_ms),
                    text.cell(visible_clipped(reason(p), 200)),
                ),
            )
            for p in self.rows
        ]
        self.query_one(KeyedTable).show(rows)
        self.say("#error-group-status", self.status())

    def status(self) -> Text:
        group = self.group
        parts = [fmt.BADGES[group.state.value]]
        parts += [part for part in (group.code, group.message) if part]
        shown = len(self.rows)
        limit = f", the newest {shown:,}" if self.cut or shown >= GROUP_ROWS else ""
        total = (
            f"  ·  {counted(shown, 'row', 'rows')}{limit}, newest change first, among "
            f"the {self.window:,} most recently changed processes"
        )
        # (no count before a read has loaded: it counted nothing)
        words = text.plain(
            text.data("  ·  ".join(parts)), "" if self.unread else total, "  ·  Esc back"
        )
        if self.error:
            words = text.plain(f"error: {self.error}  ·  ", words)
        for note in self.lost_note(self.query_one(KeyedTable).lost):
            words = text.plain(words, f"  ·  {note}")
        return words

    def target(self) -> ObservedProcess | None:
        selected = self.query_one(KeyedTable).selected_key
        return next((p for p in self.rows if p.process_id == selected), None)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "open":
            return self.target() is not None
        return True

    def opened_process_id(self) -> str | None:
        process = self.target()
        return process.process_id if process is not None else None

    def action_back(self) -> None:
        self.app.pop_screen()
