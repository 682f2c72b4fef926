"""Acting on one process from any screen: cancel, signal, request abandon. Each goes
through a modal that names the target and defaults to No; results and refusals arrive as
notifications with the facade's own sentence. Actions that cannot apply are not offered:
none in read-only mode, and no cancel or signal on a terminal row."""

from __future__ import annotations

import uuid

from pydantic import JsonValue
from textual.screen import Screen

from lashtui.admin import abandon_outlook
from lashtui.errors import LashError
from lashtui.model import ObservedProcess
from lashtui.tui.context import Dashboard
from lashtui.tui.screens.modals import AbandonScreen, ConfirmScreen, SignalScreen

ACTIONS = ("cancel", "signal", "abandon")


class ProcessActions:
    """Mixed into a Screen that holds the `dashboard` and knows the process the operator
    has in hand (`target()`)."""

    dashboard: Dashboard

    def target(self) -> ObservedProcess | None:
        raise NotImplementedError

    def offers(self, action: str) -> bool:
        if action not in ACTIONS:
            return True
        process = self.target()
        if self.dashboard.read_only or process is None:
            return False
        return action == "abandon" or not process.terminal

    def action_cancel(self) -> None:
        process = self.target()
        if process is None or not self.offers("cancel"):
            return
        pid = process.process_id
        question = f"Cancel process {pid} ({process.label})? Its owner is asked to stop."

        async def confirmed(yes: bool | None) -> None:
            if yes:
                await self._act(f"cancel requested for {pid}", self.dashboard.processes.cancel(pid))

        self._screen.app.push_screen(ConfirmScreen(question), confirmed)

    def action_signal(self) -> None:
        process = self.target()
        if process is None or not self.offers("signal"):
            return
        pid = process.process_id
        waiting = process.wait.kind.name if process.wait else None

        async def chosen(choice: tuple[str, JsonValue] | None) -> None:
            if choice is not None:
                name, payload = choice
                send = self.dashboard.processes.signal(pid, name, uuid.uuid4().hex, payload)
                await self._act(f"sent signal.{name} to {pid}", send)

        self._screen.app.push_screen(SignalScreen(pid, waiting), chosen)

    def action_abandon(self) -> None:
        process = self.target()
        if process is None or not self.offers("abandon"):
            return
        pid = process.process_id

        async def requested(reason: str | None) -> None:
            if reason is not None:
                board = self.dashboard
                ask = board.processes.request_abandon(pid, board.operator, reason or None)
                await self._act(f"abandon requested for {pid}", ask)

        outlook = abandon_outlook(process, self.dashboard.clock.now_ms())
        self._screen.app.push_screen(AbandonScreen(pid, outlook), requested)

    @property
    def _screen(self) -> Screen[None]:
        assert isinstance(self, Screen)
        return self

    async def _act(self, done: str, action: object) -> None:
        try:
            await action  # type: ignore[misc]
        except LashError as error:
            self._screen.notify(str(error), title="refused", severity="error")
        else:
            self._screen.notify(done)
