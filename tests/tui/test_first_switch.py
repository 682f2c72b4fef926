"""The first switch to a view styles it from the stylesheet as it stands, without re-parsing
every stylesheet of the app (app.py `add_view`): no `refresh_css` on a first switch, and a
view opened for the first time after a theme change is drawn in that theme."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.color import Color

from lashtui.admin import Processes
from lashtui.registry import open_registry
from lashtui.tui.app import make_app
from tests.tui.scene import home_loaded

VIEWS = ("2", "3", "4", "5", "6")


async def test_first_switches_reparse_no_stylesheet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    original = App.refresh_css

    def counted(self: App[Any], animate: bool = True) -> None:
        calls.append(type(self.screen).__name__)
        original(self, animate)

    monkeypatch.setattr(App, "refresh_css", counted)
    async with open_registry(str(tmp_path / "r.db")) as registry:
        app = make_app(Processes(registry), read_only=True, subtitle="r.db")
        async with app.run_test(size=(120, 40)) as pilot:
            await home_loaded(pilot)
            for key in VIEWS:
                await pilot.press(key)
                await pilot.pause()
            assert calls == []
            app.theme = "lashtui-high-contrast"  # a real change still refreshes
            await pilot.pause()
            assert calls


async def test_a_view_first_opened_after_a_theme_change_is_in_that_theme(
    tmp_path: Path,
) -> None:
    async with open_registry(str(tmp_path / "r.db")) as registry:
        app = make_app(Processes(registry), read_only=True, subtitle="r.db")
        async with app.run_test(size=(120, 40)) as pilot:
            await home_loaded(pilot)
            app.theme = "lashtui-high-contrast"
            await pilot.pause()
            expected = Color.parse(app.current_theme.background or "black")
            for key in VIEWS:
                await pilot.press(key)
                await pilot.pause()
                assert app.screen.styles.background.rgb == expected.rgb, key
