"""Acting on processes from any screen: cancel, signal, request abandon, transfer grants,
run again (`R`, ended rows only), on the selected process or on every marked one; and
prune, on the whole registry.

Each action goes through a modal that names its targets and their count and defaults to No.
The facade reports each target's outcome (done, requested, unchanged, refused, with one
sentence; `lashtui.model.outcome`), and the results arrive as one notification that counts
them by outcome and lists every outcome other than done with its sentence. Targets are acted
on one at a time (a transfer: all in one call, all or none), so one refusal never hides the
rest. Actions that cannot apply are not offered: none in read-only mode (hidden); on a
terminal row no cancel, signal or abandon, on a row that declares no signal no signal, and
on a live one no re-run: the key is shown dimmed and, pressed, says why (`unavailable`). On
marked rows an action asks about and acts on only the rows it applies to; the question and
the result name the others, left out, and why (`Targets.left`), or that it applies to none
of them, asking nothing. Every action is recorded as the dashboard's operator
(`Dashboard.operator`) in the audit trail (the Audit view, `6`). Every message goes through
`text.say`: the sentences quote stored ids and reasons.

A row whose stored record cannot be decoded (`ObservedProcess.undecodable`) refuses every
write but one, so on it the four keys above are dimmed and, pressed, name that one way out:
`E` (shown only on such a row, or when a marked row is one) ends it with a reason, as the
operator (`Processes.end_undecodable`); marked rows that decode are skipped and counted.

Before it asks anything, an action looks at the registry (`_registry_answers`): one deleted
or replaced under the dashboard is said at once, in one sentence, and nothing is asked.

Once confirmed, an action runs as a worker of the app's (`_act`), not in the handler of the
dialog's answer: the screen handles no key while one of its handlers runs, so every key
waited for the whole action (12 s for 10,000 cancels; 15 s a target while another program
held the registry's write lock). The view stays live, an action still running after
`STILL_WORKING_S` says how far it has got, and one outlives the screen it started on.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from pydantic import JsonValue
from textual.app import App
from textual.binding import Binding, BindingType
from textual.css.query import NoMatches
from textual.events import Key
from textual.notifications import SeverityLevel
from textual.screen import Screen

from lashtui.admin import abandon_outlook
from lashtui.admin.signal import key_too_long
from lashtui.errors import LashError
from lashtui.model import (
    ObservedProcess,
    Outcome,
    ProcessAction,
    ProcessActionOutcome,
    ProcessPrunePreview,
    SessionScope,
    tally,
)
from lashtui.model.event import process_signal_replay_key
from lashtui.model.limit import MAX_KEY_CHARS
from lashtui.tui import text, undecodable
from lashtui.tui.context import Dashboard
from lashtui.tui.row_key import is_not_text, key_id, row_key
from lashtui.tui.screens.modals import (
    AbandonScreen,
    ConfirmScreen,
    EndUndecodableScreen,
    SignalScreen,
    TransferScreen,
)
from lashtui.tui.screens.prune import PruneScreen
from lashtui.tui.screens.typed_count import needs_typed_count
from lashtui.tui.targets import (
    TARGETED,
    Targets,
    describe,
    gone_of,
    left_out,
    left_out_why,
    not_applied,
    unavailable,
)

# An action still running after this long says how far it has got (`_act`).
STILL_WORKING_S = 1.0


@dataclass
class Progress:
    """How far an action running in the background has got: `done` of `total` targets (a
    transfer, a prune and an end of undecodable rows are one call: 0 until it returns)."""

    what: str
    total: int
    done: int = 0
    finished: bool = False

    def sentence(self) -> str:
        targets = f"{self.total:,} process" + ("" if self.total == 1 else "es")
        so_far = f", {self.done:,} done so far" if self.done else ""
        return f"{self.what}: still in progress ({targets}{so_far}); the view stays live"
# The keys every screen that holds a process offers for it.
ACTION_BINDINGS: list[BindingType] = [
    Binding("c", "cancel", "Cancel"),
    Binding("s", "signal", "Signal"),
    Binding("a", "abandon", "Abandon"),
    Binding("t", "transfer", "Transfer", show=False),
    Binding("E", "end_undecodable", "End undecodable"),
    Binding("R", "rerun", "Run again", show=False),
]
COPY_BINDINGS: list[BindingType] = [
    Binding("y", "copy_id", "Copy id", show=False),
    Binding("Y", "copy_json", "Copy JSON", show=False),
]
REPORTED = 5  # outcomes of one kind listed one by one in a result; the rest are counted


def too_long_for_key(
    targets: Targets, name: str, signal_id: str
) -> tuple[Targets, list[str]]:
    """The targets whose ids fit the replay key their signal would be stored under, and
    the refusal of each of the others (another program's id: admin/signal.py
    `key_too_long`), as `lashtui signal` gives it, its id cut as it cuts one: at most
    `REPORTED`, then how many more. They are refused before the question, which asks only
    about the rest: a list with some of them asked about them all, then refused them in
    its result, each line opening with the whole id (thousands of characters)."""
    fit: list[ObservedProcess] = []
    refused: list[str] = []
    for target in targets:
        key = process_signal_replay_key(target.process_id, name, signal_id)
        if len(key) <= MAX_KEY_CHARS:
            fit.append(target)
        else:
            refused.append(key_too_long(target.process_id, len(key)))
    if len(refused) > REPORTED:
        more = len(refused) - REPORTED
        refused[REPORTED:] = [f"and {more:,} more whose ids are too long for it: nothing sent"]
    return Targets(fit, targets.gone, targets.left), refused


class ProcessActions:
    """Mixed into a Screen that holds the `dashboard` and knows the process the operator
    has in hand (`target()`); a screen with marks also overrides `marked_ids()`."""

    dashboard: Dashboard
    # What the footer's offers were last computed for: the process in hand, whether it had
    # ended, why it did not decode (see `refresh_offers`).
    offered_for: tuple[str, bool, str | None] | None = None

    def target(self) -> ObservedProcess | None:
        raise NotImplementedError

    def refresh_offers(self) -> None:
        """Refresh the footer when the process in hand changed what may be offered for it
        (it ended, or an undecodable row was ended) while the cursor stayed on it: a screen
        calls this after each re-read, and the footer is rebuilt only on such a change."""
        process = self.target()
        held = (process.process_id, process.terminal, process.undecodable) if process else None
        if held != self.offered_for:
            self.offered_for = held
            self._screen.refresh_bindings()

    def marked_ids(self) -> list[str]:
        return []

    def marked_rows(self) -> list[ObservedProcess]:
        """The marked processes this screen holds rows for (as last read): what `offers`
        looks at, where `targets` reads every marked row again."""
        return []

    def target_id(self) -> str | None:
        """The id of the process in hand (a screen may know it before its row is read)."""
        process = self.target()
        return process.process_id if process is not None else None

    def action_copy_id(self) -> None:
        process_id = self.target_id()
        if process_id is not None:
            self._screen.app.copy_to_clipboard(process_id)
            text.say(self._screen, f"copied {process_id}", title="copy")

    def action_copy_json(self) -> None:
        process = self.target()
        if process is not None:
            self._screen.app.copy_to_clipboard(process.to_json())
            text.say(self._screen, f"copied {process.process_id} as JSON", title="copy")

    def offers(self, action: str) -> bool | None:
        """For `check_action`: True when the action applies; None when a process is in hand
        but the action cannot apply to it (Textual shows the key dimmed, and `on_key` says
        why when it is pressed); False when it is not offered here at all (read-only, or
        nothing in hand: the key is hidden)."""
        if action in ("prune", "export"):  # (an export writes a file: export.py)
            return not self.dashboard.read_only
        if action == "end_undecodable":  # shown only where it applies, hidden elsewhere
            if self.dashboard.read_only:
                return False
            process = self.target()
            held = self.marked_rows() if self.marked_ids() else [process] if process else []
            if any(p.undecodable is not None for p in held):
                # A row nothing here ends alone (a blob id's, a NULL id's or a cut id's:
                # `undecodable.unendable`): shown dimmed, and pressed it says why (`on_key`).
                # (A blob's was offered, asked for a reason, and only then refused by the
                # registry; a cut id's key was hidden, unexplained.)
                if process is not None and not self.marked_ids():
                    return None if unavailable(action, process) is not None else True
                return True
            return False
        if action not in TARGETED:
            return True
        if self.dashboard.read_only:
            return False
        if self.marked_ids():
            # Offered: the marked rows are read again when it is asked (`targets`), and it
            # then says which it leaves out, or that it applies to none of them. (The rows
            # held may be older: one pruned since would be called ended, not gone.)
            return True
        process = self.target()
        if process is None:
            return False
        return True if unavailable(action, process) is None else None

    def on_key(self, event: Key) -> None:
        """A dimmed action key, pressed: say why the action is not offered for this row
        instead of doing nothing. (Textual runs no action whose `check_action` is not
        True; the key then reaches the screen as a plain key press.)"""
        active = self._screen.active_bindings.get(event.key)
        if active is None and self.dashboard.read_only:
            # Read-only hides every action, so Textual drops its key: pressed, it did
            # nothing and said nothing, where `:prune` says why. Say the same.
            if (described := self._action_key(event.key)) is not None:
                why = self.dashboard.read_only_why  # (it said --read-only, whatever the cause)
                sentence = f"{described} is not offered: the dashboard is read-only ({why})"
                text.say(self._screen, sentence, title="not offered", severity="warning")
                event.stop()
            return
        if active is None or active.enabled:
            return
        if active.binding.action not in (*TARGETED, "end_undecodable"):
            return
        process = self.target()
        reason = unavailable(active.binding.action, process) if process else None
        if reason is not None:
            text.say(self._screen, reason, title="not offered", severity="warning")
            event.stop()

    def _action_key(self, key: str) -> str | None:
        """What the action `key` is bound to on this screen does, as its footer names it
        (`Cancel`, `Prune`), if it is one that changes the registry or writes a file."""
        for cls in type(self._screen).__mro__:
            for binding in vars(cls).get("BINDINGS", ()):
                if not isinstance(binding, Binding) or key not in binding.key.split(","):
                    continue
                if binding.action in (*TARGETED, "end_undecodable", "prune", "export"):
                    return binding.description
                return None
        return None

    async def targets(self) -> Targets:
        """The marked processes as they are now, else the selection. Marked ones that are
        gone are left out, named in `gone`, and unmarked (`forget_marks`)."""
        marked = self.marked_ids()
        if marked:
            return await self._marked_targets(marked)
        process = self.target()
        return Targets([process] if process is not None else [])

    async def _marked_targets(self, marked: list[str]) -> Targets:
        """The marked rows (`marked`: their keys, tui/row_key.py) read again by id. Read by
        its spelling, a row whose id is not text is answered by a text row spelled alike
        where there is one (blob_id.py), so it stays the row as held, which nothing acts
        on (it is left out as one whose id is not text); a text row answered by such a
        row's stand-in is gone."""
        observed = await self.dashboard.processes.observe(list(dict.fromkeys(map(key_id, marked))))
        held = {row_key(p): p for p in self.marked_rows()}
        found: dict[str, ObservedProcess] = {}
        for key in marked:
            process = observed.get(key_id(key))
            if process is not None and row_key(process) != key:
                process = held.get(key) if is_not_text(key) else None
            if process is not None:
                found[key] = process
        gone = [key for key in marked if key not in found]
        if gone:
            self.forget_marks(gone)
        return Targets(list(found.values()), [key_id(key) for key in gone])

    def forget_marks(self, gone: Sequence[str]) -> None:
        """Unmark processes found gone (by their rows' keys); a screen with marks overrides
        it."""

    async def action_cancel(self) -> None:
        targets = await self._targets_for("cancel")
        if not targets:
            return
        question = f"Cancel {describe(targets)}? Each owner is asked to stop."

        board = self.dashboard

        def cancel(pid: str) -> Awaitable[ProcessActionOutcome]:
            return board.processes.actions.cancel(pid, operator=board.operator)

        self._confirmed(question, "cancel", targets, self._each("cancel", targets, cancel))

    async def action_signal(self) -> None:
        targets = await self._targets_for("signal")
        if not targets:
            return

        async def chosen(choice: tuple[str, JsonValue] | None) -> None:
            if choice is not None:
                name, payload = choice
                signal_id = uuid.uuid4().hex  # one id per operator action: a resend is a no-op
                fit, refused = too_long_for_key(targets, name, signal_id)
                if refused:
                    # Known now, so said now, in the registry's words; only the rest are
                    # asked about (nothing, if none is left).
                    text.say(self._screen, refused, title="signal refused", severity="warning")
                if not fit:
                    return

                def send(pid: str) -> Awaitable[ProcessActionOutcome]:
                    board = self.dashboard
                    act = board.processes.actions
                    return act.signal(pid, name, signal_id, payload, operator=board.operator)

                question = f"Signal {name} to {describe(fit)}? Payload: {shown(payload)}"
                each = self._each("signal", fit, send)
                self._confirmed(question, f"signal.{name}", fit, each)

        screen = SignalScreen(describe(targets), suggested_signal(targets))
        self._screen.app.push_screen(screen, chosen)

    async def action_abandon(self) -> None:
        targets = await self._targets_for("abandon")
        if not targets:
            return
        now = self.dashboard.clock.now_ms()
        outlooks = Counter(abandon_outlook(t, now) for t in targets)
        outlook = [  # (a sentence may quote a stored id: lines, not a joined str)
            sentence if len(targets) == 1 else f"{count}: {sentence}"
            for sentence, count in outlooks.most_common()
        ]

        async def requested(reason: str | None) -> None:
            if reason is not None:
                board = self.dashboard

                def ask(pid: str) -> Awaitable[ProcessActionOutcome]:
                    act = board.processes.actions
                    return act.request_abandon(pid, board.operator, reason or None)

                await self._counted(
                    f"Request that the sweep abandon {describe(targets)}?",
                    "abandon request",
                    targets,
                    self._each("abandon", targets, ask),
                )

        self._screen.app.push_screen(AbandonScreen(describe(targets), outlook), requested)

    async def action_transfer(self) -> None:
        targets = await self._targets_for("transfer")
        if not targets:
            return

        async def moved(scopes: tuple[SessionScope, SessionScope] | None) -> None:
            if scopes is not None:
                source, destination = scopes
                question = f"Transfer the grants of {describe(targets)}"
                question += f" from {source.id()} to {destination.id()}?"
                self._confirmed(
                    question,
                    "transfer",
                    targets,
                    lambda progress: self._transfer(targets, source, destination, progress),
                )

        self._screen.app.push_screen(TransferScreen(describe(targets), self.default_scope()), moved)

    async def _transfer(
        self,
        targets: Sequence[ObservedProcess],
        source: SessionScope,
        destination: SessionScope,
        progress: Progress,
    ) -> None:
        ids = [t.process_id for t in targets]
        try:  # one call: a transfer moves all its grants or none (scenario 79)
            act = self.dashboard.processes.actions
            who = self.dashboard.operator
            outcomes = await act.transfer(source, destination, ids, operator=who)
        except LashError as error:  # a scope refused before anything moved
            outcomes = [refusal("transfer", pid, error) for pid in ids]
        self._acted()
        self.report(progress.what, outcomes, targets)

    async def action_rerun(self) -> None:
        targets = await self._targets_for("rerun")
        if not targets:
            return
        question = (
            f"Run {describe(targets)} again? Each starts as a new process <id>~rerun-<n> with "
            "the same input, disposition, event types and grants."
        )

        board = self.dashboard

        def rerun(pid: str) -> Awaitable[ProcessActionOutcome]:
            return board.processes.actions.rerun(pid, operator=board.operator)

        self._confirmed(question, "run again", targets, self._each("rerun", targets, rerun))

    async def action_end_undecodable(self) -> None:
        held = await self._targets_for("end_undecodable")
        # Rows nothing here can end (a blob's, a NULL's, a cut id's) are left out before
        # asking, and said so: they were asked about, then each refused by the registry.
        cannot = [p for p in held if p.undecodable is not None and undecodable.unendable(p)]
        # (told apart row by row, not by id: a NULL's row and a text row `NULL` share it)
        targets = Targets(
            [p for p in held if p.undecodable is not None and not undecodable.unendable(p)],
            held.gone,
        )
        skipped = [p.process_id for p in held if p.undecodable is None]
        if not targets:  # ended meanwhile (the rows held were read before)
            if cannot:
                sentence = undecodable.left_out_unendable(cannot, len(held))
                text.say(self._screen, sentence, title="end undecodable", severity="warning")
            elif held:
                sentence = "none of these processes is undecodable now: nothing to end"
                text.say(self._screen, sentence, title="end undecodable", severity="warning")
            return
        outlook = (
            undecodable.skipped_outlook(skipped)
            if skipped
            else "It becomes a failed row whose terminal event records who ended it and why."
        )
        if cannot:
            outlook = f"{undecodable.left_out_unendable(cannot, len(held))}. {outlook}"

        async def ended(reason: str | None) -> None:
            if reason is not None:
                await self._counted(
                    f"End {describe(targets)}?",
                    "end undecodable",
                    targets,
                    lambda progress: self._end_undecodable(targets, reason, skipped, progress),
                )

        screen = EndUndecodableScreen(describe(targets), outlook)
        self._screen.app.push_screen(screen, ended)

    async def _end_undecodable(
        self,
        targets: Sequence[ObservedProcess],
        reason: str,
        skipped: Sequence[str],
        progress: Progress,
    ) -> None:
        board = self.dashboard
        processes, operator = board.processes, board.operator
        ended, refused = await undecodable.end_each(processes, operator, targets, reason)
        self._acted()
        severity: SeverityLevel = "error" if refused else "information"
        lines = undecodable.result(ended, refused, skipped)
        if gone := gone_of(targets):
            lines.append(left_out(gone))
        text.say(self._app, lines, title=progress.what, severity=severity)

    def default_scope(self) -> str:
        """The scope a transfer most likely moves grants from (a screen with a granted
        lens knows it)."""
        return ""

    async def action_prune(self, age: str = "7d") -> None:
        if not self.offers("prune"):
            # Only `:prune` gets here (the key is hidden): it did nothing and said nothing.
            why = self.dashboard.read_only_why
            sentence = f"prune is not offered: the dashboard is read-only ({why})"
            text.say(self._screen, sentence, title="prune", severity="warning")
            return
        if not await self._registry_answers("prune"):
            return
        board = self.dashboard

        async def prune(preview: ProcessPrunePreview, progress: Progress) -> None:
            try:  # bounded by the count's position: rows that ended since are kept
                outcome = await board.processes.actions.prune(
                    preview.cutoff_epoch_ms, preview.up_to_change_seq, operator=board.operator
                )
            except LashError as error:
                text.say(self._app, str(error), title="prune refused", severity="error")
                return
            text.say(self._app, f"{outcome.outcome}: {outcome.sentence}", title=progress.what)
            with contextlib.suppress(NoMatches):  # (the screen may be gone meanwhile)
                self.pruned()

        def chosen(preview: ProcessPrunePreview | None) -> None:
            if preview is not None:
                progress = Progress("prune", preview.processes)
                self._run(progress, prune(preview, progress))

        count = board.processes.actions.prune_preview
        self._screen.app.push_screen(PruneScreen(age, count, board.clock.now_ms), chosen)

    def pruned(self) -> None:
        """Called after a prune; a screen holding counts re-takes its census."""

    # --- carrying an action out

    async def _counted(
        self,
        question: str,
        what: str,
        targets: Sequence[ObservedProcess],
        go: Callable[[Progress], Awaitable[None]],
    ) -> None:
        """Start the action of a form that was itself the question, with No focused (an
        abandon request, ending undecodable rows) now, or, on `TYPED_COUNT_FROM` targets or
        more, once the operator has confirmed it by typing their count."""
        if not needs_typed_count(len(targets)):
            self._act(what, targets, go)
            return
        self._confirmed(question, what, targets, go)

    def _confirmed(
        self,
        question: str,
        what: str,
        targets: Sequence[ObservedProcess],
        go: Callable[[Progress], Awaitable[None]],
    ) -> None:
        """Ask `question` (it names the action, its targets and their count), No focused,
        and on `TYPED_COUNT_FROM` targets or more with the count typed; start on Yes. A
        signal or a transfer asks this after its form: the form's Enter sent a signal to
        every marked row in two keystrokes, with no question."""

        def answered(yes: bool | None) -> None:
            if yes:
                self._act(what, targets, go)

        typed = len(targets) if needs_typed_count(len(targets)) else None
        self._screen.app.push_screen(ConfirmScreen(question, typed), answered)

    def _act(
        self,
        what: str,
        targets: Sequence[ObservedProcess],
        go: Callable[[Progress], Awaitable[None]],
    ) -> None:
        """Carry out an action on `targets` in the background (see the module docstring)."""
        progress = Progress(what, len(targets))
        self._run(progress, go(progress))

    def _run(self, progress: Progress, work: Awaitable[None]) -> None:
        app = self._app

        async def carried_out() -> None:
            try:
                await work
            finally:
                progress.finished = True

        def still_working() -> None:
            if not progress.finished:
                text.say(app, progress.sentence(), title=progress.what)

        # The app's, not the screen's: a worker ends with the screen that runs it, and an
        # action left half done without its report would say nothing of what it did.
        app.run_worker(carried_out(), group="actions", name=f"act {progress.what}")
        app.set_timer(STILL_WORKING_S, still_working)

    async def _targets_for(self, action: str) -> Targets:
        if not self.offers(action) or not await self._registry_answers(action):
            return Targets([])
        try:
            targets = await self.targets()
        except LashError as error:
            text.say(self._screen, str(error), title="refused", severity="error")
            return Targets([])
        if action in TARGETED:
            targets = self._applicable(action, targets)
        if not targets and (notes := not_applied(targets)):  # nothing is asked
            sentence = f"nothing to {action.replace('_', ' ')}: {'; '.join(notes)}"
            text.say(self._screen, sentence, title=action, severity="warning")
        return targets

    async def _registry_answers(self, action: str) -> bool:
        """Whether the registry answers now; if it does not, say so at once and ask nothing.
        Deleted or replaced under the dashboard, it opened the question (or the form) of
        every action, and only the answer said the registry was gone: the selection is the
        row as last read, so nothing was read before asking. A `data_version` read looks at
        the file the handle opened first (sqlite/store.py: `RegistryGone` when it is no
        longer at its path) and reaches a PostgreSQL server; it costs one small read."""
        try:
            await self.dashboard.processes.data_version()
        except LashError as error:
            what = action.replace("_", " ")
            text.say(self._screen, str(error), title=f"{what} refused", severity="error")
            return False
        return True

    def _applicable(self, action: str, targets: Targets) -> Targets:
        """The targets `action` applies to; the rest of the marked ones are `left`, said in
        the question and the result. The selection alone (nothing marked) that no longer
        takes it (it ended since the key was offered) is said at once, nothing asked."""
        if not self.marked_ids():
            reasons = [unavailable(action, p) for p in targets]
            if any(reasons):
                sentence = next(r for r in reasons if r)
                text.say(self._screen, sentence, title="not offered", severity="warning")
                return Targets([])
            return targets
        # (row by row, not by id: a NULL's row and a text row `NULL` share it)
        why = [(p, left_out_why(action, p)) for p in targets]
        return Targets(
            [p for p, reason in why if reason is None],
            targets.gone,
            [(p.process_id, reason) for p, reason in why if reason is not None],
        )

    def _each(
        self,
        action: ProcessAction,
        targets: Sequence[ObservedProcess],
        act: Callable[[str], Awaitable[ProcessActionOutcome]],
    ) -> Callable[[Progress], Awaitable[None]]:
        """The work of acting on each target in turn, then reporting (for `_act`)."""

        async def each(progress: Progress) -> None:
            outcomes = []
            for process in targets:
                try:
                    outcomes.append(await act(process.process_id))
                except LashError as error:  # a bad argument or a store that cannot serve
                    outcomes.append(refusal(action, process.process_id, error))
                progress.done += 1
            self._acted()
            self.report(progress.what, outcomes, targets)

        return each

    def _acted(self) -> None:
        with contextlib.suppress(NoMatches):  # (the screen may be gone meanwhile)
            self.acted()

    def report(
        self,
        what: str,
        outcomes: Sequence[ProcessActionOutcome],
        targets: Sequence[ObservedProcess] = (),
    ) -> None:
        """One notification: the outcome for one target, or for many a count per outcome
        (`2 done, 1 requested, 1 refused`) then each outcome other than done with its
        sentence, at most `REPORTED` of a kind; then the marked processes left out (gone, or
        ones the action does not apply to, as the question said). Its severity is the worst
        outcome's (a warning, if any was gone: the question could not say so)."""
        if not outcomes:
            return
        grouped = tally(list(outcomes))
        severity: SeverityLevel = (
            "error"
            if "refused" in grouped
            else "warning"
            if "unchanged" in grouped or gone_of(targets)
            else "information"
        )
        lines = [outcomes[0].line()] if len(outcomes) == 1 else tallied(grouped)
        lines += not_applied(targets)
        # As lines: a line joined into one str here could not be told from one a stored id
        # with a newline wrote (`text.say`).
        text.say(self._app, lines, title=what, severity=severity)

    def acted(self) -> None:
        """Called after an action; a screen with marks clears them."""

    @property
    def _screen(self) -> Screen[None]:
        assert isinstance(self, Screen)
        return self

    @property
    def _app(self) -> App[object]:
        """The app, also once the screen an action started on is gone (`_run`)."""
        return self._screen.app


def tallied(grouped: dict[Outcome, list[ProcessActionOutcome]]) -> list[str]:
    """A count per outcome, then each outcome other than done with its sentence."""
    lines = [", ".join(f"{len(items):,} {kind}" for kind, items in grouped.items())]
    for kind, items in grouped.items():
        if kind == "done":
            continue
        lines += [f"{kind}: {item.process_id}: {item.sentence}" for item in items[:REPORTED]]
        if len(items) > REPORTED:
            lines.append(f"and {len(items) - REPORTED:,} more {kind}")
    return lines


def refusal(action: ProcessAction, process_id: str, error: LashError) -> ProcessActionOutcome:
    """A refusal the facade raised rather than reported (a bad argument, a store error)."""
    return ProcessActionOutcome(
        process_id=process_id, action=action, outcome="refused", sentence=str(error)
    )


def suggested_signal(targets: Sequence[ObservedProcess]) -> str | None:
    """The signal name the form offers: the one every target waits for, else none. (It was
    the first target's: with two marked rows waiting for different signals, the other was
    refused the name it was never asked about.)"""
    names = {t.wait.kind.name if t.wait is not None else None for t in targets}
    return names.pop() if len(names) == 1 else None


SHOWN_PAYLOAD = 80  # characters of a signal's payload the confirmation shows


def shown(payload: JsonValue) -> str:
    """A signal's payload as the confirmation shows it: compact JSON on one line, cut."""
    compact = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return compact if len(compact) <= SHOWN_PAYLOAD else compact[: SHOWN_PAYLOAD - 1] + "…"
