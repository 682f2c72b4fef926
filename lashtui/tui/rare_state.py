"""Pages of a rare live state, read by id from the census the Processes view holds.

Whether a running row waits lives in its JSON, so the registry serves a `waiting` filter (or
a `running` one) by walking every running row and testing it: with 100,000 running and none
or a few of them waiting, one page read every running record, 0.75-2.8 s on the benchmarks'
million-row registry (benchmarks/d2_sorted.py). The view already knows every live row's
state: its census, kept current by the change feed (tui/counts.py). So when the live state
asked for alone has at most `FEW` rows, a page reads those rows by id, and the registry only
the page's other (terminal) states; the two are merged in the page's order.

Exact as of the feed: a row read here is held to the query as it is now (`matches`), so one
that left the state since the census is dropped; one that entered it reaches the window
through the feed, which moves the census and the window together. A lens of grants is left
to the registry (whether a row is granted is not in the row), as is a live state with more
than `FEW` rows: those are dense enough among the running rows for the walk to find a page
quickly (500 in 100,000: a page's 150 after ~30,000 rows).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lashtui.admin import Processes
from lashtui.errors import InvalidRequest
from lashtui.model import LIVE_STATES, ObservedProcess, ProcessPageQuery, process_state
from lashtui.tui.counts import StateCounts
from lashtui.tui.row_key import row_key, spelled_place

FEW = 500  # the most live rows of one state read by id for a page (each is decoded)
READ_CHUNK = 50  # of those, read (and held) at once

Place = Callable[[ObservedProcess], Any]


def rare_state(query: ProcessPageQuery, counts: StateCounts | None) -> str | None:
    """The live state `query` asks for alone when the census holds few rows of it."""
    if counts is None or query.states is None or query.lens == "granted":
        return None
    asked = [state.value for state in LIVE_STATES if state in query.states]
    if len(asked) != 1 or counts.tally[asked[0]] > FEW:
        return None
    return asked[0]


async def rare_page(
    processes: Processes,
    query: ProcessPageQuery,
    state: str,
    ids: list[str],
    at: Callable[..., Any],
    place: Place,
    matches: Callable[[ProcessPageQuery, ObservedProcess], bool | None],
) -> tuple[list[ObservedProcess], bool]:
    """`query`'s page, its `state` rows read from `ids` (the census's, ascending), the rest
    of its states from the registry; in `place` order (ascending), as the registry pages;
    and whether the registry's part was cut short by its records' size (`page_within`),
    so that the page stops at its last row and is not the last."""
    rest = query.states - {state} if query.states is not None else frozenset()
    rows: list[ObservedProcess] = []
    cut = False
    if rest:
        rows, cut = await processes.page_within(query.model_copy(update={"states": rest}))
    bound = await _cursor_place(processes, query, at, place)
    nearest = _nearest(query, ids, bound)
    candidates = await _read(processes, query, nearest, state, matches, place, bound)
    found = {row_key(p): p for p in candidates}
    found.update({row_key(p): p for p in rows})  # a row in both: the registry's read
    beyond = [p for p in found.values() if bound is None or _past(query, place(p), bound)]
    beyond.sort(key=place)
    if cut:  # rows of the other states past the registry's last may come before the rest
        edge = place(rows[0] if query.backwards else rows[-1])
        beyond = [p for p in beyond if not _past(query, place(p), edge)]
    return (beyond[-query.limit :] if query.backwards else beyond[: query.limit]), cut


def _past(query: ProcessPageQuery, at: Any, bound: Any) -> bool:
    return bool(at < bound) if query.backwards else bool(bound < at)


def _nearest(query: ProcessPageQuery, ids: list[str], bound: Any) -> list[str]:
    """In id order, the ids from the cursor on, nearest first (they are all a page can
    use); in a sorted order every id, since their keys are in the rows."""
    if query.order != "id":
        return ids
    down = query.descending != query.backwards
    # In the registry's id order (NULL ids first by rowid, blobs last: `spelled_place`),
    # not the text's: `NULL#10` sorts before `NULL#9` there, and every NULL row before
    # the text row `NULL`, which the read stopped short of or passed over.
    ordered = sorted(ids, key=spelled_place, reverse=down)
    if query.cursor is None:
        return ordered
    cursor = spelled_place(query.cursor[0])
    return [
        pid for pid in ordered
        if (spelled_place(pid) < cursor if down else spelled_place(pid) > cursor)
    ]  # fmt: skip


async def _read(
    processes: Processes,
    query: ProcessPageQuery,
    ids: list[str],
    state: str,
    matches: Callable[[ProcessPageQuery, ObservedProcess], bool | None],
    place: Place,
    bound: Any,
) -> list[ObservedProcess]:
    """The rows of `ids` still in `state`, matching the query and past the cursor, read
    `READ_CHUNK` at a time in id order; only the `query.limit` nearest the cursor are kept
    as they come (in id order the ids come nearest first, so the read stops there). So a
    chunk and a page of rows are held at most, however many ids the census has (a record
    may be a mebibyte, and a sorted order reads every id)."""
    kept: list[ObservedProcess] = []
    for start in range(0, len(ids), READ_CHUNK):
        chunk = ids[start : start + READ_CHUNK]
        observed = await processes.observe(chunk)
        for pid in chunk:
            process = observed.get(pid)
            if (
                process is not None
                and process_state(process) == state
                and matches(query, process)
                and (bound is None or _past(query, place(process), bound))
            ):
                kept.append(process)
        kept.sort(key=place)
        kept = kept[-query.limit :] if query.backwards else kept[: query.limit]
        if query.order == "id" and len(kept) >= query.limit:
            break
    return kept


async def _cursor_place(
    processes: Processes, query: ProcessPageQuery, at: Callable[..., Any], place: Place
) -> Any:
    """Where the page's cursor row sits; its row is read when the query has only its id
    (in a sorted order, as the registry reads it, and refused the same way when gone)."""
    if query.cursor is None:
        return None
    process_id, key = query.cursor
    if query.order == "id" or key is not None:
        return at(process_id, key, spelled_place(process_id))
    cursor = await processes.observe([process_id])
    if process_id not in cursor:
        raise InvalidRequest(f"no process `{process_id}` to page from in `{query.order}` order")
    return place(cursor[process_id])
