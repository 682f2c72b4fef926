"""The command palette (ctrl+p) offers the actions the current screen's keys offer, on its
selection or marked rows, and runs them through the same question as the key. It offered
none: `cancel`, `signal`, `transfer`, `run again` found nothing, `abandon` only the
Abandon requests view. Where the footer hides a key (read-only) the palette does not offer
it either; where it shows one dimmed (an ended row's cancel) the palette lists it as not
offered now, saying why, and chosen it says why in full, as the key does. Real SQLite
file, the real app under Pilot."""

from __future__ import annotations

import asyncio
from typing import Any

from textual.command import CommandList, CommandPalette
from textual.pilot import Pilot
from textual.widgets import Input, Label

from lashtui.admin import Processes
from lashtui.clock import ManualClock
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.tui.app import make_app
from lashtui.tui.screens.detail import ProcessDetailScreen
from lashtui.tui.screens.leases import LeasesScreen
from lashtui.tui.screens.modals import ConfirmScreen
from lashtui.tui.screens.processes import ProcessesScreen
from tests.tui.scene import home_loaded
from tests.tui.test_actions import select, until
from tests.tui.test_hostile_app import screen_text
from tests.tui.test_views import open_view

SIZE = (140, 30)
EVERY_ACTION = {
    "Action: Cancel", "Action: Signal", "Action: Abandon", "Action: Transfer",
    "Action: Run again", "Action: End undecodable",
}  # fmt: skip


async def offered(pilot: Pilot[Any], query: str = "Action:", *, expect: str) -> list[str]:
    """Open the palette, type `query`, wait until `expect` is drawn (a hit's title, or
    `No matches found`), and give the action hits' titles; the palette stays open."""
    await pilot.press("ctrl+p")
    await until(pilot, lambda: isinstance(pilot.app.screen, CommandPalette))
    palette = pilot.app.screen
    palette.query_one(Input).value = query
    await until(pilot, lambda: expect in screen_text(pilot.app))
    hits = palette.query_one(CommandList)
    titles = [str(hits.get_option_at_index(i).prompt) for i in range(hits.option_count)]
    return sorted({t.split("\n")[0] for t in titles if t.startswith("Action: ")})


async def chosen(pilot: Pilot[Any], title: str) -> None:
    """Pick `title` in the open palette: typed whole, once it is the only hit, highlighted."""
    palette = pilot.app.screen
    palette.query_one(Input).value = title
    hits = palette.query_one(CommandList)

    def alone() -> bool:
        prompts = [str(hits.get_option_at_index(i).prompt) for i in range(hits.option_count)]
        return len(prompts) == 1 and prompts[0].startswith(title) and hits.highlighted == 0

    await until(pilot, alone)
    await pilot.press("enter")


def question(pilot: Pilot[Any]) -> str:
    return str(pilot.app.screen.query_one("#question", Label).render())


async def test_the_palette_offers_the_selections_actions_and_asks_first(
    scene: tuple[SqliteProcessRegistry, ManualClock],
) -> None:
    registry, clock = scene
    processes = Processes(registry, clock=clock)
    app = make_app(processes, clock=clock, refresh_s=0.05, operator="operator:test")
    async with app.run_test(size=SIZE) as pilot:
        await home_loaded(pilot)
        await select(pilot, "a-running")
        titles = await offered(pilot, expect="Action: Cancel")
        # As the keys: run again dimmed on a live row, no end of a row that decodes (hidden).
        lit = EVERY_ACTION - {"Action: Run again", "Action: End undecodable"}
        assert titles == sorted([*lit, "Action: Run again (not offered now)"])
        await chosen(pilot, "Action: Cancel")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "a-running" in question(pilot)  # the key's own question, No focused
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ProcessesScreen))
        assert await processes.cancel_request("a-running") is None
        await offered(pilot, expect="Action: Cancel")
        await chosen(pilot, "Action: Cancel")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.click("#yes")
        await until(pilot, lambda: isinstance(app.screen, ProcessesScreen))
        async with asyncio.timeout(15):  # the action runs in the background
            while await processes.cancel_request("a-running") is None:
                await pilot.pause(0.05)

        # An ended row: cancel, signal and abandon dimmed in the footer, listed as not offered
        # now and why (they were left out: `cancel` found nothing); run again offered.
        await select(pilot, "c-done")
        titles = await offered(pilot, expect="Action: Run again")
        assert titles == [
            "Action: Abandon (not offered now)", "Action: Cancel (not offered now)",
            "Action: Run again", "Action: Signal (not offered now)", "Action: Transfer",
        ]  # fmt: skip
        assert "the selected process has already ended (key c is dimmed)" in screen_text(app)
        await chosen(pilot, "Action: Cancel (not offered now)")
        said = "cancel is not offered for process c-done: it has already ended (completed)"
        await until(pilot, lambda: said in [n.message for n in app._notifications])
        assert isinstance(app.screen, ProcessesScreen)  # nothing asked

        # The detail and the Leases view offer theirs too, on the process they hold.
        app.screen.action_open("h-requested")  # type: ignore[attr-defined]
        await until(pilot, lambda: isinstance(app.screen, ProcessDetailScreen))
        detail = app.screen
        await until(pilot, lambda: detail.process is not None)  # type: ignore[attr-defined]
        await offered(pilot, expect="Action: Abandon")
        await chosen(pilot, "Action: Abandon")
        await until(pilot, lambda: app.screen.__class__.__name__ == "AbandonScreen")
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is detail)
        await pilot.press("escape")
        leases = await open_view(pilot, "2", LeasesScreen)
        await until(pilot, lambda: leases.target() is not None)
        # (its first row, g-silent, declares no signal: listed, as not offered now)
        unsignalled = "Action: Signal (not offered now)"
        assert unsignalled in await offered(pilot, expect=unsignalled)


async def test_the_palette_offers_no_action_where_the_keys_are_not_offered(
    scene: tuple[SqliteProcessRegistry, ManualClock],
) -> None:
    registry, clock = scene
    app = make_app(Processes(registry, clock=clock), clock=clock, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await home_loaded(pilot)
        await select(pilot, "a-running")
        assert await offered(pilot, "cancel", expect="process e-cancelled") == []
        assert await offered(pilot, expect="No matches found") == []
