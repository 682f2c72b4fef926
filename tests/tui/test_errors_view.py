"""The Errors view (key 5): failed, cancelled and abandoned rows grouped by why they ended,
opened group by group down to a process's detail; its snapshot, and the live refresh."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from lashtui.admin import Processes
from lashtui.admin import processes as admin_processes
from lashtui.clock import ManualClock
from lashtui.model import (
    CancelledOutput,
    ErrorGroupKey,
    ErrorSummary,
    ProcessAwaitOutput,
    failure,
)
from lashtui.registry import ProcessRegistry
from lashtui.registry.sql.decoded_row import UNDECODABLE_CODE, UNDECODABLE_WORDS
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.tui.app import make_app
from lashtui.tui.screens.detail import ProcessDetailScreen
from lashtui.tui.screens.errors import ErrorGroupScreen, ErrorsScreen, group_key
from lashtui.tui.widgets.keyed_table import KeyedTable
from tests.builders import ext
from tests.raw import raw_connection
from tests.tui.scene import START_MS, home_loaded, seed_every_state, until

SIZE = (140, 30)
TIMEOUT = ErrorGroupKey(state="failed", code="upstream_timeout", message="no answer in 30s")
HOSTILE = "[bold red]boom[/] \x1b]0;pwned\x07 [@click=app.quit]x[/]"


async def seed_errors(registry: ProcessRegistry, clock: ManualClock) -> None:
    """The every-state scene, then two more timeouts, a hostile failure and two cancels by
    an operator, a minute apart."""
    await seed_every_state(registry, clock)
    endings: list[tuple[str, ProcessAwaitOutput]] = [
        ("j-timeout", failure("upstream_timeout", "no answer in 30s")),
        ("k-hostile", failure("bad\x1b[2J", HOSTILE)),
        ("l-timeout", failure("upstream_timeout", "no answer in 30s")),
        ("m-cancel", CancelledOutput(message="requested by dana: stale")),
        ("n-cancel", CancelledOutput(message="requested by dana: stale")),
    ]
    for pid, output in endings:
        clock.advance(60_000)
        await registry.register_process(ext(pid))
        await registry.complete_process(pid, output)
    clock.advance(300_000)


@pytest.fixture
def errors_scene(tmp_path: Path) -> Iterator[tuple[SqliteProcessRegistry, ManualClock]]:
    clock = ManualClock(START_MS)

    async def build() -> SqliteProcessRegistry:
        registry = await SqliteProcessRegistry.open(str(tmp_path / "scene.db"), clock=clock)
        await seed_errors(registry, clock)
        return registry

    registry = asyncio.run(build())
    yield registry, clock
    asyncio.run(registry.close())


def observer(registry: SqliteProcessRegistry, clock: ManualClock, **kw: Any) -> Any:
    kw.setdefault("subtitle", "scene.db")
    return make_app(Processes(registry, clock=clock), clock=clock, read_only=True, **kw)


async def open_errors(pilot: Pilot[Any]) -> ErrorsScreen:
    await home_loaded(pilot)
    await pilot.press("5")
    screen = pilot.app.screen
    assert isinstance(screen, ErrorsScreen)
    async with asyncio.timeout(10):
        await screen.loaded.wait()
    await pilot.pause()
    return screen


def summary(screen: ErrorsScreen) -> ErrorSummary:
    assert screen.summary is not None
    return screen.summary


def shown(table: KeyedTable) -> list[str]:
    """The table's keys in the order they are on screen."""
    return [str(row.key.value) for row in table.ordered_rows]


def errors_view(pilot_size: tuple[int, int] = SIZE) -> Any:
    async def run_before(pilot: Pilot[Any]) -> None:
        await open_errors(pilot)

    return run_before


def test_errors_snapshot(
    errors_scene: tuple[SqliteProcessRegistry, ManualClock], snap_compare: Any
) -> None:
    registry, clock = errors_scene
    assert snap_compare(observer(registry, clock), terminal_size=SIZE, run_before=errors_view())


def test_error_group_snapshot(
    errors_scene: tuple[SqliteProcessRegistry, ManualClock], snap_compare: Any
) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await open_errors(pilot)
        await pilot.press("enter")  # the largest group: the three timeouts
        screen = pilot.app.screen
        assert isinstance(screen, ErrorGroupScreen)
        await screen.loaded.wait()
        await pilot.pause()

    registry, clock = errors_scene
    app = observer(registry, clock)
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


async def test_groups_largest_first_then_most_recent_first(
    errors_scene: tuple[SqliteProcessRegistry, ManualClock],
) -> None:
    registry, clock = errors_scene
    app = observer(registry, clock)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_errors(pilot)
        table = screen.query_one(KeyedTable)
        by_count = [(g.state.value, g.code, g.count) for g in summary(screen).groups]
        assert by_count == [
            ("failed", "upstream_timeout", 3),
            ("cancelled", "", 2),
            ("failed", "bad\x1b[2J", 1),
            # The scene's own rows all ended at its start: by state, code, message then.
            ("abandoned", "owner_drain", 1),
            ("abandoned", "reconciled_request", 1),
            ("abandoned", "sweep", 1),
            ("cancelled", "", 1),
        ]
        assert shown(table)[0] == group_key(TIMEOUT)
        assert "among every process (16): 10 rows in 7 groups" in str(screen.status())
        await pilot.press("o")
        await until(pilot, lambda: screen.summary is not None)
        await pilot.pause()
        assert [g.message for g in summary(screen).groups[:3]] == [
            "requested by dana: stale",
            "no answer in 30s",
            HOSTILE,
        ]
        assert shown(table)[0] == group_key(summary(screen).groups[0])
        assert "most recent first" in str(screen.status())
        await pilot.press("w")  # the wider window
        await until(pilot, lambda: screen.summary is not None)
        assert (summary(screen).window, summary(screen).rows) == (100_000, 10)


async def test_enter_opens_a_groups_rows_and_then_a_process(
    errors_scene: tuple[SqliteProcessRegistry, ManualClock],
) -> None:
    registry, clock = errors_scene
    app = observer(registry, clock)
    async with app.run_test(size=SIZE) as pilot:
        errors = await open_errors(pilot)
        await pilot.press("enter")
        group = app.screen
        assert isinstance(group, ErrorGroupScreen)
        await group.loaded.wait()
        await pilot.pause()
        rows = group.query_one(KeyedTable)
        assert shown(rows) == ["l-timeout", "j-timeout", "d-failed"]  # newest first
        rows.move_cursor(row=1)
        await pilot.press("enter")
        detail = app.screen
        assert isinstance(detail, ProcessDetailScreen) and detail.process_id == "j-timeout"
        await pilot.press("escape")
        assert app.screen is group
        await pilot.press("escape")
        assert app.screen is errors  # type: ignore[comparison-overlap]


async def test_a_groups_rows_cut_by_size_say_they_are_the_newest(
    errors_scene: tuple[SqliteProcessRegistry, ManualClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A group's rows are read holding at most `PAGE_CHARS` of records plus one row (here
    one row); the status then says they are the newest so many, not the group."""
    registry, clock = errors_scene
    monkeypatch.setattr(admin_processes, "PAGE_CHARS", 1)
    app = observer(registry, clock)
    async with app.run_test(size=SIZE) as pilot:
        await open_errors(pilot)
        await pilot.press("enter")
        group = app.screen
        assert isinstance(group, ErrorGroupScreen)
        await group.loaded.wait()
        await pilot.pause()
        assert shown(group.query_one(KeyedTable)) == ["l-timeout"]
        assert "1 row, the newest 1, newest change first" in str(group.status())


async def test_a_new_failure_reaches_the_view(
    errors_scene: tuple[SqliteProcessRegistry, ManualClock],
) -> None:
    registry, clock = errors_scene
    app = make_app(Processes(registry, clock=clock), clock=clock, read_only=True, refresh_s=0.05)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_errors(pilot)
        await registry.register_process(ext("o-timeout"))
        ended = failure("upstream_timeout", "no answer in 30s")
        await registry.complete_process("o-timeout", ended)
        timeout = group_key(TIMEOUT)
        await until(pilot, lambda: screen.groups[timeout].count == 4)
        assert screen.query_one(KeyedTable).shown[timeout].cells[1] == "4"


async def test_an_empty_registry_says_so(tmp_path: Path) -> None:
    clock = ManualClock(START_MS)
    registry = await SqliteProcessRegistry.open(str(tmp_path / "empty.db"), clock=clock)
    try:
        async with observer(registry, clock).run_test(size=SIZE) as pilot:
            screen = await open_errors(pilot)
            assert screen.has_class("-empty")
            assert screen.query_one("#errors-empty").display
            assert not screen.query_one(KeyedTable).display
            assert "every process (0): 0 rows in 0 groups" in screen.status()
            # One failure is one row in one group (it said "1 rows in 1 groups").
            await registry.register_process(ext("o-timeout"))
            await registry.complete_process("o-timeout", failure("timeout", "no answer"))
            await until(pilot, lambda: "1 row in 1 group," in screen.status())
    finally:
        await registry.close()


async def test_a_row_whose_record_does_not_decode_is_shown_undecodable_not_by_its_code(
    errors_scene: tuple[SqliteProcessRegistry, ManualClock],
) -> None:
    """Another program broke a timed-out row's record outside its outcome (every list shows
    its stand-in): the view counted it a timeout; it is in the undecodable group now, and
    that group's rows list it."""
    registry, clock = errors_scene
    with raw_connection(registry.path) as conn:
        (stored,) = conn.execute(
            "SELECT record_json FROM processes WHERE process_id = 'j-timeout'"
        ).fetchone()
        record = json.loads(stored)
        record["created_at_ms"] = "soon"
        conn.execute(
            "UPDATE processes SET record_json = ? WHERE process_id = 'j-timeout'",
            (json.dumps(record),),
        )
    broken = ErrorGroupKey(state="failed", code=UNDECODABLE_CODE, message=UNDECODABLE_WORDS)
    app = observer(registry, clock)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_errors(pilot)
        counts = {(g.code, g.message): g.count for g in summary(screen).groups}
        assert counts[(UNDECODABLE_CODE, UNDECODABLE_WORDS)] == 1
        assert counts[("upstream_timeout", "no answer in 30s")] == 2
        table = screen.query_one(KeyedTable)
        table.move_cursor(row=shown(table).index(group_key(broken)))
        await pilot.press("enter")
        group = app.screen
        assert isinstance(group, ErrorGroupScreen)
        await group.loaded.wait()
        await pilot.pause()
        assert shown(group.query_one(KeyedTable)) == ["j-timeout"]
