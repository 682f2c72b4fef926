"""One stored JSON value read as a tree: an event's payload (Enter on a timeline row), a
process's input (`i`) or output (`o`) from the detail. The tree is `PayloadTree` (lazy,
capped, every label stored text); `Y` copies the selected node's JSON with the app's copy,
as `Y` copies a process elsewhere; Esc goes back.

The value is handed in already read (the detail holds it), so opening this screen reads
nothing from the registry.
"""

from __future__ import annotations

import json
from typing import ClassVar

from pydantic import JsonValue
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Header, Static

from lashtui.tui import text
from lashtui.tui.widgets.footer import KeyFooter
from lashtui.tui.widgets.payload_tree import PayloadTree


class PayloadScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("Y", "copy_node", "Copy JSON"),
    ]

    def __init__(self, title: Text, value: JsonValue, note: Text | None = None) -> None:
        super().__init__()
        self.heading = title
        self.value = value
        self.note = note  # instead of a tree: why there is no value to show

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(text.plain(self.heading), id="payload-title")
        yield PayloadTree(text.plain(""), id="payload-tree")
        yield KeyFooter()  # (as every view's: `?` kept in sight; Textual's cut it off)

    def on_mount(self) -> None:
        tree = self.query_one(PayloadTree)
        if self.note is not None:
            tree.root.set_label(text.plain(self.note))
        else:
            tree.show(self.value, text.plain("$"))
        tree.focus()

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_copy_node(self) -> None:
        """The selected node's value as JSON (a `… more` node: its whole container)."""
        node = self.query_one(PayloadTree).selected()
        if node is None:
            return
        copied = json.dumps(node.value, ensure_ascii=False)
        self.app.copy_to_clipboard(copied)
        text.say(self, f"copied {node.path} as JSON ({len(copied):,} characters)", title="copy")
