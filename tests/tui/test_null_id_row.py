"""The dashboard over a row whose `process_id` another program stored as NULL (a rowid
table's TEXT PRIMARY KEY takes it: registry/sql/blob_id.py), driven with Pilot on a real
SQLite file.

Before, the Processes view left the row out unsaid (its page read the ids, then the rows
`IN` them, which never matches NULL), and the worker's drive failed whole on it. Now it is
listed first (where SQLite sorts NULL) as `NULL`, a stand-in whose reason says its id
column is NULL; every action key says why it is refused and asks nothing; its detail
opens and says what was not read."""

from __future__ import annotations

from pathlib import Path

from lashtui.admin import Processes
from lashtui.registry import open_registry
from lashtui.tui.app import make_app
from lashtui.tui.screens.detail import ProcessDetailScreen
from lashtui.tui.screens.processes import ProcessesScreen
from tests.raw import copy_row
from tests.tui.test_actions import select, toasts
from tests.tui.test_blob_id_row import KEYS
from tests.tui.test_processes_view import loaded, until, wait_steps
from tests.tui.test_undecodable_rows import detail_of, footer, summary

WHY = (
    "its process_id column is NULL, not text: no lashtui statement can name it, so "
    "nothing runs, recovers or ends it"
)


async def test_a_null_id_row_is_listed_and_every_action_key_says_why(tmp_path: Path) -> None:
    db = str(tmp_path / "r.db")
    async with open_registry(db) as registry:
        await registry.start_process(wait_steps("good"))
    copy_row(db, "good", None)
    async with open_registry(db) as registry:
        app = make_app(Processes(registry), refresh_s=0.05, operator="operator:dana")
        async with app.run_test(size=(160, 24)) as pilot:
            await loaded(pilot)
            await select(pilot, "NULL")
            for where in (ProcessesScreen, ProcessDetailScreen):
                assert footer(app)["End undecodable"] is False  # dimmed, as the others
                for key, action in KEYS.items():
                    app.clear_notifications()
                    await pilot.press(key)
                    await until(pilot, lambda: bool(toasts(app)))
                    assert isinstance(app.screen, where)  # nothing asked
                    assert toasts(app) == [f"{action} is not offered for process NULL: {WHY}"]
                if where is ProcessesScreen:
                    detail = await detail_of(pilot, "NULL")
                    shown = summary(detail)
                    assert f"undecodable: {WHY}" in shown and "not read: its lease, events" in shown
        # Nothing was written: the row is as copied, the registry holds no event.
        assert [p.process_id for p in await Processes(registry).list()] == ["NULL", "good"]
        assert await registry.events_after("good", 0) == []
