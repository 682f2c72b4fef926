"""The real dashboard (Pilot, real SQLite) over rows whose status column another program set
to no state at all: `'zombie'`, and a blob that is not UTF-8. The census counted them under
whatever the column held, so the first made every count vanish from the dashboard (it
could not be read as a state's name) and the second was counted nowhere. Both are now
counted apart, in the status line and the Health view, and each row lists as undecodable,
in every order: sorted by status, after the five states. Each row's badge says it has no
state: one whose record did not decode either was badged `✗ failed`, which neither the
column nor the record says; and a row that loses its state while the view runs is counted
apart at once, an ended one too (the view takes a census: tui/counts.py `stale`).
"""

from __future__ import annotations

from pathlib import Path

from lashtui.admin import Processes
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.tui.app import make_app
from lashtui.tui.screens.health import HealthScreen
from lashtui.tui.screens.processes import ProcessesScreen
from lashtui.tui.widgets.process_table import ProcessTable
from tests.builders import ext
from tests.raw import raw_connection, store_record_json
from tests.registry.rows import finish
from tests.tui.scene import until
from tests.tui.test_hostile_app import check_screen, loaded, screen_text, view

NO_STATE = "? status column holds no state 3"


async def test_rows_with_no_state_are_counted_apart_and_marked(tmp_path: Path) -> None:
    db = tmp_path / "no-state.db"
    registry = await SqliteProcessRegistry.open(str(db))
    try:
        for pid in ("fine", "done", "zombie", "blob", "lost"):
            await registry.register_process(ext(pid))
        await finish(registry, "done")
        store_record_json(str(db), "lost", "{not json")
        with raw_connection(str(db)) as conn:
            conn.execute("UPDATE processes SET status = 'zombie' WHERE process_id = 'zombie'")
            conn.execute("UPDATE processes SET status = x'ff00' WHERE process_id = 'blob'")
            conn.execute("UPDATE processes SET status = '' WHERE process_id = 'lost'")

        app = make_app(Processes(registry))
        async with app.run_test(size=(160, 40)) as pilot:
            home = app.screen
            assert isinstance(home, ProcessesScreen)
            await loaded(home)
            await until(pilot, lambda: NO_STATE in home.status_line)
            assert "● running 1" in home.status_line and "✓ completed 1" in home.status_line
            # Every row is listed (no state filter), the two marked with why (a label cell is
            # cut at LABEL_CHARS: "..., which is no state" is said whole in the detail).
            await until(pilot, lambda: "column holds 'z…" in screen_text(app))
            shown = check_screen(app, "fine", "done", "zombie", "blob", "lost")
            assert shown.count("undecodable: its status column holds") == 2, shown
            assert shown.count("? no state") == 3 and "failed" not in shown, shown

            # Sorted by status (`>`: the next column from id), they come after the states,
            # where the sorted orders left them out.
            await pilot.press("greater_than_sign")
            table = home.query_one(ProcessTable)
            await until(pilot, lambda: home.page_query.order == "status")
            await until(pilot, lambda: table.order == ["done", "fine", "blob", "lost", "zombie"])

            # The ended row loses its state while the view runs: counted apart at once.
            with raw_connection(str(db)) as conn:
                conn.execute("UPDATE process_change_clock SET current_seq = current_seq + 1")
                conn.execute(
                    "UPDATE processes SET status = 'gone', change_seq = (SELECT current_seq "
                    "FROM process_change_clock) WHERE process_id = 'done'"
                )
            await until(pilot, lambda: "? status column holds no state 4" in home.status_line)
            assert "completed" not in home.status_line, home.status_line

            health = await view(pilot, "4", HealthScreen)
            await until(pilot, lambda: "no state" in screen_text(app))
            assert "? status column holds no state      4" in screen_text(app)
            assert health.is_attached and app.is_running
    finally:
        await registry.close()
