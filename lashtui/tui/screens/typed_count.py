"""The typed-count guard of a big action: before an action on `TYPED_COUNT_FROM` or more
targets runs, the operator types how many there are, as k9s and GitHub ask for a name before
a destructive act. A count rather than a word, because the count is what a too-wide filter or
a stray `*` gets wrong: typing it makes the operator read it.

`TypedCount` is the field and its instruction; the screen that holds it keeps its action
button disabled until `matches` (digits, with or without the thousands separators shown).
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label

from lashtui.tui import text

TYPED_COUNT_FROM = 100  # an action on this many targets or more asks for the count


def needs_typed_count(count: int) -> bool:
    return count >= TYPED_COUNT_FROM


def matches(typed: str, count: int) -> bool:
    """`12345`, `12,345` and ` 12 345 ` all name 12,345; anything else does not."""
    digits = "".join(typed.split()).replace(",", "").replace("_", "")
    return digits.isdigit() and int(digits) == count


class TypedCount(Vertical):
    """`This deletes 12,345 processes. Type 12,345 to confirm:` above an Input that takes
    digits and separators (`what` is the verb: `deletes`, `acts on`)."""

    DEFAULT_CSS = """
    TypedCount { height: auto; }
    """

    def __init__(self, count: int, what: str) -> None:
        super().__init__(id="typed-count-guard")
        self.count = count
        self.what = what

    def compose(self) -> ComposeResult:
        count = f"{self.count:,}"
        yield Label(text.plain(f"This {self.what} {count} processes. Type {count} to confirm:"))
        yield Input(placeholder=f"{self.count:,}", restrict=r"[0-9, _]*", id="typed-count")

    @property
    def confirmed(self) -> bool:
        return matches(self.query_one("#typed-count", Input).value, self.count)
