"""The Leases, Abandon requests and Engine health views: snapshots of each over the
every-state scene and an empty registry, and Pilot tests of what an operator does there
(switch views without losing the selection, drill in, request abandon, watch a countdown,
tell a live owner from a dead one on this host)."""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Button, Input, Static

from lashtui.admin import Processes
from lashtui.clock import ManualClock
from lashtui.model import (
    Engine,
    LeaseOwnerIdentity,
    LeaseTimings,
    LocalProcessLiveness,
    ProcessEventType,
    ProcessStartRequest,
)
from lashtui.model.lease import read_boot_id
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.tui import format as fmt
from lashtui.tui.app import make_app
from lashtui.tui.screens import health
from lashtui.tui.screens.abandon import AbandonRequestsScreen
from lashtui.tui.screens.detail import ProcessDetailScreen
from lashtui.tui.screens.health import HealthScreen
from lashtui.tui.screens.leases import Held, LeasesScreen, arrange, owner_key, process_key
from lashtui.tui.screens.live import LiveScreen
from lashtui.tui.screens.modals import AbandonScreen
from lashtui.tui.widgets.keyed_table import KeyedTable
from lashtui.tui.widgets.process_table import ProcessTable
from lashtui.worker import ProcessWorker, attempt_identity
from lashtui.worker.identity import host_id
from tests.builders import local, ob, rr
from tests.tui.scene import START_MS, far, home_loaded, until

SIZE = (140, 30)


@pytest.fixture
def empty(tmp_path: Path) -> Iterator[tuple[SqliteProcessRegistry, ManualClock]]:
    clock = ManualClock(START_MS)
    registry = asyncio.run(SqliteProcessRegistry.open(str(tmp_path / "empty.db"), clock=clock))
    yield registry, clock
    asyncio.run(registry.close())


def observer(registry: SqliteProcessRegistry, clock: ManualClock, **kw: Any) -> Any:
    """Read-only, no worker: no identity, pid or host of this test run reaches the screen."""
    kw.setdefault("subtitle", "scene.db")
    return make_app(Processes(registry, clock=clock), clock=clock, read_only=True, **kw)



async def open_view(pilot: Pilot[Any], key: str, kind: type[LiveScreen]) -> Any:
    """Switch to a view and wait for its first read to be on screen."""
    await pilot.press(key)
    screen = pilot.app.screen
    assert isinstance(screen, kind)
    async with asyncio.timeout(10):
        await screen.loaded.wait()
    await pilot.pause()
    return screen


def view(key: str, kind: type[LiveScreen]) -> Any:
    async def run_before(pilot: Pilot[Any]) -> None:
        await home_loaded(pilot)
        await open_view(pilot, key, kind)

    return run_before



def text(screen: Screen[Any], selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


# --- snapshots


@pytest.mark.parametrize(
    ("key", "kind"), [("2", LeasesScreen), ("3", AbandonRequestsScreen)], ids=["leases", "abandon"]
)
def test_every_state_snapshot(
    every_state: tuple[SqliteProcessRegistry, ManualClock],
    snap_compare: Any,
    key: str,
    kind: type[LiveScreen],
) -> None:
    registry, clock = every_state
    assert snap_compare(observer(registry, clock), terminal_size=SIZE, run_before=view(key, kind))


@pytest.mark.parametrize(
    ("key", "kind"), [("2", LeasesScreen), ("3", AbandonRequestsScreen)], ids=["leases", "abandon"]
)
def test_empty_registry_snapshot(
    empty: tuple[SqliteProcessRegistry, ManualClock],
    snap_compare: Any,
    key: str,
    kind: type[LiveScreen],
) -> None:
    registry, clock = empty
    app = observer(registry, clock, subtitle="empty.db")
    assert snap_compare(app, terminal_size=(120, 14), run_before=view(key, kind))


def test_health_snapshot(
    every_state: tuple[SqliteProcessRegistry, ManualClock],
    snap_compare: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # DB latency is wall time: a stopwatch that moves 0.4 ms between its two readings makes
    # it the same on every run, the way the ManualClock does for every clock time.
    ticks = itertools.count()
    monkeypatch.setattr(health, "stopwatch", lambda: next(ticks) * 0.0004)
    registry, clock = every_state
    app = observer(registry, clock)
    assert snap_compare(app, terminal_size=SIZE, run_before=view("4", HealthScreen))


# --- the operator at work


async def test_switching_views_keeps_the_processes_selection(
    scene: tuple[SqliteProcessRegistry, ManualClock],
) -> None:
    registry, clock = scene
    app = observer(registry, clock)
    async with app.run_test(size=SIZE) as pilot:
        home = await home_loaded(pilot)
        table = home.query_one(ProcessTable)
        table.move_cursor(row=table.get_row_index("h-requested"))
        await pilot.pause()
        for key, kind in (("2", LeasesScreen), ("3", AbandonRequestsScreen), ("4", HealthScreen)):
            await open_view(pilot, key, kind)
        await pilot.press("1")
        assert app.screen is home
        assert table.selected_id == "h-requested"


async def test_enter_on_a_lease_opens_its_process_and_escape_returns(
    scene: tuple[SqliteProcessRegistry, ManualClock],
) -> None:
    registry, clock = scene
    app = observer(registry, clock)
    async with app.run_test(size=SIZE) as pilot:
        await home_loaded(pilot)
        leases = await open_view(pilot, "2", LeasesScreen)
        table = leases.query_one(KeyedTable)
        assert table.selected_key == process_key("g-silent")  # the first lease, not its owner's row
        table.move_cursor(row=0)  # an owner's row opens nothing
        await pilot.press("enter")
        assert app.screen is leases
        table.move_cursor(row=table.get_row_index(process_key("a-running")))
        await pilot.press("enter")
        detail = app.screen
        assert isinstance(detail, ProcessDetailScreen)
        assert detail.process_id == "a-running"
        await pilot.press("escape")
        assert app.screen is leases
        assert table.selected_key == process_key("a-running")


async def test_requesting_abandon_moves_a_silent_row_to_the_pending_requests(
    scene: tuple[SqliteProcessRegistry, ManualClock],
) -> None:
    registry, clock = scene
    # Actions on, and no worker: nothing runs or sweeps, so the request stays pending.
    app = make_app(
        Processes(registry, clock=clock), clock=clock, refresh_s=0.05, operator="operator:test"
    )
    async with app.run_test(size=SIZE) as pilot:
        await home_loaded(pilot)
        screen = await open_view(pilot, "3", AbandonRequestsScreen)
        pending = screen.query_one("#pending-table", KeyedTable)
        silent = screen.query_one("#silent-table", KeyedTable)
        assert list(pending.shown) == ["h-requested"]
        assert list(silent.shown) == ["g-silent"]
        await pilot.press("tab")
        assert screen.focused is silent and silent.selected_key == "g-silent"
        await pilot.press("a")
        modal = app.screen
        assert isinstance(modal, AbandonScreen) and "g-silent" in modal.targets
        assert "lease has lapsed" in text(modal, "#outlook")
        modal.query_one("#abandon-reason", Input).value = "host-d was retired"
        modal.query_one("#request", Button).press()
        await until(pilot, lambda: "g-silent" in pending.shown)
        assert "g-silent" not in silent.shown
        assert "no silent rows" in text(screen, "#silent-empty")
        assert silent.display is False and pending.display is True
        request = str(pending.shown["g-silent"].cells[2])  # stored text: a `Text` cell
        assert request == "operator:test · 0ms ago\nhost-d was retired"
        verdict = str(pending.shown["g-silent"].cells[4])  # two lines, joined: a `Text`
        assert verdict == "will abandon at the next sweep:\nthe owner's lease has lapsed"


async def test_a_countdown_follows_the_clock_between_reads(
    scene: tuple[SqliteProcessRegistry, ManualClock],
) -> None:
    registry, clock = scene
    app = observer(registry, clock, refresh_s=60)  # no read in the test: only the tick
    async with app.run_test(size=SIZE) as pilot:
        await home_loaded(pilot)
        leases = await open_view(pilot, "2", LeasesScreen)
        table = leases.query_one(KeyedTable)
        key = process_key("h-requested")
        assert table.shown[key].cells[-1] == "8m30s left"
        clock.advance(95_000)
        await until(pilot, lambda: table.shown[key].cells[-1] == "6m55s left")
        assert str(table.get_cell(key, "lease")) == "6m55s left"


async def test_health_shows_the_embedded_worker_running_its_work(tmp_path: Path) -> None:
    registry = await SqliteProcessRegistry.open(str(tmp_path / "engine.db"))
    worker = ProcessWorker(registry, timings=LeaseTimings(ttl_ms=3_000, renew_interval_ms=500))
    processes = Processes(registry, worker=worker)
    try:
        app = make_app(processes, refresh_s=0.05)
        async with app.run_test(size=SIZE) as pilot:
            await home_loaded(pilot)
            await processes.start(parked("parked"))
            async with asyncio.timeout(10):
                await worker.awaiter.await_event("parked", "process.waiting", 0)
            screen = await open_view(pilot, "4", HealthScreen)
            await until(pilot, lambda: "in flight  1: parked" in text(screen, "#engine-facts"))
            facts = text(screen, "#engine-facts").splitlines()
            assert facts[0] == "state      running"
            assert facts[1] == f"owner      {fmt.owner(worker.owner)}"
            assert facts[4] == "problems   none"
            assert facts[5] == "backlog    not draining in full batches"
            assert facts[6].startswith("commits    followed as they happen (")
            await processes.signal("parked", "go", "once", None)
            async with asyncio.timeout(10):
                await processes.await_output("parked")

            def tallied() -> dict[str, str]:
                pairs = [line.rsplit(maxsplit=1) for line in text(screen, "#verdicts").splitlines()]
                return {p[0]: p[1] for p in pairs if len(p) == 2 and p[1].isdigit()}

            await until(pilot, lambda: tallied().get("completed") == "1")
            assert tallied()["ran"] == "1"  # a verdict is counted when its run ends
            assert "in flight  0: none" in text(screen, "#engine-facts")
    finally:
        await worker.stop()
        await registry.close()


async def test_health_says_how_the_worker_reads_other_connections_commits(
    tmp_path: Path,
) -> None:
    """Followed as they happen; or, while it drains a backlog in full batches, read at
    the backlog's end or at a drive (follow.py `_drive_forever`); or not at all while its
    drive loop is not running."""
    registry = await SqliteProcessRegistry.open(str(tmp_path / "engine.db"))
    worker = ProcessWorker(registry)
    now = 1_780_000_000_000
    try:
        assert HealthScreen._commits_fact(worker, now) == [
            "backlog    not draining in full batches",
            "commits    not followed: the worker's drive loop is not running",
        ]
        worker.stats.draining_since_ms = now - 65_000
        assert HealthScreen._commits_fact(worker, now) == [
            "backlog    draining in full batches for 1m05s",
            "commits    read at the backlog's end or at a drive",
        ]
        worker.stats.draining_since_ms = None
        async with worker.running():
            async with asyncio.timeout(10):
                while not worker.following:  # noqa: ASYNC110 (a guard on the drive loop)
                    await asyncio.sleep(0.01)
            assert HealthScreen._commits_fact(worker, now)[1] == (
                "commits    followed as they happen (0 wakes)"
            )
    finally:
        await worker.stop()
        await registry.close()


def parked(pid: str) -> ProcessStartRequest:
    return ProcessStartRequest(
        id=pid,
        input=Engine(kind="steps", payload={"steps": [{"wait_signal": "go"}]}),
        disposition="rerunnable",
        event_types=[ProcessEventType.plain("signal.go")],
    )


@pytest.fixture
def gone_pid() -> int:
    """The pid of a process that ran on this host and has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


async def test_an_owner_on_this_host_is_alive_or_provably_dead(
    tmp_path: Path, gone_pid: int
) -> None:
    boot, here = read_boot_id(), host_id()
    if boot is None or here is None:
        pytest.skip("no /proc boot id: nothing on this host can be proven dead")
    me = local("me", host=here)  # this test process: its pid, boot and start time
    assert isinstance(me.liveness, LocalProcessLiveness) and me.liveness.pid == os.getpid()
    gone = LeaseOwnerIdentity(
        owner_id="gone",
        incarnation_id="gone:1",
        liveness=LocalProcessLiveness(host_id=here, boot_id=boot, pid=gone_pid, process_start="1"),
    )
    clock = ManualClock(START_MS)
    registry = await SqliteProcessRegistry.open(str(tmp_path / "here.db"), clock=clock)
    try:
        for pid, owner in (("p-mine", me), ("p-gone", gone), ("p-far", far("w-far"))):
            await registry.register_process(ob(pid))
            assert (await registry.claim_process_lease(pid, owner, 60_000)).acquired()
        app = make_app(Processes(registry, clock=clock), clock=clock, read_only=True)
        async with app.run_test(size=SIZE) as pilot:
            await home_loaded(pilot)
            table = (await open_view(pilot, "2", LeasesScreen)).query_one(KeyedTable)
            health_of = {o.owner_id: table.shown[owner_key(o)].cells[2] for o in (me, gone)}
            assert health_of == {"me": "✓ alive", "gone": "✗ provably dead"}
            assert table.shown[owner_key(far("w-far"))].cells[2] == "? unknown: other host"
    finally:
        await registry.close()


async def test_leases_group_by_owner_process_with_lapsed_groups_first(
    registry: SqliteProcessRegistry, clock: ManualClock
) -> None:
    """A worker claims each row under its own recovery attempt identity: one owner still."""
    processes = Processes(registry, clock=clock)
    for pid in "abcd":
        await registry.register_process(rr(pid))
    observed = {p.process_id: p for p in await processes.list()}
    worker = far("worker-1")
    other = far("worker-2", host="host-c")
    now = clock.now_ms()
    rows = arrange(
        [
            Held(observed["b"], attempt_identity(worker), now + 4_000, 7),
            Held(observed["a"], attempt_identity(worker), now + 8_000, 3),
            Held(observed["c"], other, now + 7_000, 1),
            Held(observed["d"], other, now - 500, 2),
        ],
        {},
        now_ms=now,
    )
    keys = [row.key for row in rows]
    leases = [process_key(pid) for pid in "dcba"]
    assert keys == [owner_key(other), *leases[:2], owner_key(worker), *leases[2:]]
    assert rows[0].cells[-1] == "2 leases, 1 lapsed"
    assert rows[1].cells[-2:] == ("2", "lapsed 500ms ago")
    assert tuple(map(str, rows[3].cells[:2])) == ("worker-1@host-b:4242", "2 incarnations")
    assert rows[4].cells[-2:] == ("7", "4s left")
