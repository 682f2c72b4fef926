"""The Leases view: who holds what, grouped by owner, and whether the sweep could take it.

Each owner is one OS process (host, pid), whatever identity it claimed under: a worker claims
every row under its own `:recovery:` attempt identity, so grouping by raw owner id and
incarnation would give one group per lease. Its health is judged the way the sweep judges
it, with the model's own rule (`is_definitely_dead_for_claimant`) from this host: `provably
dead` means a sweep here would take its work now; `unknown` means it waits the lease out.
Groups with a lapsed lease come first, then by earliest expiry; countdowns tick every second.

A lease row another program stored with numbers that are not whole (or names that are not
text) reads as a stand-in whose numbers are 0 (`ProcessLease.undecodable`): its expiry and
fence are unknown, and it is shown so, with why, as the Processes view says "lease could not
be decoded". It is counted neither lapsed nor live: it was shown `FENCE 0`, `lapsed 20793d`
(since 1970) and counted among the lapsed. The sweep skips it and its holder cannot renew
it, so only the operator ends it (`end-undecodable`): its group comes first, and it first
in its group.

Owners' rows and leases' rows share one table, so their keys are of two kinds that cannot
meet (`owner_key`, `process_key`): a row keyed by a raw process id took the place of the
owner row of the same key, and a process another program named `owner:w@h:1/b/1` hid its
owner's header and drew that owner's leases under the group above.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Header, Static

from lashtui.model import LeaseOwnerIdentity, LocalProcessLiveness, ObservedProcess, ProcessLease
from lashtui.tui import format as fmt
from lashtui.tui import text
from lashtui.tui.actions import ACTION_BINDINGS, ProcessActions
from lashtui.tui.context import Dashboard
from lashtui.tui.holder import owner_health, sweep_identity
from lashtui.tui.screens.live import LiveScreen
from lashtui.tui.widgets import column_plan
from lashtui.tui.widgets.footer import KeyFooter
from lashtui.tui.widgets.keyed_table import KeyedTable, Row
from lashtui.untrusted import visible_clipped
from lashtui.worker.identity import RECOVERY

# The leases a read lists at most, the soonest to lapse first; past it the view says how
# many are held in all (one more pass over the lease table) instead of counting what it lists.
LIMIT = 1_000
OWNER, PROCESS = "owner:", "process:"  # the two kinds of row key (module docstring)

COLUMNS = (
    ("owner", "OWNER"),
    ("incarnation", "INCARNATION"),
    ("health", "HEALTH"),
    ("process", "PROCESS"),
    ("label", "LABEL"),
    ("disposition", "DISPOSITION"),
    ("fence", "FENCE"),
    ("lease", "LEASE"),
)
# Who holds it, which process, when it lapses and whether a sweep could take it come first
# (widgets/column_plan.py); the fence and the incarnation give way before them. At 120
# columns every column was drawn as wide as its widest cell and the countdown was past the
# right edge. The lease column can be cut only to the width of a countdown: an owner's row
# holds its summary there (`3 leases, 1 could not be decoded`), and a lease that could not be
# decoded the reason why.
# The process id is cut in its middle like the owner (a write allows 512 characters: one such
# id pushed the countdowns off the screen at every width); at 60 columns the label gives way.
# The owner's floor (10) leaves the 2 cells of a vertical scrollbar at 60 columns: at 12, the
# four key columns cut to their floors were the whole 60, and once the leases outgrew the
# screen's height the table scrolled sideways, LEASE cut at the edge with no `…`
# (`2 leases, 1 lapse`).
PLAN = column_plan.Plan(
    priority=(
        "owner", "process", "lease", "health", "label", "disposition", "fence", "incarnation",
    ),
    always=5,
    key=4,
    flex={
        "owner": column_plan.Flex(floor=10, comfort=40),
        "process": column_plan.id_column(),
        "health": column_plan.Flex(floor=10, comfort=27),
        "label": column_plan.Flex(floor=8, comfort=24),
        "lease": column_plan.Flex(floor=len("lapsed 999d23h ago"), comfort=24),
    },
)  # fmt: skip


def owner_key(holder: LeaseOwnerIdentity) -> str:
    """The group of a holder: its OS process (boot and start time guard against pid reuse).
    Made of the whole ids, not the clipped `fmt.owner`: two owners alike for 48 characters
    are still two. The parts are a JSON list, not joined by `@`, `:` and `/`, which another
    program's ids may hold (owner `a@h:1/b/1` with no /proc identity and owner `a` on host
    `h` were one group); the `owner:` prefix is one `process_key` never has."""
    liveness = holder.liveness
    parts: list[str | int] = [holder.owner_id.split(RECOVERY)[0]]
    if isinstance(liveness, LocalProcessLiveness):
        parts += [liveness.host_id, liveness.pid, liveness.boot_id, liveness.process_start]
    return OWNER + json.dumps(parts)


def process_key(process_id: str) -> str:
    """The row of a lease: its process id behind a prefix no `owner_key` has, since a
    process id is whatever another program stored, `owner:…` included."""
    return PROCESS + process_id


# The characters of why a lease could not be decoded that its LEASE cell shows.
WHY_CHARS = 72


@dataclass(frozen=True)
class Held:
    process: ObservedProcess
    holder: LeaseOwnerIdentity
    expires_at_ms: int | None  # None when the lease could not be decoded
    fence: int | None  # None when the lease was released between the two reads, or undecoded
    undecodable: str | None = None  # why the stored lease could not be decoded

    def lapsed(self, now_ms: int) -> bool:
        """Known to have lapsed: an expiry that could not be decoded is no lapse."""
        return self.expires_at_ms is not None and self.expires_at_ms <= now_ms

    def order(self) -> tuple[bool, int, str]:
        """Undecodable leases first (only the operator ends them), then by expiry."""
        expires = self.expires_at_ms
        return (expires is not None, expires or 0, self.process.process_id)


def lease_cells(held: Held, now_ms: int) -> tuple[str, str | Text]:
    """A lease's FENCE and LEASE cells: unknown, and why, when it could not be decoded."""
    if held.undecodable is not None:
        why = text.cell(visible_clipped(held.undecodable, WHY_CHARS))
        return "?", text.plain("expiry unknown: ", why)
    fence = str(held.fence) if held.fence is not None else "-"
    return fence, fmt.countdown(held.expires_at_ms, now_ms)


def summary(members: list[Held], now_ms: int) -> str:
    """An owner's leases: how many, how many lapsed, how many could not be decoded."""
    lapsed = sum(m.lapsed(now_ms) for m in members)
    unknown = sum(m.undecodable is not None for m in members)
    parts = [f"{len(members):,} lease{'s' if len(members) != 1 else ''}"]
    parts += [f"{lapsed} lapsed"] if lapsed else []
    parts += [f"{unknown} could not be decoded"] if unknown else []
    return ", ".join(parts)


def group_rows(members: list[Held], health: str, now_ms: int) -> list[Row]:
    holder = members[0].holder
    incarnations = {m.holder.incarnation_id for m in members}
    incarnation = (
        text.data(visible_clipped(holder.incarnation_id, 16))
        if len(incarnations) == 1
        else f"{len(incarnations):,} incarnations"
    )
    lapsed = any(m.lapsed(now_ms) for m in members)
    key = owner_key(holder)
    header = (
        text.data(fmt.owner(holder)), incarnation, health, "", "", "", "",
        summary(members, now_ms),
    )  # fmt: skip
    rows = [Row(key, header, style="bold", states=((7, "lapsed"),) if lapsed else ())]
    for m in members:
        p = m.process
        fence, lease = lease_cells(m, now_ms)
        cells = (
            "", "", "", text.data(p.process_id), text.label(p.label), p.disposition_text(),
            fence, lease,
        )
        # The process in its state's style (running or waiting), its lease when lapsed.
        lapsed_here = ((7, "lapsed"),) if m.lapsed(now_ms) else ()
        states = ((3, fmt.state(p)), *lapsed_here)
        rows.append(Row(process_key(p.process_id), cells, states=states))
    return rows


def arrange(held: list[Held], health: dict[str, str], now_ms: int) -> list[Row]:
    """Owners with a lease that could not be decoded or has lapsed first (either waits for
    the operator), then by earliest expiry; leases in `Held.order`."""
    groups: dict[str, list[Held]] = {}
    for h in sorted(held, key=Held.order):
        groups.setdefault(owner_key(h.holder), []).append(h)

    def urgency(item: tuple[str, list[Held]]) -> tuple[bool, tuple[bool, int, str], str]:
        first = item[1][0]
        waits = first.undecodable is not None or first.lapsed(now_ms)
        return (not waits, first.order(), item[0])

    ordered = sorted(groups.items(), key=urgency)
    return [
        row for key, members in ordered for row in group_rows(members, health.get(key, "…"), now_ms)
    ]


class LeasesScreen(ProcessActions, LiveScreen):
    REFRESH_WORKER = "refresh_leases"
    READS_ON_COMMIT = True  # a lease changes only by a commit; countdowns are `show`'s
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Detail"),
        *ACTION_BINDINGS,
        Binding("p", "toggle_pause", "Pause"),
        Binding("question_mark", "app.help", "Help"),
    ]

    def __init__(self, dashboard: Dashboard) -> None:
        super().__init__(dashboard)
        self.held: list[Held] = []
        self.health: dict[str, str] = {}  # by owner key, judged at each refresh
        self.by_id: dict[str, ObservedProcess] = {}
        # (held, lapsed) in the whole registry at the last read, when it held more than a read
        # lists (past LIMIT, or past the size of records a read holds).
        self.totals: tuple[int, int] | None = None
        self._judge: LeaseOwnerIdentity | None = None
        self._placed = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="leases-status", classes="view-status")
        yield Static("no leases held", id="leases-empty", classes="view-empty")
        # The countdowns, and the owner rows' lapsed counts that turn on them.
        yield KeyedTable(COLUMNS, id="leases-table", clock_columns=("lease",), plan=PLAN)
        yield KeyFooter()

    async def load(self) -> None:
        processes = self.dashboard.processes
        listed, more = await processes.bounded_leases(LIMIT)
        totals = None
        if more:  # past LIMIT, or past the size of records a read holds: count them all
            totals = await processes.registry.count_held_leases(self.dashboard.clock.now_ms())
        observed = [p for p in listed if p.lease_holder is not None]
        # The fencing token is not part of ObservedProcess; one batched lease read adds it.
        leases = await processes.registry.get_process_leases([p.process_id for p in observed])
        held = []
        for p in observed:
            held.append(self._held(p, leases.get(p.process_id)))
        self.health = await self._judged(held)  # before `held`: a tick may show between
        self.held, self.totals = held, totals
        self.by_id = {h.process.process_id: h.process for h in held}

    @staticmethod
    def _held(process: ObservedProcess, lease: ProcessLease | None) -> Held:
        """A lease as last read (None: released since the rows were read, so as the row
        saw it). A stand-in for one that could not be decoded holds 0 for its numbers: they
        are not known, and are not shown."""
        holder = lease.owner if lease else process.lease_holder
        assert holder is not None
        why = lease.undecodable if lease else process.lease_undecodable
        if why is not None:
            return Held(process, holder, None, None, why)
        if lease is not None:
            return Held(process, holder, lease.expires_at_epoch_ms, lease.fencing_token)
        return Held(process, holder, process.lease_expires_at_ms, None)

    async def recheck(self) -> None:
        """An owner's health changes without a commit (its process ends): judged again at
        every refresh, from the holders last read."""
        self.health = await self._judged(self.held)

    async def _judged(self, held: list[Held]) -> dict[str, str]:
        # Judging reads /proc (a few small files per owner): off the event loop.
        holders = {owner_key(h.holder): h.holder for h in held}
        return await asyncio.to_thread(self._judge_all, holders)

    def _judge_all(self, holders: dict[str, LeaseOwnerIdentity]) -> dict[str, str]:
        if self._judge is None:
            self._judge = sweep_identity(self.dashboard.worker)
        return {key: owner_health(holder, self._judge) for key, holder in holders.items()}

    def show(self, now_ms: int) -> None:
        table = self.query_one(KeyedTable)
        if table.show(arrange(self.held, self.health, now_ms), frozen=self.frozen):
            self.refresh_bindings()  # the selected process may have changed under the cursor
        self.refresh_offers()  # or ended while the cursor stayed on it (its cells may not move)
        if not self._placed and table.row_count > 1:
            table.move_cursor(row=1)  # start on the first lease, not on its owner
            self._placed = True
        self.say("#leases-status", self.status(now_ms))
        self.hide_when_empty(table, not self.held and self.known_empty, "-empty")

    def status(self, now_ms: int) -> str:
        if self.error and self.unread:  # nothing read: the error alone
            return "  ·  ".join([*self.paused_note(), f"error: {self.error}"])
        status = "owner health as a sweep on this host would judge it"
        if self.held:
            owners = f"{len(self.health):,} owner{'s' if len(self.health) != 1 else ''}"
            lapsed = sum(h.lapsed(now_ms) for h in self.held)
            unknown = sum(h.undecodable is not None for h in self.held)
            if unknown:  # counted neither lapsed nor live
                lapsed_words = f"{lapsed:,} lapsed, {unknown:,} could not be decoded"
            else:
                lapsed_words = f"{lapsed:,} lapsed"
            held = f"{len(self.held):,} lease{'s' if len(self.held) != 1 else ''}"
            if self.totals is None:
                status = f"{held} held by {owners}, {lapsed_words}  ·  {status}"
            else:  # the list stops short of the registry's leases: say how many there are
                total, lapsed_total = self.totals
                status = (
                    f"{total:,} leases held, {lapsed_total:,} lapsed at the last read  ·  the "
                    f"{held} soonest to lapse shown: {owners}, {lapsed_words}  ·  {status}"
                )
        if self.error:
            status = f"error: {self.error}  ·  {status}"
        return "  ·  ".join([*self.paused_note(), status, *self._lost()])

    def _lost(self) -> list[str]:
        lost = self.query_one(KeyedTable).lost
        if lost is not None and not lost.startswith(PROCESS):
            return ["the selected owner left the list: no row selected (↑/↓ select one)"]
        return self.lost_note(lost.removeprefix(PROCESS) if lost else None)

    def target(self) -> ObservedProcess | None:
        selected = self.query_one(KeyedTable).selected_key
        if selected is None or not selected.startswith(PROCESS):
            return None  # an owner's row
        return self.by_id.get(selected.removeprefix(PROCESS))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "open":
            return self.target() is not None
        return self.offers(action)

    def acted(self) -> None:
        self.wake()  # show the outcome now, not at the next refresh

    def opened_process_id(self) -> str | None:
        process = self.target()  # an owner's header row opens nothing
        return process.process_id if process is not None else None
