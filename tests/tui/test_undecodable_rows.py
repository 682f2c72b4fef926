"""The dashboard over a registry holding a row another program wrote that does not decode
(issue 16): it lists that row, marked, beside the good ones, instead of counts above an
empty table."""

from __future__ import annotations

import json
from pathlib import Path

from lashtui.admin import Processes
from lashtui.registry import open_registry
from lashtui.tui.app import make_app
from lashtui.tui.widgets.process_table import ProcessTable
from tests.raw import raw_connection
from tests.tui.test_processes_view import MINUTE_S, loaded, until, wait_steps


async def test_the_table_lists_an_undecodable_row_beside_the_good_ones(tmp_path: Path) -> None:
    db = str(tmp_path / "r.db")
    async with open_registry(db) as registry:
        for pid in ("a-good", "b-deep", "c-good"):
            await registry.start_process(wait_steps(pid))
        record = json.loads((await registry.get_process("b-deep")).model_dump_json())  # type: ignore[union-attr]
        record["input"]["payload"] = "PLACEHOLDER"
        deep = json.dumps(record).replace('"PLACEHOLDER"', "[" * 300 + "]" * 300)
        with raw_connection(db) as conn:
            conn.execute(
                "UPDATE processes SET record_json = ? WHERE process_id = 'b-deep'", (deep,)
            )
        app = make_app(Processes(registry), refresh_s=MINUTE_S, subtitle="undecodable")
        async with app.run_test(size=(160, 20)) as pilot:
            await loaded(pilot)
            table = app.screen.query_one(ProcessTable)
            await until(pilot, lambda: len(table.processes) == 3)
            assert set(table.processes) == {"a-good", "b-deep", "c-good"}
            assert str(table.get_cell("b-deep", "label")).startswith("undecodable: ")
