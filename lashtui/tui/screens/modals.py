"""The modals every action goes through: a confirmation that names its targets and defaults
to No (and, for 100 targets or more, asks for their count typed: `typed_count`), and the
forms for a signal (name and JSON payload, both checked before sending), an abandon request
(a reason), a grant transfer (two scopes) and ending an undecodable row (a reason, required:
it is stored in the row's terminal event). A form checks its values before it closes, so
nothing is sent half-formed. The prune form, which counts what it would delete, is
`screens.prune`.

Targets and outlooks name stored ids and labels, so every one is shown through
`lashtui.tui.text` (never as markup, control characters escaped); a stored value is
prefilled into a field only when it can be shown and typed back as it is."""

from __future__ import annotations

from typing import ClassVar, TypeVar

from pydantic import JsonValue
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, ScrollableContainer, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from lashtui.errors import InvalidRequest
from lashtui.model import (
    ProcessEventAppendRequest,
    SessionScope,
    limit,
    process_signal_event_type,
    validate_process_signal_name,
)
from lashtui.tui import text
from lashtui.tui.screens.typed_count import TypedCount
from lashtui.untrusted import is_visible

Words = str | Text  # the modal's question or targets: plain words, never markup


class ConfirmScreen(ModalScreen[bool]):
    """Yes/No about one action; No has the focus, Escape means No. On `typed_count`
    targets (a big action, see `typed_count`), Yes stays disabled until the operator has
    typed that count; the field has the focus then (on No, the digits typed went nowhere and
    the Enter after them answered No, closing the question without a word), and Enter in it
    answers Yes only once the count matches."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(False)", "No")]

    def __init__(self, question: Words, typed_count: int | None = None) -> None:
        super().__init__()
        self.question = question
        self.typed_count = typed_count

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(text.plain(self.question), id="question")
            if self.typed_count is not None:
                yield TypedCount(self.typed_count, "acts on")
            with Horizontal(classes="buttons"):
                yield Button("No", id="no", variant="primary")
                guarded = self.typed_count is not None  # until the count is typed
                yield Button("Yes", id="yes", variant="error", disabled=guarded)

    @property
    def guarded(self) -> bool:
        """Whether Yes is still held back for want of the typed count."""
        return self.typed_count is not None and not self.query_one(TypedCount).confirmed

    def on_mount(self) -> None:
        if self.typed_count is not None:
            self.query_one("#typed-count", Input).focus()
        else:
            self.query_one("#no", Button).focus()

    def on_input_changed(self) -> None:
        self.query_one("#yes", Button).disabled = self.guarded

    def on_input_submitted(self) -> None:
        if not self.guarded:
            self.dismiss(True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


def parse_payload(text: str) -> JsonValue:
    """The payload field's JSON, held to the limits an event payload meets on the write
    path (`lashtui.model.limit.read_json`: depth read from the brackets first, so a pasted
    `[[[[...` is one sentence, not json.loads' RecursionError)."""
    if not text.strip():
        return None
    return limit.read_json("an event payload", text)


Answer = TypeVar("Answer")


class FormScreen(ModalScreen[Answer | None]):
    """A form that checks its values before it closes: Enter in a field or the action
    button submits; a refusal shows in `#form-error` and the form stays open; the button
    with id `no` (or `cancel`) and Escape answer None."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Cancel")]

    def read(self) -> Answer:
        """The form's answer, or an `InvalidRequest` saying what is wrong with it."""
        raise NotImplementedError

    def value(self, selector: str) -> str:
        return self.query_one(selector, Input).value.strip()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id in ("no", "cancel"):
            self.dismiss(None)
        else:
            self.submit()

    def on_input_submitted(self) -> None:
        self.submit()

    def submit(self) -> None:
        try:
            answer = self.read()
        except InvalidRequest as error:
            self.query_one("#form-error", Static).update(text.plain(str(error)))
            return
        self.dismiss(answer)


class SignalScreen(FormScreen[tuple[str, JsonValue]]):
    """A signal's name and JSON payload, validated before anything is sent."""

    def __init__(self, targets: Words, suggested: str | None) -> None:
        super().__init__()
        self.targets = targets
        # A stored wait name is offered only if it shows as it is (else the field would
        # hold control characters the operator cannot see).
        self.suggested = suggested if suggested and is_visible(suggested) else ""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(text.plain("Signal ", self.targets))
            yield Input(self.suggested, placeholder="signal name, e.g. approve", id="signal-name")
            yield Input(placeholder='JSON payload, e.g. "ok" or {"by": "me"}', id="signal-payload")
            yield Static("", id="form-error")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Send", id="send", variant="primary")

    def on_mount(self) -> None:
        # With a name offered, what is typed next is the payload: on the name's field, its
        # offered text selected, the first key typed replaced the name (`42` sent signal
        # `42` with no payload, where `approve` with payload 42 was meant).
        if self.suggested:
            self.query_one("#signal-payload", Input).focus()

    def read(self) -> tuple[str, JsonValue]:
        name = self.value("#signal-name")
        validate_process_signal_name(name)
        payload = parse_payload(self.query_one("#signal-payload", Input).value)
        # Every check the append makes (size with its event type, depth, NaN, text), so
        # nothing is refused after the operator said Yes.
        ProcessEventAppendRequest.checked(process_signal_event_type(name), payload)
        return name, payload


class AbandonScreen(ModalScreen[str | None]):
    """A reason for an abandon request, and what the sweep will do with it."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, targets: Words, outlook: text.Words) -> None:
        super().__init__()
        self.targets = targets
        self.outlook = outlook

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(text.plain("Request that the sweep abandon ", self.targets, "?"))
            yield Static(text.words(self.outlook), id="outlook")
            yield Input(placeholder="reason (optional)", id="abandon-reason")
            yield Static("", id="form-error")
            with Horizontal(classes="buttons"):
                yield Button("No", id="no", variant="primary")
                yield Button("Request", id="request", variant="error")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "no":
            self.dismiss(None)
            return
        reason = self.query_one("#abandon-reason", Input).value.strip()
        try:  # the registry's own check, before anything is asked (it was after)
            limit.check_text("an abandon reason", reason, limit.MAX_REASON_CHARS)
        except InvalidRequest as error:
            self.query_one("#form-error", Static).update(text.plain(str(error)))
            return
        self.dismiss(reason)


class EndUndecodableScreen(FormScreen[str]):
    """End rows whose stored record cannot be decoded: names them (and the marked rows that
    are skipped), asks for the reason the terminal event records; No has the focus."""

    def __init__(self, targets: Words, outlook: text.Words) -> None:
        super().__init__()
        self.targets = targets
        self.outlook = outlook

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            question = text.plain("End ", self.targets, "? Only ending changes an undecodable row.")
            yield Label(question, id="question")
            yield Static(text.words(self.outlook), id="outlook")
            yield Input(placeholder="reason (required), e.g. bad build", id="end-reason")
            yield Static("", id="form-error")
            with Horizontal(classes="buttons"):
                yield Button("No", id="no", variant="primary")
                yield Button("End", id="end", variant="error")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def read(self) -> str:
        reason = self.value("#end-reason")
        if not reason:
            raise InvalidRequest("a reason is required: the row's terminal event records it")
        limit.check_text("a reason", reason, limit.MAX_REASON_CHARS)  # the registry's check
        return reason


class TransferScreen(FormScreen[tuple[SessionScope, SessionScope]]):
    """Move handle grants from one session scope to another; both scopes are checked."""

    def __init__(self, targets: Words, source: str) -> None:
        super().__init__()
        self.targets = targets
        self.source = source if is_visible(source) else ""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(text.plain("Transfer the grants of ", self.targets))
            yield Input(self.source, placeholder="from scope, e.g. session:s1", id="from-scope")
            yield Input(placeholder="to scope, e.g. session:s2/frame:f1", id="to-scope")
            yield Static("", id="form-error")
            with Horizontal(classes="buttons"):
                yield Button("No", id="no", variant="primary")
                yield Button("Transfer", id="transfer", variant="warning")

    def on_mount(self) -> None:
        self.query_one("#to-scope" if self.source else "#from-scope", Input).focus()

    def read(self) -> tuple[SessionScope, SessionScope]:
        source = SessionScope.parse(self.value("#from-scope"))
        destination = SessionScope.parse(self.value("#to-scope"))
        destination.check_destination()  # (refused after Yes, for each target, before)
        return source, destination


HELP = """\
Views          1 Processes   2 Leases   3 Abandon requests   4 Engine health   5 Errors   6 Audit

Processes
  ↑ ↓ PgUp PgDn  move (the list pages in from the registry)   Home End  first / last
  Enter          open the process            /   filter by id, label or scope
  f              status: all, running, waiting, live, terminal
  g / o          lens: granted to a scope / originated by a scope   Esc  unmark, then clear
  > / <          sort by the next / previous column (from the registry)   I  invert
  space          mark / unmark               *   mark every row matching the filters
  p              pause / resume live updates
  w              wide: every column, the id held while scrolling (narrow: least useful hidden)
  y / Y          copy the id / the process as JSON    e   export the rows as JSONL (not read-only)
  :              command line (try :help)

Acting on the selected or marked processes (never offered read-only)
  c   cancel: ask each owner to stop (not on finished processes)
  s   signal: a name and a JSON payload, checked before sending
  a   request abandon: the sweep abandons it when the rules allow, and says when
  t   transfer grants from one session scope to another
  P   prune terminal processes older than an age (counts what it deletes first)
  100 or more targets: type their count to confirm
  E   end a row whose record cannot be decoded (only those): asks a reason, ends it failed
  R   run again: a new process <id>~rerun-<n> with the same input and grants (ended rows)

Process detail
  /   search: show the events whose type or payload contains a text (any case)
  Enter  the selected event's payload as a tree    i / o  the input / the output
  r   times: relative / absolute (shown whole)     e   export the timeline as JSONL
  [   older events: the timeline draws the newest 1,000, [ takes in 1,000 more
  y / Y  copy the id / the process as JSON         c s a t R E  act on it (above)
  In a tree: Enter or space opens and closes, Y copies the node's JSON, Esc back

Leases, Abandon requests
  Enter  open the process      c s a t R E  act on it (above)      p  pause / resume
  Tab  next section (abandon requests)

Errors
  Enter  the rows of a group, then a process      o  order: largest / most recent first
  w      window: the 20,000 or the 100,000 most recently changed processes

Audit (what operators did, newest first)
  s  source: recorded by lashtui / the event log    /  filter: by:NAME action:A outcome:O text
  ]  older entries    [  the newest    Enter  open the process    Esc  clear the filter

Engine health
  w  the charts' window: the last 15 minutes, the last hour, the last 24 hours

Anywhere
  Esc  back     ?  this help     ctrl+p  command palette (actions, ids, views, themes)     q  quit
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close"),
        Binding("question_mark", "dismiss", "Close"),
    ]

    def compose(self) -> ComposeResult:
        # Scrolls both ways: on a terminal smaller than the help (80x24 is), the keys and
        # their words stay in their columns instead of wrapping into each other.
        with ScrollableContainer(classes="dialog", id="help"):
            yield Static(HELP, id="help-text")
