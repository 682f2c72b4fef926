"""`s` (signal) is offered only on a row that declares a signal. On one that declares none
the key is dimmed and, pressed, says why in one sentence; the form asked for a name and a
payload first, then the registry refused it ("declares no signal `x`, so nothing was sent
(it declares none)"). Among marked rows such a row is left out, and the question says so.
The real app on a real SQLite file, driven by Pilot."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from lashtui.admin import Processes
from lashtui.model import ProcessEventType
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.tui.screens.modals import ConfirmScreen, SignalScreen
from lashtui.tui.widgets.process_table import ProcessTable
from tests.builders import ob
from tests.tui.scene import until
from tests.tui.test_actions import toasts
from tests.tui.test_asks_first import asking, mark, question, signals

NONE_DECLARED = (
    "signal is not offered for process mute: it declares no signals, so none can be sent to it"
)


@pytest.fixture
async def processes(tmp_path: Path) -> AsyncIterator[Processes]:
    """`mute`, which declares no signal, and `ready`, which declares `ready`: both live."""
    registry = await SqliteProcessRegistry.open(str(tmp_path / "signals.db"))
    try:
        await registry.register_process(ob("mute"))
        ready = [ProcessEventType.plain("signal.ready")]
        await registry.register_process(ob("ready", event_types=ready))
        yield Processes(registry)
    finally:
        await registry.close()


async def test_s_on_a_row_that_declares_no_signal_is_dimmed_and_says_why(
    processes: Processes,
) -> None:
    async with asking(processes) as (app, pilot):
        home = await mark(pilot)  # (nothing marked: the first view, loaded)
        table = home.query_one(ProcessTable)
        for pid, offered in (("ready", True), ("mute", None)):
            await until(pilot, lambda: pid in table.processes)  # noqa: B023 (awaited here)
            table.move_cursor(row=table.get_row_index(pid))
            await until(pilot, lambda: table.selected_id == pid)  # noqa: B023
            assert home.check_action("signal", ()) is offered  # None: shown dimmed
        await pilot.press("s")
        await until(pilot, lambda: NONE_DECLARED in toasts(app))
        assert app.screen is home  # no form was opened
    assert await signals(processes, "mute", "ready") == []


async def test_marked_rows_that_declare_no_signal_are_left_out_and_said(
    processes: Processes,
) -> None:
    async with asking(processes) as (app, pilot):
        await mark(pilot, "mute", "ready")
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, SignalScreen))
        await pilot.press("r", "e", "a", "d", "y", "enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert question(app) == (
            "Signal ready to process ready (external) (1 marked process declares no "
            "signals and is left out: mute)? Payload: null"
        )
        await pilot.press("escape")
    assert await signals(processes, "mute", "ready") == []
