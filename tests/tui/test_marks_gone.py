"""Bulk actions on marked rows when another program has deleted one of them (the dashboard
audit's item 8): the question and the result name the marked process that is gone and say
it was left out, and the marks drop it. A bulk cancel asked `Cancel 2 processes: m0000,
m0001?`, reported `2 requested`, said nothing of m0002, and the status line still said
`3 marked`."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Static

from lashtui.admin import Processes
from lashtui.clock import ManualClock
from lashtui.model import SuccessOutput
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.tui.app import make_app
from lashtui.tui.screens.modals import ConfirmScreen
from lashtui.tui.screens.processes import ProcessesScreen
from tests.builders import ext
from tests.tui.scene import START_MS, home_loaded, until
from tests.tui.test_actions import select, toasts

SIZE = (160, 30)
MARKED = ("m0000", "m0001", "m0002")


async def delete_elsewhere(path: Path, pid: str, clock: ManualClock) -> None:
    """Another program, on a connection of its own, ends `pid` and prunes it."""
    other = await SqliteProcessRegistry.open(str(path), clock=clock)
    try:
        await other.complete_process(pid, SuccessOutput(value=1))
        report = await other.prune_terminal_processes(clock.now_ms() + 1)
        assert report.pruned_processes == 1
    finally:
        await other.close()


def question(app_screen: object) -> str:
    assert isinstance(app_screen, ConfirmScreen)
    return " ".join(str(s.render()) for s in app_screen.query(Static))


async def test_a_bulk_cancel_names_the_marked_process_that_is_gone_and_unmarks_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "marks.db"
    clock = ManualClock(START_MS)
    registry = await SqliteProcessRegistry.open(str(path), clock=clock)
    try:
        for pid in (*MARKED, "m0003"):
            await registry.register_process(ext(pid))
        app = make_app(
            Processes(registry, clock=clock), clock=clock, refresh_s=0.05, operator="op:test"
        )
        async with app.run_test(size=SIZE) as pilot:
            home = await home_loaded(pilot)
            await select(pilot, "m0000")
            for _ in MARKED:
                await pilot.press("space")
            assert list(home.marked) == list(MARKED)
            assert "3 marked" in home.status_line
            await delete_elsewhere(path, "m0002", clock)

            await pilot.press("c")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            await pilot.pause()
            asked = question(app.screen)
            assert (
                "Cancel 2 processes: m0000, m0001 (1 marked process is gone from the registry "
                "and left out: m0002)? Each owner is asked to stop." in asked
            ), asked
            assert list(home.marked) == ["m0000", "m0001"]
            assert "2 marked" in home.status_line

            await pilot.click("#yes")
            await until(pilot, lambda: bool(toasts(app)))
            (result,) = toasts(app)
            assert result.startswith("2 requested\n"), result  # (their owners must end them)
            assert result.endswith(
                "\n1 marked process is gone from the registry and left out: m0002"
            ), result
            assert isinstance(app.screen, ProcessesScreen)
    finally:
        await registry.close()


async def test_when_every_marked_process_is_gone_nothing_is_asked_and_it_says_why(
    tmp_path: Path,
) -> None:
    path = tmp_path / "marks.db"
    clock = ManualClock(START_MS)
    registry = await SqliteProcessRegistry.open(str(path), clock=clock)
    try:
        for pid in (*MARKED[:1], "m0003"):
            await registry.register_process(ext(pid))
        app = make_app(Processes(registry, clock=clock), clock=clock, refresh_s=0.05)
        async with app.run_test(size=SIZE) as pilot:
            home = await home_loaded(pilot)
            await select(pilot, "m0000")
            await pilot.press("space")
            await delete_elsewhere(path, "m0000", clock)
            await pilot.press("c")
            await until(pilot, lambda: bool(toasts(app)))
            assert toasts(app) == [
                "nothing to cancel: 1 marked process is gone from the registry and left out: "
                "m0000"
            ]
            assert isinstance(app.screen, ProcessesScreen) and not home.marked
    finally:
        await registry.close()
