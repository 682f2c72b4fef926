"""What the detail opens in the payload viewer (`screens.payload`): Enter on a timeline row
its event's payload, `i` and `o` the process's input and output, each as a tree. A mixin of
`ProcessDetailScreen`, kept apart because it is the part of the screen that hands a stored
value to another screen, and says instead why a value cannot be shown (not ended yet, or a
row that did not decode, whose input and output are only placeholders).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from textual.widgets import DataTable

from lashtui.model.limit import MAX_NAME_CHARS
from lashtui.tui import format as fmt
from lashtui.tui import text
from lashtui.tui.screens.mixin import ScreenMixin
from lashtui.tui.screens.payload import PayloadScreen
from lashtui.untrusted import visible_clipped

if TYPE_CHECKING:
    from pydantic import JsonValue

    from lashtui.model import ObservedProcess, ObservedProcessEvent


class DetailValues(ScreenMixin):
    if TYPE_CHECKING:  # provided by ProcessDetailScreen
        process_id: str
        process: ObservedProcess | None
        events: list[ObservedProcessEvent]

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on an event: its payload as a tree."""
        sequence = int(str(event.row_key.value))
        found = next((e for e in self.events if e.sequence == sequence), None)
        if found is None:
            return
        title = text.plain(
            "process ", text.data(self.process_id), f" · event #{found.sequence} ",
            text.data(visible_clipped(found.event_type, MAX_NAME_CHARS)), " · payload",
        )
        note = None
        if found.undecodable is not None:
            note = text.plain("undecodable: ", text.data(found.undecodable))
        self.app.push_screen(PayloadScreen(title, found.payload, note))

    def action_show_input(self) -> None:
        if self.process is None:
            return
        if self.process.placeholders():  # (undecodable, or ended as such)
            text.say(self, f"its input is {fmt.UNKNOWN_VALUE}", title="input")
            return
        self.open_value("input", json.loads(self.process.input.model_dump_json()))

    def action_show_output(self) -> None:
        if self.process is None:
            return
        output = self.process.status.await_output
        if output is None:
            text.say(self, "it has no output yet: it has not ended", title="output")
            return
        if self.process.undecodable is not None:
            text.say(self, f"its output is {fmt.UNKNOWN_VALUE}", title="output")
            return
        self.open_value("output", json.loads(output.model_dump_json()))

    def open_value(self, what: str, value: JsonValue) -> None:
        title = text.plain("process ", text.data(self.process_id), f" · {what}")
        self.app.push_screen(PayloadScreen(title, value))
