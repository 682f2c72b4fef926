"""A running row with a pending cancel request says so: its WHY cell reads `cancel
requested` in the Processes view (its status cell stays `● running`: WHY is the column the
plan cuts to the width), and the detail's first line says `● running · cancel requested`. It looked
untouched: the request is an event, which the list did not read. Made by another program
while the dashboard runs, it reaches the view through the change feed (the append moves the
row's change_seq). The real app on a real SQLite file, driven by Pilot."""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual.widgets import Static

from lashtui.admin import Processes
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.tui.app import make_app
from lashtui.tui.screens.detail import ProcessDetailScreen
from lashtui.tui.widgets.process_table import ProcessTable
from tests.builders import ob
from tests.tui.scene import home_loaded, until


async def test_a_cancel_request_made_elsewhere_shows_in_the_list_and_the_detail(
    tmp_path: Path,
) -> None:
    db = str(tmp_path / "cancel.db")
    registry = await SqliteProcessRegistry.open(db)
    elsewhere = await SqliteProcessRegistry.open(db)  # another program on the same file
    try:
        for pid in ("asked", "quiet"):
            await registry.register_process(ob(pid))
        app = make_app(Processes(registry), refresh_s=0.05)
        async with app.run_test(size=(160, 30)) as pilot:
            home = await home_loaded(pilot)
            table = home.query_one(ProcessTable)

            def cell(pid: str, column: str) -> str:
                return str(table.get_row(pid)[table.shown_columns.index(column)])

            def status(pid: str) -> str:
                return cell(pid, "status")

            assert status("asked") == status("quiet") == "● running"
            assert cell("asked", "why") == ""
            outcome = await Processes(elsewhere).actions.cancel("asked", operator="dana@h")
            assert outcome.outcome == "requested"  # no worker holds it: the row runs on
            await until(pilot, lambda: cell("asked", "why") == "cancel requested")
            assert status("asked") == status("quiet") == "● running"
            assert cell("quiet", "why") == ""

            home.action_open("asked")
            await until(pilot, lambda: isinstance(app.screen, ProcessDetailScreen))
            detail = app.screen
            assert isinstance(detail, ProcessDetailScreen)
            async with asyncio.timeout(10):
                await detail.loaded.wait()
            summary = str(detail.query_one("#summary", Static).render())
            assert summary.splitlines()[0].startswith("asked  ● running · cancel requested  ")
    finally:
        await elsewhere.close()
        await registry.close()
