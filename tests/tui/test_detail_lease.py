"""The detail's lease line says what the Leases view says of the same lease: its holder,
the holder's health as the sweep would judge it, the fencing token and the expiry (the
dashboard spec's "holder identity incl. liveness, fencing token, expiry"). It said only
`lease worker-7@host-b:4242 (9m57s left)   incarnation worker-7:1`. A lease that does not
decode has its fence unknown, never 0; a released one has no holder (`-`); `lashtui show`
prints the same facts. Real SQLite files, real OS processes, the real app under Pilot."""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from lashtui.admin import Processes
from lashtui.clock import ManualClock
from lashtui.command.detail import Detail
from lashtui.model import LeaseOwnerIdentity, LocalProcessLiveness
from lashtui.model.lease import read_process_start
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.tui.app import make_app
from lashtui.tui.screens.detail import ProcessDetailScreen
from lashtui.tui.screens.leases import LeasesScreen, process_key
from lashtui.tui.widgets.keyed_table import KeyedTable
from lashtui.worker import default_owner
from tests.raw import raw_connection
from tests.tui.scene import START_MS, far, home_loaded, until
from tests.tui.test_leases_view import MINUTES_10, hold
from tests.tui.test_views import open_view

DB = "detail-lease.db"
SIZE = (200, 30)


@pytest.fixture
async def registry(tmp_path: Path) -> AsyncIterator[tuple[SqliteProcessRegistry, ManualClock]]:
    clock = ManualClock(START_MS)
    registry = await SqliteProcessRegistry.open(str(tmp_path / DB), clock=clock)
    try:
        yield registry, clock
    finally:
        await registry.close()


def lease_line(detail: ProcessDetailScreen) -> str:
    said = str(detail.query_one("#summary", Static).render())
    return next(line for line in said.splitlines() if line.startswith("lease "))


async def opened(pilot: Pilot[Any], process_id: str) -> ProcessDetailScreen:
    """The detail of `process_id`, once its lease's holder has been judged."""
    (await home_loaded(pilot)).action_open(process_id)
    await until(pilot, lambda: isinstance(pilot.app.screen, ProcessDetailScreen))
    detail = pilot.app.screen
    assert isinstance(detail, ProcessDetailScreen)
    await until(pilot, lambda: detail.process is not None and detail.health is not None)
    return detail


async def show_lease(processes: Processes, process_id: str) -> str:
    """`lashtui show`'s lease line, its spaces run together."""
    found = await processes.get(process_id)
    assert found is not None
    lines = (await Detail.read(processes, found)).lines()
    return re.sub(r"\s+", " ", next(line for line in lines if line.startswith("lease")))


async def test_the_lease_line_names_the_fence_and_the_holders_health_as_the_leases_view(
    registry: tuple[SqliteProcessRegistry, ManualClock],
) -> None:
    store, clock = registry
    await hold(store, "payroll-run", far("worker-7"), MINUTES_10)
    # Claimed again after it lapsed: a fence of 2 is not a constant the line could hold.
    clock.advance(MINUTES_10 + 1_000)
    again = await store.claim_process_lease("payroll-run", far("worker-9", "host-c"), MINUTES_10)
    assert again.acquired() is not None
    app = make_app(Processes(store, clock=clock), clock=clock, read_only=True, refresh_s=0.05)
    async with app.run_test(size=SIZE) as pilot:
        leases = await open_view(pilot, "2", LeasesScreen)
        table = leases.query_one(KeyedTable)
        await until(pilot, lambda: process_key("payroll-run") in table.rows)
        row = table.get_row(process_key("payroll-run"))
        owner_row = table.get_row(table.ordered_rows[0].key)
        fence, health = str(row[-2]), str(owner_row[2])
        assert (fence, health) == ("2", "? unknown: other host")
        await pilot.press("1")
        detail = await opened(pilot, "payroll-run")
        await until(pilot, lambda: "fence" in lease_line(detail))
        assert lease_line(detail) == (
            "lease worker-9@host-c:4242 (10m00s left)   fence 2   health ? unknown: other host"
            "   incarnation worker-9:1"
        )


async def test_a_holder_that_dies_is_said_dead_without_a_commit(
    registry: tuple[SqliteProcessRegistry, ManualClock],
) -> None:
    """A live holder on this host is `alive`; once its OS process ends, the detail says
    `provably dead` (the sweep would take its work now) though nothing was written."""
    store, clock = registry
    sleep = "import time; time.sleep(120)"
    child = await asyncio.create_subprocess_exec(sys.executable, "-c", sleep)
    try:
        mine = default_owner().liveness
        assert isinstance(mine, LocalProcessLiveness)
        start = read_process_start(child.pid)
        assert start is not None
        liveness = mine.model_copy(update={"pid": child.pid, "process_start": start})
        holder = LeaseOwnerIdentity(owner_id="child", incarnation_id="child:1", liveness=liveness)
        await hold(store, "held", holder, MINUTES_10)
        app = make_app(Processes(store, clock=clock), clock=clock, read_only=True, refresh_s=0.05)
        async with app.run_test(size=SIZE) as pilot:
            detail = await opened(pilot, "held")
            await until(pilot, lambda: "health ✓ alive" in lease_line(detail))
            assert "fence 1" in lease_line(detail)
            child.kill()
            await child.wait()
            await until(pilot, lambda: "health ✗ provably dead" in lease_line(detail), within=20)
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()


async def test_an_undecodable_lease_has_its_fence_unknown_and_a_released_one_no_holder(
    registry: tuple[SqliteProcessRegistry, ManualClock], tmp_path: Path
) -> None:
    """The stand-in of a lease row another program stored with a fence of 1.5 holds 0 for
    its numbers: neither the detail nor `show` may say `fence 0`."""
    store, clock = registry
    await hold(store, "spoiled", far("worker-7"), MINUTES_10)
    await hold(store, "released", far("worker-7"), MINUTES_10)
    lease = await store.get_process_lease("released")
    assert lease is not None
    await store.release_process_lease(lease)
    with raw_connection(str(tmp_path / DB)) as conn:
        conn.execute(
            "UPDATE process_leases SET lease_fencing_token = 1.5 WHERE process_id = 'spoiled'"
        )
    processes = Processes(store, clock=clock)
    app = make_app(processes, clock=clock, read_only=True, refresh_s=0.05)
    async with app.run_test(size=SIZE) as pilot:
        detail = await opened(pilot, "spoiled")
        assert lease_line(detail) == (
            "lease worker-7@host-b:4242 (could not be decoded)   fence unknown"
            "   health ? unknown: other host   incarnation worker-7:1"
        )
        await pilot.press("escape")
        (await home_loaded(pilot)).action_open("released")
        await until(pilot, lambda: isinstance(app.screen, ProcessDetailScreen))
        released = app.screen
        assert isinstance(released, ProcessDetailScreen)
        await until(pilot, lambda: released.process is not None and released._facts is not None)
        assert lease_line(released) == "lease -"

    # `lashtui show` follows the detail: the same fence, health and expiry words.
    assert await show_lease(processes, "spoiled") == (
        "lease worker-7 on host-b:4242 (could not be decoded: expiry unknown), fence unknown, "
        "health ? unknown: other host, incarnation worker-7:1"
    )
    assert await show_lease(processes, "released") == "lease -"


async def test_show_prints_the_fence_and_health(
    registry: tuple[SqliteProcessRegistry, ManualClock],
) -> None:
    store, clock = registry
    await hold(store, "payroll-run", far("worker-7"), MINUTES_10)
    assert await show_lease(Processes(store, clock=clock), "payroll-run") == (
        "lease worker-7 on host-b:4242 (10m00s left), fence 1, health ? unknown: other host, "
        "incarnation worker-7:1"
    )
