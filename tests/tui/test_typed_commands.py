"""The `:` command line in the real app (Pilot, a real SQLite file): each command either
does what it names or says in one sentence why not (the dashboard audit's items 2, 3 and
7). `goto` to an id that is not shown selected the row after where it would sit, saying
nothing; `prune` in a read-only dashboard did nothing and said nothing; `view errors` and
`view audit` were refused though keys 5 and 6 reach them."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input

from lashtui.admin import Processes
from lashtui.clock import ManualClock
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.tui.app import LashtuiApp, make_app
from lashtui.tui.screens.audit import AuditScreen
from lashtui.tui.screens.errors import ErrorsScreen
from tests.tui.scene import home_loaded, until
from tests.tui.test_actions import toasts

SIZE = (160, 30)


async def typed(pilot: Pilot[Any], line: str) -> None:
    """`:` then `line`, entered, as an operator types it."""
    await pilot.press("colon")
    pilot.app.screen.query_one("#command", Input).value = line
    await pilot.press("enter")
    await pilot.pause()


def app_on(scene: tuple[SqliteProcessRegistry, ManualClock], **kw: Any) -> LashtuiApp:
    registry, clock = scene
    return make_app(Processes(registry, clock=clock), clock=clock, refresh_s=0.05, **kw)


async def test_view_reaches_every_view_the_keys_reach(
    scene: tuple[SqliteProcessRegistry, ManualClock],
) -> None:
    app = app_on(scene, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await home_loaded(pilot)
        await typed(pilot, "view errors")
        await until(pilot, lambda: isinstance(app.screen, ErrorsScreen))
        await pilot.press("1")
        await typed(pilot, "view audit")
        await until(pilot, lambda: isinstance(app.screen, AuditScreen))
        assert not toasts(app)
