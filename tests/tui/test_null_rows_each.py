"""Several rows whose `process_id` is NULL in the dashboard, beside a text row `NULL`, a blob
and ordinary rows, on a real SQLite file seeded with raw SQL (registry/sql/blob_id.py).

Before, every NULL row read as `NULL`: the Processes view showed one row for three (its page
read the first by rowid, its change feed and re-reads keyed them alike) while the census
counted each, so the header said `running 8` over 6 rows; the Errors view counted a group of
three NULL rows and listed one of them; and a page of a rare live state, read by id from the
census, read the text row `NULL` for every NULL row as well. Now each reads as
`NULL#<rowid>`, one row of its own."""

from __future__ import annotations

import json
from pathlib import Path

from textual.widgets import Static

from lashtui.admin import Processes
from lashtui.model import ErrorGroupKey, ProcessPageQuery, ProcessState
from lashtui.registry import open_registry
from lashtui.tui.app import make_app
from lashtui.tui.counts import StateCounts
from lashtui.tui.row_key import NOT_TEXT
from lashtui.tui.text import LABEL_CHARS
from lashtui.tui.window import ProcessWindow
from lashtui.untrusted import clipped
from tests.raw import copy_row, raw_connection
from tests.tui.test_processes_view import loaded, until, wait_steps
from tests.tui.test_rows_keyed_apart import BLOB_WHY, NULL_WHY, shown_rows, table_of

NULLS = ["NULL#3", "NULL#4", "NULL#5"]  # (rowids: alpha 1, good 2, then the copies)


async def seeded(db: str, status: str = "running") -> None:
    """`alpha` and `good` as lashtui starts them; then with raw SQL three NULL rows, each
    its own record (a copy of `good`'s with its own label), a text row `NULL` and a blob
    `zz`; every row's status column `status`."""
    async with open_registry(db) as registry:
        for pid in ("alpha", "good"):
            await registry.start_process(wait_steps(pid))
    with raw_connection(db) as conn:
        (record,) = conn.execute(
            "SELECT record_json FROM processes WHERE process_id = 'good'"
        ).fetchone()
    for n, stored in enumerate((None, None, None, "NULL", b"zz")):
        copy = json.loads(record)
        copy["identity"]["label"] = f"copy {n}"
        copy_row(db, "good", stored, json.dumps(copy))
    with raw_connection(db) as conn:
        conn.execute("UPDATE processes SET change_seq = rowid * 10, status = ?", (status,))
        assert conn.execute(
            "SELECT count(*), count(process_id) FROM processes"
        ).fetchone() == (7, 4)


async def test_the_processes_view_shows_a_row_for_each_row_it_counts(tmp_path: Path) -> None:
    db = str(tmp_path / "r.db")
    await seeded(db)
    async with open_registry(db) as registry:
        app = make_app(Processes(registry), refresh_s=0.05, operator="operator:dana")
        async with app.run_test(size=(160, 24)) as pilot:
            await loaded(pilot)
            table = table_of(pilot)
            status = app.screen.query_one("#engine-status", Static)
            await until(pilot, lambda: "running" in str(status.render()))
            assert "running 7" in str(status.render()), str(status.render())
            await pilot.pause(0.3)  # (re-reads and the feed: the rows stay each its own)
            assert table.row_count == 7
            # (a label cell is cut at LABEL_CHARS; WHY and the detail say it whole)
            null_label = clipped(f"undecodable: {NULL_WHY}", LABEL_CHARS)
            assert shown_rows(table) == [
                *[(pid, null_label) for pid in NULLS],
                ("NULL", "copy 3"),
                ("alpha", "steps"),
                ("good", "steps"),
                ("b'zz'", clipped(f"undecodable: {BLOB_WHY}", LABEL_CHARS)),
            ], shown_rows(table)
            assert [key for key in table.processes if key.startswith(NOT_TEXT)] == [
                NOT_TEXT + pid for pid in [*NULLS, "b'zz'"]
            ]


async def test_an_errors_group_lists_each_null_row_it_counts(tmp_path: Path) -> None:
    db = str(tmp_path / "r.db")
    await seeded(db, status="failed")
    async with open_registry(db) as registry:
        processes = Processes(registry)
        summary = await processes.error_groups()
        (group,) = [g for g in summary.groups if g.code == "process_id_not_text"
                    and g.message.startswith(NULL_WHY[:40])]  # fmt: skip
        assert group.count == 3
        key = ErrorGroupKey(state=ProcessState.FAILED, code=group.code, message=group.message)
        rows, cut = await processes.bounded_error_group_rows(key, 20_000)
        assert not cut and [row.process_id for row in rows] == NULLS[::-1]  # newest first


async def test_a_rare_live_state_read_by_id_reads_each_null_row(tmp_path: Path) -> None:
    db = str(tmp_path / "r.db")
    await seeded(db)
    async with open_registry(db) as registry:
        processes = Processes(registry)
        census = StateCounts(await processes.census(), processes.clock.now_ms())
        assert census.counts()["running"] == 7
        query = ProcessPageQuery(states=frozenset({ProcessState.RUNNING}))
        window = ProcessWindow(processes, census=lambda: census)
        await window.load(query)
        rows = window.ordered()
        assert sorted(row.process_id for row in rows) == sorted(
            [*NULLS, "NULL", "alpha", "good", "b'zz'"]
        )
        labels = {row.process_id: row.label for row in rows}
        assert labels["NULL"] == "copy 3" and labels["NULL#4"] == f"undecodable: {NULL_WHY}"


async def test_rare_state_pages_from_each_row_are_the_registry_s_pages(tmp_path: Path) -> None:
    # Read by id from the census, a page put the ids in text order: every NULL row after
    # the text row `NULL` (SQLite lists them first), so a page from a NULL row passed
    # over the text row, and one from the start stopped short of the NULL rows.
    db = str(tmp_path / "r.db")
    await seeded(db)
    async with open_registry(db) as registry:
        processes = Processes(registry)
        census = StateCounts(await processes.census(), processes.clock.now_ms())
        plain, by_census = ProcessWindow(processes), ProcessWindow(processes, census=lambda: census)
        for descending in (False, True):
            query = ProcessPageQuery(
                states=frozenset({ProcessState.RUNNING}), descending=descending
            )
            every = await processes.page(query.model_copy(update={"limit": 100}))
            assert len(every) == 7
            for row in [None, *every]:
                for side in ({}, {"after": row}, {"before": row}) if row else ({},):
                    expected, _ = await plain._page(2, query=query, **side)  # type: ignore[arg-type]
                    got, _ = await by_census._page(2, query=query, **side)  # type: ignore[arg-type]
                    assert [p.process_id for p in got] == [p.process_id for p in expected], (
                        descending, row and row.process_id, side.keys()
                    )
