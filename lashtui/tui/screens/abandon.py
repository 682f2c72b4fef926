"""The Abandon requests view: what operators have asked the sweep to abandon, what the sweep
will do with each request, and the rows that only an operator can settle.

Two sections, one table each. Pending requests show who asked, when and why, the lease the
sweep must wait out, and the sweep's verdict in the facade's own sentence
(`abandon_outlook`), so the view can never disagree with what the modal said. The "silent,
not dead" rows (started owner_bound work whose lease lapsed or was released, with no
request) are the one state the sweep never ends on its own (lash docs, "detecting a stuck
process"); `a` on one asks for it, and the row moves to the pending section on the next read.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Header, Static

from lashtui.admin import abandon_outlook
from lashtui.model import ObservedProcess, lease_lapsed, lease_lapsed_at
from lashtui.tui import format as fmt
from lashtui.tui import text
from lashtui.tui.actions import ACTION_BINDINGS, ProcessActions
from lashtui.tui.context import Dashboard
from lashtui.tui.screens.live import LiveScreen
from lashtui.tui.widgets import column_plan
from lashtui.tui.widgets.footer import KeyFooter
from lashtui.tui.widgets.keyed_table import KeyedTable, Row
from lashtui.untrusted import visible_clipped

PENDING_COLUMNS = (
    ("process", "PROCESS"),
    ("disposition", "DISPOSITION"),
    ("request", "REQUESTED"),
    ("lease", "LEASE"),
    ("verdict", "THE SWEEP"),
)
SILENT_COLUMNS = (
    ("process", "PROCESS"),
    ("label", "LABEL"),
    ("started", "FIRST STARTED BY"),
    ("since", "STARTED"),
    ("lapsed", "LEASE"),
)
# What each section shows first, and how its text is cut (widgets/column_plan.py): the
# process and what the sweep will do with it (its verdict; when the owner's lease lapses)
# before who asked; the id in its middle (a write allows 512 characters: one such id was drawn
# whole, and every column after it was past the right edge). Unplanned, the verdict was
# cropped at 80 columns with no `…`. The verdict is the view's point (its status line calls it
# "the last column"): it is cut only once the other text columns are 24 cells narrower, and
# its sentence flows over the row's two lines, so at 60 columns (28 cells) it still says what
# the sweep will do (`will abandon once the` / `owner's lease lapses`), where it was cut at
# 24 cells, at 60 and 80 columns alike, to `will abandon once the o…`. Nor is it cut below
# what its sentences need to flow whole while REQUESTED can give way (column_plan.flow_need):
# an externally owned row's verdict needs 41 cells, and at 80 columns its second line was cut.
# Its floor (26) leaves the 2 cells of a vertical scrollbar at 60 columns, where its
# sentence still flows whole over the two lines: at 28, the three key columns cut to their
# floors were the whole 60, and once the requests outgrew the screen's height the table
# scrolled sideways, THE SWEEP cut at the edge with no `…` (`never-started owner_bound r`).
# (An id's floor of 10 instead cut `h-requested` to give the verdict a cell it did not need.)
PENDING_PLAN = column_plan.Plan(
    priority=("process", "verdict", "lease", "request", "disposition"),
    always=4,
    key=3,
    flex={
        "process": column_plan.id_column(),
        "verdict": column_plan.Flex(floor=26, comfort=48, held=24, flow=True),
        "lease": column_plan.Flex(floor=14, comfort=30),
        "request": column_plan.Flex(floor=10, comfort=40),
    },
)
SILENT_PLAN = column_plan.Plan(
    priority=("process", "lapsed", "label", "since", "started"),
    always=3,
    key=2,
    flex={
        "process": column_plan.id_column(),
        "lapsed": column_plan.Flex(floor=14, comfort=36),
        "label": column_plan.Flex(floor=8, comfort=24),
        "started": column_plan.Flex(floor=8, comfort=24),
    },
)
REASON_WIDTH = 40
# The candidates (pending and silent together) a read lists at most, by id; past it each
# section says that it shows those among the first it read, not how many there are (counting
# every silent row reads every live row's record).
LIMIT = 1_000


# What a LEASE cell says of a lease another program stored that could not be decoded: its
# holder is known, its expiry is not (the read's stand-in holds 0), so it is neither lapsed
# nor live, and held all the same (it said `-`, and in the silent list `no lease`).
UNDECODED = "expiry unknown: could not be decoded"


def lease_time(process: ObservedProcess, now_ms: int) -> str:
    if process.lease_undecodable is not None:
        return UNDECODED
    return fmt.countdown(process.lease_expires_at_ms, now_ms)


def silent_lease(process: ObservedProcess, now_ms: int) -> str:
    """A silent row's LEASE: when it lapsed, or that it holds none (it was released)."""
    if process.lease_undecodable is None and process.lease_expires_at_ms is None:
        return "no lease"
    return lease_time(process, now_ms)


def pending_row(process: ObservedProcess, now_ms: int) -> Row:
    """Two lines a row: the facts on the first, their detail underneath."""
    request = process.abandon_request
    assert request is not None
    when = fmt.ago(request.requested_at_ms, now_ms)
    asked = text.plain(text.data(request.requested_by), f" · {when}")
    reason = text.data(visible_clipped(request.reason or "no reason given", REASON_WIDTH))
    if process.lease_holder is None:
        lease: str | Text = "no lease"
    else:
        owner = text.data(fmt.owner(process.lease_holder))
        lease = text.joined([owner, lease_time(process, now_ms)])
    lapsed = lease_lapsed_at(process, now_ms)
    return Row(
        process.process_id,
        (
            text.joined([text.data(process.process_id), text.label(process.label)]),
            process.disposition_text(),
            text.joined([asked, reason]),
            lease,
            text.joined(fmt.two_lines(abandon_outlook(process, now_ms))),
        ),
        states=((0, fmt.state(process)), *([(3, "lapsed")] if lapsed else [])),
    )


def silent_row(process: ObservedProcess, now_ms: int) -> Row:
    started = process.first_started
    return Row(
        process.process_id,
        (
            text.data(process.process_id),
            text.label(process.label),
            text.data(fmt.owner(started.owner)) if started else "-",
            fmt.ago(started.started_at_ms, now_ms) if started else "-",
            silent_lease(process, now_ms),
        ),
        # Every row here is silent, not dead; its lease is marked lapsed only if one did (a
        # released lease shows "no lease").
        states=((0, "silent"), *([(4, "lapsed")] if lease_lapsed(process) else [])),
    )


class AbandonRequestsScreen(ProcessActions, LiveScreen):
    REFRESH_WORKER = "refresh_abandon_requests"
    # Requests and first starts change by commits; a silent row's lease lapses without one
    # (its owner stopped renewing), so the rows are read again when the soonest live lease
    # of started owner_bound work lapses (`clock_moved`). Read once a second instead, the
    # view cost ~12% of a core over a million rows with nothing committing.
    READS_ON_COMMIT = True
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Detail"),
        Binding("tab", "other_section", "Other section"),
        *ACTION_BINDINGS,
        Binding("p", "toggle_pause", "Pause"),
        Binding("question_mark", "app.help", "Help"),
    ]

    def __init__(self, dashboard: Dashboard) -> None:
        super().__init__(dashboard)
        self.pending: list[ObservedProcess] = []
        self.silent: list[ObservedProcess] = []
        # When the registry held more candidates than a read lists (past LIMIT, or past the
        # size of records a read holds), how many it read; None when it listed all of them.
        self.first: int | None = None
        # When the soonest live lease of started owner_bound work lapses, as of the last
        # read (its row then joins the silent ones without a commit); None: no such lease.
        self.next_lapse_ms: int | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="pending-title", classes="section-title")
        yield Static("no pending abandon requests", id="pending-empty", classes="view-empty")
        # The request's age, the lease countdown and the verdict turn with the clock.
        pending_clock = ("request", "lease", "verdict")
        yield KeyedTable(
            PENDING_COLUMNS,
            row_height=2,
            id="pending-table",
            clock_columns=pending_clock,
            plan=PENDING_PLAN,
        )
        yield Static(id="silent-title", classes="section-title")
        yield Static("no silent rows", id="silent-empty", classes="view-empty")
        yield KeyedTable(
            SILENT_COLUMNS, id="silent-table", clock_columns=("since", "lapsed"), plan=SILENT_PLAN
        )
        yield KeyFooter()

    async def load(self) -> None:
        now = self.dashboard.clock.now_ms()
        processes = self.dashboard.processes
        # The lapse first: a lease renewed between the two reads is a commit, which moves
        # the change mark taken before them, so the view reads again.
        self.next_lapse_ms = await processes.registry.next_lease_lapse(now)
        self.pending, self.silent, self.first = await processes.bounded_abandon_candidates(
            now, LIMIT
        )

    def clock_moved(self, now_ms: int) -> bool:
        return self.next_lapse_ms is not None and now_ms >= self.next_lapse_ms

    def show(self, now_ms: int) -> None:
        pending = self.query_one("#pending-table", KeyedTable)
        silent = self.query_one("#silent-table", KeyedTable)
        frozen = self.frozen
        changed = pending.show([pending_row(p, now_ms) for p in self.pending], frozen=frozen)
        silent_rows = [silent_row(p, now_ms) for p in self.silent]
        changed = silent.show(silent_rows, frozen=frozen) or changed
        title = f"Pending abandon requests{self._how_many(self.pending)}"
        title += "  ·  the last column says what the sweep will do"
        if self.error:
            title = f"error: {self.error}  ·  {title}"
        title = "  ·  ".join([*self.paused_note(), title, *self.lost_note(pending.lost)])
        self.say("#pending-title", title)
        act = "read-only" if self.dashboard.read_only else "a requests abandon"
        silent_title = (
            f"Silent, not dead{self._how_many(self.silent)}  ·  started owner_bound work "
            f"whose lease lapsed or was released; the sweep never ends it on its own  ·  {act}"
        )
        self.say("#silent-title", "  ·  ".join([silent_title, *self.lost_note(silent.lost)]))
        self.set_class(not self.pending and self.known_empty, "-no-pending")
        self.set_class(not self.silent and self.known_empty, "-no-silent")
        self._keep_focus_on_a_section_with_rows(pending, silent)
        if self.focused is None and self.is_current and (self.pending or self.silent):
            # Both lists were hidden (nothing to show), which left nothing focused: the
            # first with rows takes the keys, or the arrows did nothing once rows came.
            (pending if self.pending else silent).focus()
        if changed:
            self.refresh_bindings()
        self.refresh_offers()  # the process in hand ended or was ended under the cursor

    def _how_many(self, rows: list[ObservedProcess]) -> str:
        """How many rows a section shows, and when the read stopped short, that there are
        more than it lists; nothing before a read has loaded (it counted nothing)."""
        if self.unread:
            return ""
        if self.first is None:
            return f" ({len(rows):,})"
        return f" ({len(rows):,} among the first {self.first:,} candidates by id; more not shown)"

    def _keep_focus_on_a_section_with_rows(self, pending: KeyedTable, silent: KeyedTable) -> None:
        """Focus leaves a section that emptied. The process selected there is followed into
        the other section when it moved there (a silent row whose abandon was requested);
        else, once it left, no row is selected there either, not the one that happens to be
        under that section's cursor."""
        focused = self.focused
        if focused is not pending and focused is not silent:
            return
        here, there = (pending, silent) if focused is pending else (silent, pending)
        if here.lost is not None and here.lost in there.shown:
            there.select(here.lost)
        elif (here is pending and not self.pending and self.silent) or (
            here is silent and not self.silent
        ):
            if here.lost is not None:
                there.lose(here.lost)
        else:
            return
        here.lost, here.show_cursor = None, True
        there.focus()

    def _table(self) -> KeyedTable:
        focused = self.focused
        if isinstance(focused, KeyedTable):
            return focused
        return self.query_one("#pending-table", KeyedTable)

    def target(self) -> ObservedProcess | None:
        table = self._table()
        rows = self.pending if table.id == "pending-table" else self.silent
        selected = table.selected_key
        return next((p for p in rows if p.process_id == selected), None)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "open":
            return self.target() is not None
        if action == "other_section":
            return bool(self.pending) and bool(self.silent)
        return self.offers(action)

    def acted(self) -> None:
        self.wake()  # show the outcome now, not at the next refresh

    def on_descendant_focus(self) -> None:
        self.refresh_bindings()  # the target follows the focused section

    def opened_process_id(self) -> str | None:
        process = self.target()
        return process.process_id if process is not None else None

    def action_other_section(self) -> None:
        pending = self.query_one("#pending-table", KeyedTable)
        silent = self.query_one("#silent-table", KeyedTable)
        (silent if self.focused is pending else pending).focus()
