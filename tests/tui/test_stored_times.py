"""The real dashboard (Pilot, real SQLite) over stored times no date holds, or that are no
whole number (tests/stored_times.py): a created time in the future read `0ms ago`, the
timeline's absolute times ended the dashboard with a traceback on an event past the year
9999, and an error group whose rows hold no whole time read as ~20,000 days ago (1970).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lashtui.admin import Processes
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.tui.app import make_app
from lashtui.tui.screens.audit import AuditScreen
from lashtui.tui.screens.detail import ProcessDetailScreen
from lashtui.tui.screens.errors import ErrorsScreen
from lashtui.tui.screens.processes import ProcessesScreen
from tests.stored_times import NO_DATE, times_registry
from tests.tui.scene import until
from tests.tui.test_hostile_app import check_screen, loaded, screen_text, view


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "times.db"
    times_registry(path)  # outside the test's event loop: it runs the command line
    return path


async def test_times_no_date_holds_are_shown_as_such(db: Path) -> None:
    registry = await SqliteProcessRegistry.open(str(db))
    try:
        app = make_app(Processes(registry))
        async with app.run_test(size=(200, 50)) as pilot:
            home = app.screen
            assert isinstance(home, ProcessesScreen)
            await loaded(home)

            home.action_open("a")
            await until(pilot, lambda: "from now" in screen_text(app))
            check_screen(app)  # created: ...d from now, never "0ms ago"
            await pilot.press("escape")

            home.action_open("b")
            await pilot.pause()
            detail = app.screen
            assert isinstance(detail, ProcessDetailScreen)
            await loaded(detail)
            await pilot.press("r")  # absolute times: the event's is past any date
            # (The timeline's column holds its first 25 characters.)
            await until(pilot, lambda: NO_DATE[:25] in screen_text(app))
            check_screen(app)
            await pilot.press("escape")

            # `c`'s event holds no whole time (nor JSON that decodes): not 1970, not 56y ago.
            home.action_open("c")
            await pilot.pause()
            detail = app.screen
            assert isinstance(detail, ProcessDetailScreen)
            await loaded(detail)
            for absolute in (False, True):
                await until(pilot, lambda: "time unknown" in screen_text(app))
                assert "1970" not in screen_text(app) and "56y" not in screen_text(app)
                assert detail.absolute is absolute
                await pilot.press("r")
            await pilot.press("escape")

            await view(pilot, "5", ErrorsScreen)
            await until(pilot, lambda: "gone" in screen_text(app))
            gone = next(line for line in screen_text(app).splitlines() if "gone" in line)
            assert gone.count("unknown") == 2, gone
            await view(pilot, "6", AuditScreen)
            await until(pilot, lambda: "from now" in screen_text(app))
            (c_line,) = [line for line in screen_text(app).splitlines() if " c " in line]
            assert "unknown" in c_line, c_line
            assert app.is_running
    finally:
        await registry.close()


async def test_an_age_in_the_future_says_so(db: Path) -> None:
    """`a` was created past the year 9999 (a host whose clock runs ahead makes the same
    case nearer): its AGE read `0ms` while the rest of the app said `... from now`."""
    registry = await SqliteProcessRegistry.open(str(db))
    try:
        app = make_app(Processes(registry))
        async with app.run_test(size=(320, 30)) as pilot:
            home = app.screen
            assert isinstance(home, ProcessesScreen)
            await loaded(home)
            await pilot.press("w")  # every column, AGE and UPDATED included
            await until(pilot, lambda: "AGE" in screen_text(app))
            (row,) = [line for line in screen_text(app).splitlines() if line.split()[:1] == ["a"]]
            assert row.count("from now") == 1 and "0ms" not in row, row  # AGE; UPDATED: ago
            assert row.rstrip().endswith(" ago"), row
    finally:
        await registry.close()
