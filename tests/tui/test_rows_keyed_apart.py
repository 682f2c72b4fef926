"""Every stored row is one row of the dashboard, though another program spelled ids alike.

SQLite lets another program key a process by NULL or by a blob (registry/sql/blob_id.py),
which every reader names by a stand-in (`NULL`, `b'zz'`), and a text id may be spelled the
same. The Processes view kept its rows by the id as read, so a text row `NULL` and a NULL's
row were one table row (the one read last won): the header counted both, the table showed
one, and `c` or Enter on that row went to whichever had won. Rows are now keyed apart
(tui/row_key.py). Driven with Pilot on a real SQLite file whose odd rows are inserted with
raw SQL (`copy_row`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Static

from lashtui.admin import Processes
from lashtui.registry import open_registry
from lashtui.tui import text
from lashtui.tui.app import make_app
from lashtui.tui.row_key import NOT_TEXT
from lashtui.tui.screens.detail import ProcessDetailScreen
from lashtui.tui.screens.modals import ConfirmScreen
from lashtui.tui.screens.processes import ProcessesScreen
from lashtui.tui.text import LABEL_CHARS
from lashtui.tui.widgets.process_table import ProcessTable
from lashtui.untrusted import clipped
from tests.raw import copy_row, raw_connection
from tests.tui.test_actions import toasts
from tests.tui.test_processes_view import loaded, until, wait_steps
from tests.tui.test_undecodable_rows import summary

NULL_WHY = (
    "its process_id column is NULL, not text: no lashtui statement can name it, so "
    "nothing runs, recovers or ends it"
)
BLOB_WHY = (
    "its process_id column holds a blob, not text: no lashtui statement can name it, so "
    "nothing runs, recovers or ends it"
)


async def seeded(db: str, stored: tuple[str | bytes | None, ...]) -> None:
    """`alpha` and `good` as lashtui starts them, then a copy of `good` under each of
    `stored` inserted with raw SQL (None: a NULL id; bytes: a blob)."""
    async with open_registry(db) as registry:
        for pid in ("alpha", "good"):
            await registry.start_process(wait_steps(pid))
    for value in stored:
        copy_row(db, "good", value)


def table_of(pilot: Pilot[Any]) -> ProcessTable:
    screen = pilot.app.screen
    assert isinstance(screen, ProcessesScreen)
    return screen.query_one(ProcessTable)


def shown_rows(table: ProcessTable) -> list[tuple[str, str]]:
    """Each row on screen as its ID and LABEL cells, in the table's order."""
    def cell(key: Any, column: str) -> str:
        return text.plain(table.get_cell(key, column)).plain

    return [(cell(row.key, "id"), cell(row.key, "label")) for row in table.ordered_rows]


async def select_key(pilot: Pilot[Any], key: str) -> None:
    table = table_of(pilot)
    await until(pilot, lambda: key in table.processes)
    table.move_cursor(row=table.get_row_index(key))
    await pilot.pause()


async def opened(pilot: Pilot[Any], key: str) -> str:
    """Enter on the row `key`: the detail's summary once it has read the process."""
    await select_key(pilot, key)
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(pilot.app.screen, ProcessDetailScreen))
    detail = pilot.app.screen
    assert isinstance(detail, ProcessDetailScreen)
    await until(pilot, lambda: detail.process is not None)
    return summary(detail)


async def test_a_text_id_and_a_not_text_id_read_alike_are_two_rows(tmp_path: Path) -> None:
    db = str(tmp_path / "r.db")
    await seeded(db, (None, "NULL", b"zz", "b'zz'"))
    with raw_connection(db) as conn:  # (six rows: each a row of its own in SQLite)
        assert conn.execute("SELECT count(*) FROM processes").fetchone() == (6,)
    async with open_registry(db) as registry:
        app = make_app(Processes(registry), refresh_s=0.05, operator="operator:dana")
        async with app.run_test(size=(160, 24)) as pilot:
            await loaded(pilot)
            table = table_of(pilot)
            status = app.screen.query_one("#engine-status", Static)
            await until(pilot, lambda: "running" in str(status.render()))
            assert "running 6" in str(status.render()), str(status.render())
            assert table.row_count == 6
            assert sorted(shown_rows(table)) == [
                ("NULL", "steps"),
                # (by its rowid: blob_id.py; a label cell is cut at LABEL_CHARS, and WHY and
                # the detail say it too)
                ("NULL#3", clipped(f"undecodable: {NULL_WHY}", LABEL_CHARS)),
                ("alpha", "steps"),
                ("b'zz'", "steps"),
                ("b'zz'", clipped(f"undecodable: {BLOB_WHY}", LABEL_CHARS)),
                ("good", "steps"),
            ], shown_rows(table)
            # Each row acts as itself: the text rows are asked about, the others refused.
            for key, asked in (("NULL", "NULL"), ("b'zz'", "b'zz'")):
                await select_key(pilot, key)
                await pilot.press("c")
                await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
                question = app.screen
                assert isinstance(question, ConfirmScreen)
                assert text.plain(question.question).plain.startswith(
                    f"Cancel process {asked} (steps)?"
                ), text.plain(question.question).plain
                await pilot.click("#no")
                await until(pilot, lambda: isinstance(app.screen, ProcessesScreen))
            for key, why in ((NOT_TEXT + "NULL#3", NULL_WHY), (NOT_TEXT + "b'zz'", BLOB_WHY)):
                app.clear_notifications()
                await select_key(pilot, key)
                await pilot.press("c")
                await until(pilot, lambda: bool(toasts(app)))
                assert isinstance(app.screen, ProcessesScreen)  # nothing asked
                shown = key.removeprefix(NOT_TEXT)
                assert toasts(app) == [f"cancel is not offered for process {shown}: {why}"]
            # Enter opens the row selected, not the text row spelled like it.
            for key, says in (("NULL", "steps"), (NOT_TEXT + "NULL#3", f"undecodable: {NULL_WHY}")):
                shown = await opened(pilot, key)
                assert says in shown, shown
                if key == "NULL":
                    assert "undecodable" not in shown, shown
                await pilot.press("escape")
                await until(pilot, lambda: isinstance(app.screen, ProcessesScreen))
        assert await registry.events_after("NULL", 0) == []  # nothing was cancelled


async def test_marked_rows_read_alike_are_each_what_they_are(tmp_path: Path) -> None:
    """Marked, the text row `NULL` and the NULL's row: the cancel asks about the text row
    and leaves the other out as one whose id is not text. Marks were kept by id, so the two
    were one mark, read again as the text row (the registry's answer for `NULL`)."""
    db = str(tmp_path / "r.db")
    await seeded(db, (None, "NULL"))
    async with open_registry(db) as registry:
        app = make_app(Processes(registry), refresh_s=0.05, operator="operator:dana")
        async with app.run_test(size=(160, 24)) as pilot:
            await loaded(pilot)
            for key in ("NULL", NOT_TEXT + "NULL#3"):
                await select_key(pilot, key)
                await pilot.press("space")
            screen = app.screen
            assert isinstance(screen, ProcessesScreen)
            assert len(screen.marked) == 2
            await pilot.press("c")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            question = app.screen
            assert isinstance(question, ConfirmScreen)
            assert text.plain(question.question).plain == (
                "Cancel process NULL (steps) (1 marked process has an id that is not text "
                "and is left out: NULL#3)? Each owner is asked to stop."
            ), text.plain(question.question).plain
            await pilot.click("#no")
