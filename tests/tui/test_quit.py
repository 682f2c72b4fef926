"""`q` with the embedded worker running, on a real SQLite file under Pilot: the dashboard
quits once the worker has stopped, and a stop that takes a moment is said at once. It took
as long as the stop (up to the 15 s a write waits for a lock another program holds, or the
stop's grace for a run that will not end) with nothing on screen saying why `q` did
nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual.widgets._toast import Toast

from lashtui.admin import Processes
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.tui.app import make_app
from lashtui.worker import ProcessWorker
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
                "quitting once the embedded worker has stopped: its 1 run in flight hand "
                "back their leases first"
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
