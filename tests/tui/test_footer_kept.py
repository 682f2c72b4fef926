"""A view's footer keeps the keys it built while the keys it shows stay the same: visiting
a view again, before or after a resize, builds none (each rebuild removed and mounted ~10-15
keys, ~60 ms of CPU: every view's footer was rebuilt on its first visit after a resize, as
its `compact` differed, and the Audit view's on every visit, as its list's hidden keys came
and went). A change of what the keys say still rebuilds it, its keys as compact as it is,
and each key is styled once, as it mounts (lashtui/tui/widgets/footer.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from textual.app import App
from textual.dom import DOMNode
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets._footer import FooterKey

from lashtui.admin import Processes
from lashtui.clock import ManualClock
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.tui.app import make_app
from lashtui.tui.screens.abandon import AbandonRequestsScreen
from lashtui.tui.screens.audit import AuditScreen
from lashtui.tui.screens.errors import ErrorsScreen
from lashtui.tui.screens.health import HealthScreen
from lashtui.tui.screens.leases import LeasesScreen
from lashtui.tui.screens.processes import ProcessesScreen
from lashtui.tui.widgets.footer import NARROW, KeyFooter
from lashtui.tui.widgets.process_table import ProcessTable
from tests.tui.scene import home_loaded, until
from tests.tui.test_views import open_view

VIEWS: tuple[tuple[str, Any], ...] = (
    ("2", LeasesScreen),
    ("3", AbandonRequestsScreen),
    ("4", HealthScreen),
    ("5", ErrorsScreen),
    ("6", AuditScreen),
    ("1", ProcessesScreen),
)


def palette(keys: set[FooterKey]) -> set[FooterKey]:
    """The palette's key, always compact (Textual's Footer does not bind it to its own)."""
    return {key for key in keys if key.has_class("-command-palette")}


@pytest.fixture
def restyled(monkeypatch: pytest.MonkeyPatch) -> list[DOMNode]:
    """Every node the app restyles from now on, in order (the real restyle is made)."""
    nodes: list[DOMNode] = []
    original = App.update_styles

    def counted(self: App[Any], node: DOMNode, animate: bool = True) -> None:
        nodes.append(node)
        original(self, node, animate)

    monkeypatch.setattr(App, "update_styles", counted)
    return nodes


async def settled_keys(pilot: Pilot[Any], screen: Screen[Any]) -> set[FooterKey]:
    """The footer's keys once they have stayed the same for a few turns of the app (a
    rebuild is queued after the next refresh)."""
    last = set(screen.query(FooterKey))
    same = 0
    while same < 3:
        await pilot.pause()
        keys = set(screen.query(FooterKey))
        same = same + 1 if keys == last else 0
        last = keys
    return last


async def test_views_visited_again_and_resized_build_no_footer_key(
    scene: tuple[SqliteProcessRegistry, ManualClock],
) -> None:
    registry, clock = scene
    app = make_app(Processes(registry, clock=clock), clock=clock, read_only=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await home_loaded(pilot)
        built: dict[str, set[FooterKey]] = {}
        for key, kind in VIEWS:
            built[key] = await settled_keys(pilot, await open_view(pilot, key, kind))
            assert built[key], key
        for width in (120, 80, 120):
            await pilot.resize_terminal(width, 40)
            for key, kind in VIEWS:
                screen = await open_view(pilot, key, kind)
                assert await settled_keys(pilot, screen) == built[key], (width, key)
                for drawn in built[key] - palette(built[key]):
                    assert drawn.has_class("-compact") == (width < NARROW), (width, key)


async def test_a_change_of_keys_rebuilds_the_footer_its_keys_styled_once(
    scene: tuple[SqliteProcessRegistry, ManualClock], restyled: list[DOMNode]
) -> None:
    registry, clock = scene
    app = make_app(Processes(registry, clock=clock), clock=clock, subtitle="scene.db")
    async with app.run_test(size=(120, 40)) as pilot:
        home = await home_loaded(pilot)
        table = home.query_one(ProcessTable)

        def cancel() -> FooterKey | None:
            return next((k for k in home.query(FooterKey) if k.key == "c"), None)

        def enabled(key: FooterKey | None) -> bool | None:
            return None if key is None else not key.has_class("-disabled")

        async def select(pid: str) -> None:
            table.move_cursor(row=table.get_row_index(str(home.window.key_of(pid))))
            await pilot.pause()

        for width in (120, 80):
            await pilot.resize_terminal(width, 40)
            await select("a-running")
            await until(pilot, lambda: enabled(cancel()))
            before = set(home.query(FooterKey))
            restyled.clear()
            await select("c-done")  # ended: Cancel is dimmed, so the footer is rebuilt
            await until(pilot, lambda: enabled(cancel()) is False)
            keys = await settled_keys(pilot, home)
            assert not keys & before
            for key in keys - palette(keys):
                assert key.has_class("-compact") == (width < NARROW), key.key
            assert [node for node in restyled if isinstance(node, FooterKey)] == []


async def test_a_resize_restyles_the_footer_once(
    scene: tuple[SqliteProcessRegistry, ManualClock], restyled: list[DOMNode]
) -> None:
    # Its `-narrow`, its `-compact` and then each key's own `-compact` restyled the footer's
    # keys three times (~30 ms of a resize's CPU): now its classes change in one batch.
    registry, clock = scene
    app = make_app(Processes(registry, clock=clock), clock=clock, read_only=True)
    async with app.run_test(size=(120, 40)) as pilot:
        home = await home_loaded(pilot)
        footer = home.query_one(KeyFooter)
        keys = await settled_keys(pilot, home)
        for width in (80, 120, 80):
            restyled.clear()
            await pilot.resize_terminal(width, 40)
            narrow = width < NARROW
            await until(pilot, lambda narrow=narrow: footer.compact == narrow)
            assert await settled_keys(pilot, home) == keys
            assert all(key.compact == (width < NARROW) for key in keys - palette(keys))
            for key in keys - palette(keys):
                assert key.has_class("-compact") == (width < NARROW), (width, key.key)
            assert footer.has_class("-narrow") == (width < NARROW)
            assert [node for node in restyled if node in keys] == [], width
            assert restyled.count(footer) == 1, width


async def test_a_view_first_visited_builds_its_footer_keys_once(
    scene: tuple[SqliteProcessRegistry, ManualClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Built before the view's first read, the footer had no key acting on a row (Enter,
    # Cancel...), and was built again once the read put one under the cursor (~60 ms).
    built: list[FooterKey] = []
    original = FooterKey.__init__

    def counted(self: FooterKey, *args: Any, **kwargs: Any) -> None:
        built.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(FooterKey, "__init__", counted)
    registry, clock = scene
    app = make_app(Processes(registry, clock=clock), clock=clock, read_only=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await home_loaded(pilot)
        shown: dict[str, set[str]] = {}
        for key, kind in VIEWS[:-1]:
            built.clear()
            screen = await open_view(pilot, key, kind)
            keys = await settled_keys(pilot, screen)
            assert set(built) == keys, key
            shown[key] = {k.key for k in keys}
        assert "enter" in shown["2"] and "enter" in shown["3"]  # a key acting on a row


async def test_a_slow_first_read_leaves_the_footer_keys_in_sight_meanwhile(
    scene: tuple[SqliteProcessRegistry, ManualClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    release = asyncio.Event()
    load = LeasesScreen.load

    async def held(self: LeasesScreen) -> None:  # the real read, once released
        await release.wait()
        await load(self)

    monkeypatch.setattr(LeasesScreen, "load", held)
    registry, clock = scene
    app = make_app(Processes(registry, clock=clock), clock=clock, read_only=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await home_loaded(pilot)
        await pilot.press("2")
        leases = app.screen
        assert isinstance(leases, LeasesScreen)

        def shown() -> set[str]:
            return {key.key for key in leases.query(FooterKey)}

        await until(pilot, lambda: {"q", "question_mark"} <= shown(), within=5)
        assert not leases.loaded.is_set() and "enter" not in shown()
        release.set()
        await until(pilot, lambda: "enter" in shown())
