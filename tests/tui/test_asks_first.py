"""Every action asks first, after its form: a signal or a transfer filled in and submitted
with Enter is a question naming the action, its targets and their count, No focused, not a
signal sent or a grant moved. On marked rows it asks about, and acts on, only the rows it
applies to, and names the others left out and why. Real registry files, the real app under
Pilot."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Label, Static

from lashtui.admin import Processes
from lashtui.clock import ManualClock
from lashtui.model import (
    ProcessEventType,
    ProcessHandleDescriptor,
    SessionScope,
    WaitKind,
    WaitState,
)
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.tui.app import LashtuiApp, make_app
from lashtui.tui.screens.detail import ProcessDetailScreen
from lashtui.tui.screens.modals import (
    AbandonScreen,
    ConfirmScreen,
    SignalScreen,
    TransferScreen,
)
from lashtui.tui.screens.processes import ProcessesScreen
from lashtui.tui.widgets.process_table import ProcessTable
from tests.builders import ob, rr
from tests.tui.scene import START_MS, _started, far, home_loaded, seed_every_state, until

# The rows waiting for a signal, and the one each waits for (each declares only that one).
WAITING = {"w-approve-1": "approve", "w-approve-2": "approve", "w-review": "review"}


@pytest.fixture
async def processes(tmp_path: Path) -> AsyncIterator[Processes]:
    """The every-state scene, and three rows each waiting for the signal `WAITING` names."""
    clock = ManualClock(START_MS)
    registry = await SqliteProcessRegistry.open(str(tmp_path / "ask.db"), clock=clock)
    await seed_every_state(registry, clock)
    for pid, name in WAITING.items():
        signal = ProcessEventType.plain(f"signal.{name}")
        await registry.register_process(rr(pid, event_types=[signal]))
        await _started(registry, pid, far("worker-7"), 60_000)
        key = f"process:{pid}:signal.{name}:1"
        wait = WaitKind(name=name, event_type=f"signal.{name}", key=key, ordinal=1)
        await registry.set_process_wait(pid, WaitState(kind=wait, since_ms=START_MS))
    yield Processes(registry, clock=clock)
    await registry.close()


@pytest.fixture
async def granted(tmp_path: Path) -> AsyncIterator[Processes]:
    """`p`, owner_bound, its handle granted to session alice's frame `coder`."""
    clock = ManualClock(START_MS)
    registry = await SqliteProcessRegistry.open(str(tmp_path / "grants.db"), clock=clock)
    coder = SessionScope(session_id="alice", agent_frame_id="coder")
    try:
        await registry.register_process(ob("p"))
        await registry.grant_handle(coder, "p", ProcessHandleDescriptor(label="build"))
        yield Processes(registry, clock=clock)
    finally:
        await registry.close()


@contextlib.asynccontextmanager
async def asking(
    processes: Processes, size: tuple[int, int] = (140, 30)
) -> AsyncIterator[tuple[LashtuiApp, Pilot[Any]]]:
    """The app acting as operator:test on `processes`, under Pilot."""
    app = make_app(processes, clock=processes.clock, operator="operator:test", refresh_s=0.05)
    async with app.run_test(size=size) as pilot:
        yield app, pilot


async def grant_scopes(processes: Processes) -> list[str]:
    return [scope for scope, _ in await processes.registry.handle_grant_scopes("p")]


async def mark(pilot: Pilot[Any], *pids: str) -> ProcessesScreen:
    screen = await home_loaded(pilot)
    table = screen.query_one(ProcessTable)
    for pid in pids:
        await until(pilot, lambda: pid in table.processes)  # noqa: B023 (awaited here)
        table.move_cursor(row=table.get_row_index(pid))
        await until(pilot, lambda: table.selected_id == pid)  # noqa: B023
        await pilot.press("space")
        await until(pilot, lambda: pid in screen.marked)  # noqa: B023
    return screen


def question(app: LashtuiApp) -> str:
    assert isinstance(app.screen, ConfirmScreen)
    return str(app.screen.query_one("#question", Label).render())


async def signals(processes: Processes, *pids: str) -> list[tuple[str, str]]:
    return [
        (pid, event.event_type)
        for pid in pids
        for event in await processes.events(pid)
        if event.event_type.startswith("signal.")
    ]


async def test_a_signal_to_marked_rows_asks_after_the_form_with_no_focused(
    processes: Processes,
) -> None:
    async with asking(processes) as (app, pilot):
        home = await mark(pilot, "w-approve-1", "w-review")
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, SignalScreen))
        name = app.screen.query_one("#signal-name", Input)
        await until(pilot, lambda: name.has_focus)
        # They wait for different signals: no name is guessed from the first of them.
        assert name.value == ""
        name.value = "approve"
        await pilot.press("enter")  # the form's Enter: a question, nothing sent
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert question(app) == (
            "Signal approve to 2 processes: w-approve-1, w-review? Payload: null"
        )
        await pilot.press("enter")  # the focused default is No
        await until(pilot, lambda: app.screen is home)
        assert await signals(processes, *WAITING) == []
        assert list(home.marked) == ["w-approve-1", "w-review"]  # kept: nothing was done

        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, SignalScreen))
        app.screen.query_one("#signal-name", Input).value = "approve"
        app.screen.query_one("#signal-payload", Input).value = '{"by": "me"}'
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert question(app).endswith('? Payload: {"by":"me"}')
        await pilot.click("#yes")
        await until(pilot, lambda: not home.marked)
        await until(pilot, lambda: any(n.title == "signal.approve" for n in app._notifications))
        (result,) = [n for n in app._notifications if n.title == "signal.approve"]
        lines = result.message.splitlines()
        assert lines[0] == "1 done, 1 refused"
        assert lines[-1] == (
            "refused: w-review: process `w-review` declares no signal `approve`, so nothing "
            "was sent (its signals are review)"
        )
    assert await signals(processes, *WAITING) == [("w-approve-1", "signal.approve")]


async def test_with_a_name_offered_what_is_typed_is_the_payload(processes: Processes) -> None:
    """The signal form offers the name the row waits for and takes the payload next: typed
    at once, it replaced the offered name (`Signal 42 ...? Payload: null`)."""
    approve = [ProcessEventType.plain("signal.approve")]
    await processes.registry.register_process(rr("declares", event_types=approve))
    async with asking(processes) as (app, pilot):
        home = await home_loaded(pilot)
        table = home.query_one(ProcessTable)
        table.move_cursor(row=table.get_row_index("w-review"))
        await until(pilot, lambda: table.selected_id == "w-review")
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, SignalScreen))
        payload = app.screen.query_one("#signal-payload", Input)
        await until(pilot, lambda: payload.has_focus)
        await pilot.press("4", "2", "enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert question(app) == "Signal review to process w-review (echo)? Payload: 42"
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is home)

        await until(pilot, lambda: "declares" in table.processes)
        table.move_cursor(row=table.get_row_index("declares"))  # waits for no signal
        await until(pilot, lambda: table.selected_id == "declares")
        await pilot.press("s")  # no name offered: the name's field has the focus
        await until(pilot, lambda: isinstance(app.screen, SignalScreen))
        name = app.screen.query_one("#signal-name", Input)
        await until(pilot, lambda: name.has_focus)
        assert name.value == ""
    assert await signals(processes, *WAITING, "declares") == []


async def test_the_signal_form_offers_the_name_every_target_waits_for(processes: Processes) -> None:
    async with asking(processes) as (app, pilot):
        home = await mark(pilot, "w-approve-1", "w-approve-2")
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, SignalScreen))
        assert app.screen.query_one("#signal-name", Input).value == "approve"
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is home)
        home.action_clear()  # drop the marks: the selection alone
        await until(pilot, lambda: not home.marked)
        table = home.query_one(ProcessTable)
        table.move_cursor(row=table.get_row_index("w-review"))
        await until(pilot, lambda: table.selected_id == "w-review")
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, SignalScreen))
        assert app.screen.query_one("#signal-name", Input).value == "review"
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert question(app).startswith("Signal review to process w-review (echo)?")
        await pilot.press("escape")  # Escape is No too
        await until(pilot, lambda: app.screen is home)
    assert await signals(processes, *WAITING) == []


async def test_a_transfer_from_the_detail_asks_before_it_moves_the_grant(
    granted: Processes,
) -> None:
    async with asking(granted) as (app, pilot):
        (await home_loaded(pilot)).action_open("p")
        await until(pilot, lambda: isinstance(app.screen, ProcessDetailScreen))
        detail = app.screen
        assert isinstance(detail, ProcessDetailScreen)
        async with asyncio.timeout(10):
            await detail.loaded.wait()
        for answer in ("enter", "yes"):
            await pilot.press("t")
            await until(pilot, lambda: isinstance(app.screen, TransferScreen))
            field = app.screen.query_one("#to-scope", Input)
            await until(pilot, lambda: field.has_focus)  # noqa: B023 (awaited here)
            field.value = "session:carol"
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            assert question(app) == (
                "Transfer the grants of process p (external) from "
                "session:alice/frame:coder to session:carol?"
            )
            if answer == "enter":  # No, focused
                await pilot.press("enter")
                await until(pilot, lambda: app.screen is detail)
                assert await grant_scopes(granted) == ["session:alice/frame:coder"]
            else:
                await pilot.click("#yes")
                await until(pilot, lambda: app.screen is detail)
        async with asyncio.timeout(10):
            while await grant_scopes(granted) != ["session:carol"]:
                await pilot.pause(0.05)


# --- marked rows an action does not apply to are left out, and said to be ---------------

async def test_a_bulk_cancel_asks_about_the_rows_it_applies_to_and_names_the_rest(
    processes: Processes,
) -> None:
    async with asking(processes, (160, 40)) as (app, pilot):
        home = await home_loaded(pilot)
        rows = home.window.ordered()
        ended = [p.process_id for p in rows if p.terminal]
        live = [p.process_id for p in rows if not p.terminal]
        await pilot.press("asterisk")  # every row, the ended ones too
        await until(pilot, lambda: len(home.marked) == len(live) + len(ended))
        assert len(ended) == 6 and len(live) == 8
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert question(app) == (
            f"Cancel 8 processes: {', '.join(live[:5])} and 3 more (6 marked processes have "
            f"already ended and are left out: {', '.join(ended[:5])} and 1 more)? Each owner "
            "is asked to stop."
        )
        await pilot.click("#yes")
        await until(pilot, lambda: any(n.title == "cancel" for n in app._notifications))
        (result,) = [n for n in app._notifications if n.title == "cancel"]
        # Expected, and said before: not refusals, not an error.
        assert "refused" not in result.message
        assert result.severity != "error"
        assert result.message.splitlines()[-1] == (
            f"6 marked processes have already ended and are left out: {', '.join(ended[:5])} "
            "and 1 more"
        )
    for pid in ended:  # nothing appended to an ended row
        events = [e.event_type for e in await processes.events(pid)]
        assert "process.cancel_requested" not in events


async def test_abandon_and_signal_on_marked_rows_leave_the_ended_ones_out(
    processes: Processes,
) -> None:
    async with asking(processes, (160, 40)) as (app, pilot):
        home = await mark(pilot, "c-done", "w-approve-1", "w-approve-2")
        note = "(1 marked process has already ended and is left out: c-done)"
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, AbandonScreen))
        label = str(app.screen.query_one(Label).render())
        targets = f"2 processes: w-approve-1, w-approve-2 {note}"
        assert label == f"Request that the sweep abandon {targets}?"
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is home)
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, SignalScreen))
        # (c-done, which waits for nothing, is left out of the name's choice too)
        assert app.screen.query_one("#signal-name", Input).value == "approve"
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert question(app) == (
            f"Signal approve to 2 processes: w-approve-1, w-approve-2 {note}? Payload: null"
        )
        await pilot.click("#yes")
        await until(pilot, lambda: any(n.title == "signal.approve" for n in app._notifications))
        (result,) = [n for n in app._notifications if n.title == "signal.approve"]
        assert result.message.splitlines()[0] == "2 done"
        assert result.severity == "information"
    assert await signals(processes, "c-done", "w-approve-1", "w-approve-2") == [
        ("w-approve-1", "signal.approve"),
        ("w-approve-2", "signal.approve"),
    ]


async def test_an_action_on_marked_rows_that_have_all_ended_asks_nothing_and_says_why(
    processes: Processes,
) -> None:
    async with asking(processes, (160, 40)) as (app, pilot):
        home = await mark(pilot, "c-done", "d-failed")
        await pilot.press("c")
        await until(pilot, lambda: bool(app._notifications))
        assert app.screen is home  # nothing asked
        assert [n.message for n in app._notifications] == [
            "nothing to cancel: 2 marked processes have already ended and are left out: "
            "c-done, d-failed"
        ]
        assert list(home.marked) == ["c-done", "d-failed"]


async def test_the_signal_form_refuses_a_payload_past_the_write_limits_before_asking(
    processes: Processes,
) -> None:
    """A pasted payload too deep for json.loads (RecursionError past ~1,000 levels) crashed
    the app; one past the 64-level limit (or NaN, or too large) passed the form and the
    question and was refused only after Yes. Each is now the limit's own sentence in the
    form, which stays open: nothing asked, nothing sent."""
    most = 1 << 20  # MAX_JSON_BYTES; the write path sizes `["signal.approve", payload]`
    refusals = {
        "[" * 100_000: "an event payload may nest at most 64 levels; this one nests 100000",
        "[" * 1_100: "an event payload may nest at most 64 levels; this one nests 1100",
        "[" * 70 + "]" * 70: "an event payload may nest at most 64 levels; this one nests 70",
        '{"n": [1, NaN]}': "an event payload is not valid JSON (NaN is not a JSON number): "
        '`{"n": [1, NaN]}`',
        # Within 1 MiB as typed, past it with its event type, as the append measures it.
        '"' + "x" * (most - 2) + '"': "an event payload may be at most 1.0 MiB of JSON; "
        "this one is 1.0 MiB",
    }
    # Unclosed, of escaped quotes: measuring its depth restarted at every quote, and hung
    # the app for hours; now a blink.
    quotes = '"' + '\\"' * 400_000
    unclosed = "Unterminated string starting at"
    refusals[quotes] = f"an event payload is not valid JSON ({unclosed}): `{quotes[:200]}...`"
    async with asking(processes) as (app, pilot):
        await mark(pilot, "w-approve-1")
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, SignalScreen))
        form = app.screen
        error = form.query_one("#form-error", Static)
        for payload, sentence in refusals.items():
            form.query_one("#signal-payload", Input).value = payload
            await pilot.press("enter")
            await until(pilot, lambda: str(error.render()) == sentence)  # noqa: B023
            assert app.screen is form  # no question asked
        form.query_one("#signal-payload", Input).value = "[" * 64 + "]" * 64
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))  # the limit is 64
        await pilot.press("escape")
    assert await signals(processes, *WAITING) == []


async def test_the_transfer_form_refuses_a_destination_past_the_limits_before_asking(
    granted: Processes,
) -> None:
    """A destination scope past 256 characters passed the form and the question and was
    refused after Yes, for each target ("the scope granted to's session id may be ...")."""
    async with asking(granted) as (app, pilot):
        await mark(pilot, "p")
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, TransferScreen))
        form = app.screen
        form.query_one("#from-scope", Input).value = "session:alice/frame:coder"
        field = form.query_one("#to-scope", Input)
        field.focus()
        await until(pilot, lambda: field.has_focus)
        field.value = "session:" + "c" * 300
        await pilot.press("enter")
        error = form.query_one("#form-error", Static)
        await until(pilot, lambda: str(error.render()) != "")
        assert str(error.render()) == (
            "the destination scope's session id may be at most 256 characters; this one "
            "has 300"
        )
        assert app.screen is form  # nothing asked
        field.value = "session:" + "c" * 256  # the limit: asked
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("escape")
    assert await grant_scopes(granted) == ["session:alice/frame:coder"]


async def test_the_abandon_form_refuses_a_reason_past_the_limit_before_acting(
    processes: Processes,
) -> None:
    """A reason past 4,096 characters closed the form and was refused for each target."""
    async with asking(processes) as (app, pilot):
        await mark(pilot, "w-approve-1")
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, AbandonScreen))
        form = app.screen
        form.query_one("#abandon-reason", Input).value = "x" * 4097
        await pilot.click("#request")
        error = form.query_one("#form-error", Static)
        await until(pilot, lambda: str(error.render()) != "")
        assert str(error.render()) == (
            "an abandon reason may be at most 4,096 characters; this one has 4,097"
        )
        assert app.screen is form
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, AbandonScreen))
    record = await processes.registry.get_process("w-approve-1")
    assert record is not None and record.abandon_request is None
