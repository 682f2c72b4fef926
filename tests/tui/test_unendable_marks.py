"""`E` (end undecodable) over rows nothing in lashtui can end: one keyed by a blob
(registry/sql/blob_id.py) and one whose id is too long to read whole (a cut id,
registry/sql/long_id.py), each copied in with raw sqlite3; driven with Pilot on a real
SQLite file.

Before, marked rows that included a blob's asked for a reason for every one, and only then
did the registry refuse the blob's (a refusal the operator was led into); now such a row is
left out before asking, and the question says so. And on a cut id's row alone the `E` key
was hidden, where on a blob's it is shown dimmed and says why: now both are dimmed alike."""

from __future__ import annotations

from textual.widgets import Input

from lashtui.registry import ProcessRegistry
from lashtui.tui.row_key import key_id
from lashtui.tui.screens.modals import EndUndecodableScreen
from lashtui.tui.screens.processes import ProcessesScreen
from lashtui.untrusted import CUT_MARK, SHOWN_CHARS
from tests.raw import copy_row
from tests.tui.test_actions import select, toasts
from tests.tui.test_blob_id_row import SHOWN, WHY
from tests.tui.test_processes_view import until
from tests.tui.test_undecodable_rows import acting, footer, running

LONG = "z" * (SHOWN_CHARS + 10)
CUT = LONG[:SHOWN_CHARS] + CUT_MARK


async def mark(pilot: object, *pids: str) -> ProcessesScreen:
    for pid in pids:
        await select(pilot, pid)  # type: ignore[arg-type]
        await pilot.press("space")  # type: ignore[attr-defined]
    screen = pilot.app.screen  # type: ignore[attr-defined]
    assert isinstance(screen, ProcessesScreen)
    # (marks are rows' keys: a blob's behind `NOT_TEXT`, tui/row_key.py)
    assert sorted(map(key_id, screen.marked_ids())) == sorted(pids)
    return screen


async def test_marked_rows_leave_a_blob_s_out_before_asking(
    spoiled: ProcessRegistry, db: str
) -> None:
    copy_row(db, "c-good", b"r\xffw")
    app = acting(spoiled)
    async with running(app) as pilot:
        await mark(pilot, "a-good", "b-deep", SHOWN)
        await pilot.press("E")
        await until(pilot, lambda: isinstance(app.screen, EndUndecodableScreen))
        outlook = str(app.screen.query_one("#outlook").render())
        assert outlook.startswith(
            f"1 of 3 marked processes cannot be ended here: {SHOWN} ({WHY}). "
            "1 marked process that can be decoded is skipped: a-good"
        ), outlook
        app.screen.query_one("#end-reason", Input).value = "cleanup"
        await pilot.click("#end")
        await until(pilot, lambda: bool(toasts(app)))
        # Only b-deep was asked about and ended; the blob's row was never sent to a refusal.
        assert toasts(app) == [
            "b-deep: ended: now failed\n"
            "skipped 1 marked process that can be decoded (a-good): cancel or abandon it"
        ]


async def test_marked_rows_none_of_which_can_be_ended_ask_nothing(
    spoiled: ProcessRegistry, db: str
) -> None:
    copy_row(db, "c-good", b"r\xffw")
    copy_row(db, "c-good", LONG)
    app = acting(spoiled)
    async with running(app) as pilot:
        await mark(pilot, SHOWN, CUT)
        await pilot.press("E")
        await until(pilot, lambda: bool(toasts(app)))
        assert isinstance(app.screen, ProcessesScreen)  # nothing asked
        [said] = toasts(app)
        assert said == (
            f"2 of 2 marked processes cannot be ended here: {SHOWN}, {'z' * 64}… "
            f"(the first: {WHY})"
        )


async def test_e_on_a_cut_id_s_row_is_dimmed_and_says_why(
    spoiled: ProcessRegistry, db: str
) -> None:
    copy_row(db, "c-good", LONG)
    app = acting(spoiled)
    async with running(app) as pilot:
        await select(pilot, CUT)
        assert footer(app)["End undecodable"] is False  # shown dimmed (it was hidden)
        await pilot.press("E")
        await until(pilot, lambda: bool(toasts(app)))
        assert isinstance(app.screen, ProcessesScreen)
        [said] = toasts(app)
        # (its id quoted by its first 64 characters: whole, it filled the notification, and
        # the reason was cut off)
        assert said.startswith(
            f"end undecodable is not offered for process {'z' * 64}…: its id is over 4,096 "
        ), said[:300]
