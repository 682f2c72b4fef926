"""The Engine health view: is the embedded worker running, what has its sweep decided, how
fast does the registry answer, and is the change feed alive.

Everything here is read from what others keep: the worker's own stats (no I/O), the `Pulse`
the Processes view maintains as it follows the change feed, and the app's Textual worker
that runs the engine. The view's own registry reads are two: one `data_version` read per
refresh, timed as the DB latency, a `census` only while the Processes view has not yet
counted anything, and the charts' activity (lashtui/registry/sql/activity.py).

The charts span a window of 15 minutes, an hour or a day (`w` cycles it). The first read of
a window counts every minute of it; after that each refresh reads only the minutes since
the last read (its last minute again), carrying its running and waiting levels forwards
(earlier minutes are history, which does not change), and the durations, so the view stays
live at the cost of a small read. Reads run on the store's threads, never on
the event loop; the view shows what it has until the first read of a window arrives.

DB latency is a wall-time measurement, not a clock time, so it is taken with `stopwatch`,
a module-level seam like the injected clock: snapshot tests replace it with a fixed step,
everything else sees `time.perf_counter`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Header, Static
from textual.worker import Worker, WorkerState

from lashtui.model import MINUTE_MS, HealthWindow, ProcessActivity
from lashtui.tui import format as fmt
from lashtui.tui import text
from lashtui.tui.context import Dashboard
from lashtui.tui.screens.live import LiveScreen
from lashtui.tui.widgets.activity_chart import DurationChart, LoadChart, ThroughputChart
from lashtui.tui.widgets.footer import KeyFooter
from lashtui.worker import ProcessWorker, RunEnd, Verdict

stopwatch: Callable[[], float] = time.perf_counter
IN_FLIGHT_SHOWN = 10
STALE_S = 10.0  # the longest the charts go without a read while nothing seems to move
READ_SHARE = 5  # a re-read waits at least this many times as long as the last one took
# Why the counts and the last change stand still: they are what the Processes view keeps.
PAUSED_PROCESSES = "the Processes view is paused (p there resumes it)"


def panel(title: Text, *children: Static, id: str) -> Vertical:
    box = Vertical(*children, id=id, classes="health-panel")
    box.border_title = title
    return box


WINDOW_NAMES = {
    HealthWindow.QUARTER_HOUR: "last 15 minutes",
    HealthWindow.HOUR: "last hour",
    HealthWindow.DAY: "last 24 hours",
}


class HealthScreen(LiveScreen):
    REFRESH_WORKER = "refresh_health"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("w", "next_window", "Window"),
        Binding("question_mark", "app.help", "Help"),
    ]

    def __init__(self, dashboard: Dashboard) -> None:
        super().__init__(dashboard)
        self.latency_ms: float | None = None
        self.census: dict[str, int] = {}
        self._engine: Worker[None] | None = None
        self.window = HealthWindow.QUARTER_HOUR
        self.activity: ProcessActivity | None = None  # of `self.window`, once read
        self._activity_window: HealthWindow | None = None
        self._activity_mark: tuple[object, ...] = ()
        self._activity_read_s = 0.0
        self._activity_took_s = 0.0  # wall time of the last activity read

    @property
    def refresh_s(self) -> float:
        return 1.0  # the worker's stats and the pulse change continuously; a second is enough

    def compose(self) -> ComposeResult:
        yield Header()
        # One scrolling body between the docked header and footer: at 80x24 the panels and
        # charts are taller than the screen, and a scrolling Screen would push its
        # scrollbar under the footer's `?`.
        with Vertical(id="health-body"):
            # Two rows of two panels, each row as tall as its taller panel.
            with Horizontal(classes="health-row"):
                yield panel(
                    text.plain("Worker and sweep"), Static(id="engine-facts"), id="engine-panel"
                )
                yield panel(
                    text.plain("Registry"),
                    Static(id="db-latency"),
                    Static(id="last-change"),
                    Static(id="pulse-error"),
                    id="registry-panel",
                )
            with Horizontal(classes="health-row"):
                yield panel(
                    text.plain("Sweep verdicts and run ends"),
                    Static(id="verdicts"),
                    id="sweep-panel",
                )
                yield panel(
                    text.plain("Processes by state"), Static(id="state-counts"), id="counts-panel"
                )
            with Vertical(id="activity-panel", classes="health-panel") as activity:
                activity.border_title = text.plain("How the work moved")
                yield Static(id="activity-facts")
                with Horizontal(id="activity-charts"):
                    yield ThroughputChart(id="throughput-chart")
                    yield LoadChart(id="load-chart")
                    yield DurationChart(id="duration-chart")
        yield KeyFooter()

    def action_next_window(self) -> None:
        self.window = self.window.next()
        self.say("#activity-facts", self._activity_facts())
        self.wake()

    async def load(self) -> None:
        processes = self.dashboard.processes
        started = stopwatch()
        version = await processes.data_version()
        self.latency_ms = (stopwatch() - started) * 1_000
        if not self.dashboard.pulse.counts:  # the Processes view has not counted yet
            self.census = (await processes.census()).counts()
        if self._activity_window is not self.window:
            # A window's first read is the long one (0.1-0.4 s on a million rows): the
            # panels above the charts are shown before it, not after.
            self.show(self.dashboard.clock.now_ms())
        await self._load_activity(version)

    async def _load_activity(self, version: int) -> None:
        window, now_ms = self.window, self.dashboard.clock.now_ms()
        processes = self.dashboard.processes
        # What moves when the charts may have: another handle's commit (data_version), one
        # of this app's (the counts the Processes view keeps), a new minute. While none has
        # moved, the last read stands, but never for longer than STALE_S of wall time (a
        # paused Processes view stops keeping the counts).
        pulse = self.dashboard.pulse
        counts = tuple(pulse.counts.items())
        mark = (window, version, pulse.last_change_ms, counts, now_ms // MINUTE_MS)
        since_read = time.monotonic() - self._activity_read_s
        if window is self._activity_window and (
            (mark == self._activity_mark and since_read < STALE_S)
            # A registry without the chart indexes is read by scans (seconds on a million
            # rows, on the thread every view reads through): at most a fifth of the time.
            or since_read < READ_SHARE * self._activity_took_s
        ):
            return
        self._activity_mark, self._activity_read_s = mark, time.monotonic()
        if self._activity_window is not window or self.activity is None:
            activity = await processes.activity(window, now_ms)
        else:  # the minutes since the last read, carried on from it
            activity = await processes.activity(window, now_ms, since=self.activity)
        self._activity_took_s = time.monotonic() - self._activity_read_s
        if window is self.window:  # not switched while the read was in flight
            self.activity, self._activity_window = activity, window

    def show(self, now_ms: int) -> None:
        pulse = self.dashboard.pulse
        worker = self.dashboard.worker
        self.say("#engine-facts", self.engine_facts(worker, now_ms))
        self.say("#verdicts", self.sweep_facts(worker))
        latency = fmt.latency(self.latency_ms)
        if self.error:
            latency = f"unreachable: {self.error}"
        self.say("#db-latency", f"DB latency   {latency}")
        # The changes it dates are the ones the Processes view applies; paused, it applies
        # none, and "live" (then "stale for Ns") described the pause, not the registry.
        change = (
            f"not followed: {PAUSED_PROCESSES}" if pulse.paused
            else fmt.last_change(pulse.last_change_ms, now_ms)
        )
        self.say("#last-change", f"last change  {change}")
        self.say("#pulse-error", f"last read error  {pulse.error}" if pulse.error else "")
        self.say("#state-counts", self._state_counts(now_ms))
        self.say("#activity-facts", self._activity_facts())
        if self.activity is not None and self._activity_window is self.window:
            for chart in (ThroughputChart, LoadChart, DurationChart):
                self.query_one(chart).show(self.activity)

    def _state_counts(self, now_ms: int) -> list[str]:
        """The counts per state, marked as of their last read while nothing keeps them: the
        registry cannot be read (deleted under the dashboard, this panel went on showing
        the counts it held as if they were current, beside the error), or the Processes
        view that keeps them is paused (they stood still, unmarked, while the charts below
        moved on)."""
        pulse = self.dashboard.pulse
        if pulse.counts:  # kept by the Processes view as it follows the change feed
            counts, read_at, failing = pulse.counts, pulse.last_read_ms, pulse.error
        else:  # (a census always holds the six states)
            counts, read_at, failing = self.census, self.read_at_ms, None
        if not counts:  # the registry failed before any count: no zeros stated
            return ["not counted yet"]
        if read_at is not None:
            if failing or self.error:
                return [self._last_read(read_at, now_ms), *fmt.state_counts(counts)]
            if pulse.counts and pulse.paused:
                why = f"not counted since: {PAUSED_PROCESSES}"
                return [self._last_read(read_at, now_ms, why), *fmt.state_counts(counts)]
        return fmt.state_counts(counts)

    @staticmethod
    def _last_read(
        read_at_ms: int, now_ms: int, why: str = "the registry could not be read since"
    ) -> str:
        """What figures held while nothing reads them again are marked with."""
        return f"as last read, {fmt.ago(read_at_ms, now_ms)}: {why}"

    def _activity_facts(self) -> list[str]:
        window = f"{WINDOW_NAMES[self.window]} (w: next window)"
        activity = self.activity
        if activity is None or self._activity_window is not self.window:
            # A read that failed is said, where "reading..." stayed for ever.
            if self.error:
                return [f"{window}: not read: {self.error}"]
            return [f"{window}, reading..."]
        started = sum(activity.started)
        ended = ", ".join(f"{sum(n):,} {state}" for state, n in activity.ended.items())
        facts = [f"{window}: {started:,} started; ended {ended}"]
        if self.error and self.read_at_ms is not None:  # (the charts too are as last read)
            facts.insert(0, self._last_read(self.read_at_ms, self.now_ms()))
        if activity.scanned:
            took = self._activity_took_s
            facts.append(
                f"read by scans in {took:.1f} s: this registry has no chart indexes (made "
                f"before them), so the charts refresh every {READ_SHARE * took:.0f} s at most"
            )
        return facts

    def engine_state(self) -> str:
        if self.dashboard.read_only:
            return "read-only"
        if self.dashboard.worker is None:
            return "observer (no embedded worker)"
        job = self._engine_job()
        if job is None or job.state in (WorkerState.CANCELLED, WorkerState.SUCCESS):
            return "stopped"
        if job.state is WorkerState.ERROR:
            return f"errored: {job.error}"
        return "running"

    def _engine_job(self) -> Worker[None] | None:
        # The worker manager forgets a worker once it ends, so keep the one found: an engine
        # that errored or stopped is still reported as such.
        for job in self.app.workers:
            if job.group == "engine" and job.name == "engine":
                self._engine = job
        return self._engine

    def engine_facts(self, worker: ProcessWorker | None, now_ms: int) -> list[str]:
        """One fact a line, as lines: a fact may quote a stored id (in flight, a problem's
        message), and one with a newline would start a line of its own (`text.say`)."""
        state = f"state      {self.engine_state()}"
        if worker is None:
            why = (
                "the registry is open read-only: nothing runs or sweeps here"
                if self.dashboard.read_only
                else "rows are run and swept by workers elsewhere"
            )
            return [state, why]
        stats = worker.stats
        in_flight = worker.in_flight
        last = fmt.ago(stats.last_drive_ms, now_ms) if stats.last_drive_ms is not None else "-"
        return [
            state,
            f"owner      {fmt.owner(worker.owner)}",
            f"in flight  {len(in_flight)}: {fmt.first_few(in_flight, IN_FLIGHT_SHOWN)}",
            f"drives     {stats.drives}, last drive and sweep {last}",
            self._problems_fact(now_ms),
            *self._commits_fact(worker, now_ms),
        ]

    def _problems_fact(self, now_ms: int) -> str:
        """The worker's warnings while it runs (a lease it could not renew, a drive that
        failed): how many, and the last one, said as it was logged."""
        problems = self.dashboard.worker_problems
        if problems.last is None:
            return "problems   none"
        at_ms, message = problems.last
        count = f"{problems.count:,} warning" + ("" if problems.count == 1 else "s")
        return f"problems   {count}, the last {fmt.ago(at_ms, now_ms)}: {message}"

    @staticmethod
    def _commits_fact(worker: ProcessWorker, now_ms: int) -> list[str]:
        """Whether the worker follows other connections' commits as they happen, or drains
        a backlog in full batches and reads them at its end or at a drive (follow.py
        `_drive_forever`)."""
        since = worker.stats.draining_since_ms
        backlog = "not draining in full batches"
        if since is not None:
            backlog = f"draining in full batches for {fmt.duration(now_ms - since)}"
        if worker.following:
            commits = f"followed as they happen ({worker.stats.wakes} wakes)"
        elif since is not None:
            commits = "read at the backlog's end or at a drive"
        else:
            commits = "not followed: the worker's drive loop is not running"
        return [f"backlog    {backlog}", f"commits    {commits}"]

    def sweep_facts(self, worker: ProcessWorker | None) -> list[str]:
        if worker is None:
            return ["no embedded worker: verdicts are counted by the worker that sweeps"]
        stats = worker.stats
        verdicts = fmt.tally((v.value, stats.verdicts[v]) for v in Verdict)
        runs = fmt.tally((r.value, stats.runs[r]) for r in RunEnd)
        return ["verdicts", *verdicts, "", "run ends", *runs]
