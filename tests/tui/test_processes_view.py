"""The Processes view, driven by Pilot and compared by snapshot: every state on screen,
changes from another OS process shown without a key press, the selection kept on its
process id, and a quit that leaves no lease behind."""

from __future__ import annotations

import asyncio
import hashlib
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable

from lashtui.admin import Processes
from lashtui.admin import processes as admin_processes
from lashtui.clock import ManualClock
from lashtui.model import (
    Engine,
    LeaseTimings,
    ProcessEventType,
    ProcessStartRequest,
)
from lashtui.registry import open_registry
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.tui.app import make_app
from lashtui.tui.screens.detail import ProcessDetailScreen
from lashtui.tui.screens.processes import ProcessesScreen
from lashtui.tui.screens.prune import PruneScreen
from lashtui.tui.widgets.process_table import ProcessTable
from lashtui.worker import ProcessWorker
from tests.tui.scene import START_MS, seed_every_state, seed_many

LASHTUI = str(Path(sys.executable).parent / "lashtui")
MINUTE_S = 60.0


async def loaded(pilot: Pilot[Any]) -> None:
    screen = pilot.app.screen
    assert isinstance(screen, ProcessesScreen)
    async with asyncio.timeout(10):
        await screen.loaded.wait()
    await pilot.pause()


def test_every_state_snapshot(
    every_state: tuple[SqliteProcessRegistry, ManualClock], snap_compare: Any
) -> None:
    registry, clock = every_state
    app = make_app(
        Processes(registry, clock=clock), clock=clock, read_only=True, subtitle="scene.db"
    )
    assert snap_compare(app, terminal_size=(160, 24), run_before=loaded)


def test_ten_thousand_rows_snapshot(tmp_path: Path, snap_compare: Any) -> None:
    """10k rows: the first window, the counts of the whole registry, the high-contrast theme."""
    path = str(tmp_path / "many.db")
    seed_many(path, 10_000)
    clock = ManualClock(START_MS + 65_000)
    registry = asyncio.run(SqliteProcessRegistry.open(path, clock=clock))
    try:
        app = make_app(
            Processes(registry, clock=clock), clock=clock, read_only=True, subtitle="many.db"
        )
        app.theme = "lashtui-high-contrast"
        assert snap_compare(app, terminal_size=(120, 16), run_before=loaded)
    finally:
        asyncio.run(registry.close())


def test_empty_registry_snapshot(tmp_path: Path, snap_compare: Any) -> None:
    clock = ManualClock(START_MS)
    registry = asyncio.run(SqliteProcessRegistry.open(str(tmp_path / "empty.db"), clock=clock))
    try:
        app = make_app(
            Processes(registry, clock=clock), clock=clock, read_only=True, subtitle="empty.db"
        )
        assert snap_compare(app, terminal_size=(100, 12), run_before=loaded)
    finally:
        asyncio.run(registry.close())


def wait_steps(pid: str) -> ProcessStartRequest:
    return ProcessStartRequest(
        id=pid,
        input=Engine(kind="steps", payload={"steps": [{"wait_signal": "go"}]}),
        disposition="rerunnable",
        event_types=[ProcessEventType.plain("signal.go")],
    )


async def until(pilot: Pilot[Any], condition: Any, within: float = 15) -> None:
    async with asyncio.timeout(within):
        while not condition():
            await pilot.pause(0.05)


# Also with change-feed pages of one row each (their size cut at one character): the view
# reads the feed until a page comes back empty.
@pytest.mark.parametrize("feed_chars", [admin_processes.FEED_PAGE_CHARS, 1])
async def test_changes_from_another_os_process_appear_and_the_selection_stays(
    registry_target: str, feed_chars: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On both stores: the file watch wakes the view for SQLite, LISTEN/NOTIFY for
    PostgreSQL (the periodic re-read is pushed out of the test's reach)."""
    monkeypatch.setattr(admin_processes, "FEED_PAGE_CHARS", feed_chars)
    db = registry_target
    async with open_registry(db) as registry:
        for pid in ("b-one", "d-two"):
            await registry.start_process(wait_steps(pid))
        app = make_app(Processes(registry), refresh_s=MINUTE_S, subtitle="live")
        async with app.run_test(size=(140, 20)) as pilot:
            await loaded(pilot)
            table = app.screen.query_one(ProcessTable)
            table.move_cursor(row=table.get_row_index("d-two"))
            await pilot.pause()
            assert table.selected_id == "d-two"

            def cli(*args: str) -> None:
                subprocess.run(
                    [LASHTUI, "--db", db, *args], check=True, capture_output=True, timeout=60
                )

            await asyncio.to_thread(cli, "start", "a-new", "--external", "--label", "arrived")
            await until(pilot, lambda: "a-new" in table.processes)
            assert table.selected_id == "d-two"  # an insert above it did not move the selection
            await asyncio.to_thread(cli, "abandon", "a-new", "--by", "op")
            await asyncio.to_thread(cli, "sweep", "--once")
            await until(pilot, lambda: table.processes["a-new"].terminal)
            assert str(table.get_cell("a-new", "status")) == "☠ abandoned"
            assert table.selected_id == "d-two"


async def test_quitting_with_runs_in_flight_is_prompt_and_releases_every_lease(
    tmp_path: Path,
) -> None:
    registry = await SqliteProcessRegistry.open(str(tmp_path / "quit.db"))
    try:
        worker = ProcessWorker(
            registry, timings=LeaseTimings(ttl_ms=30_000, renew_interval_ms=10_000)
        )
        processes = Processes(registry, worker=worker)
        app = make_app(processes, refresh_s=0.05)
        async with app.run_test(size=(140, 20)) as pilot:
            await loaded(pilot)
            await processes.start(wait_steps("parked"))
            await until(pilot, lambda: worker.in_flight == ["parked"])
            async with asyncio.timeout(10):
                await worker.awaiter.await_event("parked", "process.waiting", 0)
            started = time.monotonic()
            await pilot.press("q")
            await until(pilot, lambda: not app.is_running, within=5)
            assert time.monotonic() - started < 2.0
        assert app.return_code == 0
        assert await registry.get_process_lease("parked") is None
        record = await registry.get_process("parked")
        assert record is not None and not record.is_terminal()  # stopped, not ended
    finally:
        await registry.close()


async def test_read_only_navigation_never_writes(tmp_path: Path) -> None:
    path = tmp_path / "ro.db"
    clock = ManualClock(START_MS)
    registry = await SqliteProcessRegistry.open(str(path), clock=clock)
    await seed_every_state(registry, clock)
    await registry.close()
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    registry = await SqliteProcessRegistry.open(str(path), clock=clock, read_only=True)
    try:
        app = make_app(Processes(registry, clock=clock), clock=clock, read_only=True)
        async with app.run_test(size=(140, 20)) as pilot:
            await loaded(pilot)
            for key in ("down", "down", "end", "home", "p", "p", "up"):
                await pilot.press(key)
            screen = app.screen
            assert isinstance(screen, ProcessesScreen)
            await screen.tick()
            await pilot.press("q")
    finally:
        await registry.close()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def _actionable(registry: SqliteProcessRegistry, clock: ManualClock) -> Any:
    """The scene with actions on (no worker: nothing moves between frames)."""
    return make_app(
        Processes(registry, clock=clock), clock=clock, subtitle="scene.db", operator="operator:test"
    )


def _select_then(pid: str, *keys: str) -> Any:
    async def run_before(pilot: Pilot[Any]) -> None:
        await loaded(pilot)
        table = pilot.app.screen.query_one(ProcessTable)
        table.move_cursor(row=table.get_row_index(pid))
        await pilot.press(*keys)
        screen = pilot.app.screen
        if isinstance(screen, ProcessDetailScreen):
            async with asyncio.timeout(10):
                await screen.loaded.wait()
        if isinstance(screen, PruneScreen):  # its count arrives from a worker
            await until(pilot, lambda: screen.preview is not None)
        await pilot.pause()

    return run_before


@pytest.mark.parametrize(
    ("name", "pid", "keys"),
    [
        ("detail", "h-requested", ("enter",)),
        ("terminal-detail", "d-failed", ("enter",)),
        ("cancel-confirmation", "a-running", ("c",)),
        ("signal-form", "b-waiting", ("s",)),
        ("abandon-form", "g-silent", ("a",)),
        ("transfer-form", "a-running", ("t",)),
        ("prune-form", "a-running", ("P",)),
        ("command-line", "a-running", ("colon", *"status live")),
        ("bulk-confirmation", "a-running", ("space", "space", "space", "c")),
    ],
)
def test_screen_and_modal_snapshots(
    every_state: tuple[SqliteProcessRegistry, ManualClock],
    snap_compare: Any,
    name: str,
    pid: str,
    keys: tuple[str, ...],
) -> None:
    registry, clock = every_state
    app = _actionable(registry, clock)
    assert snap_compare(app, terminal_size=(120, 24), run_before=_select_then(pid, *keys))


async def test_filters_narrow_the_view_and_keep_the_selection(tmp_path: Path) -> None:
    clock = ManualClock(START_MS)
    registry = await SqliteProcessRegistry.open(str(tmp_path / "f.db"), clock=clock)
    try:
        await seed_every_state(registry, clock)
        app = make_app(Processes(registry, clock=clock), clock=clock, read_only=True)
        async with app.run_test(size=(140, 24)) as pilot:
            await loaded(pilot)
            table = app.screen.query_one(ProcessTable)

            async def shows(*ids: str) -> None:
                await until(pilot, lambda: sorted(table.processes) == sorted(ids), within=5)

            everything = sorted(table.processes)
            assert len(everything) == 11
            table.move_cursor(row=table.get_row_index("h-requested"))
            await pilot.press("f")  # running (waiting rows have their own filter)
            await shows(
                "a-running",
                "g-silent",
                "h-requested",
                "i-external-ünïcode-label-that-is-rather-long",
            )
            assert table.selected_id == "h-requested"
            await pilot.press("f")  # waiting
            await shows("b-waiting")
            await pilot.press("f")  # live
            await shows(
                "a-running",
                "b-waiting",
                "g-silent",
                "h-requested",
                "i-external-ünïcode-label-that-is-rather-long",
            )
            await pilot.press("f")  # terminal
            await until(pilot, lambda: len(table.processes) == 6)  # 3 ends + 3 abandon writers
            await pilot.press("f")  # all again
            await shows(*everything)
            await pilot.press("slash", *"abandoned-s")
            await shows("f-abandoned-sweep")
            await pilot.press("escape")
            await shows(*everything)
            await pilot.press("question_mark")
            assert type(app.screen).__name__ == "HelpScreen"
            await pilot.press("escape")
            assert isinstance(app.screen, ProcessesScreen)
    finally:
        await registry.close()


async def test_a_filter_nothing_matches_says_so(tmp_path: Path) -> None:
    """A text filter, status filter or lens that leaves no row showed only the column
    headers, beside counts per state for the whole registry (`● running 4 …`): an empty
    list and a list still being read looked the same. The status line now says no process
    matches; a filter that matches again drops the words."""
    clock = ManualClock(START_MS)
    registry = await SqliteProcessRegistry.open(str(tmp_path / "f.db"), clock=clock)
    try:
        await seed_every_state(registry, clock)
        app = make_app(Processes(registry, clock=clock), clock=clock, read_only=True)
        async with app.run_test(size=(140, 24)) as pilot:
            await loaded(pilot)
            screen = app.screen
            assert isinstance(screen, ProcessesScreen)
            table = screen.query_one(ProcessTable)
            none = "no process matches"
            assert none not in screen.status_line
            await pilot.press("slash", *"zzz")
            await until(pilot, lambda: not table.processes, within=5)
            await pilot.pause()
            assert f'matching "zzz" (Esc clears)  ·  {none}' in screen.status_line
            await pilot.press("backspace", "backspace", "backspace", *"sweep")
            await until(pilot, lambda: list(table.processes) == ["f-abandoned-sweep"], within=5)
            await pilot.pause()
            assert none not in screen.status_line
            await pilot.press("enter", "f")  # running: none of them matches "sweep"
            await until(pilot, lambda: not table.processes, within=5)
            await pilot.pause()
            assert none in screen.status_line
    finally:
        await registry.close()


async def test_esc_from_the_list_that_clears_the_text_filter_closes_its_field(
    tmp_path: Path,
) -> None:
    """`/x` Enter, then Esc from the list: the filter was cleared, but its field stayed
    open, empty, three lines tall, for as long as the view was open (Esc again did nothing
    to it). The field now closes with the filter it held, as Esc inside it closes it."""
    clock = ManualClock(START_MS)
    registry = await SqliteProcessRegistry.open(str(tmp_path / "f.db"), clock=clock)
    try:
        await seed_every_state(registry, clock)
        app = make_app(Processes(registry, clock=clock), clock=clock, read_only=True)
        async with app.run_test(size=(140, 24)) as pilot:
            await loaded(pilot)
            table = app.screen.query_one(ProcessTable)
            field = app.screen.query_one("#filter")
            await pilot.press("slash", *"silent", "enter")
            await until(pilot, lambda: list(table.processes) == ["g-silent"], within=5)
            assert field.has_class("-open") and table.has_focus
            await pilot.press("escape")
            await until(pilot, lambda: len(table.processes) == 11, within=5)
            assert not field.has_class("-open")
    finally:
        await registry.close()


async def test_the_open_timeline_follows_another_os_process_without_a_key_press(
    tmp_path: Path,
) -> None:
    """A worker in another OS process runs a `steps` process; the CLI (a third process)
    signals it. The detail view, open all along, shows each event and the end."""
    db = str(tmp_path / "timeline.db")
    registry = await SqliteProcessRegistry.open(db)

    def cli(*args: str) -> None:
        subprocess.run([LASHTUI, "--db", db, *args], check=True, capture_output=True, timeout=60)

    plan = '{"steps": [{"emit": {"type": "deploy.planned", "payload": 1}}, '
    plan += '{"wait_signal": "approve"}, '
    plan += '{"finish": "deployed"}]}'
    await asyncio.to_thread(
        cli,
        "start",
        "deploy-1",
        "--engine",
        "steps",
        "--disposition",
        "rerunnable",
        "--payload",
        plan,
    )
    worker = subprocess.Popen(  # noqa: ASYNC220 (starting it is instant; waiting is not done here)
        [LASHTUI, "--db", db, "worker"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        app = make_app(Processes(registry), refresh_s=0.05, read_only=True)
        async with app.run_test(size=(140, 30)) as pilot:
            await loaded(pilot)
            table = app.screen.query_one(ProcessTable)
            await until(pilot, lambda: "deploy-1" in table.processes)
            table.move_cursor(row=table.get_row_index("deploy-1"))
            await pilot.press("enter")
            detail = app.screen
            assert isinstance(detail, ProcessDetailScreen)

            def types() -> list[str]:
                return [e.event_type for e in detail.events]

            await until(pilot, lambda: "process.waiting" in types())
            await asyncio.to_thread(cli, "signal", "deploy-1", "approve", "--payload", '"ok"')
            await until(pilot, lambda: detail.process is not None and detail.process.terminal)
            assert "signal.approve" in types() and types()[-1] == "process.completed"
            timeline = detail.query_one("#timeline", DataTable)
            assert timeline.row_count == len(detail.events)
            await pilot.press("escape")
            await until(pilot, lambda: str(table.get_cell("deploy-1", "status")) == "✓ completed")
            assert table.selected_id == "deploy-1"
    finally:
        worker.terminate()
        worker.wait(timeout=10)
        await registry.close()


class Heard:
    """A `ViewObserver` that keeps what the view told it."""

    def __init__(self) -> None:
        self.applied_ids: list[str] = []
        self.steps: list[str] = []

    def applied(self, process_ids: Any) -> None:
        self.applied_ids.extend(process_ids)

    def read(self, step: str, seconds: float) -> None:
        self.steps.append(step)


async def test_the_observer_hears_a_commit_from_another_connection_once_it_is_on_screen(
    tmp_path: Path,
) -> None:
    """The hook the freshness benchmark (D1) relies on: told the process id only once the
    row is in the table, and told how long the feed's read took."""
    path = str(tmp_path / "observed.db")
    registry = await SqliteProcessRegistry.open(path)
    elsewhere = await SqliteProcessRegistry.open(path)  # another handle, as another process
    heard = Heard()
    try:
        await Processes(registry).start(ProcessStartRequest.external("a-first"))
        app = make_app(Processes(registry), observer=heard)
        async with app.run_test(size=(140, 20)) as pilot:
            screen = app.home()
            async with asyncio.timeout(10):
                await screen.loaded.wait()
            table = screen.query_one(ProcessTable)
            await Processes(elsewhere).start(ProcessStartRequest.external("b-later"))
            async with asyncio.timeout(10):
                while "b-later" not in heard.applied_ids:
                    await pilot.pause(0.02)
            assert table.get_cell("b-later", "id") == "b-later"
            assert "catch_up" in heard.steps
    finally:
        await elsewhere.close()
        await registry.close()
