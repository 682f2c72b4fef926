"""`q` with the embedded worker running, on a real SQLite file under Pilot: the dashboard
quits once the worker has stopped, and a stop that takes a moment is said at once. It took
as long as the stop (up to the 15 s a write waits for a lock another program holds, or the
stop's grace for a run that will not end) with nothing on screen saying why `q` did
nothing. With no run in flight it said "its 0 runs in flight hand back their leases first"."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

from textual.widgets._toast import Toast

from lashtui.admin import Processes
from lashtui.model import LeaseTimings
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.tui.app import make_app
from lashtui.worker import ProcessWorker
from tests.admin.test_processes import run_of
from tests.tui.scene import home_loaded, until
from tests.worker.support import Stubborn, register

GRACE_S = 3.0  # how long the stop waits for the run that swallows its cancellation


async def test_q_says_it_waits_for_the_worker_to_stop(tmp_path: Path) -> None:
    registry = await SqliteProcessRegistry.open(str(tmp_path / "quit.db"))
    worker = ProcessWorker(registry, stop_grace_s=GRACE_S)
    handler = Stubborn()
    worker.engines.register("stubborn", handler)
    try:
        await register(registry, "stubborn", kind="stubborn")
        app = make_app(Processes(registry, worker=worker), refresh_s=0.05)
        async with app.run_test(size=(120, 30), notifications=True) as pilot:
            await home_loaded(pilot)
            async with asyncio.timeout(10):
                await handler.started.wait()
            await pilot.press("q")
            said = (
                "quitting once the embedded worker has stopped (at most 18s): its 1 run in "
                "flight hands back its lease first"
            )
            await until(
                pilot,
                lambda: any(str(t.render()) == f"quit\n{said}" for t in app.screen.query(Toast)),
                within=GRACE_S - 0.5,
            )
            assert app.is_running  # still stopping: said, on screen
            await until(pilot, lambda: not app.is_running, within=GRACE_S + 10)
        assert app.return_code == 0
    finally:
        handler.done.set()
        await worker.stop()
        await registry.close()


async def test_q_with_no_run_in_flight_says_what_it_waits_for(tmp_path: Path) -> None:
    """No run is in flight; a start the worker began waits for the write lock another
    program holds (its caller gave up on it: the worker sees it through, `_end_orphan`),
    and the stop waits for it. `q` said "its 0 runs in flight hand back their leases
    first"."""
    db = str(tmp_path / "quit.db")
    registry = await SqliteProcessRegistry.open(db)
    worker = ProcessWorker(registry)
    processes = Processes(registry, worker=worker)
    other = sqlite3.connect(db, isolation_level=None)
    try:
        app = make_app(processes, refresh_s=0.05)
        async with app.run_test(size=(120, 30), notifications=True) as pilot:
            await home_loaded(pilot)
            other.execute("BEGIN IMMEDIATE")  # another program's write, in progress
            start = asyncio.ensure_future(processes.start(run_of("late", "echo", None)))
            # The start's transaction has been refused the lock: it is waiting for it.
            await until(pilot, lambda: registry.write_lock_use().refused > 0)
            start.cancel()  # its caller gives up; the worker's start goes on
            await pilot.pause()
            assert worker.in_flight == []
            await pilot.press("q")
            said = (
                "quitting once the embedded worker has stopped (at most 18s): no run is in "
                "flight; it waits for the registry call it has begun (a claim or a start "
                "waits for the registry's write lock while another program holds it)"
            )
            await until(
                pilot,
                lambda: any(str(t.render()) == f"quit\n{said}" for t in app.screen.query(Toast)),
            )
            assert app.is_running  # still waiting for the lock: said, on screen
            other.execute("ROLLBACK")
            await until(pilot, lambda: not app.is_running, within=20)
        assert app.return_code == 0
    finally:
        other.close()
        await worker.stop()
        await registry.close()


async def test_a_quitting_dashboard_claims_nothing_more(tmp_path: Path) -> None:
    """Once `q` is pressed, the embedded worker claims no new row: a row another program
    starts while the stop waits for a run is left for a worker that stays. The stop did not
    stop claiming, so the worker's wake claimed it (its first run, begun only to be
    cancelled, or run behind the stop's back) while the dashboard was leaving."""
    db = str(tmp_path / "quit.db")
    registry = await SqliteProcessRegistry.open(db)
    other = await SqliteProcessRegistry.open(db)  # another program's handle on the file
    worker = ProcessWorker(registry, stop_grace_s=GRACE_S)
    handler = Stubborn()
    worker.engines.register("stubborn", handler)
    worker.engines.register("echo", lambda ctx, payload: asyncio.sleep(0, payload))
    try:
        await register(registry, "stubborn", kind="stubborn")
        app = make_app(Processes(registry, worker=worker), refresh_s=0.05)
        async with app.run_test(size=(120, 30), notifications=True) as pilot:
            await home_loaded(pilot)
            async with asyncio.timeout(10):
                await handler.started.wait()
            await pilot.press("q")
            await pilot.pause(0.1)
            assert app.is_running  # the stubborn run keeps the stop waiting
            await register(other, "late", kind="echo")
            await pilot.pause(1.0)  # the worker's wake on a commit: milliseconds
            handler.done.set()
            await until(pilot, lambda: not app.is_running, within=GRACE_S + 10)
        late = await other.get_process("late")
        assert late is not None
        assert late.first_started is None, "a quitting dashboard ran a new row"
        assert not late.status.state.is_terminal
    finally:
        handler.done.set()
        await worker.stop()
        await registry.close()
        await other.close()


async def test_the_quit_toast_stays_for_the_whole_wait_and_says_its_bound(
    tmp_path: Path,
) -> None:
    """A run that swallows its cancellation, a stop grace longer than the toast lasted:
    the stop was waited for the whole grace (30 s by default) while the toast said nothing
    of how long and left after 20 s, the dashboard still up with nothing saying why. Now
    the wait is the stop after the screen's (the lease TTL or 15 s, then hurried:
    tui/stop_wait.py), the toast says that bound and is on screen until the app exits."""
    registry = await SqliteProcessRegistry.open(str(tmp_path / "quit.db"))
    # TTL 2 s: the stop is hurried 2 s after `q`, and done within 3 s more.
    worker = ProcessWorker(registry, timings=LeaseTimings.from_ttl(2_000), stop_grace_s=60)
    handler = Stubborn()
    worker.engines.register("stubborn", handler)
    try:
        await register(registry, "stubborn", kind="stubborn")
        app = make_app(Processes(registry, worker=worker), refresh_s=0.05)
        async with app.run_test(size=(120, 30), notifications=True) as pilot:
            await home_loaded(pilot)
            async with asyncio.timeout(10):
                await handler.started.wait()
            await pilot.press("q")
            said = (
                "quit\nquitting once the embedded worker has stopped (at most 5s): its 1 "
                "run in flight hands back its lease first"
            )

            def toast() -> bool:
                return any(str(t.render()) == said for t in app.screen.query(Toast))

            await until(pilot, toast)
            pressed = time.monotonic()
            while app.is_running:  # the toast stays for as long as the app waits
                assert toast(), time.monotonic() - pressed
                assert time.monotonic() - pressed < 5 + 1.0  # (a guard past the bound)
                await pilot.pause(0.05)
        assert app.return_code == 0
        assert handler.cancellations >= 1 and not handler.done.is_set()  # given up on
    finally:
        handler.done.set()
        await worker.stop()
        await registry.close()
