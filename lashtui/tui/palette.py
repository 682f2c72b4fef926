"""The command palette (ctrl+p): every view, lens and action by name, and any process by id.

`ProcessIdProvider` looks ids up in the registry as the operator types (a keyset page
filtered by the typed text, so it stays fast on a million rows) and jumps the Processes
view to the chosen one. The app's system commands add the views and actions.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from textual.command import Hit, Hits, Provider

from lashtui.errors import LashError
from lashtui.model import ProcessPageQuery
from lashtui.tui import format as fmt

if TYPE_CHECKING:
    from lashtui.tui.app import LashtuiApp

LOOKUP_LIMIT = 20


class ProcessIdProvider(Provider):
    async def search(self, query: str) -> Hits:
        text = query.strip()
        if not text:
            return
        app: LashtuiApp = self.app  # type: ignore[assignment]
        try:
            rows = await app.dashboard.processes.page(
                ProcessPageQuery(text=text, limit=LOOKUP_LIMIT)
            )
        except LashError:
            return  # a lookup that fails shows no hits; the palette stays usable
        matcher = self.matcher(text)
        for process in rows:
            title = f"process {process.process_id}"
            score = matcher.match(process.process_id) or 0.1  # label or scope matched
            yield Hit(
                score,
                matcher.highlight(title),
                partial(app.jump_to_process, process.process_id),
                help=f"{fmt.badge(process)}  {process.label}  {process.originator.scope_id()}",
            )
