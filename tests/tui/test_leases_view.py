"""The Leases view over what other programs stored in a registry: whatever a process id or
an owner's ids hold, each owner keeps its own header row and its own leases under it, and
the status line counts what is drawn. Real SQLite files, the real app under Pilot."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from textual.widgets import Static

from lashtui.admin import Processes
from lashtui.clock import ManualClock
from lashtui.model import LeaseOwnerIdentity
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.tui.app import make_app
from lashtui.tui.screens.detail import ProcessDetailScreen
from lashtui.tui.screens.leases import LeasesScreen, owner_key
from lashtui.tui.widgets.keyed_table import KeyedTable
from tests.builders import ob
from tests.tui.scene import START_MS, far, home_loaded, until
from tests.tui.test_views import SIZE, open_view

MINUTES_10 = 600_000


@pytest.fixture
async def registry(tmp_path: Path) -> AsyncIterator[tuple[SqliteProcessRegistry, ManualClock]]:
    clock = ManualClock(START_MS)
    registry = await SqliteProcessRegistry.open(str(tmp_path / "leases.db"), clock=clock)
    try:
        yield registry, clock
    finally:
        await registry.close()


async def hold(
    registry: SqliteProcessRegistry, pid: str, owner: LeaseOwnerIdentity, ttl_ms: int
) -> None:
    await registry.register_process(ob(pid))
    assert (await registry.claim_process_lease(pid, owner, ttl_ms)).acquired() is not None


def drawn(table: KeyedTable) -> list[tuple[str, str, str]]:
    """The table as drawn, top to bottom: (OWNER, PROCESS, LEASE) of each row; an owner's
    row has its owner and its count of leases, a lease's row its process and countdown."""
    rows = (table.get_row(row.key) for row in table.ordered_rows)
    return [(str(cells[0]), str(cells[3]), str(cells[-1])) for cells in rows]


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
            ("worker-9@host-c:4242", "", "1 lease, 1 lapsed"),
            ("", "etl-orders", "lapsed 1s"),
            ("worker-7@host-b:4242", "", "3 leases"),
            *(("", pid, "9m58s left") for pid in mine),
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
            ("w@host-b:4242/boot-b/1", "", "1 lease"),
            ("", "a-opaque", "1m00s left"),
            ("w@host-b:4242", "", "1 lease"),
            ("", "b-local", "10m00s left"),
        ]
        assert status(leases).startswith("2 leases held by 2 owners, 0 lapsed")
