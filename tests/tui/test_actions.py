"""Acting from the dashboard: every action asks first (default No) and then goes through
the facade; the outcome shows on screen without a key press."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from lashtui.admin import Processes
from lashtui.model import (
    AbandonedOutput,
    Engine,
    LeaseTimings,
    ProcessEventType,
    ProcessStarted,
    ProcessStartRequest,
    SuccessOutput,
)
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.tui.app import LashtuiApp, make_app
from lashtui.tui.screens.detail import ProcessDetailScreen
from lashtui.tui.screens.modals import AbandonScreen, ConfirmScreen, SignalScreen
from lashtui.tui.screens.processes import ProcessesScreen
from lashtui.tui.widgets.process_table import ProcessTable
from lashtui.worker import ProcessWorker
from tests.builders import ext, ob
from tests.tui.scene import far


def waiting(pid: str) -> ProcessStartRequest:
    return ProcessStartRequest(
        id=pid,
        input=Engine(kind="steps", payload={"steps": [{"wait_signal": "approve"}]}),
        disposition="rerunnable",
        event_types=[ProcessEventType.plain("signal.approve")],
    )


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[tuple[LashtuiApp, Processes, ProcessWorker]]:
    registry = await SqliteProcessRegistry.open(str(tmp_path / "act.db"))
    worker = ProcessWorker(registry, timings=LeaseTimings(ttl_ms=3_000, renew_interval_ms=500))
    processes = Processes(registry, worker=worker)
    app = make_app(processes, refresh_s=0.05, operator="operator:test")
    try:
        yield app, processes, worker
    finally:
        await worker.stop()
        await registry.close()


async def until(pilot: Pilot[Any], condition: Any, within: float = 15) -> None:
    async with asyncio.timeout(within):
        while not condition():
            await pilot.pause(0.05)


async def select(pilot: Pilot[Any], pid: str) -> ProcessTable:
    """Select the row `pid` names as `:goto` reads it: a text row's, else the row whose id
    is not text read as it (tui/row_key.py)."""
    screen = pilot.app.screen
    assert isinstance(screen, ProcessesScreen)
    table = screen.query_one(ProcessTable)
    await until(pilot, lambda: screen.window.key_of(pid) in table.processes)
    table.move_cursor(row=table.get_row_index(str(screen.window.key_of(pid))))
    await pilot.pause()
    return table


async def test_cancel_asks_defaults_to_no_then_cancels(live: Any) -> None:
    app, processes, worker = live
    async with app.run_test(size=(140, 24)) as pilot:
        await processes.start(waiting("w"))
        async with asyncio.timeout(10):
            await worker.awaiter.await_event("w", "process.waiting", 0)
        table = await select(pilot, "w")
        await pilot.press("c")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("enter")  # the focused default is No
        assert isinstance(app.screen, ProcessesScreen)
        assert [e.event_type for e in await processes.events("w")] == ["process.waiting"]
        await pilot.press("c")
        await pilot.click("#yes")
        await until(pilot, lambda: table.processes["w"].lifecycle.value == "cancelled")
        assert str(table.get_cell("w", "status")) == "⊘ cancelled"
        assert not app.screen.check_action("cancel", ())  # no cancel on a terminal row


async def test_signal_from_the_ui_resumes_a_waiting_process(live: Any) -> None:
    app, processes, worker = live
    async with app.run_test(size=(140, 24)) as pilot:
        await processes.start(waiting("w"))
        async with asyncio.timeout(10):
            await worker.awaiter.await_event("w", "process.waiting", 0)
        table = await select(pilot, "w")
        await pilot.press("s")
        form = app.screen
        assert isinstance(form, SignalScreen)
        assert form.query_one("#signal-name").value == "approve"  # type: ignore[attr-defined]
        form.query_one("#signal-payload").value = "{bad"  # type: ignore[attr-defined]
        await pilot.click("#send")
        assert isinstance(app.screen, SignalScreen)  # refused before sending
        assert "not valid JSON" in str(form.query_one("#form-error").render())
        payload = form.query_one("#signal-payload")
        payload.value = '"ship it"'  # type: ignore[attr-defined]
        payload.focus()
        await pilot.press("enter")  # submitting from the field, as an operator would
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))  # then it asks
        await pilot.click("#yes")
        try:
            await until(pilot, lambda: table.processes["w"].lifecycle.value == "completed")
        except TimeoutError:
            events = [(e.sequence, e.event_type) for e in await processes.events("w")]
            raise AssertionError(f"not completed: {app.screen!r}, events {events}") from None
        assert (
            await processes.await_output("w", timeout=5) == table.processes["w"].status.await_output
        )


async def test_abandon_a_silent_row_is_pending_then_reconciled(live: Any) -> None:
    app, processes, _ = live
    registry = processes.registry
    await registry.register_process(ob("quiet"))
    holder = far("worker-3", "host-d")
    lease = (await registry.claim_process_lease("quiet", holder, 300)).acquired()
    assert lease is not None
    started = ProcessStarted(owner=holder, started_at_ms=processes.clock.now_ms())
    await registry.record_first_started("quiet", started, lease)
    async with app.run_test(size=(140, 24)) as pilot:
        table = await select(pilot, "quiet")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ProcessDetailScreen))
        detail = app.screen
        assert isinstance(detail, ProcessDetailScreen)
        await until(pilot, lambda: detail.process is not None)
        await pilot.press("a")
        assert isinstance(app.screen, AbandonScreen)
        app.screen.query_one("#abandon-reason").value = "host-d retired"  # type: ignore[attr-defined]
        await pilot.click("#request")
        await until(
            pilot, lambda: detail.process is not None and detail.process.terminal, within=20
        )
        ended = detail.process
        assert ended is not None
        output = ended.status.await_output
        assert isinstance(output, AbandonedOutput)
        assert output.evidence.writer.value == "reconciled_request"
        assert ended.abandon_request is not None
        assert ended.abandon_request.requested_by == "operator:test"
        await pilot.press("escape")
        await until(pilot, lambda: table.processes["quiet"].terminal)


async def test_read_only_offers_no_action(tmp_path: Path) -> None:
    registry = await SqliteProcessRegistry.open(str(tmp_path / "ro.db"))
    try:
        await registry.register_process(ob("p"))
        app = make_app(Processes(registry), read_only=True, refresh_s=0.05)
        async with app.run_test(size=(140, 24)) as pilot:
            await select(pilot, "p")
            for action in ("cancel", "signal", "abandon"):
                assert not app.screen.check_action(action, ())
            await pilot.press("c", "s", "a")
            assert isinstance(app.screen, ProcessesScreen)
    finally:
        await registry.close()


# --- issue 16: each target's outcome, the operator, and why an action is not offered ------


def toasts(app: LashtuiApp) -> list[str]:
    return [n.message for n in app._notifications]


async def test_a_dimmed_action_key_says_why_when_pressed(live: Any) -> None:
    app, processes, _ = live
    await processes.registry.register_process(ext("done"))
    await processes.registry.complete_process("done", SuccessOutput(value=1))
    async with app.run_test(size=(140, 24)) as pilot:
        await select(pilot, "done")
        screen = app.screen
        assert screen.check_action("cancel", ()) is None  # shown dimmed, not hidden
        assert screen.check_action("transfer", ()) is True  # grants move after the end too
        await pilot.press("c")
        await until(pilot, lambda: bool(toasts(app)))
        assert isinstance(app.screen, ProcessesScreen)  # nothing asked, nothing done
        assert toasts(app) == [
            "cancel is not offered for process done: it has already ended (completed)"
        ]
        assert [e.event_type for e in await processes.events("done")] == ["process.completed"]


async def test_cancel_of_an_external_row_is_requested_by_the_operator(live: Any) -> None:
    app, processes, _ = live
    await processes.registry.register_process(ext("ext"))
    async with app.run_test(size=(140, 24)) as pilot:
        await select(pilot, "ext")
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.click("#yes")
        await until(pilot, lambda: bool(toasts(app)))
        assert toasts(app) == [
            "ext: requested: cancel requested by operator:test; externally owned: its owner "
            "must end it"
        ]
        (event,) = await processes.events("ext")
        assert event.payload == {"reason": "requested by operator:test"}


async def test_a_second_abandon_request_is_reported_unchanged(live: Any) -> None:
    app, processes, _ = live
    registry = processes.registry
    await registry.register_process(ob("quiet"))
    holder = far("worker-3", "host-d")  # another host: never provably dead from here
    lease = (await registry.claim_process_lease("quiet", holder, 600_000)).acquired()
    assert lease is not None
    started = ProcessStarted(owner=holder, started_at_ms=processes.clock.now_ms())
    await registry.record_first_started("quiet", started, lease)
    await processes.request_abandon("quiet", "dana@h", "host-d retired")
    async with app.run_test(size=(140, 24)) as pilot:
        await select(pilot, "quiet")
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, AbandonScreen))
        app.screen.query_one("#abandon-reason").value = "mine"  # type: ignore[attr-defined]
        await pilot.click("#request")
        await until(pilot, lambda: bool(toasts(app)))
        (toast,) = toasts(app)
        assert toast.startswith("quiet: unchanged: already requested by dana@h ")
        assert "(host-d retired); will abandon once the owner's lease lapses" in toast
        observed = await processes.get("quiet")
        assert observed is not None and observed.abandon_request is not None
        assert observed.abandon_request.reason == "host-d retired"


async def test_marked_rows_report_a_count_per_outcome(live: Any) -> None:
    app, processes, _ = live
    for pid in ("m-1", "m-2", "m-3"):
        await processes.registry.register_process(ext(pid))
    await processes.actions.cancel("m-2", operator="dana@h")
    async with app.run_test(size=(140, 24)) as pilot:
        table = await select(pilot, "m-1")
        for pid in ("m-1", "m-2", "m-3"):
            await until(pilot, lambda pid=pid: pid in table.processes)  # type: ignore[misc]
            table.move_cursor(row=table.get_row_index(pid))
            await pilot.press("space")
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.click("#yes")
        await until(pilot, lambda: bool(toasts(app)))
        (toast,) = toasts(app)
        lines = toast.splitlines()
        assert lines[0] == "2 requested, 1 unchanged"
        assert lines[1].startswith("requested: m-1: cancel requested by operator:test")
        assert lines[3].startswith("unchanged: m-2: a cancel was already requested")


async def test_the_footer_is_rebuilt_only_when_the_keys_it_offers_change(live: Any) -> None:
    # The cursor landing on another process re-checks the keys (they may differ for it);
    # the footer is rebuilt when they do, and left as it is when they do not: a rebuild
    # held the loop 15-25 ms, and a busy view's cursor changes process all the time.
    from textual.widgets._footer import FooterKey

    app, processes, worker = live
    async with app.run_test(size=(160, 24)) as pilot:
        for pid in ("w1", "w2"):
            await processes.start(waiting(pid))
            async with asyncio.timeout(10):
                await worker.awaiter.await_event(pid, "process.waiting", 0)
        done = ProcessStartRequest(
            id="z-done", input=Engine(kind="steps", payload={"steps": [{"finish": "ok"}]}),
            disposition="rerunnable",
        )  # fmt: skip
        await processes.start(done)
        table = await select(pilot, "w1")
        await until(pilot, lambda: table.processes["z-done"].lifecycle.value == "completed")

        def keys() -> dict[str, FooterKey]:
            return {key.description: key for key in app.screen.query(FooterKey)}

        await until(pilot, lambda: "Cancel" in keys())
        before = keys()
        assert not before["Cancel"].has_class("-disabled")
        await select(pilot, "w2")  # waiting too: the same keys, each as enabled
        await pilot.pause(0.1)
        assert keys() == before and all(keys()[d] is key for d, key in before.items())
        await select(pilot, "z-done")  # ended: Cancel is dimmed, so the footer is rebuilt
        await until(pilot, lambda: keys()["Cancel"].has_class("-disabled"))
        assert keys()["Cancel"] is not before["Cancel"]
