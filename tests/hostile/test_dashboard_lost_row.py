"""The dashboard's status line when the selected row leaves the list and that row's id is
not text (a blob or NULL another program stored in a SQLite registry): driven with Pilot
on a real file changed with raw SQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Static

from lashtui.admin import Processes
from lashtui.registry import open_registry
from lashtui.tui.app import make_app
from tests.raw import copy_row
from tests.tui.test_actions import select
from tests.tui.test_hostile_app import check_screen
from tests.tui.test_processes_view import loaded, until, wait_steps


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        pytest.param(b"r\xff\x1b]0;PWNED\x07", "b'r\\xff\\x1b]0;PWNED\\x07'", id="blob"),
        pytest.param(None, "NULL#2", id="null"),
    ],
)
async def test_a_not_text_row_that_left_the_list_is_named_as_it_was_listed(
    tmp_path: Path, stored: bytes | None, shown: str
) -> None:
    """Selected, then filtered out: the status line named the row by its internal key, the
    id behind a high surrogate (tui/row_key.py), shown as `\\ud800b'r\\xff...' left the
    list`, an id no reader lists. It now names the row as the table did."""
    db = str(tmp_path / "r.db")
    async with open_registry(db) as registry:
        await registry.start_process(wait_steps("good"))
    copy_row(db, "good", stored)
    async with open_registry(db) as registry:
        app = make_app(Processes(registry), refresh_s=0.05, read_only=True)
        async with app.run_test(size=(200, 24)) as pilot:
            await loaded(pilot)
            await select(pilot, shown)
            await pilot.press("colon", *"filter nothing-has-this", "enter")

            def status() -> str:
                return str(app.screen.query_one("#engine-status", Static).render())

            await until(pilot, lambda: "left the list" in status())
            assert f"{shown} left the list: no process selected" in status(), status()
            assert "\\ud800" not in status()
            check_screen(app)
