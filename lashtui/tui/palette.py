"""The command palette (ctrl+p): every view, lens and action by name, and any process by id.

`ProcessIdProvider` looks ids up in the registry as the operator types (a keyset page
filtered by the typed text, so it stays fast on a million rows) and jumps the Processes
view to the chosen one. The app's system commands add the views and actions.

The palette reads a hit's `str` display and its `help` as markup, so a hit here is built as
`Content` from stored text (the id made visible, highlighted by offset) with no `help`:
the badge, label and scope are its second line.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from textual.command import Hit, Hits, Provider
from textual.content import Content
from textual.fuzzy import Matcher

from lashtui.errors import LashError
from lashtui.model import ProcessPageQuery
from lashtui.tui import format as fmt
from lashtui.tui import text
from lashtui.untrusted import bounded, visible

if TYPE_CHECKING:
    from lashtui.tui.app import LashtuiApp

LOOKUP_LIMIT = 20


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
