"""The command palette (ctrl+p): every view, lens and action by name, and any process by id.

`action_commands` offers the actions the current screen's keys offer (cancel, signal,
abandon, transfer, run again, end undecodable), on its selection or marked rows, as its
footer does: a key the footer hides (read-only mode, nothing in hand) is not listed; a key it
shows dimmed (a terminal row's cancel) is listed as `Action: Cancel (not offered now)`, its
help saying why in fixed words, and chosen it says why in full, as the dimmed key pressed
does. (Left out, typing `cancel` on an ended row found nothing, as if there were no cancel,
while the footer showed the key; Textual's palette has no dimmed entry of its own.) A lit
one runs the screen's own action, which asks first as the key does; if the row changed
meanwhile (it ended) it says why. Titles and help are fixed words: a stored id never
reaches the palette's markup there.

`ProcessIdProvider` looks ids up in the registry as the operator types (a keyset page
filtered by the typed text, so it stays fast on a million rows) and jumps the Processes
view to the chosen one. The app's system commands add the views and actions.

The palette reads a hit's `str` display and its `help` as markup, so a hit here is built as
`Content` from stored text (the id made visible, highlighted by offset) with no `help`:
the badge, label and scope are its second line.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import TYPE_CHECKING

from textual.app import SystemCommand
from textual.binding import Binding
from textual.command import Hit, Hits, Provider
from textual.content import Content
from textual.fuzzy import Matcher

from lashtui.errors import LashError
from lashtui.model import ProcessPageQuery
from lashtui.tui import format as fmt
from lashtui.tui import text
from lashtui.tui.actions import ACTION_BINDINGS, ProcessActions
from lashtui.tui.targets import LEFT_OUT_WHY, left_out_why, unavailable
from lashtui.untrusted import bounded, visible

if TYPE_CHECKING:
    from lashtui.tui.app import LashtuiApp

LOOKUP_LIMIT = 20


def action_commands(screen: object) -> Iterator[SystemCommand]:
    """`Action: Cancel`, ... for each action key `screen` offers now (its `check_action`
    says True: the footer shows it lit), on what the key would act on; and `Action: Cancel
    (not offered now)`, ... for each it shows dimmed (None)."""
    if not isinstance(screen, ProcessActions):
        return
    marked = len(screen.marked_ids())
    on = f"the {marked:,} marked processes" if marked else "the selected process"
    for binding in ACTION_BINDINGS:
        if not isinstance(binding, Binding):
            continue
        offered = screen._screen.check_action(binding.action, ())
        if offered is False:  # hidden in the footer too
            continue
        title, help_text = f"Action: {binding.description}", f"on {on} (key {binding.key})"
        if offered is True:
            help_text += "; asks first"
        else:
            title += " (not offered now)"
            help_text = f"{dimmed_why(screen, binding.action)} (key {binding.key} is dimmed)"
        yield SystemCommand(title, help_text, partial(act, screen, binding.action))


def dimmed_why(screen: ProcessActions, action: str) -> str:
    """Why a dimmed action does not apply, in fixed words (the palette reads help as
    markup: the full sentence, which names the row, is said when it is chosen)."""
    process = screen.target()
    why = left_out_why(action, process) if process is not None else None
    if why is None:  # (the detail of a process no longer in the registry)
        return "not offered for the selected process now"
    return f"the selected process {LEFT_OUT_WHY[why][0]}"


async def act(screen: ProcessActions, action: str) -> None:
    """Run `action` as its key would on `screen`: through its own handler (which asks
    first), and only while it is still offered; if it no longer is, say why."""
    shown = screen._screen
    if shown.app.screen is not shown:
        return  # the palette closed onto another screen
    if shown.check_action(action, ()) is not True:
        process = screen.target()
        why = unavailable(action, process) if process is not None else None
        said = why or f"{action} is no longer offered here"
        text.say(shown, said, title="not offered", severity="warning")
        return
    await shown.run_action(action)


def highlighted(matcher: Matcher, candidate: str) -> Content:
    """`Matcher.highlight` without its markup reading: the candidate (already visible) is
    plain `Content`, and the matched characters are styled by offset."""
    shown = Content(candidate)
    _, offsets = matcher.fuzzy_search.match(matcher.query, candidate)
    for offset in offsets:
        if not candidate[offset].isspace():
            shown = shown.stylize(matcher.match_style, offset, offset + 1)
    return shown


class ProcessIdProvider(Provider):
    async def search(self, query: str) -> Hits:
        typed = query.strip()
        if not typed:
            return
        app: LashtuiApp = self.app  # type: ignore[assignment]
        try:
            rows, _ = await app.dashboard.processes.page_within(  # (a cut: fewer hits)
                ProcessPageQuery(text=typed, limit=LOOKUP_LIMIT)
            )
        except LashError:
            return  # a lookup that fails shows no hits; the palette stays usable
        matcher = self.matcher(typed)
        for process in rows:
            shown = bounded(process.process_id)  # a stored id may be megabytes long
            title = f"process {visible(shown)}"
            score = matcher.match(shown) or 0.1  # label or scope matched
            facts = text.content(
                f"{fmt.badge(process)}  {process.label}  {process.originator.scope_id()}",
                "dim",
            )
            yield Hit(
                score,
                Content("\n").join([highlighted(matcher, title), facts]),
                partial(app.jump_to_process, process.process_id),
                text=title,
            )
