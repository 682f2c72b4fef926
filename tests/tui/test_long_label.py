"""A label as long as a write allows (1,024 characters) beside ordinary rows, in the real
dashboard on a real SQLite file: the tables' LABEL cells are cut, so the columns after them
stay on screen for every row. Before, that one label made its column 1,024 cells wide: at
120 columns the Processes view showed no LEASE or AGE and pushed WHY off the right edge,
and the Abandon requests view at 200 columns showed only its PROCESS column (not the
sweep's verdict, which its status line calls "the last column")."""

from __future__ import annotations

import re
from pathlib import Path

from lashtui.admin import Processes
from lashtui.clock import ManualClock
from lashtui.model import AbandonRequest, ProcessIdentity
from lashtui.model.limit import MAX_LABEL_CHARS
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.tui.app import make_app
from lashtui.tui.screens.abandon import AbandonRequestsScreen
from lashtui.tui.screens.leases import LeasesScreen
from lashtui.tui.text import LABEL_CHARS
from lashtui.tui.widgets.process_table import ProcessTable
from tests.builders import ob
from tests.tui.scene import START_MS, far, home_loaded
from tests.tui.test_hostile_app import screen_text, view

LONG = "L" * (MAX_LABEL_CHARS - 3) + "END"


async def seed(path: Path, clock: ManualClock) -> SqliteProcessRegistry:
    registry = await SqliteProcessRegistry.open(str(path), clock=clock)
    owner = far("worker-7")
    for pid, label in (("a-long", LONG), ("b-short", "nightly import")):
        await registry.register_process(ob(pid, identity=ProcessIdentity(kind="k", label=label)))
        held = (await registry.claim_process_lease(pid, owner, 600_000)).acquired()
        assert held is not None
    request = AbandonRequest(requested_by="operator:dana", requested_at_ms=START_MS, reason="r")
    await registry.request_process_abandon("a-long", request)
    return registry


def cut_label(screen: str) -> str:
    """The long label as the screen shows it, cut (`L…L…`)."""
    found = re.search(r"L+…", screen)
    assert found is not None, screen
    return found.group()


async def test_a_long_label_leaves_the_other_columns_on_screen(tmp_path: Path) -> None:
    clock = ManualClock(START_MS)
    registry = await seed(tmp_path / "long-label.db", clock)
    try:
        app = make_app(Processes(registry, clock=clock), clock=clock, read_only=True)
        async with app.run_test(size=(120, 30)) as pilot:
            home = await home_loaded(pilot)
            table = home.query_one(ProcessTable)
            assert {"why", "lease", "age"} <= set(table.shown_columns), table.shown_columns
            screen = screen_text(app)
            assert "LEASE" in screen and "AGE" in screen
            # Cut where the columns beside it leave room (widgets/column_plan.py)...
            assert 8 < len(cut_label(screen)) <= LABEL_CHARS and "END" not in screen
            assert "nightly import" in screen

            await view(pilot, "2", LeasesScreen)
            leases = screen_text(app)
            assert 8 < len(cut_label(leases)) <= LABEL_CHARS and "END" not in leases
            assert "owner_b" in leases  # the DISPOSITION column, after LABEL

        app = make_app(Processes(registry, clock=clock), clock=clock, read_only=True)
        async with app.run_test(size=(200, 40)) as pilot:
            # ...and never past LABEL_CHARS, whatever the room.
            cut = "L" * (LABEL_CHARS - 1) + "…"
            await home_loaded(pilot)
            assert cut_label(screen_text(app)) == cut
            await view(pilot, "2", LeasesScreen)
            assert cut_label(screen_text(app)) == cut
            await view(pilot, "3", AbandonRequestsScreen)
            requests = screen_text(app)
            assert "THE SWEEP" in requests and "operator:dana" in requests
            assert cut in requests and "END" not in requests
    finally:
        await registry.close()
