"""`ProcessWindow`: the slice of the registry the Processes view holds, paged by process id.

A registry can retain a million processes; a DataTable of a million rows takes minutes to
build and hundreds of megabytes to hold. So the view holds a window of at most `WINDOW`
rows matching its query, read with keyset pages (`after_id`/`before_id`), and slides it
when the cursor reaches an edge. The change feed updates rows inside the window's id range
at once; a once-a-second re-read of the window itself catches what the feed cannot say
(lease renewals, grants, pruned rows).

No Textual here: the window is plain state over the facade, tested without an app.
"""

from __future__ import annotations

import asyncio
import bisect
from collections.abc import Iterable

from lashtui.admin import Processes, originated_by_scope
from lashtui.model import ObservedProcess, ProcessPageQuery, process_state

WINDOW = 300  # the most rows held at once: a few screens either side of the cursor
STEP = 100  # rows read when the cursor reaches an edge of the window
# Sorts after every process id (ids are UTF-8 text compared bytewise, and no valid UTF-8
# starts above U+10FFFF's lead byte), so "the page before LAST" is the last page.
LAST = "\U0010ffff" * 4


def matches(query: ProcessPageQuery, process: ObservedProcess) -> bool | None:
    """Whether `process` belongs in the query's results; None when the row alone cannot
    say (a grant lives beside the row, not in it)."""
    if query.states is not None and process_state(process) not in query.states:
        return False
    if query.text:
        text = query.text.lower()
        fields = (process.process_id, process.label or process.kind, process.originator.scope_id())
        if not any(text in field.lower() for field in fields):  # each field, as the SQL does
            return False
    if query.lens == "originated":
        assert query.scope is not None
        return originated_by_scope(process.originator, query.scope)
    if query.lens == "granted":
        return None
    return True


class ProcessWindow:
    """Rows matching `query`, in id order; `at_start`/`at_end` say whether the window
    reaches the first/last matching row (so a new row beyond its edge belongs in it)."""

    def __init__(self, processes: Processes, query: ProcessPageQuery | None = None) -> None:
        self.processes = processes
        self.query = query or ProcessPageQuery()
        self.rows: dict[str, ObservedProcess] = {}
        self.ids: list[str] = []  # sorted keys of `rows`
        self.at_start = True
        self.at_end = True

    def __len__(self) -> int:
        return len(self.ids)

    def ordered(self) -> list[ObservedProcess]:
        return [self.rows[pid] for pid in self.ids]

    # --- reading pages

    async def _page(
        self, limit: int, *, after: str | None = None, before: str | None = None
    ) -> list[ObservedProcess]:
        page = self.query.model_copy(
            update={"after_id": after, "before_id": before, "limit": limit}
        )
        return await self.processes.page(page)

    def _replace(self, rows: Iterable[ObservedProcess], at_start: bool, at_end: bool) -> None:
        self.rows = {p.process_id: p for p in rows}
        self.ids = sorted(self.rows)
        self.at_start, self.at_end = at_start, at_end

    async def load(self, query: ProcessPageQuery, anchor: str | None = None) -> None:
        """Show `query`'s rows around `anchor` (a process id, present or not): half a window
        before it, the rest from it on. No anchor means the first page."""
        self.query = query
        if anchor is None:
            rows = await self._page(WINDOW // 2)
            self._replace(rows, True, len(rows) < WINDOW // 2)
            return
        before = await self._page(WINDOW // 2, before=anchor)
        rest = await self._page(WINDOW // 2, after=before[-1].process_id if before else None)
        self._replace([*before, *rest], len(before) < WINDOW // 2, len(rest) < WINDOW // 2)

    async def load_last(self) -> None:
        rows = await self._page(WINDOW // 2, before=LAST)
        self._replace(rows, len(rows) < WINDOW // 2, True)

    async def extend_down(self) -> bool:
        """Read the next page past the last row; False when there is nothing more."""
        if self.at_end:
            return False
        rows = await self._page(STEP, after=self.ids[-1] if self.ids else None)
        self._merge(rows)
        self.at_end = len(rows) < STEP
        self._trim(keep_end=True)
        return bool(rows)

    async def extend_up(self) -> bool:
        if self.at_start:
            return False
        rows = await self._page(STEP, before=self.ids[0] if self.ids else LAST)
        self._merge(rows)
        self.at_start = len(rows) < STEP
        self._trim(keep_end=False)
        return bool(rows)

    async def reread(self) -> None:
        """Read the window's id range again: lease facts, grants and pruned rows change
        without a change-feed entry, so this is how the window learns of them."""
        if not self.ids:
            await self.load(self.query)
            return
        first = None
        if not self.at_start:
            previous = await self._page(1, before=self.ids[0])
            first = previous[0].process_id if previous else None
        limit = len(self.ids) + (STEP if self.at_end else 0)
        rows = await self._page(max(limit, 1), after=first)
        await asyncio.sleep(0)  # building the rows and comparing them: a turn between
        if not self.at_end:  # keep the range: rows past the old last row are not ours yet
            rows = [p for p in rows if p.process_id <= self.ids[-1]]
        # Keep the rows already held where nothing changed, and let the fresh copies go at
        # once: replacing all of them every second kept ~15k objects alive just long
        # enough to reach the collector's oldest generation, whose full passes then ran
        # about once a second and stalled the loop (benchmarks/d3_loop_lag.py).
        held = self.rows
        rows = [held[p.process_id] if held.get(p.process_id) == p else p for p in rows]
        at_start = self.at_start or first is None
        self._replace(rows, at_start, self.at_end and len(rows) < limit)

    # --- following the change feed

    def in_range(self, process_id: str) -> bool:
        if not self.ids:
            return self.at_start and self.at_end
        after_first = self.at_start or process_id >= self.ids[0]
        before_last = self.at_end or process_id <= self.ids[-1]
        return after_first and before_last

    def apply(self, changed: Iterable[ObservedProcess]) -> bool:
        """Merge changed rows from the feed; True if the window changed. A row whose
        membership the row alone cannot decide (the granted lens) is left to `reread`."""
        touched = False
        for process in changed:
            pid = process.process_id
            belongs = matches(self.query, process)
            if belongs is None:
                belongs = pid in self.rows
            if belongs and self.in_range(pid):
                self._put(process)
                touched = True
            elif pid in self.rows:
                self._remove(pid)
                touched = True
        if touched:
            self._trim(keep_end=False)
        return touched

    def replace_rows(self, observed: dict[str, ObservedProcess]) -> None:
        """Newer facts for rows in the window (e.g. after an action)."""
        for pid, process in observed.items():
            if pid in self.rows:
                self.rows[pid] = process

    # --- bookkeeping

    def _put(self, process: ObservedProcess) -> None:
        pid = process.process_id
        if pid not in self.rows:
            bisect.insort(self.ids, pid)
        self.rows[pid] = process

    def _remove(self, pid: str) -> None:
        del self.rows[pid]
        self.ids.pop(bisect.bisect_left(self.ids, pid))

    def _merge(self, rows: Iterable[ObservedProcess]) -> None:
        for process in rows:
            self._put(process)

    def _trim(self, *, keep_end: bool) -> None:
        """Drop rows beyond `WINDOW` from the end the operator moved away from."""
        excess = len(self.ids) - WINDOW
        if excess <= 0:
            return
        dropped = self.ids[:excess] if keep_end else self.ids[-excess:]
        for pid in dropped:
            del self.rows[pid]
        if keep_end:
            self.ids = self.ids[excess:]
            self.at_start = False
        else:
            self.ids = self.ids[:-excess]
            self.at_end = False
