"""The modals every action goes through: a confirmation that names its target and defaults
to No, and the forms for a signal (name and JSON payload, both checked before sending) and
an abandon request (a reason)."""

from __future__ import annotations

import json
from typing import ClassVar

from pydantic import JsonValue
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from lashtui.errors import InvalidRequest
from lashtui.model import validate_process_signal_name


class ConfirmScreen(ModalScreen[bool]):
    """Yes/No about one action; No has the focus, Escape means No."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(False)", "No")]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question, id="question")
            with Horizontal(classes="buttons"):
                yield Button("No", id="no", variant="primary")
                yield Button("Yes", id="yes", variant="error")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


def parse_payload(text: str) -> JsonValue:
    if not text.strip():
        return None
    try:
        value: JsonValue = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidRequest(f"the payload is not valid JSON ({error.msg})") from None
    return value


class SignalScreen(ModalScreen[tuple[str, JsonValue] | None]):
    """A signal's name and JSON payload, validated before anything is sent."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, process_id: str, suggested: str | None) -> None:
        super().__init__()
        self.process_id = process_id
        self.suggested = suggested or ""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(f"Signal process {self.process_id}")
            yield Input(self.suggested, placeholder="signal name, e.g. approve", id="signal-name")
            yield Input(placeholder='JSON payload, e.g. "ok" or {"by": "me"}', id="signal-payload")
            yield Static("", id="form-error")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Send", id="send", variant="primary")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "cancel":
            self.dismiss(None)
            return
        self.submit()

    def on_input_submitted(self) -> None:
        self.submit()

    def submit(self) -> None:
        name = self.query_one("#signal-name", Input).value.strip()
        try:
            validate_process_signal_name(name)
            payload = parse_payload(self.query_one("#signal-payload", Input).value)
        except InvalidRequest as error:
            self.query_one("#form-error", Static).update(str(error))
            return
        self.dismiss((name, payload))


class AbandonScreen(ModalScreen[str | None]):
    """A reason for an abandon request, and what the sweep will do with it."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, process_id: str, outlook: str) -> None:
        super().__init__()
        self.process_id = process_id
        self.outlook = outlook

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(f"Request that the sweep abandon {self.process_id}?")
            yield Static(self.outlook, id="outlook")
            yield Input(placeholder="reason (optional)", id="abandon-reason")
            with Horizontal(classes="buttons"):
                yield Button("No", id="no", variant="primary")
                yield Button("Request", id="request", variant="error")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "no":
            self.dismiss(None)
        else:
            self.dismiss(self.query_one("#abandon-reason", Input).value.strip())


HELP = """\
Processes
  ↑ ↓ / mouse   move the selection          Enter   open the process
  /             filter by id, label, scope  f       status: all, running, waiting, terminal
  p             pause / resume live updates

Acting on the selected process (never offered read-only)
  c   cancel: ask its owner to stop (not on finished processes)
  s   signal: a name and a JSON payload, checked before sending
  a   request abandon: the sweep abandons it when the rules allow, and says when

Anywhere
  Esc   back      ?   this help      ctrl+p   command palette      q   quit
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close"),
        Binding("question_mark", "dismiss", "Close"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="help"):
            yield Static(HELP)
