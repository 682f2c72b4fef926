"""The real dashboard (Pilot, a real SQLite file) while another program prunes the registry.
The change feed reports no deleted row, so the counts kept the pruned rows for up to a
minute, until the next census (the Errors view, which reads afresh, said 0 meanwhile). A
prune lashtui makes is in its audit trail, which the view now looks at when a commit changed
no row: the counts drop at once. Rows deleted without a trace, and a change clock moved
back, are seen by the view's own reads: it counts again within a refresh or two.
"""

from __future__ import annotations

import json
from pathlib import Path

from lashtui.admin import Processes
from lashtui.registry import open_registry
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.tui.app import make_app
from lashtui.tui.screens.processes import ProcessesScreen
from tests.builders import ext
from tests.raw import raw_connection
from tests.registry.rows import finish
from tests.tui.scene import until
from tests.tui.test_hostile_app import loaded


async def test_the_counts_drop_when_another_program_prunes(tmp_path: Path) -> None:
    db = str(tmp_path / "r.db")
    registry = await SqliteProcessRegistry.open(db)
    other = await SqliteProcessRegistry.open(db)  # another program's handle
    try:
        for pid in ("done-1", "done-2", "live"):
            await registry.register_process(ext(pid))
        for pid in ("done-1", "done-2"):
            await finish(registry, pid)
        app = make_app(Processes(registry), refresh_s=0.1)
        async with app.run_test(size=(160, 40)) as pilot:
            home = app.screen
            assert isinstance(home, ProcessesScreen)
            await loaded(home)
            await until(pilot, lambda: "✓ completed 2" in home.status_line)

            pruner = Processes(other)
            now = pruner.clock.now_ms() + 1
            outcome = await pruner.actions.prune(now, operator="elsewhere")
            assert outcome.outcome == "done"
            # Within a few seconds, not at the minute's census.
            await until(pilot, lambda: "completed" not in home.status_line, within=5)
            assert "● running 1" in home.status_line, home.status_line
    finally:
        await other.close()
        await registry.close()


async def test_the_counts_follow_rows_another_program_deletes_without_a_trace(
    registry_target: str,
) -> None:
    """Rows deleted with plain SQL (lash's own prune, an operator's sqlite3 or psql) leave
    no audit entry and no feed entry: they left the table at once, but the status line
    kept counting them until the census a minute later. The window's re-read sees them
    gone, and the view counts again within a refresh or two."""
    async with open_registry(registry_target) as registry:
        for pid in ("done-1", "done-2", "live"):
            await registry.register_process(ext(pid))
        for pid in ("done-1", "done-2"):
            await finish(registry, pid)
        app = make_app(Processes(registry), refresh_s=0.1)
        async with app.run_test(size=(160, 40)) as pilot:
            home = app.screen
            assert isinstance(home, ProcessesScreen)
            await loaded(home)
            await until(pilot, lambda: "✓ completed 2" in home.status_line)
            with raw_connection(registry_target) as conn:
                for table in ("process_events", "process_handle_grants", "process_leases"):
                    conn.execute(
                        f"DELETE FROM {table} WHERE process_id IN ('done-1', 'done-2')"
                    )
                conn.execute("DELETE FROM processes WHERE process_id IN ('done-1', 'done-2')")
            await until(pilot, lambda: "done-1" not in home.window.rows, within=20)
            # Well before the minute's census (RECOUNT_S): a guard against a loaded machine.
            await until(pilot, lambda: "completed" not in home.status_line, within=20)
            assert "● running 1" in home.status_line, home.status_line


async def test_the_counts_follow_a_change_clock_moved_back(tmp_path: Path) -> None:
    """The file's change clock set back (restored from an older copy, another program
    renumbering) and a row then ended below the view's feed cursor: the feed reports
    nothing below its cursor, so the counts kept the row running for a minute. The view
    sees the clock behind its cursor, counts again and follows the feed from there."""
    db = str(tmp_path / "r.db")
    async with open_registry(db) as registry:
        for pid in ("a-done", "b-live", "c-live"):
            await registry.register_process(ext(pid))
        await finish(registry, "a-done")
        app = make_app(Processes(registry), refresh_s=0.1)
        async with app.run_test(size=(160, 40)) as pilot:
            home = app.screen
            assert isinstance(home, ProcessesScreen)
            await loaded(home)
            await until(pilot, lambda: "● running 2" in home.status_line)
            assert home.cursor > 2
            with raw_connection(db) as conn:
                (ended,) = conn.execute(
                    "SELECT record_json FROM processes WHERE process_id = 'a-done'"
                ).fetchone()
                record = json.loads(ended)
                record["id"] = "b-live"
                conn.execute("UPDATE process_change_clock SET current_seq = 2")
                conn.execute(
                    "UPDATE processes SET status = 'completed', record_json = ?, "
                    "change_seq = 2 WHERE process_id = 'b-live'",
                    (json.dumps(record),),
                )
            await until(pilot, lambda: "✓ completed 2" in home.status_line, within=20)
            assert "● running 1" in home.status_line, home.status_line
            assert home.cursor == 2
            # The feed follows on from there: the next change is counted at once.
            await finish(registry, "c-live")
            await until(pilot, lambda: "✓ completed 3" in home.status_line, within=20)
            assert "running" not in home.status_line, home.status_line
