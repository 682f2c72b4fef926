"""Regenerate the SVGs in this folder from the real app: the demo registry, seeded with a
fixed clock, moved along by a worker for a few seconds, then the dashboard with that worker
embedded and running (as `lashtui demo` runs it), every view and a few modals drawn by
Pilot, keys pressed as an operator would.

    .venv/bin/python screenshots/generate.py
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from textual.pilot import Pilot

from lashtui.admin import Processes
from lashtui.clock import ManualClock
from lashtui.demo import DEMO_TIMINGS, seed
from lashtui.model import LeaseOwnerIdentity
from lashtui.registry import open_registry
from lashtui.tui.app import LashtuiApp, make_app
from lashtui.tui.widgets.process_table import ProcessTable
from lashtui.worker import ProcessWorker

HERE = Path(__file__).resolve().parent
FIXED_MS = 1_795_000_000_000
SIZE = (160, 34)
HEALTH_HEIGHT = 52


SHOTS = (
    "processes.svg",
    "detail.svg",
    "leases.svg",
    "abandon-requests.svg",
    "health.svg",
    "errors.svg",
    "audit.svg",
    "signal.svg",
    "bulk-cancel.svg",
    "high-contrast.svg",
)


async def settle(pilot: Pilot[LashtuiApp]) -> None:
    """Wait for the current view's first read, then for the screen to draw."""
    loaded = getattr(pilot.app.screen, "loaded", None)
    if loaded is not None:
        await loaded.wait()
    await pilot.pause()


async def select(pilot: Pilot[LashtuiApp], process_id: str) -> None:
    table = pilot.app.screen.query_one(ProcessTable)
    table.move_cursor(row=table.get_row_index(process_id))
    await pilot.pause()


async def shoot(pilot: Pilot[LashtuiApp], app: LashtuiApp) -> None:
    def save(name: str) -> None:
        app.save_screenshot(filename=name, path=str(HERE))

    await settle(pilot)
    save("processes.svg")
    await select(pilot, "deploy-approval")
    await pilot.press("enter")
    await settle(pilot)
    save("detail.svg")
    await pilot.press("escape", "2")
    await settle(pilot)
    save("leases.svg")
    await pilot.press("3")
    await settle(pilot)
    save("abandon-requests.svg")
    await pilot.press("4")
    await pilot.resize_terminal(SIZE[0], HEALTH_HEIGHT)  # the verdicts and the charts whole
    await settle(pilot)
    save("health.svg")
    await pilot.resize_terminal(*SIZE)
    await pilot.press("5")
    await settle(pilot)
    save("errors.svg")
    await pilot.press("6")
    await settle(pilot)
    save("audit.svg")
    await pilot.press("1")
    await settle(pilot)
    await pilot.press("s")
    await settle(pilot)
    save("signal.svg")
    await pilot.press("escape")
    for process_id in ("crawl-docs", "payroll-run", "review-wait"):
        await select(pilot, process_id)
        await pilot.press("space")
    await pilot.press("c")
    await settle(pilot)
    save("bulk-cancel.svg")
    await pilot.press("escape", "escape")
    app.theme = "lashtui-high-contrast"
    await settle(pilot)
    save("high-contrast.svg")


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
            # Two operator actions, so the Audit view has something to show: a re-run of the
            # failed row and a cancel the worker honours once the dashboard runs it.
            observer = Processes(registry, clock=clock)
            await observer.actions.rerun("flaky-sync", operator="operator:dana")
            await observer.actions.cancel(
                "nightly-import", "maintenance window", operator="operator:dana"
            )
            # The app runs the same worker embedded, as `lashtui demo` does: its leases
            # are held and counting down, the Health view counts its verdicts and run ends.
            app = make_app(
                Processes(registry, worker=worker, clock=clock),
                clock=clock,
                subtitle="lashtui-demo.db",
                operator="operator:dana",
            )
            async with app.run_test(size=SIZE) as pilot:
                await settle(pilot)
                # The embedded worker takes up the demo's work for two seconds, the clock
                # moving with them (so runs take time and leases count down), then holds.
                for _ in range(8):
                    await asyncio.sleep(0.25)
                    clock.advance(250)
                await shoot(pilot, app)
    print(f"wrote {', '.join(SHOTS)} in {HERE}")


if __name__ == "__main__":
    asyncio.run(main())
