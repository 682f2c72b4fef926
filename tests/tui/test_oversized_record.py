"""The real dashboard (Pilot, a real SQLite file) over a row whose record another program
padded past the 16 MiB ceiling (sql/dialect.py `MAX_STORED_BYTES`). Its window's reads,
filtered by state, searched and sorted, leave that record unread and list the row once,
with its id and status, as the stand-in every reader shows (decoded_row.py `TOO_LARGE`).

Before, the state filters, the search and the sorted orders had SQLite load the record
whole to measure it, on every refresh. Proved with SQLite's own length limit at the
ceiling on every connection the registry opens: a read that loaded it would fail, and the
view would not show the rows asked for.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lashtui.admin import Processes
from lashtui.registry import open_registry
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.tui.app import make_app
from lashtui.tui.rare_state import FEW
from lashtui.tui.widgets.process_table import ProcessTable
from tests.builders import ext
from tests.registry.test_stored_size import refuse_to_load_past_the_ceiling
from tests.registry.test_unread_past_ceiling import _registry_with_a_large_record
from tests.tui.scene import home_loaded, until
from tests.tui.test_hostile_app import check_screen, screen_text

SHOWN = "undecodable: its record is over 16 MiB"


async def test_the_dashboard_lists_such_a_row_without_loading_its_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = str(tmp_path / "r.db")
    await _registry_with_a_large_record(db)  # a waiting, big and c running, d failed
    async with open_registry(db) as registry:
        # More running rows than the view reads by id from the census (tui/rare_state.py
        # `FEW`): its "running" window is then the registry's filtered, sorted pages.
        for n in range(FEW + 100):
            await registry.register_process(ext(f"r{n:03}"))
    refuse_to_load_past_the_ceiling(monkeypatch)
    registry = await SqliteProcessRegistry.open(db, read_only=True)
    try:
        app = make_app(Processes(registry), read_only=True)
        async with app.run_test(size=(160, 30)) as pilot:
            home = await home_loaded(pilot)
            table = home.query_one(ProcessTable)
            await until(pilot, lambda: table.order[:4] == ["a", "big", "c", "d"])
            assert SHOWN in str(table.get_cell("big", "label"))
            # Running: the stand-in runs, listed once; before, the read failed and the
            # view went on showing every state's rows.
            await pilot.press("f")
            await until(pilot, lambda: table.order[:3] == ["big", "c", "r000"])
            assert table.order.count("big") == 1 and not {"a", "d"} & set(table.order)
            for order in ("status", "label", "age", "updated", "lease_expiry"):
                await pilot.press("greater_than_sign")  # sorted by the next column
                await until(pilot, lambda wanted=order: home.page_query.order == wanted, 30)
                await until(pilot, lambda: "big" in table.order and "a" not in table.order, 30)
            await pilot.press("slash", *"bi", "enter")  # searched
            await until(pilot, lambda: table.order == ["big"])
            shown = check_screen(app, "big", SHOWN)
            assert "too big" not in screen_text(app), shown
    finally:
        await registry.close()


async def test_every_order_shows_every_row_beside_such_a_row(tmp_path: Path) -> None:
    """A stand-in costs a page nothing (its record is never loaded): every order shows all
    four rows, as many as the header counts. Counted at the ceiling, it ended its page, and
    the age and updated orders (where it comes before `a`, the selection the window loads
    around) showed 2 rows until a scroll."""
    db = str(tmp_path / "r.db")
    await _registry_with_a_large_record(db)  # a waiting, big and c running, d failed
    registry = await SqliteProcessRegistry.open(db, read_only=True)
    try:
        app = make_app(Processes(registry), read_only=True)
        async with app.run_test(size=(160, 30)) as pilot:
            home = await home_loaded(pilot)
            table = home.query_one(ProcessTable)
            await until(pilot, lambda: table.order == ["a", "big", "c", "d"])
            header = check_screen(app, "running 2", "waiting 1", "failed 1")  # (4 rows)
            for order in ("status", "label", "age", "updated", "lease_expiry"):
                await pilot.press("greater_than_sign")  # sorted by the next column
                await until(pilot, lambda wanted=order: home.page_query.order == wanted)
                await until(pilot, lambda: sorted(table.order) == ["a", "big", "c", "d"])
            assert "running 2" in screen_text(app), header
    finally:
        await registry.close()
