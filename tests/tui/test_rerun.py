"""Issue 17 item 4 in the dashboard: `R` runs ended rows again (the selection or every
marked row), asking first with No focused and naming the targets and their count; on a
live row `R` is dimmed and says why; the detail of each side shows the link."""

from __future__ import annotations

import asyncio
from typing import Any

from lashtui.model import SuccessOutput
from lashtui.tui.screens.detail import ProcessDetailScreen
from lashtui.tui.screens.modals import ConfirmScreen
from lashtui.tui.screens.processes import ProcessesScreen
from tests.builders import ext
from tests.tui.scene import until
from tests.tui.test_actions import live, select, toasts

__all__ = ["live"]  # the fixture, shared with the other action tests


def shown(screen: Any) -> str:
    """The detail's summary as drawn, or "" before it is composed."""
    found = screen.query("#summary")
    return str(found.first().render()) if found else ""


def question(app: Any) -> str:
    return str(app.screen.query_one("#question").render())


async def ended(processes: Any, *pids: str) -> None:
    for pid in pids:
        await processes.registry.register_process(ext(pid))
        await processes.registry.complete_process(pid, SuccessOutput(value=pid))


async def test_R_asks_defaults_to_no_then_runs_the_row_again(live: Any) -> None:
    app, processes, _ = live
    await ended(processes, "done")
    async with app.run_test(size=(140, 24)) as pilot:
        table = await select(pilot, "done")
        await pilot.press("R")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert question(app).startswith("Run process done (external) again? Each starts as a new ")
        await pilot.press("enter")  # No is focused
        assert isinstance(app.screen, ProcessesScreen)
        assert await processes.get("done~rerun-1") is None
        await pilot.press("R")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.click("#yes")
        await until(pilot, lambda: bool(toasts(app)))
        assert toasts(app) == [
            "done: done: re-run as `done~rerun-1` by operator:test; it had no grants to copy; "
            "externally owned: its owner must run it"
        ]
        await until(pilot, lambda: "done~rerun-1" in table.processes)


async def test_marked_rows_run_again_and_a_live_one_is_left_out(live: Any) -> None:
    app, processes, _ = live
    await ended(processes, "m-1", "m-2")
    await processes.registry.register_process(ext("m-3"))  # still running
    async with app.run_test(size=(140, 24)) as pilot:
        table = await select(pilot, "m-1")
        for pid in ("m-1", "m-2", "m-3"):
            await until(pilot, lambda pid=pid: pid in table.processes)  # type: ignore[misc]
            table.move_cursor(row=table.get_row_index(pid))
            await pilot.press("space")
        await pilot.press("R")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert question(app).startswith(
            "Run 2 processes: m-1, m-2 (1 marked process has not ended yet and is left out: "
            "m-3) again?"
        )
        await pilot.click("#yes")
        await until(pilot, lambda: bool(toasts(app)))
        (toast,) = toasts(app)
        assert toast.splitlines() == [
            "2 done",
            "1 marked process has not ended yet and is left out: m-3",
        ]
        assert [r.process_id for r in await processes.reruns("m-1")] == ["m-1~rerun-1"]
        assert [r.process_id for r in await processes.reruns("m-2")] == ["m-2~rerun-1"]


async def test_R_on_a_live_row_is_dimmed_and_says_why(live: Any) -> None:
    app, processes, _ = live
    await processes.registry.register_process(ext("busy"))
    async with app.run_test(size=(140, 24)) as pilot:
        await select(pilot, "busy")
        assert app.screen.check_action("rerun", ()) is None
        await pilot.press("R")
        await until(pilot, lambda: bool(toasts(app)))
        assert isinstance(app.screen, ProcessesScreen)
        assert toasts(app) == [
            "rerun is not offered for process busy: it is still running; only an ended "
            "process can be run again"
        ]


async def test_both_details_show_the_link_and_R_works_from_the_detail(live: Any) -> None:
    app, processes, _ = live
    await ended(processes, "old")
    async with app.run_test(size=(140, 30)) as pilot:
        await select(pilot, "old")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ProcessDetailScreen))
        detail = app.screen
        assert isinstance(detail, ProcessDetailScreen)
        async with asyncio.timeout(10):
            await detail.loaded.wait()
        await pilot.press("R")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.click("#yes")
        await until(pilot, lambda: "re-run as old~rerun-1 (by operator:test" in shown(detail))
        app.push_screen(ProcessDetailScreen(detail.dashboard, "old~rerun-1"))
        await until(pilot, lambda: app.screen is not detail)
        new = app.screen
        await until(pilot, lambda: "re-runs old · by operator:test" in shown(new))


async def test_the_embedded_worker_runs_a_rerun_from_the_dashboard_to_completion(
    live: Any,
) -> None:
    from lashtui.model import Engine, ProcessStartRequest

    app, processes, _ = live
    plan = {"steps": [{"finish": "ok"}]}
    request = ProcessStartRequest(
        id="job", input=Engine(kind="steps", payload=plan), disposition="rerunnable"
    )
    await processes.start(request)
    assert await processes.await_output("job", timeout=10) == SuccessOutput(value="ok")
    async with app.run_test(size=(140, 24)) as pilot:
        table = await select(pilot, "job")
        await until(pilot, lambda: table.processes["job"].terminal)
        await pilot.press("R")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.click("#yes")
        await until(pilot, lambda: "job~rerun-1" in table.processes)
        await until(pilot, lambda: table.processes["job~rerun-1"].lifecycle.value == "completed")
        assert await processes.await_output("job~rerun-1", timeout=5) == SuccessOutput(value="ok")
