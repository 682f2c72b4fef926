"""The dashboard app: wires the facade, the clock and the embedded worker to the screens.

`make_app` builds it for the command line and for every test. The worker runs as an
App-level worker; quitting stops its runs (no terminal written, leases released) before the
app exits, so nothing is left holding a lease.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen

from lashtui.admin import Processes, resolve_operator
from lashtui.clock import Clock, SystemClock
from lashtui.tui import text
from lashtui.tui.context import Dashboard, ViewObserver
from lashtui.tui.heap import FullCollections, frozen_heap
from lashtui.tui.palette import ProcessIdProvider, action_commands
from lashtui.tui.screens.abandon import AbandonRequestsScreen
from lashtui.tui.screens.audit import AuditScreen
from lashtui.tui.screens.errors import ErrorsScreen
from lashtui.tui.screens.health import HealthScreen
from lashtui.tui.screens.leases import LeasesScreen
from lashtui.tui.screens.modals import HelpScreen
from lashtui.tui.screens.processes import ProcessesScreen
from lashtui.tui.stop_wait import HURRIED_STOP_S, longest_wait_s
from lashtui.tui.theme import HIGH_CONTRAST, state_defaults
from lashtui.untrusted import visible
from lashtui.worker import ProcessWorker

VIEWS = {
    "processes": "Processes",
    "leases": "Leases",
    "abandon": "Abandon requests",
    "health": "Engine health",
    "errors": "Errors",
    "audit": "Audit",
}


def stylesheet(name: str) -> Path:
    """A stylesheet from `styles/`: inside the wheel (`lashtui/styles`) or, in a checkout,
    at the repository root."""
    packaged = Path(__file__).resolve().parents[1] / "styles" / name
    return packaged if packaged.exists() else Path(__file__).resolve().parents[2] / "styles" / name


VIEW_KEYS = Binding.Group("Views", compact=True)


# `q` says what it waits for when the embedded worker's stop takes longer than this, and
# keeps saying it for as long as it waits (`App.stop_then_exit`).
QUIT_SAYS_AFTER_S = 0.5


def quit_waits_for(in_flight: int, at_most_s: float) -> str:
    """What a quit that has not ended within `QUIT_SAYS_AFTER_S` waits for, and for how long
    at most: the runs in flight handing back their leases, or, with none, the registry call
    the worker had begun (a claim, or a start whose caller gave up on it, waiting for the
    write lock another program holds: up to the 15 s a write waits). With none it said "its
    0 runs in flight hand back their leases first"."""
    said = f"quitting once the embedded worker has stopped (at most {at_most_s:.3g}s): "
    if in_flight == 1:
        return f"{said}its 1 run in flight hands back its lease first"
    if in_flight:
        return f"{said}its {in_flight:,} runs in flight hand back their leases first"
    return (
        f"{said}no run is in flight; it waits for the registry call it has begun (a claim "
        "or a start waits for the registry's write lock while another program holds it)"
    )


class LashtuiApp(App[int]):
    TITLE = "lashtui"
    CSS_PATH = stylesheet("app.tcss")
    COMMANDS = App.COMMANDS | {ProcessIdProvider}
    BINDINGS: ClassVar[list[BindingType]] = [
        # One entry in the footer, `123456 Views` (13 columns, where the six took 70 and
        # were cut at 80 and at 120 columns); `?` names each.
        Binding("1", "switch_mode('processes')", "Processes", group=VIEW_KEYS),
        Binding("2", "switch_mode('leases')", "Leases", group=VIEW_KEYS),
        Binding("3", "switch_mode('abandon')", "Abandon requests", group=VIEW_KEYS),
        Binding("4", "switch_mode('health')", "Health", group=VIEW_KEYS),
        Binding("5", "switch_mode('errors')", "Errors", group=VIEW_KEYS),
        Binding("6", "switch_mode('audit')", "Audit", group=VIEW_KEYS),
        Binding("q", "quit", "Quit"),
        # Every view's footer offers the help, whether or not its screen binds `?` itself.
        Binding("question_mark", "help", "Help"),
    ]

    def __init__(
        self,
        dashboard: Dashboard,
        *,
        subtitle: str,
        background: Sequence[Callable[[], Awaitable[None]]] = (),
        lash_version: int | None = None,
        read_only_why: str | None = None,
    ) -> None:
        super().__init__()
        self.dashboard = dashboard
        self.background = background
        self.quitting = False  # `q` pressed: the embedded worker is stopping
        # The registry's path, as the operator gave it: shown, never obeyed (Header draws
        # it as plain Content, which keeps ESC); and how it is open. A registry lash wrote
        # says so first, where a long path cannot clip it off the header.
        if lash_version is not None:
            subtitle = f"lash registry v{lash_version}, read-only · {subtitle}"
        elif read_only_why is not None:  # read-only though not asked to be (`dash`)
            subtitle = f"{subtitle} · read-only: {read_only_why}"
        elif dashboard.read_only:
            subtitle = f"{subtitle} · read-only"
        self.sub_title = visible(subtitle)
        self.register_theme(HIGH_CONTRAST)
        # Each view is a mode with its own screen stack, so switching views keeps every
        # view's selection, filters and drill-in where the operator left them.
        self.add_view("processes", lambda: ProcessesScreen(dashboard))
        self.add_view("leases", lambda: LeasesScreen(dashboard))
        self.add_view("abandon", lambda: AbandonRequestsScreen(dashboard))
        self.add_view("health", lambda: HealthScreen(dashboard))
        self.add_view("errors", lambda: ErrorsScreen(dashboard))
        self.add_view("audit", lambda: AuditScreen(dashboard))

    def add_view(self, mode: str, make: Callable[[], Screen[Any]]) -> None:
        """A view as a mode whose screen starts with the stylesheet marked current.

        Textual counts stylesheet refreshes and a new screen's count starts at -1, so the
        first switch to each mode re-parsed every stylesheet twice and re-styled every node
        of the app (two `refresh_css` calls: ~0.15-0.3 s here, most of the Health view's
        first draw). Nothing needs them: the stylesheet has not changed, and a new screen's
        widgets are styled from it as they mount. A theme change still refreshes every
        screen in its stack as before (tests/tui/test_views.py draws each view after one)."""

        def fresh() -> Screen[Any]:
            screen = make()
            screen._css_update_count = self._css_update_count
            return screen

        self.add_mode(mode, fresh)

    def get_theme_variable_defaults(self) -> dict[str, str]:
        """The states' colours for a theme that does not name them: its own (theme.py)."""
        return state_defaults(self.current_theme)

    @property
    def engine(self) -> ProcessWorker | None:
        return self.dashboard.worker

    def on_mount(self) -> None:
        self.switch_mode("processes")
        if self.engine is not None:
            # exit_on_error=False: an engine failure is shown in the health view, and the
            # operator keeps the dashboard to see why.
            self.run_worker(
                self.run_engine(self.engine), group="engine", name="engine", exit_on_error=False
            )
        for job in self.background:  # e.g. the demo's trickle of new work
            self.run_worker(job(), group="background")
        self.run_worker(self.freeze_start_up(), group="heap", name="freeze_start_up")

    async def freeze_start_up(self) -> None:
        """Once the first window is on screen, keep what start-up built out of the garbage
        collector's full passes until the app exits, and run those passes on turns of the
        loop of their own (lashtui/tui/heap.py says why)."""
        await self.home().loaded.wait()
        with frozen_heap():
            await FullCollections().run()

    async def run_engine(self, worker: ProcessWorker) -> None:
        """The embedded worker and sweep, for as long as the app runs; its warnings are
        kept for the Health view (tui/worker_problems.py)."""
        problems = self.dashboard.worker_problems
        problems.attach()
        try:
            async with worker.running():
                await asyncio.Event().wait()
        finally:
            problems.detach()

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield from action_commands(screen)  # what the screen's action keys offer now
        for key, (mode, title) in enumerate(VIEWS.items(), start=1):
            yield SystemCommand(
                f"View: {title}",
                f"switch to {title} (key {key})",
                lambda mode=mode: self.switch_mode(mode),
            )
        yield SystemCommand(
            "Theme: high contrast",
            "black and white with bright accents",
            lambda: setattr(self, "theme", HIGH_CONTRAST.name),
        )
        home = self.home()
        commands: list[tuple[str, str, Callable[[], object]]] = [
            ("Lens: all processes", "drop the lens and every filter", home.action_clear_all),
            ("Lens: granted to a scope…", "the security lens", lambda: home.action_lens("granted")),
            (
                "Lens: originated by a scope…",
                "the lineage lens",
                lambda: home.action_lens("originated"),
            ),
            ("Filter: text…", "id, label or scope contains", home.action_find),
            (
                "Filter: next status",
                "all, running, waiting, live, terminal",
                home.action_cycle_status,
            ),
            ("Mark every matching process", "for a bulk action", home.action_mark_all),
            ("Pause / resume live updates", "the view keeps its place", home.action_toggle_pause),
            ("Command line", "type :help for the commands", home.action_command_line),
        ]
        if not self.dashboard.read_only:  # (each writes: a read-only dashboard writes nothing)
            commands.append(
                ("Export the process list as JSONL", "every row matching the filters",
                 home.action_export)
            )
            commands.append(("Prune terminal processes…", "older than an age", home.action_prune))
        for title, help_text, callback in commands:
            yield SystemCommand(title, help_text, self._on_home(callback))

    def home(self) -> ProcessesScreen:
        """The Processes view (its mode is entered first, on mount, so it always exists)."""
        screen = self.get_screen_stack("processes")[0]
        assert isinstance(screen, ProcessesScreen)
        return screen

    def _on_home(self, callback: Callable[[], object]) -> Callable[[], None]:
        """Run a Processes-view action from anywhere: switch to the view first."""

        def run() -> None:
            self.switch_mode("processes")
            self.call_later(callback)

        return run

    def jump_to_process(self, process_id: str) -> None:
        """Select `process_id` in the Processes view (the palette's id lookup)."""
        self.switch_mode("processes")
        while len(self.screen_stack) > 1:
            self.pop_screen()
        self.home().requery(self.home().page_query, anchor=process_id)

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    async def action_quit(self) -> None:
        """Quit once the embedded worker has stopped (its runs hand back their leases). The
        stop runs as a worker, not in this handler: awaited here, it held the app's message
        loop, so for as long as it took (the write lock held elsewhere: up to the 15 s a
        write waits; a run that ignores its cancellation: the stop's grace) `q` did nothing
        visible and nothing said why, and no notification could show."""
        engine = self.engine
        if engine is None:
            self.exit(0)
        elif self.quitting:
            text.say(self.screen, "still quitting: the embedded worker is stopping", title="quit")
        else:
            self.quitting = True
            self.run_worker(self.stop_then_exit(engine), group="quit", name="quit")

    async def stop_then_exit(self, engine: ProcessWorker) -> None:
        """Stop the embedded worker, then exit; a stop that takes a moment says so in a
        toast, with its bound, shown until the app exits. The stop is waited for as the stop
        after the screen waits for it (tui/stop_wait.py): up to the TTL or 15 s, then
        hurried, each release given `HURRIED_RELEASE_S` more. It was waited for unbounded
        (a run that ignores its cancellation: the stop's 30 s grace) while the toast said
        nothing of how long and left after 20 s. What a hurried stop leaves (runs given up
        on: their leases lapse) is said on stderr once the screen is gone
        (command/dashboard_stop.py)."""
        in_flight = len(engine.in_flight)
        # First claim nothing more, as a headless worker's graceful stop does: the stop
        # waits for the runs in flight, and meanwhile a wake on another program's commit
        # claimed (and ran) new rows behind its back.
        engine.stop_claiming()
        hurry = asyncio.Event()
        engine.hurried_by(hurry)
        longest = longest_wait_s(engine.timings.ttl_ms)
        stopping = asyncio.ensure_future(engine.stop())
        try:
            done, _ = await asyncio.wait({stopping}, timeout=QUIT_SAYS_AFTER_S)
            if not done:
                at_most = longest + HURRIED_STOP_S
                sentence = quit_waits_for(in_flight, at_most)
                text.say(self.screen, sentence, title="quit", timeout=at_most)
                done, _ = await asyncio.wait({stopping}, timeout=longest - QUIT_SAYS_AFTER_S)
            if not done:
                hurry.set()  # (then each of its waits ends within a release's: stop.py)
            await stopping
        finally:
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
    observer: ViewObserver | None = None,
    lash_version: int | None = None,
    read_only_why: str | None = None,
) -> LashtuiApp:
    """The dashboard over `processes`; its worker (if any) and `background` jobs run with
    the app. `observer` hears when changes reach the process table (benchmarks, tests).
    `lash_version`: the registry is one lash itself wrote (registry/lash/), always read-only.
    `read_only_why`: why it is open read-only when that was not asked (the header says)."""
    read_only = read_only or lash_version is not None or read_only_why is not None
    why = read_only_why or "--read-only"
    if lash_version is not None:
        why = f"a registry lash v{lash_version} wrote, which lashtui only reads"
    dashboard = Dashboard(
        processes=processes,
        clock=clock or SystemClock(),
        worker=None if read_only else processes.worker,
        read_only=read_only,
        operator=resolve_operator(operator, source="the dashboard's operator"),
        refresh_s=refresh_s,
        observer=observer,
        read_only_why=why,
    )
    return LashtuiApp(
        dashboard, subtitle=subtitle, background=background, lash_version=lash_version,
        read_only_why=read_only_why,
    )
