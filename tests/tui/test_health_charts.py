"""The Health view's charts of how the work moved: drawn from the registry on a ManualClock,
the window switched with `w`, new work followed live; and a snapshot of the charts over a
busy quarter hour (three engine kinds, every terminal state, waits)."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import Static

from lashtui.admin import Processes
from lashtui.clock import ManualClock
from lashtui.model import (
    MINUTE_MS,
    RESUMED,
    WAITING,
    CancelledOutput,
    Engine,
    HealthWindow,
    ProcessEventAppendRequest,
    RecoveryDisposition,
    failure,
)
from lashtui.registry import ProcessRegistry
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.tui.app import make_app
from lashtui.tui.screens import health
from lashtui.tui.screens.health import HealthScreen
from lashtui.tui.widgets.activity_chart import DurationChart, LoadChart, ThroughputChart
from tests.builders import ENV_REF, ext, registration
from tests.registry.rows import finish, park
from tests.registry.test_activity import EXPECTED, T0, build
from tests.tui.scene import home_loaded, until

NOW = T0 + 4 * MINUTE_MS + 30_000


async def open_health(pilot: Pilot[Any]) -> HealthScreen:
    await home_loaded(pilot)
    await pilot.press("4")
    screen = pilot.app.screen
    assert isinstance(screen, HealthScreen)
    async with asyncio.timeout(10):
        await screen.loaded.wait()
    await pilot.pause()
    return screen


def facts(screen: HealthScreen) -> str:
    return str(screen.query_one("#activity-facts", Static).render())


async def test_the_charts_draw_switch_windows_and_follow_new_work(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    registry = await SqliteProcessRegistry.open(str(tmp_path / "charts.db"), clock=clock)
    try:
        await build(registry, clock)
        clock.set(NOW)
        app = make_app(Processes(registry, clock=clock), clock=clock, subtitle="charts.db")
        async with app.run_test(size=(160, 45)) as pilot:
            screen = await open_health(pilot)
            throughput = screen.query_one(ThroughputChart)
            load = screen.query_one(LoadChart)
            assert throughput.activity is not None and throughput.activity.minutes == 15
            assert throughput.activity.started[-5:] == EXPECTED.started
            assert load.activity is not None and load.activity.waiting[-5:] == EXPECTED.waiting
            assert "last 15 minutes" in facts(screen) and "5 started" in facts(screen)
            drawn = str(throughput.render())
            assert "starts and ends per minute" in drawn and "minutes ago" in drawn

            await pilot.press("w")
            await until(pilot, lambda: (throughput.activity or EXPECTED).minutes == 60)
            assert "last hour" in facts(screen)
            assert throughput.activity is not None
            assert throughput.activity.ended["failed"][-5:] == EXPECTED.ended["failed"]

            # Live: work started now reaches the last minute of the charts.
            await registry.register_process(ext("new-1"))
            await registry.register_process(ext("new-2"))
            await until(pilot, lambda: (throughput.activity or EXPECTED).started[-1] == 2)
            assert load.activity is not None and load.activity.running[-1] == 2
            assert "7 started" in facts(screen)

            await pilot.press("w")
            await until(pilot, lambda: (throughput.activity or EXPECTED).minutes == 1_440)
            assert "hours ago" in str(throughput.render())
            await pilot.press("w")
            await until(pilot, lambda: (throughput.activity or EXPECTED).minutes == 15)
            assert screen.window is HealthWindow.QUARTER_HOUR

            # Two hours later (a suspended laptop): the whole window is read again, not the
            # last two minutes glued onto a window two hours old.
            clock.set(NOW + 120 * MINUTE_MS)
            await registry.register_process(ext("late"))
            later = HealthWindow.QUARTER_HOUR.first_minute(clock.now_ms())

            def moved() -> bool:
                activity = throughput.activity
                return activity is not None and activity.first_minute == later

            await until(pilot, moved)
            assert throughput.activity is not None
            assert throughput.activity.started == (0,) * 14 + (1,)
    finally:
        await registry.close()


# --- a busy quarter hour, for the snapshot

BUSY_START = T0
BUSY_NOW = T0 + 14 * MINUTE_MS + 45_000
KINDS = ("build", "deploy", "report")


def _engine(pid: str, kind: str) -> Any:
    return registration(
        pid,
        Engine(kind=kind, payload={}),
        RecoveryDisposition.EXTERNALLY_OWNED,
        env_ref=ENV_REF,
    )


async def _busy(registry: ProcessRegistry, clock: ManualClock) -> None:
    """Each minute a few starts of three kinds; each run ends a kind-dependent time later in
    a state drawn from its number; every fifth waits for a while first."""
    ends: list[tuple[int, int, str, str]] = []  # (at, n, pid, how)
    for minute in range(15):
        for k in range(2 + minute % 4):
            n = minute * 10 + k
            pid, kind = f"run-{n:03d}", KINDS[n % 3]
            clock.set(BUSY_START + minute * MINUTE_MS + k * 7_000)
            await registry.register_process(_engine(pid, kind))
            if n % 5 == 0:
                await park(registry, pid, clock.now_ms())
                key = f"{pid}:waiting"
                await registry.append_event(pid, ProcessEventAppendRequest.new(WAITING, {}, key))
                ends.append((clock.now_ms() + 90_000, n, pid, "resume"))
            length = (20_000, 75_000, 160_000)[n % 3] + (n * 3_917) % 40_000
            ends.append((clock.now_ms() + length, n, pid, "end"))
    ended: set[str] = set()
    for at, n, pid, how in sorted(ends):
        if at > BUSY_NOW or pid in ended:  # a run that ended while waiting never resumes
            continue
        clock.set(at)
        if how == "end":
            ended.add(pid)
        if how == "resume":
            await registry.clear_process_wait(pid)
            key = f"{pid}:resumed"
            await registry.append_event(pid, ProcessEventAppendRequest.new(RESUMED, {}, key))
        elif n % 7 == 3:
            await finish(registry, pid, failure("upstream_timeout", "no answer in 30s"))
        elif n % 11 == 5:
            await finish(registry, pid, CancelledOutput(message="requested by dana"))
        else:
            await finish(registry, pid)
    clock.set(BUSY_NOW)


@pytest.fixture
def busy(tmp_path: Path) -> Iterator[tuple[SqliteProcessRegistry, ManualClock]]:
    clock = ManualClock(BUSY_START)

    async def made() -> SqliteProcessRegistry:
        registry = await SqliteProcessRegistry.open(str(tmp_path / "busy.db"), clock=clock)
        await _busy(registry, clock)
        return registry

    registry = asyncio.run(made())
    yield registry, clock
    asyncio.run(registry.close())


def test_charts_snapshot(
    busy: tuple[SqliteProcessRegistry, ManualClock],
    snap_compare: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # DB latency is wall time: a fixed step makes it the same on every run (test_views.py).
    ticks = itertools.count()
    monkeypatch.setattr(health, "stopwatch", lambda: next(ticks) * 0.0004)
    registry, clock = busy
    app = make_app(
        Processes(registry, clock=clock), clock=clock, read_only=True, subtitle="busy.db"
    )

    async def run_before(pilot: Pilot[Any]) -> None:
        screen = await open_health(pilot)
        chart = screen.query_one(DurationChart)
        await until(pilot, lambda: chart.activity is not None)
        await pilot.pause()

    assert snap_compare(app, terminal_size=(160, 44), run_before=run_before)


async def test_a_hostile_kind_is_drawn_as_text(tmp_path: Path) -> None:
    """Plotext's picture is read back as ANSI: a kind's escape must reach it as `\\x1b`."""
    clock = ManualClock(T0)
    registry = await SqliteProcessRegistry.open(str(tmp_path / "hostile.db"), clock=clock)
    try:
        await registry.register_process(_engine("evil-1", "\x1b[31mred"))
        clock.set(T0 + 30_000)
        await finish(registry, "evil-1")
        app = make_app(Processes(registry, clock=clock), clock=clock, read_only=True)
        async with app.run_test(size=(200, 50)) as pilot:
            screen = await open_health(pilot)
            chart = screen.query_one(DurationChart)
            await until(pilot, lambda: chart.activity is not None)
            assert chart.activity is not None
            assert [d.kind for d in chart.activity.durations] == ["\x1b[31mred"]
            drawn = chart.render()
            assert isinstance(drawn, Text)
            assert "\\x1b[31mred" in drawn.plain and "\x1b" not in drawn.plain
    finally:
        await registry.close()


async def test_a_registry_without_the_chart_indexes_says_it_is_read_by_scans(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    clock = ManualClock(T0)
    registry = await SqliteProcessRegistry.open(str(path), clock=clock)
    await build(registry, clock)
    await registry.close()
    conn = sqlite3.connect(path)
    conn.execute("DROP INDEX processes_created_idx")
    conn.execute("DROP INDEX process_events_transition_idx")
    conn.commit()
    conn.close()
    clock.set(NOW)
    registry = await SqliteProcessRegistry.open(str(path), clock=clock, read_only=True)
    try:
        app = make_app(Processes(registry, clock=clock), clock=clock, read_only=True)
        async with app.run_test(size=(160, 45)) as pilot:
            screen = await open_health(pilot)
            assert screen.query_one(ThroughputChart).activity is not None
            assert "this registry has no chart indexes" in facts(screen)
            assert "5 started" in facts(screen)
    finally:
        await registry.close()
