"""The dashboard over a registry holding a row another program wrote that does not decode
(issue 16): it lists that row, marked, beside the good ones, instead of counts above an
empty table; it offers no cancel, signal, abandon or transfer on it and says why when one is
pressed; `E` ends it by id with the operator's reason (a modal that defaults to No), after
which it reads as a failed row whose terminal event names the operator; and read-only
offers nothing. The rows are spoiled with raw SQL, as another program would."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Button, DataTable, Input
from textual.widgets._footer import FooterKey

from lashtui.admin import Processes
from lashtui.model import ProcessEventAppendRequest
from lashtui.model.limit import MAX_LABEL_CHARS
from lashtui.registry import ProcessRegistry, open_registry
from lashtui.tui import format as fmt
from lashtui.tui.app import LashtuiApp, make_app
from lashtui.tui.screens.detail import PAYLOAD_CHARS, ProcessDetailScreen
from lashtui.tui.screens.modals import EndUndecodableScreen
from lashtui.tui.screens.processes import ProcessesScreen
from lashtui.tui.widgets.process_table import ProcessTable
from lashtui.untrusted import CUT_MARK, SHOWN_CHARS, json_preview
from tests.cli.test_cli_hostile import run_cli
from tests.raw import raw_connection, rows_keyed, store_id_as_bytes
from tests.tui.test_actions import select, toasts
from tests.tui.test_hostile_app import cut_to_column
from tests.tui.test_processes_view import MINUTE_S, loaded, until, wait_steps

TARGETED = ("cancel", "signal", "abandon", "transfer")


def acting(registry: ProcessRegistry) -> LashtuiApp:
    return make_app(Processes(registry), refresh_s=0.05, operator="operator:dana")


@contextlib.asynccontextmanager
async def running(app: LashtuiApp, height: int = 24) -> AsyncIterator[Pilot[Any]]:
    """`app` under Pilot, 160 columns wide, once the Processes view's first read is shown."""
    async with app.run_test(size=(160, height)) as pilot:
        await loaded(pilot)
        yield pilot


async def detail_of(pilot: Pilot[Any], pid: str) -> ProcessDetailScreen:
    await select(pilot, pid)
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(pilot.app.screen, ProcessDetailScreen))
    detail = pilot.app.screen
    assert isinstance(detail, ProcessDetailScreen)
    await until(pilot, lambda: detail.process is not None)
    return detail


def footer(app: LashtuiApp) -> dict[str, bool]:
    """The footer's keys as shown: description -> enabled (a dimmed key is disabled)."""
    return {k.description: not k.has_class("-disabled") for k in app.screen.query(FooterKey)}


def summary(detail: ProcessDetailScreen) -> str:
    return str(detail.query_one("#summary").render())


async def end_with(pilot: Pilot[Any], reason: str) -> None:
    """Press E, check the modal asks with No focused, give the reason, confirm."""
    await pilot.press("E")
    await until(pilot, lambda: isinstance(pilot.app.screen, EndUndecodableScreen))
    modal = pilot.app.screen
    assert modal.focused is modal.query_one("#no", Button)
    modal.query_one("#end-reason", Input).value = reason
    await pilot.click("#end")


async def test_the_table_lists_an_undecodable_row_beside_the_good_ones(
    spoiled: ProcessRegistry,
) -> None:
    app = make_app(Processes(spoiled), refresh_s=MINUTE_S, subtitle="undecodable")
    async with running(app, 20) as pilot:
        table = app.screen.query_one(ProcessTable)
        await until(pilot, lambda: len(table.processes) == 3)
        assert set(table.processes) == {"a-good", "b-deep", "c-good"}
        assert str(table.get_cell("b-deep", "label")).startswith("undecodable: ")


async def test_an_id_past_the_limits_is_shown_cut_and_copied_whole(
    db: str, spoiled: ProcessRegistry
) -> None:
    """Another program may store an id of any length (the write limit is 512): it lists as
    its cut id (the first 4,096 characters read: registry/sql/long_id.py), its cell shows
    the start (1,024 characters), and copying the row gives the cut id, which `lashtui
    show` and the `:open` command take back to the row."""
    long_id = "L" * 200_000
    with raw_connection(db) as conn:
        conn.execute("UPDATE processes SET process_id = ? WHERE process_id = 'c-good'", (long_id,))
    cut_id = long_id[:SHOWN_CHARS] + CUT_MARK
    app = make_app(Processes(spoiled), refresh_s=MINUTE_S, subtitle="undecodable")
    async with running(app, 20) as pilot:
        table = app.screen.query_one(ProcessTable)
        await until(pilot, lambda: cut_id in table.processes)
        # Its start, cut in the middle to the ID column (its first 1,024 characters at most)
        shown = str(table.get_cell(cut_id, "id"))
        assert set(shown) == {"L", "…"} and len(shown) == table.drawn["id"] < MAX_LABEL_CHARS
        await select(pilot, cut_id)
        await pilot.press("y")  # the id, copied
        await until(pilot, lambda: app.clipboard == cut_id)


async def test_an_action_key_on_an_undecodable_row_says_why_and_names_the_way_out(
    spoiled: ProcessRegistry,
) -> None:
    app = acting(spoiled)
    async with running(app) as pilot:
        await select(pilot, "a-good")
        assert app.screen.check_action("end_undecodable", ()) is False  # hidden: not for it
        await select(pilot, "b-deep")
        screen = app.screen
        assert [screen.check_action(a, ()) for a in TARGETED] == [None] * 4  # dimmed
        assert screen.check_action("end_undecodable", ()) is True
        await until(pilot, lambda: footer(app).get("End undecodable") is True)
        assert footer(app)["Cancel"] is False
        await pilot.press("c")
        await until(pilot, lambda: bool(toasts(app)))
        assert isinstance(app.screen, ProcessesScreen)  # nothing asked, nothing done
        (toast,) = toasts(app)
        assert toast.startswith(
            "cancel is not offered for process b-deep: its record could not be decoded ("
        )
        assert toast.endswith("press E to end it (or `lashtui end-undecodable b-deep --reason R`)")
        assert await spoiled.events_after("b-deep", 0) == []


async def test_e_ends_an_undecodable_row_as_failed_by_the_operator(
    spoiled: ProcessRegistry,
) -> None:
    app = acting(spoiled)
    async with running(app) as pilot:
        table = await select(pilot, "b-deep")
        await pilot.press("E")
        await until(pilot, lambda: isinstance(app.screen, EndUndecodableScreen))
        assert "process b-deep (undecodable: " in str(app.screen.query_one("#question").render())
        await pilot.press("enter")  # No has the focus
        assert isinstance(app.screen, ProcessesScreen)
        await pilot.press("E")
        await until(pilot, lambda: isinstance(app.screen, EndUndecodableScreen))
        await pilot.click("#end")  # no reason: refused, the modal stays
        assert isinstance(app.screen, EndUndecodableScreen)
        assert "a reason is required" in str(app.screen.query_one("#form-error").render())
        await pilot.press("escape")
        await end_with(pilot, "written by a bad build")
        await until(pilot, lambda: bool(toasts(app)))
        assert toasts(app) == ["b-deep: ended: now failed"]
        await until(pilot, lambda: table.processes["b-deep"].lifecycle.value == "failed")
        assert str(table.get_cell("b-deep", "status")) == "✗ failed"
        await until(pilot, lambda: "End undecodable" not in footer(app))  # the cursor stayed
        assert footer(app)["Cancel"] is False  # dimmed: it has ended
        detail = await detail_of(pilot, "b-deep")
        timeline = detail.query_one("#timeline", DataTable)
        await until(pilot, lambda: timeline.row_count == 1)
        assert "ended by operator:dana: written by a bad build" in ended_as(detail, timeline)
        assert str(timeline.get_row_at(0)[2]) == "process.failed"


def ended_as(detail: ProcessDetailScreen, timeline: DataTable[Any]) -> str:
    """The one event's payload as JSON, once its row shows the start of it (a row shows
    `PAYLOAD_CHARS`, cut to the room the other columns leave it: the failure's message
    comes after the record's reason)."""
    (event,) = detail.events
    shown = str(timeline.get_row_at(0)[-1])
    assert cut_to_column(shown, json_preview(event.payload, PAYLOAD_CHARS)), shown
    return json.dumps(event.payload)


async def test_the_detail_of_an_undecodable_row_says_why_and_ends_it(
    spoiled: ProcessRegistry,
) -> None:
    app = acting(spoiled)
    async with running(app, 30) as pilot:
        detail = await detail_of(pilot, "b-deep")
        shown = summary(detail)
        assert "record could not be decoded: " in shown
        assert "press E to end it (or `lashtui end-undecodable b-deep --reason R`)" in shown
        # Its disposition and input are in the record that does not decode: the stand-in's
        # are placeholders, so neither is shown as a fact.
        assert "disposition unknown" in shown and "\noutput -" in shown
        await pilot.press("i")
        await until(pilot, lambda: bool(toasts(app)))
        assert toasts(app)[-1] == f"its input is {fmt.UNKNOWN_VALUE}"
        assert fmt.UNKNOWN_VALUE == "unknown: it is in the record that could not be decoded"
        app.clear_notifications()
        assert detail.check_action("cancel", ()) is None
        await pilot.press("a")
        await until(pilot, lambda: bool(toasts(app)))
        assert toasts(app)[0].startswith("abandon is not offered for process b-deep: ")
        await end_with(pilot, "stale")
        await until(pilot, lambda: detail.process is not None and detail.process.terminal)
        await until(pilot, lambda: "ended by operator:dana: stale" in summary(detail))
        assert "record could not be decoded: " not in summary(detail).splitlines()[1]
        assert detail.check_action("end_undecodable", ()) is False  # it decodes now


async def test_marked_rows_end_only_the_undecodable_ones_and_count_the_rest(
    spoiled: ProcessRegistry,
) -> None:
    app = acting(spoiled)
    async with running(app) as pilot:
        table = await select(pilot, "a-good")
        await pilot.press("space")  # marks a-good, moves to b-deep
        await pilot.press("space")  # marks b-deep
        screen = app.screen
        assert isinstance(screen, ProcessesScreen)
        assert screen.marked_ids() == ["a-good", "b-deep"]
        await pilot.press("E")
        await until(pilot, lambda: isinstance(app.screen, EndUndecodableScreen))
        outlook = str(app.screen.query_one("#outlook").render())
        assert "1 marked process that can be decoded is skipped: a-good" in outlook
        app.screen.query_one("#end-reason", Input).value = "cleanup"
        await pilot.click("#end")
        await until(pilot, lambda: bool(toasts(app)))
        assert toasts(app) == [
            "b-deep: ended: now failed\n"
            "skipped 1 marked process that can be decoded (a-good): cancel or abandon it"
        ]
        await until(pilot, lambda: table.processes["b-deep"].terminal)
        assert not table.processes["a-good"].terminal


async def test_read_only_offers_no_way_to_end_it(spoiled: ProcessRegistry) -> None:
    app = make_app(Processes(spoiled), read_only=True, refresh_s=0.05)
    async with running(app) as pilot:
        await select(pilot, "b-deep")
        for action in (*TARGETED, "end_undecodable"):
            assert app.screen.check_action(action, ()) is False
        await pilot.press("E", "c")
        await until(pilot, lambda: len(toasts(app)) == 2)
        assert isinstance(pilot.app.screen, ProcessesScreen)  # no modal; each key says why
        assert toasts(app) == [
            f"{what} is not offered: the dashboard is read-only (--read-only)"
            for what in ("End undecodable", "Cancel")
        ]
        app.clear_notifications()
        detail = await detail_of(pilot, "b-deep")
        assert "record could not be decoded: " in summary(detail)
        assert "press E" not in summary(detail)  # no way out offered where none is allowed
        await pilot.press("E")
        await until(pilot, lambda: bool(toasts(app)))
        assert app.screen is detail  # (the detail's key says the same, and does nothing)
        assert toasts(app) == [
            "End undecodable is not offered: the dashboard is read-only (--read-only)"
        ]
        observed = await Processes(spoiled).get("b-deep")
        assert observed is not None and observed.undecodable is not None


async def test_e_ends_a_row_whose_id_is_not_utf8_and_prune_removes_it(db: str) -> None:
    """Another program stored the id as bytes that are not UTF-8 (raw sqlite3): the table
    lists it with the byte escaped, E ends it by that id, and prune removes it."""
    async with open_registry(db) as registry:
        for pid in ("a-good", "raw"):
            await registry.start_process(wait_steps(pid))
    store_id_as_bytes(db, "raw", b"r\xffw")
    raw_id = "r\udcffw"
    async with open_registry(db) as registry:
        app = acting(registry)
        async with running(app) as pilot:
            table = await select(pilot, raw_id)
            assert str(table.get_cell(raw_id, "label")).startswith("undecodable: ")
            await until(pilot, lambda: footer(app).get("End undecodable") is True)
            await end_with(pilot, "bad bytes")
            await until(pilot, lambda: bool(toasts(app)))
            assert toasts(app) == ["r\\udcffw: ended: now failed"]
            await until(pilot, lambda: table.processes[raw_id].lifecycle.value == "failed")
            assert footer(app)["Cancel"] is False
            await pilot.press("Y")  # its JSON, the byte as an escape (no lone surrogate)
            await until(pilot, lambda: "copied r\\udcffw as JSON" in toasts(app))
            assert json.loads(app.clipboard)["process_id"] == raw_id
            detail = await detail_of(pilot, raw_id)  # its detail reads by the raw id too
            timeline = detail.query_one("#timeline", DataTable)
            await until(pilot, lambda: timeline.row_count == 1)
            assert "ended by operator:dana: bad bytes" in ended_as(detail, timeline)
            assert "r\\udcffw" in summary(detail)
        processes = Processes(registry)
        report = await processes.prune(253_402_300_799_999)
        assert report.pruned_processes == 1
        assert [p.process_id for p in await processes.list()] == ["a-good"]
    assert set(rows_keyed(db, b"r\xffw").values()) == {0}


async def test_events_no_read_returns_are_said_to_be_left_out(db: str) -> None:
    """An event another program stored under a sequence that is no whole number has no
    place in the log, and every read leaves it out (tests/registry/test_undecodable.py):
    the detail's summary and `lashtui events` say so, or the timeline would pass for the
    whole log."""
    async with open_registry(db) as registry:
        await registry.start_process(wait_steps("p"))
        for reason in ("one", "two"):
            cancel = ProcessEventAppendRequest.cancel_requested("p", reason)
            await registry.append_event("p", cancel)
        with raw_connection(db) as conn:
            conn.execute("UPDATE process_events SET sequence = 'abc' WHERE sequence = 1")
        app = acting(registry)
        async with running(app, 40) as pilot:
            detail = await detail_of(pilot, "p")
            said = fmt.events_left_out(1)
            await until(pilot, lambda: said in summary(detail))
            assert [event.sequence for event in detail.events] == [2]
    for output in ("table", "json"):
        # (its own event loop, on a thread: this test's is running)
        code, _, err = await asyncio.to_thread(run_cli, "--db", db, "events", "p", "-o", output)
        assert code == 0 and err.decode() == f"lashtui: {said}\n", err


async def test_a_reason_past_the_limit_is_refused_in_the_form(
    spoiled: ProcessRegistry,
) -> None:
    """A reason past 4,096 characters closed the form and was refused by the registry."""
    app = acting(spoiled)
    async with running(app) as pilot:
        await select(pilot, "b-deep")
        await end_with(pilot, "x" * 4097)
        modal = app.screen
        assert isinstance(modal, EndUndecodableScreen)
        error = modal.query_one("#form-error")
        await until(pilot, lambda: str(error.render()) != "")
        assert str(error.render()) == "a reason may be at most 4,096 characters; this one has 4,097"
        assert app.screen is modal and not toasts(app)
    record = await spoiled.get_process("b-deep")
    assert record is not None and not record.is_terminal()
