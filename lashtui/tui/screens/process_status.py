"""The Processes view's status line: the engine's state (the embedded worker, read-only or
observer), the counts by state, the lens, filters and order, the marks, a selected process
that left the list, and the last error. A mixin of `ProcessesScreen`, kept apart because it
is the part of the view that says what the view is showing, and it is drawn on every
refresh: it repaints only when its text changed, and lays the screen out again only when
its number of lines changed.
"""

from __future__ import annotations

import functools
import io
from typing import TYPE_CHECKING

from rich.console import Console
from rich.text import Text
from textual.css.query import NoMatches
from textual.widgets import Static

from lashtui.tui import format as fmt
from lashtui.tui import pause, text
from lashtui.tui.row_key import key_id
from lashtui.tui.screens.mixin import ScreenMixin
from lashtui.tui.widgets.process_table import ProcessTable
from lashtui.untrusted import visible_clipped

if TYPE_CHECKING:
    import asyncio

    from lashtui.model import ProcessPageQuery
    from lashtui.tui.context import Dashboard
    from lashtui.tui.counts import StateCounts
    from lashtui.tui.window import ProcessWindow

# How long the status line says the embedded worker warned of a problem (`engine_state`).
RECENT_PROBLEM_MS = 60_000
LOST_CHARS = 60  # of the id of a selected process that left the list, in the status line
PART_GAP, PAIR_GAP = "  ·  ", "  "  # between the line's parts; between two states' counts
# The status line's most lines (app.tcss `#engine-status` `max-height`): past them it is cut.
STATUS_LINES = 4


def laid_out(parts: list[str | list[str]], width: int) -> list[Text]:
    """The status line in lines of at most `width` cells, broken only between two parts or
    two of the counts' pairs (`parts`' lists): wrapped at any space, a badge and its count
    were split on a narrow terminal (`☠` at the end of one line, `abandoned 3` at the start
    of the next). What goes first when the line does not fit is the break: the whole pair
    or part that would cross the edge starts the next line, its separator dropped. Nothing
    is dropped or shortened, as every part says something that is so (the engine's state,
    the counts, the filters, an error); a part wider than a line (a long error) starts a
    line of its own and wraps inside. Each line a `Text` of the parts as drawn (never read
    as markup), for `text.joined`."""
    lines: list[Text] = []
    for part in parts:
        for n, piece in enumerate([part] if isinstance(part, str) else part):
            gap, shown = PAIR_GAP if n else PART_GAP, text.plain(piece)  # (as it is drawn)
            if lines and lines[-1].cell_len + len(gap) + shown.cell_len <= width:
                lines[-1].append(gap)
                lines[-1].append_text(shown)
            else:
                lines.append(shown)
    return lines


def drawn_height(lines: list[Text], width: int) -> int:
    """How many lines `lines` take drawn `width` cells wide: a part wider than a line wraps
    inside, at spaces, as the Static wraps it."""
    if width < 1:
        return len(lines)
    console = _measuring()
    return sum(len(line.wrap(console, width)) for line in lines)


@functools.cache
def _measuring() -> Console:
    """A console that only measures (wrapping needs one; nothing is written to it)."""
    return Console(file=io.StringIO(), width=1000)


def with_error(parts: list[str | list[str]], error: str, width: int) -> tuple[list[Text], int]:
    """The status line with an error in it, and the lines it may take. The error is said
    whole: last when everything fits in `STATUS_LINES`; else first, and then as many of the
    other parts (the engine's state and counts first, the filter badges later) as fit in
    the lines left, those that do not fit said as a count of them (`+3 more`). With many
    filters at 60 columns the error came last and was cut at the fourth line. An error
    that alone takes more lines than that gets them all (the line grows for it)."""
    whole = laid_out([*parts, error], width)
    if drawn_height(whole, width) <= STATUS_LINES:
        return whole, STATUS_LINES
    lines = max(STATUS_LINES, drawn_height(laid_out([error], width), width))
    for kept in range(len(parts) - 1, -1, -1):
        # (short, to leave room for what is kept: the parts a wider terminal shows)
        shown = laid_out([error, *parts[:kept], f"+{len(parts) - kept} more"], width)
        if drawn_height(shown, width) <= lines:
            return shown, lines
    return laid_out([error], width), lines


class ProcessStatus(ScreenMixin):
    if TYPE_CHECKING:  # provided by ProcessesScreen and ProcessFilters
        dashboard: Dashboard
        window: ProcessWindow
        loaded: asyncio.Event
        paused: bool
        counts: StateCounts | None
        marked: dict[str, None]
        status_name: str
        last_error: str | None
        command_error: str | None
        status_line: str
        _status_width: int

        @property
        def page_query(self) -> ProcessPageQuery: ...
        def describe_order(self) -> str | None: ...

    def on_resize(self) -> None:
        self.show_status()  # (the line's breaks depend on the width)

    def show_status(self) -> None:
        parts: list[str | list[str]] = []
        if self.paused:
            parts.append(pause.PAUSED)
        parts.append(self.engine_state())
        if self.counts is not None:
            counts = self.counts.counts()
            self.dashboard.pulse.counts = counts
            pairs = [f"{fmt.count_label(s)} {n:,}" for s, n in counts.items() if n]
            parts.append(pairs or "no processes")
        filters = self.filters()
        parts.extend(filters)
        if filters and (matched := self.matched()) is not None:
            parts.append(matched)
        if order := self.describe_order():
            parts.append(order)
        if self.marked:
            parts.append(f"{len(self.marked):,} marked (Esc unmarks)")
        if (lost := self.lost_id()) is not None:
            # (the row's key: an id that is not text is named as its row is listed)
            shown = visible_clipped(key_id(lost), LOST_CHARS)
            parts.append(f"{shown} left the list: no process selected (↑/↓ select one)")
        errors = [self.last_error, self.command_error]  # (a read's; a `:` command refused)
        error = "; ".join(f"error: {e}" for e in errors if e) or None
        try:
            status = self.query_one("#engine-status", Static)
        except NoMatches:
            return
        self.show_empty()
        said = [*parts, error] if error else parts
        line = PART_GAP.join(p if isinstance(p, str) else PAIR_GAP.join(p) for p in said)
        width = self.size.width - status.gutter.width
        if (line, width) == (self.status_line, self._status_width):
            return  # most refreshes change nothing: no repaint then
        self.status_line, self._status_width = line, width
        laid, most = with_error(parts, error, width) if error else (laid_out(parts, width), 0)
        status.styles.max_height = most if most > STATUS_LINES else None  # (app.tcss's)
        drawn = text.joined(laid)
        # layout=False while the line keeps its number of lines: a layout of the screen
        # repaints every widget on it, the table's scrollbar included, which made a count
        # moving under churn cost a whole-screen repaint. On a narrow terminal the line
        # wraps (app.tcss); a change in how many lines it takes needs the layout.
        status.update(drawn, layout=False)
        width, height = status.content_size
        if width:
            status.clear_cached_dimensions()
            if status.get_content_height(status.size, self.app.size, width) != height:
                status.refresh(layout=True)

    def empty_note(self) -> str | None:
        """What the list says under its headers while it holds no row: `reading…` until
        the read for the lens and filters is in, then `no processes` (or `no process
        matches`, under filters); None with rows, or after a failed read (the status line
        says the error, and nothing was read to be empty). Under load the list showed only
        its headers for seconds, as an empty registry's did."""
        if self.query_one(ProcessTable).row_count:
            return None
        window = self.window
        if self.last_error is not None:
            return None
        if not self.loaded.is_set() or window.read_for != window.query:
            return "reading…"
        if window.rows:
            return None  # (on screen at the next render)
        return "no process matches" if self.filters() else "no processes"

    def show_empty(self) -> None:
        note = self.empty_note()
        if note is not None:
            self.query_one("#process-empty", Static).update(text.plain(note))
        self.set_class(note is not None, "-empty")

    def matches_none(self) -> bool:
        """Whether the last read found no row for the lens and filters: the list showed only
        its column headers, beside counts per state for the whole registry, and an empty
        list looked like one still being read. (Not after a failed read: it read nothing.)"""
        window = self.window
        read = window.read_for == window.query and self.last_error is None
        return self.loaded.is_set() and read and not window.rows

    def matched(self) -> str | None:
        """How many processes the lens and filters match, as far as the view knows it: `3
        of 11 match` (of every process counted), exactly when the window holds every match
        (it reached both ends) or when only states filter (the census counts each state);
        else `at least 300 of 1,000,000 match`, the rows the window holds. None while the
        read for the filters is not in (or failed): the rows held answer other filters.
        The filtered view said no count at all, but "no process matches" when none did."""
        if self.matches_none():
            return "no process matches"
        window, query = self.window, self.page_query
        if window.read_for != query or self.last_error is not None:
            return None
        count, exact = len(window.rows), window.at_start and window.at_end
        census = self.counts
        states = query.states if query.lens == "all" and not query.text else None  # alone
        if not exact and census is not None and states is not None:
            counts = census.counts()
            count, exact = sum(counts.get(state, 0) for state in states), True
        of = f" of {census.total():,}" if census is not None else ""
        verb = "matches" if count == 1 and exact else "match"
        return f"{'' if exact else 'at least '}{count:,}{of} {verb}"

    def lost_id(self) -> str | None:
        try:
            return self.query_one(ProcessTable).lost
        except NoMatches:
            return None

    def filters(self) -> list[str]:
        query = self.page_query
        shown = []
        if query.lens != "all" and query.scope is not None:
            lens = "granted to" if query.lens == "granted" else "originated by"
            shown.append(f"{lens} {query.scope.id()}")
        if self.status_name != "all":
            shown.append(f"status {self.status_name}")
        if query.text:
            shown.append(f'matching "{query.text}"')
        if shown:
            # Esc drops the marks first (`action_clear`): the hint said it cleared these.
            shown[-1] += " (a second Esc clears)" if self.marked else " (Esc clears)"
        return shown

    def engine_state(self) -> str:
        worker = self.dashboard.worker
        if self.dashboard.read_only:
            # Why, when the operator did not ask for it: the header says it too, but a
            # header is one line, and at 80 columns it cut `read-only: no write permission
            # on the file` after the path. This line wraps; nothing in it is cut.
            why = self.dashboard.read_only_why
            said = "" if why == "--read-only" else f" ({why})"
            return f"read-only{said}: observing, no actions"
        if worker is None:
            return "observer: no embedded worker"
        in_flight, drives = len(worker.in_flight), worker.stats.drives
        draining = ", draining a backlog" if worker.stats.draining_since_ms is not None else ""
        owner = fmt.owner(worker.owner)
        state = f"worker {owner}: {in_flight} in flight, {drives} drives{draining}"
        # A recent warning is said here too, where the operator looks (Health has it whole).
        last = self.dashboard.worker_problems.last
        now_ms = self.dashboard.clock.now_ms()
        if last is not None and now_ms - last[0] < RECENT_PROBLEM_MS:
            state += f", a problem {fmt.ago(last[0], now_ms)} (4: Health says what)"
        return state
