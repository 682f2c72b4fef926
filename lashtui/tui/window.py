"""`ProcessWindow`: the slice of the registry the Processes view holds, paged in its order.

A registry can retain a million processes; a DataTable of a million rows takes minutes to
build and hundreds of megabytes to hold. So the view holds a window of at most `WINDOW`
rows matching its query, read with keyset pages (`after_id`/`before_id`, with the sort key
of the row a page continues from), and slides it when the cursor reaches an edge. Rows are
held in the query's order: the process id, or (sort key, process id) for the sorted orders,
each row's position computed from the row as the registry computes it (`sort_key`), so a
row the change feed moves (an update moves it in "updated" order) moves in the window too.
The change feed updates rows inside the window's range at once; a once-a-second re-read of
the window itself catches what the feed cannot say (lease renewals, grants, pruned rows).
A row the feed moves out of the range (or pushes out past `WINDOW` rows) still belongs to
the list: `apply` names it in `departed`, so the view can read the window again around it
when it is the selected one, rather than let the cursor land on another process.

A record may be a mebibyte or two (its input; more when another program wrote it), so the
window also holds at most `WINDOW_CHARS` of its rows' JSON, and its pages are cut by size
too (`Processes.page_within`): over large records it holds fewer rows, and slides as
before.

No Textual here: the window is plain state over the facade, tested without an app.
"""

from __future__ import annotations

import asyncio
import bisect
import functools
from collections.abc import Callable, Iterable
from typing import Any

from lashtui.admin import Processes, originated_by_scope
from lashtui.errors import InvalidRequest
from lashtui.model import (
    NEWEST_FIRST,
    PAGE_CHARS,
    ObservedProcess,
    ProcessPageQuery,
    in_states,
    sort_key,
)
from lashtui.tui.counts import StateCounts
from lashtui.tui.rare_state import rare_page, rare_state
from lashtui.tui.row_key import NOT_TEXT, id_place, key_id, row_key, spelled_place
from lashtui.untrusted import SHOWN_CHARS, visible

WINDOW = 300  # the most rows held at once: a few screens either side of the cursor
STEP = 100  # rows read when the cursor reaches an edge of the window
# The most characters of rows' JSON held at once: a page either side of the anchor and one
# read as the cursor moves (each page at most `PAGE_CHARS` plus one row).
WINDOW_CHARS = 3 * PAGE_CHARS
# A load reads on past pages cut by size until it holds this many rows (a tall screen and
# more), or its size budget, or the end: a screen half empty would read as the list's end.
FILL = 100


@functools.total_ordering
class _Reversed:
    """A position that sorts the other way round, so one ascending list (and `bisect`)
    serves descending orders too."""

    __slots__ = ("key",)

    def __init__(self, key: Any) -> None:
        self.key = key

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Reversed) and self.key == other.key

    def __lt__(self, other: _Reversed) -> bool:
        return bool(other.key < self.key)

    def __hash__(self) -> int:
        return hash(self.key)


def placer(query: ProcessPageQuery) -> Callable[..., Any]:
    """Where a row sits in `query`'s order, from its id and sort key, as a value that sorts
    ascending (a page's cursor is those two). `at`: where its id sits among ids (`id_place`),
    when the row is at hand; a text id's otherwise."""
    order = query.order
    reverse = query.descending != (order in NEWEST_FIRST)

    def place(process_id: str, key: Any, at: tuple[int, object] | None = None) -> Any:
        ident = (1, process_id) if at is None else at
        value = ident if order == "id" else (key, ident)
        return _Reversed(value) if reverse else value

    return place


def position(query: ProcessPageQuery) -> Callable[[ObservedProcess], Any]:
    """Where a row sits in `query`'s order, as a value that sorts ascending."""
    order = query.order
    place = placer(query)

    def key(process: ObservedProcess) -> Any:
        found = None if order == "id" else sort_key(order, process)
        key = process.label if found is None else found
        return place(process.process_id, key, id_place(process))

    return key


def matches(query: ProcessPageQuery, process: ObservedProcess) -> bool | None:
    """Whether `process` belongs in the query's results; None when the row alone cannot
    say (a grant lives beside the row, not in it)."""
    if query.states is not None and not in_states(process, query.states):
        return False
    if query.text:
        # Each field as it is shown (cut, then escaped), as the SQL matches it (the
        # registry's sql/shown_text.py): `\x1b` finds the row showing it.
        text = visible(query.text).lower()
        fields = (process.process_id, process.label or process.kind, process.originator.scope_id())
        if not any(text in visible(field[:SHOWN_CHARS]).lower() for field in fields):
            return False
    if query.lens == "originated":
        assert query.scope is not None
        return originated_by_scope(process.originator, query.scope)
    if query.lens == "granted":
        return None
    return True


class ProcessWindow:
    """Rows matching `query`, in its order; `at_start`/`at_end` say whether the window
    reaches the first/last matching row (so a new row beyond its edge belongs in it)."""

    def __init__(
        self,
        processes: Processes,
        query: ProcessPageQuery | None = None,
        census: Callable[[], StateCounts | None] = lambda: None,
    ) -> None:
        self.processes = processes
        # The view's census, when it has one: a rare live state is read by id from it.
        self.census = census
        self._query = query or ProcessPageQuery()
        self.position = position(self._query)
        # Keyed by `row_key` (the id, unless it is not text: a NULL's row and a text row
        # `NULL` are two rows), as are `ids`, `sizes` and `departed`.
        self.rows: dict[str, ObservedProcess] = {}
        self.ids: list[str] = []  # the keys of `rows`, in the query's order
        # (`position`, key) of each of `ids`, ascending: two rows at one position (a text
        # id and a not-text id read alike) are told apart by their keys.
        self.positions: list[tuple[Any, str]] = []
        self.sizes: dict[str, int] = {}  # each held row's JSON, in characters
        self.chars = 0  # their sum
        self.at_start = True
        self.at_end = True
        self.split = 0  # rows the last `load` read before its anchor
        # Rows the last `apply` let go that still match the query: moved past the window's
        # edges (an ended row in status order) or pushed out by rows that came in ahead.
        self.departed: set[str] = set()
        # The query the rows held were last read for: until a load under a new query ends,
        # they are the old query's, and "none match" cannot be said of the new one.
        self.read_for: ProcessPageQuery | None = None

    @property
    def query(self) -> ProcessPageQuery:
        return self._query

    @query.setter
    def query(self, query: ProcessPageQuery) -> None:
        """A new query; the rows held are put in its order (an order change keeps them
        until the reload around the selection replaces them)."""
        self._query = query
        self.position = position(query)
        self._replace(list(self.rows.values()), self.at_start, self.at_end)

    def __len__(self) -> int:
        return len(self.ids)

    def ordered(self) -> list[ObservedProcess]:
        return [self.rows[pid] for pid in self.ids]

    # --- reading pages

    async def _page(
        self,
        limit: int,
        *,
        after: ObservedProcess | None = None,
        before: ObservedProcess | str | None = None,
        query: ProcessPageQuery | None = None,
    ) -> tuple[list[ObservedProcess], bool]:
        """A page of at most `limit` rows, and whether it was cut short by its records' size
        (`Processes.page_within`): then it is not the last, however short."""
        page = (query or self.query).model_copy(update={"limit": limit})
        if isinstance(before, str):  # an id the window does not hold: the registry's key
            page = page.model_copy(update={"before_id": before, "after_id": None})
        elif before is not None:
            page = page.before(before)
        else:
            page = page.after(after)
        counts = self.census()
        state = rare_state(page, counts)
        if state is None or counts is None:
            return await self.processes.page_within(page)
        ids = counts.ids_in(state)
        return await rare_page(
            self.processes, page, state, ids, placer(page), position(page), matches
        )

    async def _fill(
        self,
        limit: int,
        budget: int,
        sizes: dict[str, int],
        *,
        after: ObservedProcess | None = None,
        query: ProcessPageQuery | None = None,
    ) -> tuple[list[ObservedProcess], bool]:
        """Up to `limit` rows after `after`, as `_page` reads them, reading on past pages
        cut by size until `FILL` rows are read or they hold `budget` characters of JSON;
        each row's size is put in `sizes`."""
        rows: list[ObservedProcess] = []
        while True:
            page, cut = await self._page(limit - len(rows), after=after, query=query)
            rows += page
            sizes.update((row_key(p), self._size(p)) for p in page)
            held = sum(sizes[row_key(p)] for p in rows)
            if not cut or len(rows) >= min(limit, FILL) or held >= budget:
                return rows, cut
            after = page[-1]

    def _replace(
        self,
        rows: Iterable[ObservedProcess],
        at_start: bool,
        at_end: bool,
        sizes: dict[str, int] | None = None,
    ) -> None:
        fresh = {row_key(p): p for p in rows}
        known = sizes or {}
        self.sizes = {
            pid: known[pid] if pid in known else self._size(p) for pid, p in fresh.items()
        }
        self.chars = sum(self.sizes.values())
        self.rows = fresh
        self.positions = sorted((self.position(p), key) for key, p in self.rows.items())
        self.ids = [key for _, key in self.positions]
        self.at_start, self.at_end = at_start, at_end

    async def load(self, query: ProcessPageQuery, anchor: str | None = None) -> None:
        """Show `query`'s rows around `anchor` (a row's key, `row_key`, or a process id,
        present or not; in a sorted order the row itself, held by the window or else read
        for its key): half a window before it, the rest from it on. No anchor means the
        first page."""
        held = self.rows.get(anchor) if anchor is not None else None
        self.query = query
        sizes: dict[str, int] = {}
        if anchor is None:
            rows, cut = await self._fill(WINDOW // 2, WINDOW_CHARS, sizes)
            self._replace(rows, True, _last(rows, cut, WINDOW // 2), sizes)
            self._trim(keep_end=False)  # (the last page read may pass the budget)
            self.read_for = query
            return
        try:
            before, cut_before = await self._page(WINDOW // 2, before=held or key_id(anchor))
        except InvalidRequest:  # a sorted order, and the anchor is gone: from the start
            await self.load(query)
            return
        sizes.update((row_key(p), self._size(p)) for p in before)
        budget = WINDOW_CHARS - sum(sizes.values())
        after = before[-1] if before else None
        rest, cut = await self._fill(WINDOW // 2, budget, sizes, after=after)
        at_start = _last(before, cut_before, WINDOW // 2)
        self._replace([*before, *rest], at_start, _last(rest, cut, WINDOW // 2), sizes)
        self._trim(keep_end=False)
        self.split = len(before)
        self.read_for = query

    def key_of(self, anchor: str) -> str | None:
        """The key of the row held that `anchor` (a key, or an id as typed) names: a text
        row's first, as the registry reads an id (blob_id.py: a text row wins its
        spelling), else a row whose id is not text read as it (`row_key`)."""
        if anchor in self.rows:
            return anchor
        key = NOT_TEXT + anchor
        return key if key in self.rows else None

    def nearest(self, anchor: str) -> str | None:
        """The row to select for `anchor` after a load: itself, else the row after where
        it would sit (in id order; in a sorted order, the first row after the rows before)."""
        found = self.key_of(anchor)
        if found is not None or not self.ids:
            return found
        if self.query.order != "id" or self.query.descending:
            return self.ids[min(len(self.ids) - 1, self.split)]
        after = bisect.bisect_left(self.positions, (spelled_place(key_id(anchor)), anchor))
        return self.ids[min(after, len(self.ids) - 1)]

    async def load_last(self) -> None:
        """The last page: the first page of the reversed order, turned round."""
        flipped = self.query.model_copy(update={"descending": not self.query.descending})
        sizes: dict[str, int] = {}
        rows, cut = await self._fill(WINDOW // 2, WINDOW_CHARS, sizes, query=flipped)
        self._replace(rows, _last(rows, cut, WINDOW // 2), True, sizes)
        self._trim(keep_end=True)
        self.read_for = self.query

    async def extend_down(self) -> bool:
        """Read the next page past the last row; False when there is nothing more."""
        if self.at_end:
            return False
        rows, cut = await self._page(STEP, after=self.rows[self.ids[-1]] if self.ids else None)
        self._merge(rows)
        self.at_end = _last(rows, cut, STEP)
        self._trim(keep_end=True)
        return bool(rows)

    async def extend_up(self) -> bool:
        if self.at_start:
            return False
        if not self.ids:
            await self.load_last()
            return bool(self.ids)
        rows, cut = await self._page(STEP, before=self.rows[self.ids[0]])
        self._merge(rows)
        self.at_start = _last(rows, cut, STEP)
        self._trim(keep_end=False)
        return bool(rows)

    async def reread(self) -> None:
        """Read the window's range again: lease facts, grants and pruned rows change
        without a change-feed entry, so this is how the window learns of them."""
        if not self.ids:
            await self.load(self.query)
            return
        # A new query (`>`, a filter) is set at once and its reload queued behind this read
        # (process_filters.py `requery`): from then on what this read holds is of the old
        # query, and its places cannot be compared with the new ones (an id with an age:
        # TypeError, which stopped the dashboard). Each wait below gives up if it came.
        query = self.query
        first = None
        if not self.at_start:
            previous, _ = await self._page(1, before=self.rows[self.ids[0]])
            first = previous[0] if previous else None
            if self.query is not query:
                return
        at_start = self.at_start or first is None
        limit = len(self.ids) + (STEP if self.at_end else 0)
        last = self.positions[-1][0]
        rows: list[ObservedProcess] = []
        while True:  # pages of large records end early: read on to the range's end
            page, cut = await self._page(max(limit - len(rows), 1), after=first)
            rows += page
            await asyncio.sleep(0)  # building the rows and comparing them: a turn between
            if self.query is not query:
                return
            if not cut or len(rows) >= limit:  # (a cut page holds a row at least)
                break
            if not self.at_end and last < self.position(page[-1]):
                break  # past the window's range
            first = page[-1]
        if not self.at_end:  # keep the range: rows past the old last row are not ours yet
            rows = [p for p in rows if not last < self.position(p)]
        # Keep the rows already held where nothing changed, and let the fresh copies go at
        # once: replacing all of them every second kept ~15k objects alive just long
        # enough to reach the collector's oldest generation, whose full passes then ran
        # about once a second and stalled the loop (benchmarks/d3_loop_lag.py).
        held = self.rows
        rows = [held[row_key(p)] if held.get(row_key(p)) == p else p for p in rows]
        self._replace(rows, at_start, self.at_end and _last(rows, cut, limit))
        if self.chars > WINDOW_CHARS:  # new rows at the end, or rows grown since
            self._trim(keep_end=False)

    # --- following the change feed

    def in_range(self, process: ObservedProcess) -> bool:
        if not self.ids:
            return self.at_start and self.at_end
        place = self.position(process)
        after_first = self.at_start or not place < self.positions[0][0]
        before_last = self.at_end or not self.positions[-1][0] < place
        return after_first and before_last

    def apply(self, changed: Iterable[ObservedProcess]) -> bool:
        """Merge changed rows from the feed; True if the window changed. A row whose
        membership the row alone cannot decide (the granted lens) is left to `reread`."""
        touched = False
        departed: set[str] = set()
        for process in changed:
            pid = row_key(process)
            belongs = matches(self.query, process)
            if belongs is None:
                belongs = pid in self.rows
            if belongs and self.in_range(process):
                self._put(process)
                touched = True
            elif pid in self.rows:
                self._remove(pid)
                touched = True
                if belongs:  # still in the list, beyond the window's edge
                    departed.add(pid)
        if touched:
            departed.update(self._trim(keep_end=False))
        self.departed = departed - self.rows.keys()
        return touched

    def replace_rows(self, observed: dict[str, ObservedProcess]) -> None:
        """Newer facts for rows in the window (e.g. after an action)."""
        for process in observed.values():
            if row_key(process) in self.rows:
                self._put(process)

    # --- bookkeeping

    def _size(self, process: ObservedProcess) -> int:
        """The row's JSON in characters (~7 us a row of a few hundred bytes, ~0.7 ms a row
        holding a mebibyte): kept for a row held as it is."""
        pid = row_key(process)
        if self.rows.get(pid) is process:
            return self.sizes[pid]
        return len(process.to_json())  # (an id that is not UTF-8: to_json)

    def _put(self, process: ObservedProcess) -> None:
        pid = row_key(process)
        size = self._size(process)
        if pid in self.rows:
            self._remove(pid)  # its position may have moved (e.g. a newer `updated`)
        place = (self.position(process), pid)
        index = bisect.bisect_left(self.positions, place)
        self.positions.insert(index, place)
        self.ids.insert(index, pid)
        self.rows[pid] = process
        self.sizes[pid] = size
        self.chars += size

    def _remove(self, pid: str) -> None:
        index = bisect.bisect_left(self.positions, (self.position(self.rows.pop(pid)), pid))
        del self.positions[index], self.ids[index]
        self.chars -= self.sizes.pop(pid)

    def _merge(self, rows: Iterable[ObservedProcess]) -> None:
        for process in rows:
            self._put(process)

    def _trim(self, *, keep_end: bool) -> list[str]:
        """Drop rows beyond `WINDOW` rows or `WINDOW_CHARS` characters from the end the
        operator moved away from (one row always stays); the ids dropped."""
        excess, chars = 0, self.chars
        for pid in self.ids if keep_end else reversed(self.ids):
            if excess == len(self.ids) - 1:
                break
            if len(self.ids) - excess <= WINDOW and chars <= WINDOW_CHARS:
                break
            excess += 1
            chars -= self.sizes[pid]
        if excess == 0:
            return []
        dropped = self.ids[:excess] if keep_end else self.ids[-excess:]
        for pid in dropped:
            del self.rows[pid]
            del self.sizes[pid]
        self.chars = chars
        if keep_end:
            self.ids, self.positions = self.ids[excess:], self.positions[excess:]
            self.at_start = False
        else:
            self.ids, self.positions = self.ids[:-excess], self.positions[:-excess]
            self.at_end = False
        return dropped


def _last(rows: list[ObservedProcess], cut: bool, limit: int) -> bool:
    """Whether a page of at most `limit` rows reached the last matching row: it came back
    short, and not because its records' size cut it."""
    return not cut and len(rows) < limit
