"""The dashboard over rows another program stored that no lashtui action can work on: one
keyed by a blob or by NULL (registry/sql/blob_id.py; the row copied with raw sqlite3), and
one whose id is too long for the replay key a signal is stored under (admin/signal.py
`key_too_long`). Driven with Pilot on a real SQLite file: every action key says in one
sentence why it is refused, asks nothing and writes nothing.

Before, every key on the blob row named a way out that cannot work ("press E to end it (or
`lashtui end-undecodable ...`)"), `E` asked for a reason and only the registry refused,
and its detail never showed (the read of its events was refused, and was the read's end).
A signal to the long id asked "Signal approve to ...?" and only its result refused it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input, Static

from lashtui.admin import Processes
from lashtui.registry import open_registry
from lashtui.tui import format as fmt
from lashtui.tui import text
from lashtui.tui.app import make_app
from lashtui.tui.row_key import key_id
from lashtui.tui.screens.detail import ProcessDetailScreen
from lashtui.tui.screens.modals import ConfirmScreen, SignalScreen
from lashtui.tui.screens.processes import ProcessesScreen
from lashtui.tui.widgets.process_table import ProcessTable
from tests.cli.test_cli_readme_audit import with_foreign_row
from tests.raw import copy_row, raw_connection
from tests.tui.test_actions import select, toasts
from tests.tui.test_errors_view import open_errors
from tests.tui.test_processes_view import loaded, until, wait_steps
from tests.tui.test_undecodable_rows import detail_of, footer, summary

SHOWN = "b'r\\xffw'"  # the blob b"r\xffw" as every reader names it
WHY = (
    "its process_id column holds a blob, not text: no lashtui statement can name it, so "
    "nothing runs, recovers or ends it"
)
KEYS = {"c": "cancel", "a": "abandon", "s": "signal", "t": "transfer", "E": "end undecodable"}


NULL_WHY = (
    "its process_id column is NULL, not text: no lashtui statement can name it, so "
    "nothing runs, recovers or ends it"
)


# A blob, and NULL (a rowid table's TEXT PRIMARY KEY takes it). Before, the Processes view
# left a NULL id's row out unsaid (its page read the ids, then the rows `IN` them, which
# never matches NULL), and the worker's drive failed whole on it; now it is listed first,
# where SQLite sorts NULL, by its rowid (`NULL#2`).
@pytest.mark.parametrize(
    ("stored", "shown_id", "why", "listed"),
    [
        pytest.param(b"r\xffw", SHOWN, WHY, ["good", SHOWN], id="blob"),
        pytest.param(None, "NULL#2", NULL_WHY, ["NULL#2", "good"], id="null"),
    ],
)
async def test_every_action_key_on_a_not_text_id_row_says_why_and_asks_nothing(
    tmp_path: Path, stored: bytes | None, shown_id: str, why: str, listed: list[str]
) -> None:
    db = str(tmp_path / "r.db")
    async with open_registry(db) as registry:
        await registry.start_process(wait_steps("good"))
    copy_row(db, "good", stored)
    async with open_registry(db) as registry:
        app = make_app(Processes(registry), refresh_s=0.05, operator="operator:dana")
        async with app.run_test(size=(160, 24)) as pilot:
            await loaded(pilot)
            await select(pilot, shown_id)
            for where in (ProcessesScreen, ProcessDetailScreen):
                assert footer(app)["End undecodable"] is False  # dimmed, as the others
                for key, action in KEYS.items():
                    app.clear_notifications()
                    await pilot.press(key)
                    await until(pilot, lambda: bool(toasts(app)))
                    assert isinstance(app.screen, where)  # nothing asked
                    assert toasts(app) == [
                        f"{action} is not offered for process {shown_id}: {why}"
                    ]
                if where is ProcessesScreen:
                    detail = await detail_of(pilot, shown_id)
                    shown = summary(detail)
                    # (said whole on the reason's line; the label beside the id is cut)
                    said = f"{fmt.UNDECODABLE}: {why}"
                    assert said in shown and "not read: its lease, events" in shown
                    assert "end-undecodable" not in shown and "press E" not in shown
        # Nothing was written: the row is as copied, the registry holds no event.
        assert [p.process_id for p in await Processes(registry).list()] == listed
        assert await registry.events_after("good", 0) == []


async def test_a_signal_to_an_id_too_long_for_its_replay_key_is_refused_before_asking(
    tmp_path: Path,
) -> None:
    db = tmp_path / "r.db"
    long_id = "q" * 2030
    with_foreign_row(db, long_id)
    async with open_registry(str(db)) as registry:
        app = make_app(Processes(registry), refresh_s=0.05, operator="operator:dana")
        async with app.run_test(size=(160, 24)) as pilot:
            await loaded(pilot)
            await select(pilot, long_id)
            await pilot.press("s")
            await until(pilot, lambda: isinstance(app.screen, SignalScreen))
            app.screen.query_one("#signal-name", Input).value = "approve"
            await pilot.click("#send")
            await until(pilot, lambda: bool(toasts(app)))
            assert isinstance(app.screen, ProcessesScreen)  # no question: it is known
            assert toasts(app) == [
                f"process `{'q' * 64}…` has an id of 2,030 characters, too long for the replay "
                "key a signal is stored under (`process:<id>:signal.<name>:<signal id>`, here "
                "2,086 characters; at most 2,048), so nothing was sent"
            ]
        assert await registry.events_after(long_id, 0) == []


async def test_a_signal_to_marked_rows_some_too_long_for_the_key_refuses_those_first(
    tmp_path: Path,
) -> None:
    """Marked `good` and a row whose id is too long for the replay key: it asked "Signal
    approve to 2 processes: ...?" (the long id in it), then refused that one in its result,
    a line opening with the whole 2,030-character id. The long one is now refused before
    the question, in one sentence with its id cut, and only `good` is asked about."""
    db = tmp_path / "r.db"
    long_id = "q" * 2030
    with_foreign_row(db, long_id)
    async with open_registry(str(db)) as registry:
        app = make_app(Processes(registry), refresh_s=0.05, operator="operator:dana")
        async with app.run_test(size=(160, 24)) as pilot:
            await loaded(pilot)
            for pid in ("good", long_id):
                await select(pilot, pid)
                await pilot.press("space")
            await pilot.press("s")
            await until(pilot, lambda: isinstance(app.screen, SignalScreen))
            app.screen.query_one("#signal-name", Input).value = "approve"
            await pilot.click("#send")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            question = app.screen
            assert isinstance(question, ConfirmScreen)
            asked = text.plain(question.question).plain
            assert asked.startswith("Signal approve to process good ("), asked
            assert "q" * 64 not in asked, asked
            assert toasts(app) == [
                f"process `{'q' * 64}…` has an id of 2,030 characters, too long for the replay "
                "key a signal is stored under (`process:<id>:signal.<name>:<signal id>`, here "
                "2,086 characters; at most 2,048), so nothing was sent"
            ]
            app.clear_notifications()
            await pilot.click("#yes")
            await until(pilot, lambda: bool(toasts(app)))
            (result,) = toasts(app)
            assert result.startswith("good: done: signal.approve stored as event "), result
            assert "q" * 64 not in result, result
        assert [e.event_type for e in await registry.events_after("good", 0)][-1:] == [
            "signal.approve"
        ]
        assert await registry.events_after(long_id, 0) == []


async def test_marked_rows_whose_ids_are_not_text_are_left_out_as_such(tmp_path: Path) -> None:
    """Marked beside `good`, a NULL's and a blob's row in no state (their stand-ins read
    `failed`, a placeholder) were left out of a cancel as rows that "cannot be decoded",
    though their records were never read; the question now says what is true of them."""
    db = str(tmp_path / "r.db")
    async with open_registry(db) as registry:
        await registry.start_process(wait_steps("good"))
    for stored in (None, b"abc"):
        copy_row(db, "good", stored)
    with raw_connection(db) as conn:
        conn.execute("UPDATE processes SET status = 'zombie' WHERE typeof(process_id) != 'text'")
    async with open_registry(db) as registry:
        app = make_app(Processes(registry), refresh_s=0.05, operator="operator:dana")
        async with app.run_test(size=(160, 24)) as pilot:
            await loaded(pilot)
            for pid in ("NULL#2", "b'abc'", "good"):
                await select(pilot, pid)
                await pilot.press("space")
            await pilot.press("c")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            question = app.screen
            assert isinstance(question, ConfirmScreen)
            asked = text.plain(question.question).plain
            assert asked == (
                "Cancel process good (steps) (2 marked processes have ids that are not text "
                "and are left out: NULL#2, b'abc')? Each owner is asked to stop."
            )
            await pilot.click("#no")
        assert await registry.events_after("good", 0) == []


async def test_the_header_counts_every_row_whose_id_is_not_text(tmp_path: Path) -> None:
    """Three live NULL rows, a blob `zz` and the text ids `NULL` and `b'zz'` that read as
    they do, beside `good`: the census keyed its live rows by id as read, so the header said
    `running 3` of seven running rows (every NULL one row, each stand-in one with the text
    row spelled like it). Each row is counted; the text rows keep their ids."""
    db = str(tmp_path / "r.db")
    async with open_registry(db) as registry:
        await registry.start_process(wait_steps("good"))
    for stored in (None, None, None, b"zz", "NULL", "b'zz'"):
        copy_row(db, "good", stored)
    with raw_connection(db) as conn:
        conn.execute("UPDATE processes SET status = 'running'")
        assert conn.execute("SELECT count(*) FROM processes").fetchone() == (7,)
    async with open_registry(db) as registry:
        census = await registry.process_census()
        assert census.total() == 7 and census.counts()["running"] == 7
        # (the text rows' own, and each NULL row by its rowid: blob_id.py)
        assert set(census.live) == {"good", "NULL", "b'zz'", "NULL#2", "NULL#3", "NULL#4"}
        app = make_app(Processes(registry), refresh_s=0.05, operator="operator:dana")
        async with app.run_test(size=(160, 24)) as pilot:
            await loaded(pilot)
            status = app.screen.query_one("#engine-status", Static)
            await until(pilot, lambda: "running" in str(status.render()))
            assert "running 7" in str(status.render()), str(status.render())
            # ...and the table shows as many rows (it showed one for the three NULL rows)
            table = app.screen.query_one(ProcessTable)
            await until(pilot, lambda: table.row_count == 7)


async def test_the_errors_view_groups_failed_rows_whose_ids_are_not_text_apart(
    tmp_path: Path,
) -> None:
    """Copies of `good` keyed by NULL twice and by a blob, every row's status column
    `failed` (so `good`, whose record says running, is a stand-in too): the Errors view
    counted the copies with it, one group of four rows whose "record could not be
    decoded", records never read. They group apart under `process_id_not_text`."""
    db = str(tmp_path / "r.db")
    async with open_registry(db) as registry:
        await registry.start_process(wait_steps("good"))
    for stored in (None, None, b"abc"):
        copy_row(db, "good", stored)
    with raw_connection(db) as conn:  # every row failed, as its record says
        conn.execute("UPDATE processes SET status = 'failed'")
    async with open_registry(db) as registry:
        app = make_app(Processes(registry), refresh_s=0.05, read_only=True)
        async with app.run_test(size=(160, 24)) as pilot:
            errors = await open_errors(pilot)
            assert errors.summary is not None
            groups = {(g.code, g.message[:40]): g.count for g in errors.summary.groups}
            assert groups == {
                ("process_record_undecodable", "record could not be decoded"): 1,
                ("process_id_not_text", NULL_WHY[:40]): 2,
                ("process_id_not_text", WHY[:40]): 1,
            }, groups


async def test_slash_finds_a_blob_row_by_the_id_it_shows(tmp_path: Path) -> None:
    """`/` matched a blob id's raw bytes in SQL: typing what the row shows, `b'r\\xffw'` or
    `xff`, emptied the list (the filter is the registry's, page by page: sql/filter.py)."""
    db = str(tmp_path / "r.db")
    async with open_registry(db) as registry:
        await registry.start_process(wait_steps("good"))
    copy_row(db, "good", b"r\xffw")
    async with open_registry(db) as registry:
        app = make_app(Processes(registry), refresh_s=0.05, operator="operator:dana")
        async with app.run_test(size=(160, 24)) as pilot:
            await loaded(pilot)
            table = app.screen.query_one(ProcessTable)
            shown = [key_id(key) for key in table.processes]
            assert shown == ["good", SHOWN]
            field = app.screen.query_one("#filter", Input)
            await pilot.press("slash")
            for typed in ("xff", SHOWN):
                await pilot.press(*["backspace"] * len(field.value), *typed)
                assert field.value == typed
                # The registry's page for the text read and drawn (not only the rows held
                # tested by the dashboard as it waits for it: tui/window.py `matches`).
                await until(pilot, lambda: not loading(app))
                await pilot.pause()
                assert [key_id(key) for key in table.processes] == [SHOWN], typed


def loading(app: Any) -> bool:
    return any(worker.group == "load" and not worker.is_finished for worker in app.workers)
