"""Acting on processes from any screen: cancel, signal, request abandon, transfer grants, on
the selected process or on every marked one; and prune, on the whole registry.

Each action goes through a modal that names its targets and their count and defaults to No.
Targets are acted on one at a time, so one refusal never stops the rest, and the results
arrive as one notification listing each refusal with the facade's own sentence. Actions
that cannot apply are not offered: none in read-only mode, and no cancel or signal on a
terminal row (for marked rows the facade's refusal names the terminal ones).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence

from pydantic import JsonValue
from textual.binding import Binding, BindingType
from textual.screen import Screen

from lashtui.admin import abandon_outlook
from lashtui.errors import LashError
from lashtui.model import ObservedProcess, SessionScope
from lashtui.tui import format as fmt
from lashtui.tui.context import Dashboard
from lashtui.tui.screens.modals import (
    AbandonScreen,
    ConfirmScreen,
    PruneScreen,
    SignalScreen,
    TransferScreen,
)

TARGETED = ("cancel", "signal", "abandon", "transfer")
# The keys every screen that holds a process offers for it.
ACTION_BINDINGS: list[BindingType] = [
    Binding("c", "cancel", "Cancel"),
    Binding("s", "signal", "Signal"),
    Binding("a", "abandon", "Abandon"),
    Binding("t", "transfer", "Transfer", show=False),
]
COPY_BINDINGS: list[BindingType] = [
    Binding("y", "copy_id", "Copy id", show=False),
    Binding("Y", "copy_json", "Copy JSON", show=False),
]
REPORTED_REFUSALS = 5  # refusals listed one by one in a result; the rest are counted


def describe(targets: Sequence[ObservedProcess]) -> str:
    """`process a (label)` for one target, `3 processes: a, b, c` for a few, and the first
    five then `and N more` for many."""
    if len(targets) == 1:
        return f"process {targets[0].process_id} ({targets[0].label})"
    ids = [t.process_id for t in targets]
    shown = ", ".join(ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")
    return f"{len(ids)} processes: {shown}"


class ProcessActions:
    """Mixed into a Screen that holds the `dashboard` and knows the process the operator
    has in hand (`target()`); a screen with marks also overrides `marked_ids()`."""

    dashboard: Dashboard

    def target(self) -> ObservedProcess | None:
        raise NotImplementedError

    def marked_ids(self) -> list[str]:
        return []

    def target_id(self) -> str | None:
        """The id of the process in hand (a screen may know it before its row is read)."""
        process = self.target()
        return process.process_id if process is not None else None

    def action_copy_id(self) -> None:
        process_id = self.target_id()
        if process_id is not None:
            self._screen.app.copy_to_clipboard(process_id)
            self._screen.notify(f"copied {process_id}", title="copy")

    def action_copy_json(self) -> None:
        process = self.target()
        if process is not None:
            self._screen.app.copy_to_clipboard(process.model_dump_json())
            self._screen.notify(f"copied {process.process_id} as JSON", title="copy")

    def offers(self, action: str) -> bool:
        if action == "prune":
            return not self.dashboard.read_only
        if action not in TARGETED:
            return True
        if self.dashboard.read_only:
            return False
        if self.marked_ids():
            return True
        process = self.target()
        if process is None:
            return False
        return action in ("abandon", "transfer") or not process.terminal

    async def targets(self) -> list[ObservedProcess]:
        """The marked processes as they are now (gone ones drop out), else the selection."""
        marked = self.marked_ids()
        if marked:
            observed = await self.dashboard.processes.observe(marked)
            return [observed[pid] for pid in marked if pid in observed]
        process = self.target()
        return [process] if process is not None else []

    async def action_cancel(self) -> None:
        targets = await self._targets_for("cancel")
        if not targets:
            return
        question = f"Cancel {describe(targets)}? Each owner is asked to stop."

        async def confirmed(yes: bool | None) -> None:
            if yes:
                await self._each("cancel", targets, self.dashboard.processes.cancel)

        self._screen.app.push_screen(ConfirmScreen(question), confirmed)

    async def action_signal(self) -> None:
        targets = await self._targets_for("signal")
        if not targets:
            return
        first = targets[0]
        waiting = first.wait.kind.name if first.wait else None

        async def chosen(choice: tuple[str, JsonValue] | None) -> None:
            if choice is not None:
                name, payload = choice
                signal_id = uuid.uuid4().hex  # one id per operator action: a resend is a no-op

                def send(pid: str) -> Awaitable[object]:
                    return self.dashboard.processes.signal(pid, name, signal_id, payload)

                await self._each(f"signal.{name}", targets, send)

        self._screen.app.push_screen(SignalScreen(describe(targets), waiting), chosen)

    async def action_abandon(self) -> None:
        targets = await self._targets_for("abandon")
        if not targets:
            return
        now = self.dashboard.clock.now_ms()
        outlooks = Counter(abandon_outlook(t, now) for t in targets)
        outlook = "\n".join(
            sentence if len(targets) == 1 else f"{count}: {sentence}"
            for sentence, count in outlooks.most_common()
        )

        async def requested(reason: str | None) -> None:
            if reason is not None:
                board = self.dashboard

                def ask(pid: str) -> Awaitable[object]:
                    return board.processes.request_abandon(pid, board.operator, reason or None)

                await self._each("abandon request", targets, ask)

        self._screen.app.push_screen(AbandonScreen(describe(targets), outlook), requested)

    async def action_transfer(self) -> None:
        targets = await self._targets_for("transfer")
        if not targets:
            return

        async def moved(scopes: tuple[SessionScope, SessionScope] | None) -> None:
            if scopes is not None:
                source, destination = scopes

                def transfer(pid: str) -> Awaitable[None]:
                    return self.dashboard.processes.transfer(source, destination, [pid])

                await self._each("transfer", targets, transfer)

        self._screen.app.push_screen(TransferScreen(describe(targets), self.default_scope()), moved)

    def default_scope(self) -> str:
        """The scope a transfer most likely moves grants from (a screen with a granted
        lens knows it)."""
        return ""

    def action_prune(self, age: str = "7d") -> None:
        if not self.offers("prune"):
            return

        async def chosen(cutoff_age_ms: int | None) -> None:
            if cutoff_age_ms is None:
                return
            cutoff = self.dashboard.clock.now_ms() - cutoff_age_ms
            try:
                report = await self.dashboard.processes.prune(cutoff)
            except LashError as error:
                self._screen.notify(str(error), title="prune refused", severity="error")
                return
            self._screen.notify(
                f"pruned {report.pruned_processes} processes and {report.pruned_events} "
                f"events older than {fmt.duration(cutoff_age_ms)}",
                title="prune",
            )
            self.pruned()

        self._screen.app.push_screen(PruneScreen(age), chosen)

    def pruned(self) -> None:
        """Called after a prune; a screen holding counts re-takes its census."""

    # --- carrying an action out

    async def _targets_for(self, action: str) -> list[ObservedProcess]:
        if not self.offers(action):
            return []
        try:
            return await self.targets()
        except LashError as error:
            self._screen.notify(str(error), title="refused", severity="error")
            return []

    async def _each(
        self,
        what: str,
        targets: Sequence[ObservedProcess],
        act: Callable[[str], Awaitable[object]],
    ) -> None:
        refusals: list[str] = []
        for process in targets:
            try:
                await act(process.process_id)
            except LashError as error:
                refusals.append(f"{process.process_id}: {error}")
        self.acted()
        done = len(targets) - len(refusals)
        if not refusals:
            noun = targets[0].process_id if len(targets) == 1 else f"{done} processes"
            self._screen.notify(f"{what}: done for {noun}", title=what)
            return
        lines = refusals[:REPORTED_REFUSALS]
        if len(refusals) > REPORTED_REFUSALS:
            lines.append(f"and {len(refusals) - REPORTED_REFUSALS} more refused")
        summary = f"{done} of {len(targets)} done; refused:\n" if len(targets) > 1 else ""
        self._screen.notify(summary + "\n".join(lines), title=f"{what} refused", severity="error")

    def acted(self) -> None:
        """Called after an action; a screen with marks clears them."""

    @property
    def _screen(self) -> Screen[None]:
        assert isinstance(self, Screen)
        return self
