"""The Leases view over what other programs stored in a registry: whatever a process id or
an owner's ids hold, each owner keeps its own header row and its own leases under it; a
lease row that does not decode is shown with its expiry and fence unknown, and why, counted
neither lapsed nor live (in the Abandon requests view too); and the status line counts what
is drawn. Real SQLite files, the real app under Pilot."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from textual.widgets import Static

from lashtui.admin import Processes
from lashtui.clock import ManualClock
from lashtui.model import AbandonRequest, LeaseOwnerIdentity, ProcessStarted
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.tui.app import make_app
from lashtui.tui.screens.abandon import AbandonRequestsScreen
from lashtui.tui.screens.detail import ProcessDetailScreen
from lashtui.tui.screens.leases import LeasesScreen, owner_key, process_key
from lashtui.tui.widgets.keyed_table import KeyedTable
from lashtui.tui.widgets.process_table import ProcessTable
from lashtui.tui.widgets.state_style import paint
from tests.builders import ob
from tests.raw import raw_connection
from tests.tui.scene import START_MS, far, home_loaded, until
from tests.tui.test_views import SIZE, open_view

MINUTES_10 = 600_000
DB = "leases.db"


@pytest.fixture
async def registry(tmp_path: Path) -> AsyncIterator[tuple[SqliteProcessRegistry, ManualClock]]:
    clock = ManualClock(START_MS)
    registry = await SqliteProcessRegistry.open(str(tmp_path / DB), clock=clock)
    try:
        yield registry, clock
    finally:
        await registry.close()


async def hold(
    registry: SqliteProcessRegistry, pid: str, owner: LeaseOwnerIdentity, ttl_ms: int
) -> None:
    await registry.register_process(ob(pid))
    assert (await registry.claim_process_lease(pid, owner, ttl_ms)).acquired() is not None


def drawn(table: KeyedTable) -> list[tuple[str, str, str, str]]:
    """The table as drawn, top to bottom: (OWNER, PROCESS, FENCE, LEASE) of each row; an
    owner's row has its owner and its count of leases, a lease's row its process, fence
    and countdown."""
    rows = (table.get_row(row.key) for row in table.ordered_rows)
    return [(str(cells[0]), str(cells[3]), str(cells[-2]), str(cells[-1])) for cells in rows]


def status(screen: LeasesScreen) -> str:
    return str(screen.query_one("#leases-status", Static).render())


async def test_a_process_named_as_an_owners_group_leaves_that_owner_its_row(
    registry: tuple[SqliteProcessRegistry, ManualClock],
) -> None:
    """A process id is whatever another program stored. One named as the view's own key for
    its owner's group (`owner:worker-7@host-b:4242/boot-b/1`, as it was made) took that
    owner's header row: worker-7's identity, incarnation, health and count were gone, and
    its leases, `payroll-run` among them, were drawn under worker-9, as if worker-9 held
    them, while the status line still said 2 owners."""
    store, clock = registry
    seven, nine = far("worker-7"), far("worker-9", host="host-c")
    named = (owner_key(seven), "owner:worker-7@host-b:4242/boot-b/1")
    await hold(store, "etl-orders", nine, 1_000)
    for pid in ("payroll-run", *named):
        await hold(store, pid, seven, MINUTES_10)
    clock.advance(2_000)  # etl-orders has lapsed: worker-9's group is drawn first
    app = make_app(Processes(store, clock=clock), clock=clock, read_only=True, refresh_s=0.05)
    async with app.run_test(size=(200, 30)) as pilot:
        await home_loaded(pilot)
        leases = await open_view(pilot, "2", LeasesScreen)
        table = leases.query_one(KeyedTable)
        mine = sorted((*named, "payroll-run"))
        assert drawn(table) == [
            ("worker-9@host-c:4242", "", "", "1 lease, 1 lapsed"),
            ("", "etl-orders", "1", "lapsed 1s ago"),
            ("worker-7@host-b:4242", "", "", "3 leases"),
            *(("", pid, "1", "9m58s left") for pid in mine),
        ]
        assert status(leases).startswith("4 leases held by 2 owners, 1 lapsed")

        # The rows named like owners are leases like any other: Enter opens their process.
        for pid in named:
            table.move_cursor(row=mine.index(pid) + 3)
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, ProcessDetailScreen))
            assert app.screen.process_id == pid  # type: ignore[attr-defined]
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is leases)
        table.move_cursor(row=2)  # worker-7's own row: it opens nothing
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is leases


async def test_two_owners_whose_ids_join_alike_are_two_groups(
    registry: tuple[SqliteProcessRegistry, ManualClock],
) -> None:
    """An owner with no /proc identity whose id reads `w@host-b:4242/boot-b/1` and the owner
    `w` of pid 4242 on host-b (boot boot-b, start 1) were one group, joined by `@`, `:` and
    `/`: one header, the first one's, over both owners' leases, and `1 owner`."""
    store, clock = registry
    opaque = LeaseOwnerIdentity.opaque("w@host-b:4242/boot-b/1", "o:1")
    await hold(store, "a-opaque", opaque, 60_000)
    await hold(store, "b-local", far("w"), MINUTES_10)
    app = make_app(Processes(store, clock=clock), clock=clock, read_only=True, refresh_s=0.05)
    async with app.run_test(size=SIZE) as pilot:
        await home_loaded(pilot)
        leases = await open_view(pilot, "2", LeasesScreen)
        assert drawn(leases.query_one(KeyedTable)) == [
            ("w@host-b:4242/boot-b/1", "", "", "1 lease"),
            ("", "a-opaque", "1", "1m00s left"),
            ("w@host-b:4242", "", "", "1 lease"),
            ("", "b-local", "1", "10m00s left"),
        ]
        assert status(leases).startswith("2 leases held by 2 owners, 0 lapsed")


@pytest.mark.parametrize(
    ("column", "value", "why"),
    [
        ("lease_expires_at_ms", 1e300, "lease_expires_at_ms holds 1e+300, not a whole number"),
        ("lease_fencing_token", 1.5, "lease_fencing_token holds 1.5, not a whole number"),
    ],
    ids=["expiry", "fence"],
)
async def test_a_lease_that_does_not_decode_is_shown_unknown_not_lapsed(
    registry: tuple[SqliteProcessRegistry, ManualClock],
    tmp_path: Path,
    column: str,
    value: float,
    why: str,
) -> None:
    """Another program stored a lease's expiry (or fence) as no whole number. The Processes
    view said `lease could not be decoded`; this view showed the read's stand-in, whose
    numbers are 0: `FENCE 0`, `lapsed 20793d12h` (since 1970), and counted it among the
    lapsed in its owner's row and the status line. Its expiry and fence are unknown."""
    store, clock = registry
    seven, nine = far("worker-7"), far("worker-9", host="host-c")
    await hold(store, "etl-orders", nine, MINUTES_10)
    await hold(store, "payroll-run", seven, MINUTES_10)
    await hold(store, "z-lapsed", seven, 1_000)
    with raw_connection(str(tmp_path / DB)) as conn:
        spoil = f"UPDATE process_leases SET {column} = ? WHERE process_id = 'etl-orders'"
        conn.execute(spoil, (value,))
    clock.advance(2_000)
    app = make_app(Processes(store, clock=clock), clock=clock, read_only=True, refresh_s=0.05)
    async with app.run_test(size=(200, 30)) as pilot:
        home = await home_loaded(pilot)
        processes = home.query_one(ProcessTable)
        assert str(processes.get_cell("etl-orders", "lease")) == "could not be decoded"
        assert str(processes.get_cell("etl-orders", "holder")) == "worker-9@host-c:4242"
        leases = await open_view(pilot, "2", LeasesScreen)
        table = leases.query_one(KeyedTable)
        # Only the operator ends it (the sweep skips it, its holder cannot renew it): first.
        assert drawn(table) == [
            ("worker-9@host-c:4242", "", "", "1 lease, 1 could not be decoded"),
            ("", "etl-orders", "?", f"expiry unknown: its lease row's {why}"),
            ("worker-7@host-b:4242", "", "", "2 leases, 1 lapsed"),
            ("", "z-lapsed", "1", "lapsed 1s ago"),
            ("", "payroll-run", "1", "9m58s left"),
        ]
        assert status(leases).startswith(
            "3 leases held by 2 owners, 1 lapsed, 1 could not be decoded  ·  "
        )
        lapsed = paint(table, "lapsed")
        for key in (owner_key(nine), process_key("etl-orders")):
            assert all(span.style != lapsed for span in table.get_cell(key, "lease").spans)
        assert any(
            span.style == lapsed for span in table.get_cell(process_key("z-lapsed"), "lease").spans
        )
        clock.advance(MINUTES_10)  # time passes: still unknown, not lapsed
        await until(pilot, lambda: status(leases).startswith("3 leases held by 2 owners, 2 lapsed"))
        assert drawn(table)[1] == ("", "etl-orders", "?", f"expiry unknown: its lease row's {why}")
        assert "2 lapsed, 1 could not be decoded" in status(leases)


async def test_the_abandon_requests_view_says_an_undecoded_lease_is_held_expiry_unknown(
    registry: tuple[SqliteProcessRegistry, ManualClock], tmp_path: Path
) -> None:
    """The silent list said `no lease` of a lease whose owner another program stored as
    bytes (its expiry whole and lapsed, so the read lists it there), and a pending request's
    LEASE cell a bare `-` under the holder of one whose expiry is 1e300."""
    store, clock = registry
    nine = far("worker-9", host="host-c")
    started = ProcessStarted(owner=nine, started_at_ms=START_MS)
    for pid, ttl in (("g-silent", 1_000), ("h-asked", MINUTES_10)):
        await hold(store, pid, nine, ttl)
        lease = await store.get_process_lease(pid)
        assert lease is not None
        await store.record_first_started(pid, started, lease)
    asked = AbandonRequest(requested_by="operator:dana", requested_at_ms=START_MS, reason="x")
    await store.request_process_abandon("h-asked", asked)
    with raw_connection(str(tmp_path / DB)) as conn:
        spoil = "UPDATE process_leases SET {} = ? WHERE process_id = ?"
        conn.execute(spoil.format("lease_owner_id"), (b"\xff", "g-silent"))
        conn.execute(spoil.format("lease_expires_at_ms"), (1e300, "h-asked"))
    clock.advance(2_000)
    app = make_app(Processes(store, clock=clock), clock=clock, read_only=True, refresh_s=0.05)
    async with app.run_test(size=(200, 30)) as pilot:
        await home_loaded(pilot)
        screen = await open_view(pilot, "3", AbandonRequestsScreen)
        silent = screen.query_one("#silent-table", KeyedTable)
        pending = screen.query_one("#pending-table", KeyedTable)
        assert str(silent.get_cell("g-silent", "lapsed")) == "expiry unknown: could not be decoded"
        assert str(pending.get_cell("h-asked", "lease")).splitlines() == [
            "worker-9@host-c:4242", "expiry unknown: could not be decoded",
        ]  # fmt: skip
        lapsed = paint(pending, "lapsed")
        assert all(s.style != lapsed for s in pending.get_cell("h-asked", "lease").spans)
