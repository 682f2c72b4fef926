"""Enter is in the footer of every view where it opens something, and opens it. No view's
footer showed it: the focused table's own Enter (DataTable's `select_cursor`, hidden from
footers) came first in the chain of bindings and hid the view's (`enter Detail`), so the
Processes, Leases, Abandon requests, Errors (and an error group's rows) and Audit views
showed every key but the one that opens a row, which only `?` named."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets._footer import FooterKey

from lashtui.admin import Processes
from lashtui.clock import ManualClock
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.tui.app import make_app
from lashtui.tui.screens.abandon import AbandonRequestsScreen
from lashtui.tui.screens.audit import AuditScreen
from lashtui.tui.screens.detail import ProcessDetailScreen
from lashtui.tui.screens.errors import ErrorGroupScreen, ErrorsScreen
from lashtui.tui.screens.leases import LeasesScreen
from lashtui.tui.screens.live import LiveScreen
from tests.tui.scene import home_loaded, until
from tests.tui.test_views import open_view


def footer_keys(screen: Screen[Any]) -> dict[str, str]:
    return {key.key: key.description for key in screen.query(FooterKey)}


async def enter_opens(pilot: Pilot[Any], screen: Screen[Any], said: str, opens: type) -> Any:
    """The footer names Enter as `said`; pressed, it opens a screen of kind `opens`."""
    await until(pilot, lambda: footer_keys(screen).get("enter") == said)
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(pilot.app.screen, opens))
    return pilot.app.screen


async def back_to(pilot: Pilot[Any], key: str, kind: type[LiveScreen]) -> Any:
    await pilot.press("escape")
    await pilot.pause()
    return await open_view(pilot, key, kind)


async def test_enter_is_in_the_footer_of_every_view_it_opens_a_row_in(
    scene: tuple[SqliteProcessRegistry, ManualClock],
) -> None:
    registry, clock = scene
    processes = Processes(registry, clock=clock)
    # One recorded operator action, so the Audit view has a row that opens a process.
    await processes.actions.cancel("h-requested", "stuck", operator="dana@ops")
    app = make_app(processes, clock=clock, read_only=True)
    async with app.run_test(size=(220, 30)) as pilot:
        home = await home_loaded(pilot)
        await enter_opens(pilot, home, "Detail", ProcessDetailScreen)
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is home)
        leases = await open_view(pilot, "2", LeasesScreen)
        await enter_opens(pilot, leases, "Detail", ProcessDetailScreen)
        abandon = await back_to(pilot, "3", AbandonRequestsScreen)
        await enter_opens(pilot, abandon, "Detail", ProcessDetailScreen)
        errors = await back_to(pilot, "5", ErrorsScreen)
        group = await enter_opens(pilot, errors, "Rows", ErrorGroupScreen)
        await until(pilot, lambda: group.loaded.is_set())
        await enter_opens(pilot, group, "Detail", ProcessDetailScreen)
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is group)
        audit = await back_to(pilot, "6", AuditScreen)
        opened = await enter_opens(pilot, audit, "Detail", ProcessDetailScreen)
        assert opened.process_id == "h-requested"


async def test_enter_is_not_offered_on_a_row_that_opens_nothing(
    scene: tuple[SqliteProcessRegistry, ManualClock],
) -> None:
    """An owner's header row in the Leases view opens nothing: no Enter in the footer, and
    pressed, it opens nothing (as before: the table's select reached the same `open`)."""
    registry, clock = scene
    app = make_app(Processes(registry, clock=clock), clock=clock, read_only=True)
    async with app.run_test(size=(220, 30)) as pilot:
        await home_loaded(pilot)
        leases = await open_view(pilot, "2", LeasesScreen)
        await until(pilot, lambda: "enter" in footer_keys(leases))
        await pilot.press("down")  # from g-silent onto worker-7's header row
        await until(pilot, lambda: "enter" not in footer_keys(leases))
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is leases
