"""The holder of a lease, as a signal's and a cancel's results name it on the dashboard: as
the Processes view's LEASE column names it (lashtui/model/owner.py), made visible and
clipped. The results quoted the stored owner id whole, a recovery attempt's suffix and all:
another program's id of 4,000 characters filled the notification, and one holding a
terminal title sequence and markup was shown raw but for the escapes. The real app on a
real SQLite file, driven by Pilot."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input
from textual.widgets._toast import Toast

from lashtui.admin import Processes
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.tui.app import make_app
from lashtui.tui.screens.modals import ConfirmScreen, SignalScreen
from tests.cli.test_cli_lease_owner import HOLDERS_IDS, HOSTILE_OWNERS, seed_held
from tests.tui.scene import click_drawn, home_loaded, until
from tests.tui.test_actions import select


@pytest.mark.parametrize(("owner_id", "named"), HOSTILE_OWNERS, ids=HOLDERS_IDS)
async def test_a_signal_and_a_cancel_name_the_holder_as_the_lease_column_does(
    tmp_path: Path, owner_id: str, named: str
) -> None:
    db = tmp_path / "r.db"
    await seed_held(db, owner_id)
    registry = await SqliteProcessRegistry.open(str(db))
    try:
        app = make_app(Processes(registry), refresh_s=0.05)
        async with app.run_test(size=(400, 30), notifications=True) as pilot:
            await home_loaded(pilot)
            table = await select(pilot, "p")
            # The column's name for the holder (HOLDER: the plan cuts it to the width, and
            # at 400 columns leaves it whole).
            holder = str(table.get_row("p")[table.shown_columns.index("holder")])
            assert holder == named

            await pilot.press("s")
            await until(pilot, lambda: isinstance(app.screen, SignalScreen))
            app.screen.query_one("#signal-name", Input).value = "ready"
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            await click_drawn(pilot, "#yes")
            await pilot.press("c")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            await click_drawn(pilot, "#yes")

            def drawn() -> list[str]:
                return [str(toast.render()) for toast in app.screen.query(Toast)]

            signalled = f"; the run waiting on it resumes ({named} holds it)"
            cancelled = f"the worker holding it ({named}) stops it within its next poll"
            await until(pilot, lambda: any(signalled in t for t in drawn()))
            await until(pilot, lambda: any(cancelled in t for t in drawn()))
            for shown in drawn():
                assert "\x1b" not in shown and "\x07" not in shown and len(shown) < 400
    finally:
        await registry.close()
