"""Regenerate the SVGs in this folder from the real app: the demo registry, seeded with a
fixed clock, moved along by the embedded worker for a few seconds, then drawn by Pilot.

    .venv/bin/python screenshots/generate.py
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from lashtui.admin import Processes
from lashtui.clock import ManualClock
from lashtui.demo import DEMO_TIMINGS, seed
from lashtui.model import LeaseOwnerIdentity
from lashtui.registry import open_registry
from lashtui.tui.app import make_app
from lashtui.tui.screens.processes import ProcessesScreen
from lashtui.worker import ProcessWorker

HERE = Path(__file__).resolve().parent
FIXED_MS = 1_795_000_000_000
SIZE = (160, 34)


async def main() -> None:
    clock = ManualClock(FIXED_MS)
    with tempfile.TemporaryDirectory() as tmp:
        async with open_registry(str(Path(tmp) / "lashtui-demo.db"), clock=clock) as registry:
            # A fixed, opaque owner: the picture should not change with this machine's pid.
            owner = LeaseOwnerIdentity.opaque("lashtui-worker@demo-host", "incarnation-1")
            worker = ProcessWorker(registry, owner=owner, timings=DEMO_TIMINGS, clock=clock)
            await seed(Processes(registry, worker=worker, clock=clock))
            async with worker.running():
                await asyncio.sleep(3)  # let the demo move: runs finish, waits park
            clock.advance(4_000)
            app = make_app(
                Processes(registry, clock=clock), clock=clock, subtitle="lashtui-demo.db"
            )
            async with app.run_test(size=SIZE) as pilot:
                screen = app.screen
                assert isinstance(screen, ProcessesScreen)
                await screen.loaded.wait()
                await pilot.pause()
                app.save_screenshot(filename="processes.svg", path=str(HERE))
    print(f"wrote {HERE / 'processes.svg'}")


if __name__ == "__main__":
    asyncio.run(main())
