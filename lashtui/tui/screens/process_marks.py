"""The Processes view's marks: `space` marks the selected process, `*` every process the
lens and filters match (up to `MARK_LIMIT`), Esc drops them; an action then applies to the
marked processes rather than the selection (`ProcessActions.targets`). A mixin of
`ProcessesScreen`, kept apart because it is the part of the view that gathers a bulk
action's processes; the marks are an ordered set of rows' keys (tui/row_key.py: the ids,
unless one is not text), kept across refreshes and pages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lashtui.errors import LashError
from lashtui.tui import text
from lashtui.tui.row_key import row_key
from lashtui.tui.screens.mixin import ScreenMixin
from lashtui.tui.widgets.process_table import ProcessTable

if TYPE_CHECKING:
    from collections.abc import Sequence

    from lashtui.model import ObservedProcess, ProcessPageQuery
    from lashtui.tui.context import Dashboard
    from lashtui.tui.window import ProcessWindow

MARK_LIMIT = 10_000  # "mark all matching" stops here: a bulk action is one call per row


class ProcessMarks(ScreenMixin):
    if TYPE_CHECKING:  # provided by ProcessesScreen and ProcessFilters
        dashboard: Dashboard
        window: ProcessWindow
        marked: dict[str, None]

        @property
        def page_query(self) -> ProcessPageQuery: ...
        def selected_id(self) -> str | None: ...
        def render_window(self, select: str | None = None) -> None: ...
        def action_clear_all(self) -> None: ...

    def marked_ids(self) -> list[str]:
        return list(self.marked)

    def marked_rows(self) -> list[ObservedProcess]:
        rows = self.window.rows
        return [rows[pid] for pid in self.marked if pid in rows]

    def forget_marks(self, gone: Sequence[str]) -> None:
        for process_id in gone:
            self.marked.pop(process_id, None)
        self.render_window()  # (the status line's count of marks)
        self.refresh_bindings()

    def action_mark(self) -> None:
        selected = self.selected_id()
        if selected is None:
            return
        if selected in self.marked:
            del self.marked[selected]
        else:
            self.marked[selected] = None
        self.render_window()
        self.refresh_bindings()
        self.query_one(ProcessTable).action_cursor_down()

    def action_mark_all(self) -> None:
        self.run_worker(self.mark_all(), group="marks", exclusive=True, name="load_marks")

    async def mark_all(self) -> None:
        """Mark every process matching the lens and filters, page by page, up to a limit."""
        query = self.page_query.after(None).model_copy(update={"limit": 1_000})
        try:  # pages bounded by their records' size too (`Processes.pages`)
            async for rows in self.dashboard.processes.pages(query):
                for process in rows[: MARK_LIMIT - len(self.marked)]:
                    self.marked[row_key(process)] = None
                if len(self.marked) >= MARK_LIMIT:
                    break
        except LashError as error:
            text.say(self, str(error), title="marking stopped", severity="error")
        if len(self.marked) >= MARK_LIMIT:
            text.say(self, f"marked the first {MARK_LIMIT:,} matching processes", title="marks")
        self.render_window()
        self.refresh_bindings()

    def action_clear(self) -> None:
        """Esc: drop the marks first; then the lens and filters."""
        if self.marked:
            self.marked.clear()
            self.render_window()
            self.refresh_bindings()
        else:
            self.action_clear_all()
