"""The prune form: an age, and before anything is asked, how much a prune at that age would
delete, counted from the registry: `Prune 12,345 terminal processes and 98,765 events last
changed before 2026-12-02 10:00:00.000Z?`.

The count is a registry read (`Processes.actions.prune_preview`, an index count), run in a
worker each time the age changes, so typing never waits on it; a newer age cancels the count
of an older one. The Prune button is enabled only once the count for the age shown has
arrived and is not zero, and for 100 processes or more only once that count has been typed
(`typed_count`). The form answers the preview itself: the prune that follows uses its cutoff
and its change-feed position, so it deletes the rows counted and none that ended later.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Static

from lashtui.clock import parse_duration_ms
from lashtui.errors import InvalidRequest, LashError
from lashtui.model import ProcessPrunePreview
from lashtui.model.outcome import cutoff_text
from lashtui.tui import format as fmt
from lashtui.tui import text
from lashtui.tui.screens.modals import FormScreen
from lashtui.tui.screens.typed_count import TypedCount, needs_typed_count

Count = Callable[[int], Awaitable[ProcessPrunePreview]]  # a cutoff (epoch ms) -> its preview


class PruneScreen(FormScreen[ProcessPrunePreview]):
    """Prune terminal processes older than an age, once their count has been shown."""

    def __init__(self, age: str, count: Count, now_ms: Callable[[], int]) -> None:
        super().__init__()
        self.age = age
        self.count = count
        self.now_ms = now_ms
        self.preview: ProcessPrunePreview | None = None  # the count for the age shown

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Prune terminal processes (and their events) last changed longer ago than:")
            yield Input(self.age, placeholder="an age such as 7d, 12h or 30m", id="prune-age")
            yield Static("", id="prune-preview")
            yield Static("Running and waiting processes are never pruned.", id="outlook")
            yield Vertical(id="prune-guard")
            yield Static("", id="form-error")
            with Horizontal(classes="buttons"):
                yield Button("No", id="no", variant="primary")
                yield Button("Prune", id="prune", variant="error", disabled=True)

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()
        self.recount()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "prune-age":
            self.recount()
        self.query_one("#prune", Button).disabled = not self.ready

    def recount(self) -> None:
        """Forget the count shown and count again for the age now typed (or say why not)."""
        self.preview = None
        self.query_one("#prune-guard").remove_children()
        try:
            cutoff_ms = self.cutoff(self.value("#prune-age"))
        except InvalidRequest as error:
            self.show(text.plain(""), text.plain(str(error)))
            self.workers.cancel_group(self, "prune-count")
            return
        self.show(text.plain("Counting what this would delete…"), text.plain(""))
        self.load_count(cutoff_ms)

    def cutoff(self, age: str) -> int:
        """The cutoff `age` before now, or one sentence naming the age as typed: an age past
        1970 made a negative cutoff, which the registry refused by its value
        (`got -6843370214978`), a number the operator never typed."""
        age_ms = parse_duration_ms(age)
        now_ms = self.now_ms()
        if age_ms > now_ms:
            raise InvalidRequest(
                f"`{age}` reaches back before 1970: an age is at most {fmt.duration(now_ms)} "
                "(the time since 1970-01-01 UTC)"
            )
        return now_ms - age_ms

    # Exclusive: a count for an age typed over is cancelled (made from the method, so one
    # cancelled before it starts leaves no coroutine un-awaited).
    @work(group="prune-count", exclusive=True, exit_on_error=False, name="load_prune_count")
    async def load_count(self, cutoff_ms: int) -> None:
        try:
            preview = await self.count(cutoff_ms)
        except LashError as error:
            self.show(text.plain(""), text.plain(str(error)))
            return
        self.preview = preview
        if preview.processes == 0:
            cutoff = cutoff_text(preview.cutoff_epoch_ms)
            none = f"No terminal process was last changed before {cutoff}: nothing to prune."
            self.show(text.plain(none), text.plain(""))
        else:
            self.show(text.plain(preview.question()), text.plain(""))
        if needs_typed_count(preview.processes):
            await self.query_one("#prune-guard").mount(TypedCount(preview.processes, "deletes"))
            # Digits typed on No went nowhere. The field takes them unless the operator is
            # in the age field, typing another age (whose recount mounts a new guard).
            if self.query_one("#no", Button).has_focus:
                self.query_one("#typed-count", Input).focus()
        self.query_one("#prune", Button).disabled = not self.ready

    def show(self, preview: Text, error: Text) -> None:
        self.query_one("#prune-preview", Static).update(preview)
        self.query_one("#form-error", Static).update(error)

    @property
    def ready(self) -> bool:
        """A count has arrived for the age shown, is not zero, and is typed if it must be."""
        if self.preview is None or self.preview.processes == 0:
            return False
        guard = self.query("#typed-count-guard").results(TypedCount)
        return all(g.confirmed for g in guard)

    def read(self) -> ProcessPrunePreview:
        if self.preview is None:
            raise InvalidRequest("wait for the count of what this prune would delete")
        if not self.ready:
            if self.preview.processes == 0:
                raise InvalidRequest("nothing to prune at this age")
            raise InvalidRequest(f"type {self.preview.processes:,} to confirm this prune")
        return self.preview
