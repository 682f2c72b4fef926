"""The real dashboard (Pilot, a real SQLite file) while another program prunes the registry.
The change feed reports no deleted row, so the counts kept the pruned rows for up to a
minute, until the next census (the Errors view, which reads afresh, said 0 meanwhile). A
prune lashtui makes is in its audit trail, which the view now looks at when a commit changed
no row: the counts drop at once.
"""

from __future__ import annotations

from pathlib import Path

from lashtui.admin import Processes
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.tui.app import make_app
from lashtui.tui.screens.processes import ProcessesScreen
from tests.builders import ext
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
