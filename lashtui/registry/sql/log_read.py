"""Reading a process's event log a page at a time, each page bounded by its size as well as
by its count (lashtui's extensions to lash's `events_after` and `recent_events`), the
sequences of the wakes nobody has taken delivery of, and the first event of a type after a
sequence (an awaiter's poll, a claim's cancel lookup: `first_of_type`).

An event's payload may be a mebibyte (the write limit, `lashtui.model.limit`) and a log has
no length limit, so a page of 2,000 events could be 2 GiB, and a reader that holds a whole
log holds whatever another program wrote. With `max_chars` a page ends with the event whose
stored JSON takes the page's total to `max_chars` characters or past it (one event at
least, when there is one): a page never holds more than `max_chars` plus one event.

On SQLite the rows past the cut are never stepped; on PostgreSQL the server makes the cut
from each event's stored size, without fetching it (fetch.py `sized_page`).
"""

from __future__ import annotations

import functools

from lashtui.errors import InvalidRequest
from lashtui.model import CANCEL_REQUESTED, ProcessEvent
from lashtui.registry.sql.dialect import Dialect, Tx, dialect, has_backslash
from lashtui.registry.sql.event_row import event_columns, event_columns_in, event_row
from lashtui.registry.sql.fetch import Statement, sized_page
from lashtui.registry.sql.page import check_limit, check_size
from lashtui.registry.sql.row import Row, fetch_rows, require_exists

# The largest sequence a registry stores: lash persists a sequence as a signed 64-bit
# integer and refuses to append past it ("process event sequence exceeds the signed 64-bit
# persistence domain"), as PostgreSQL's bigint does. A log that ends there takes no event
# (event.py `next_sequence`), and a claim to run does not run its row (`run_facts_each`).
LAST_SEQUENCE = 2**63 - 1

# The pages `pending_wake_sequences` reads the un-acked events in.
WAKE_PAGE = 500
WAKE_PAGE_CHARS = 4 << 20


def events_after(
    conn: Tx,
    process_id: str,
    after: int,
    limit: int | None = None,
    max_chars: int | None = None,
) -> list[ProcessEvent]:
    """The events above sequence `after`, in order: the first `limit` of them, cut at
    `max_chars` (each optional)."""
    _check(limit, max_chars)
    require_exists(conn, process_id)
    source = "FROM process_events e WHERE e.process_id = ? AND e.sequence > ?"
    rows = page_rows(conn, source, (process_id, after), "sequence ASC", limit, max_chars)
    return [event_row(row) for row in rows]


def recent(
    conn: Tx,
    process_id: str,
    limit: int,
    before: int | None = None,
    max_chars: int | None = None,
) -> list[ProcessEvent]:
    """The newest `limit` events (below sequence `before`, when given), in order, cut at
    `max_chars` counted from the newest: the page holds the newest events that fit."""
    require_exists(conn, process_id)  # (first, as lash's read checks)
    if limit < 0:
        raise InvalidRequest(f"a recent-events limit must be >= 0, got {limit}")
    _check(None, max_chars)
    source = "FROM process_events e WHERE e.process_id = ?"
    params: tuple[object, ...] = (process_id,)
    if before is not None:
        source, params = f"{source} AND e.sequence < ?", (process_id, before)
    rows = page_rows(conn, source, params, "sequence DESC", limit, max_chars)
    return [event_row(row) for row in reversed(rows)]


# The un-acked events of a process above a sequence (bound in that order), events aliased `e`.
UNACKED = (
    "FROM process_events e LEFT JOIN process_wake_acks a "
    "ON a.process_id = e.process_id AND a.sequence = e.sequence "
    "WHERE e.process_id = ? AND e.sequence > ? AND a.sequence IS NULL"
)


def wake_events_after(conn: Tx, process_id: str, after: int) -> list[ProcessEvent]:
    """Wake-bearing events after `after` that nobody has acked yet (lash's read: the whole
    list)."""
    require_exists(conn, process_id)
    rows = page_rows(conn, UNACKED, (process_id, after), "sequence ASC", None, None)
    events = (event_row(row) for row in rows)
    return [event for event in events if event.semantics.wake is not None]


def pending_wake_sequences(conn: Tx, process_id: str, after: int = 0) -> list[int]:
    """The sequences `wake_events_after(process_id, after)` would list (wake-bearing events
    nobody has acked), without holding the log: the un-acked events are read in bounded
    pages, and only those whose stored JSON may name a wake at all (it holds `"wake"`, or a
    backslash, behind which an escape could spell it) are decoded (a log of plain events
    was decoded whole at each read of the process detail). The search still reads every
    event's bytes past `after` (~1.3 ms a mebibyte): a reader that knew the answer up to a
    sequence asks past it."""
    require_exists(conn, process_id)
    source = f"{UNACKED} AND {_may_name_wake('e.event_json', conn)}"
    found: list[int] = []
    params = (process_id, after)
    while page := page_rows(conn, source, params, "sequence ASC", WAKE_PAGE, WAKE_PAGE_CHARS):
        events = (event_row(row) for row in page)
        found += [event.sequence for event in events if event.semantics.wake is not None]
        params = (process_id, int(page[-1][2]))  # event_columns: the sequence is the third
    return found


def page_rows(
    conn: Tx,
    source: str,
    params: tuple[object, ...],
    order_by: str,
    limit: int | None,
    max_chars: int | None,
) -> list[Row]:
    """`SELECT` `event_columns` `{source}` (its events aliased `e`) in the order of `order_by`
    (columns of the events table with their directions: `"sequence DESC"`), at most `limit`
    rows, cut at `max_chars` as the module docstring says (fetch.py `sized_page`).

    Every page reads on from the sequence of its last event, so only events whose sequence
    is a whole number are read (`in_log`): another program may store any value there
    on SQLite, and a text there ended every page, which `lashtui events` read for ever."""
    columns = event_columns(conn, "e.")
    order = [f"e.{part.strip()}" for part in order_by.split(",")]
    source += in_log(conn, "e.sequence")
    return sized_page(conn, columns, source, params, order, limit, max_chars)


def in_log(conn: Tx, column: str) -> str:
    """The condition (with a leading AND) that the sequence in `column` places its event in
    the log: a whole number from 1 up (semantics §4.3). Only another program stores any
    other: on SQLite a text, a blob or a real (it keeps any value in the column), on both
    stores a number below 1. Every read of the log leaves such an event out, and
    `events_left_out` counts it: a cancel request stored under a text sequence was shown
    by `ls` and `show` and cancelled the worker's run, while `events` and the timeline
    left it out; one under -3 was left out of `events` unsaid, while `ls` said "cancel
    requested"."""
    return f"{dialect(conn).whole_only(column)} AND {column} > 0"


def events_left_out(conn: Tx, process_id: str) -> int:
    """How many of the process's events the log's reads leave out (`in_log`): those whose
    sequence is no whole number from 1 up, which only another program can store (SQLite
    keeps any value in the column; PostgreSQL's holds whole numbers, below 1 too), so that
    a reader can say that its timeline is not the whole log. One walk of the process's
    part of the log's key."""
    require_exists(conn, process_id)
    not_whole = dialect(conn).not_whole("e.sequence")
    condition = "e.sequence < 1" if not_whole is None else f"({not_whole} OR e.sequence < 1)"
    (count,) = conn.execute(
        f"SELECT count(*) FROM process_events e WHERE e.process_id = ? AND {condition}",
        (process_id,),
    ).fetchone()
    return int(count)


def _may_name_wake(column: str, conn: Tx) -> str:
    """Whether the JSON text in `column` may hold the key `wake`: a byte search for `"wake"`
    or a backslash (on SQLite in the text's bytes: its `instr` on text counts characters)."""
    on_server = dialect(conn).may_hold_key(column, "wake")
    if on_server is not None:
        return on_server
    blob = f"CAST({column} AS BLOB)"
    return f"(instr({blob}, CAST('\"wake\"' AS BLOB)) > 0 OR {has_backslash(column)})"


def _check(limit: int | None, max_chars: int | None) -> None:
    if limit is not None:
        check_limit(limit, "an event-page", least=1)  # (0 would page for ever)
    check_size(max_chars, "an event-page")


# --- the first event of a type after a sequence ------------------------------------------


@functools.cache
def _selected_events(sql: Dialect) -> str:
    """`SELECT` and the events' columns, for the reads of the first event of a type (a
    claim's cancel lookup: made once per dialect)."""
    return f"SELECT {', '.join(event_columns_in(sql, ''))} FROM process_events "


def first_of_type(
    conn: Tx, process_id: str, event_type: str, after: int
) -> ProcessEvent | None:
    """`first_after` for a row known to exist. A range of the primary key (process_id,
    sequence); only the one match is decoded."""
    rows = fetch_rows(conn, *first_of_type_statement(conn, process_id, event_type, after))
    return event_row(rows[0]) if rows else None


def first_of_type_statement(
    conn: Tx, process_id: str, event_type: str, after: int
) -> Statement:
    """`first_of_type`'s read (for `read_ahead`)."""
    return (
        f"{_selected_events(dialect(conn))}WHERE process_id = ? AND sequence > ? "
        f"AND event_type = ?{in_log(conn, 'sequence')} ORDER BY sequence LIMIT 1",
        (process_id, after, event_type),
    )


def run_facts_each(
    conn: Tx, process_ids: list[str]
) -> tuple[dict[str, ProcessEvent], dict[str, int]]:
    """What a claim to run reads in the logs of rows known to exist, in one read: each id's
    first cancel request, for the ids that have one, and the last sequence of each whose
    log ends at `LAST_SEQUENCE`, for which no terminal can ever be written (its run would
    do its work and then not record it: a rerunnable row so refused was run again by
    every worker that claimed it).

    The full logs are a second arm of the cancel read (a seek a row on the key, which only
    a log another program wrote ever answers), not a statement of their own: every row a
    worker drains goes through here."""
    if not process_ids:
        return {}, {}
    rows = fetch_rows(conn, *run_facts_statement(conn, process_ids))
    first: dict[str, Row] = {}
    full: dict[str, int] = {}
    for row in rows:
        process_id, sequence = row[1], row[2]
        if row[3] is None:  # (the second arm's: no event type read)
            full[process_id] = sequence
        elif process_id not in first or sequence < first[process_id][2]:
            first[process_id] = row
    return {process_id: event_row(row) for process_id, row in first.items()}, full


def run_facts_statement(conn: Tx, process_ids: list[str]) -> Statement:
    """`run_facts_each`'s read (for `read_ahead`): the cancel requests' events, then the
    full logs' ids and last sequences (the other columns NULL: a last event's JSON may be a
    mebibyte, and nothing of it is needed)."""
    sql = dialect(conn)
    ids = ", ".join("?" * len(process_ids))
    return (
        f"{_selected_events(sql)}WHERE event_type = ? "
        f"AND process_id IN ({ids}){in_log(conn, 'sequence')} "
        "UNION ALL SELECT NULL, process_id, sequence, NULL, NULL FROM process_events "
        f"WHERE process_id IN ({ids}) AND sequence >= ?{sql.whole_only('sequence')}",
        (CANCEL_REQUESTED, *process_ids, *process_ids, LAST_SEQUENCE),
    )


# Ids per statement of `asked_to_cancel`: far below any store's limit on bound values.
IDS_PER_STATEMENT = 500

# The cancel requests by process: a partial index only cancel requests enter, so a row's
# other events (a live agent's log may hold millions) are never walked to find that it has
# none. Without it each id was a range of the primary key over all the row's events: 130 ms
# a refresh for a live row with 1,000,000 events, re-read at every change it made. The term
# is written out, in the index and the query alike: SQLite uses a partial index only for a
# query whose WHERE holds the index's own term (a bound parameter does not).
CANCEL_REQUESTED_TERM = "event_type = 'process.cancel_requested'"
CANCEL_REQUESTED_INDEX = (
    "CREATE INDEX IF NOT EXISTS process_events_cancel_idx "
    f"ON process_events(process_id) WHERE {CANCEL_REQUESTED_TERM}"
)
assert CANCEL_REQUESTED == "process.cancel_requested"


def asked_to_cancel(conn: Tx, process_ids: list[str]) -> set[str]:
    """Which of `process_ids` have a cancel request in their logs, in one read: the ids
    only, no event decoded (a list shows that a cancel was requested; the detail reads the
    request itself). A registry an older lashtui made, or lash wrote, has no such index
    (`lashtui index` adds it): the read is the same, by the primary key."""
    found: set[str] = set()
    for start in range(0, len(process_ids), IDS_PER_STATEMENT):
        chunk = process_ids[start : start + IDS_PER_STATEMENT]
        rows = fetch_rows(
            conn,
            f"SELECT DISTINCT process_id FROM process_events WHERE {CANCEL_REQUESTED_TERM} "
            # (`+sequence`: a term on the key's column would take SQLite off the index)
            f"AND process_id IN ({', '.join('?' * len(chunk))}){in_log(conn, '+sequence')}",
            tuple(chunk),
        )
        found.update(row[0] for row in rows if isinstance(row[0], str))
    return found
