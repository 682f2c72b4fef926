"""The dashboard app: wires the facade, the clock and the embedded worker to the screens.

`make_app` builds it for the command line and for every test. The worker runs as an
App-level worker; quitting stops its runs (no terminal written, leases released) before the
app exits, so nothing is left holding a lease.
"""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import ClassVar

from textual.app import App
from textual.binding import Binding, BindingType

from lashtui.admin import Processes
from lashtui.clock import Clock, SystemClock
from lashtui.tui.context import Dashboard
from lashtui.tui.screens.abandon import AbandonRequestsScreen
from lashtui.tui.screens.health import HealthScreen
from lashtui.tui.screens.leases import LeasesScreen
from lashtui.tui.screens.modals import HelpScreen
from lashtui.tui.screens.processes import ProcessesScreen
from lashtui.worker import ProcessWorker


def stylesheet(name: str) -> Path:
    """A stylesheet from `styles/`: inside the wheel (`lashtui/styles`) or, in a checkout,
    at the repository root."""
    packaged = Path(__file__).resolve().parents[1] / "styles" / name
    return packaged if packaged.exists() else Path(__file__).resolve().parents[2] / "styles" / name


class LashtuiApp(App[int]):
    TITLE = "lashtui"
    CSS_PATH = stylesheet("app.tcss")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "switch_mode('processes')", "Processes"),
        Binding("2", "switch_mode('leases')", "Leases"),
        Binding("3", "switch_mode('abandon')", "Abandon requests"),
        Binding("4", "switch_mode('health')", "Health"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(
        self,
        dashboard: Dashboard,
        *,
        subtitle: str,
        background: Sequence[Callable[[], Awaitable[None]]] = (),
    ) -> None:
        super().__init__()
        self.dashboard = dashboard
        self.background = background
        self.sub_title = f"{subtitle} · read-only" if dashboard.read_only else subtitle
        # Each view is a mode with its own screen stack, so switching views keeps every
        # view's selection, filters and drill-in where the operator left them.
        self.add_mode("processes", lambda: ProcessesScreen(dashboard))
        self.add_mode("leases", lambda: LeasesScreen(dashboard))
        self.add_mode("abandon", lambda: AbandonRequestsScreen(dashboard))
        self.add_mode("health", lambda: HealthScreen(dashboard))

    @property
    def engine(self) -> ProcessWorker | None:
        return self.dashboard.worker

    def on_mount(self) -> None:
        self.switch_mode("processes")
        if self.engine is not None:
            self.run_worker(self.run_engine(self.engine), group="engine", name="engine")
        for job in self.background:  # e.g. the demo's trickle of new work
            self.run_worker(job(), group="background")

    async def run_engine(self, worker: ProcessWorker) -> None:
        """The embedded worker and sweep, for as long as the app runs."""
        async with worker.running():
            await asyncio.Event().wait()

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    async def action_quit(self) -> None:
        if self.engine is not None:
            await self.engine.stop()
        self.exit(0)


def make_app(
    processes: Processes,
    *,
    clock: Clock | None = None,
    read_only: bool = False,
    refresh_s: float = 0.25,
    subtitle: str = "",
    operator: str | None = None,
    background: Sequence[Callable[[], Awaitable[None]]] = (),
) -> LashtuiApp:
    """The dashboard over `processes`; its worker (if any) and `background` jobs run with
    the app."""
    dashboard = Dashboard(
        processes=processes,
        clock=clock or SystemClock(),
        worker=None if read_only else processes.worker,
        read_only=read_only,
        operator=operator or f"operator:{getpass.getuser()}",
        refresh_s=refresh_s,
    )
    return LashtuiApp(dashboard, subtitle=subtitle, background=background)
