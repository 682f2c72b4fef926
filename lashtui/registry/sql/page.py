"""The dashboard's reads over a large registry: keyset pages, the census, batch gets, the
lease holders and the abandon candidates, and when the next lease of started owner_bound
work lapses; and the other reads that must not decode every record to find a few: the
rows an owner drain looks at, and the rows that wake a session (lashtui extensions, not
lash's trait). Every read that returns records can cut them by size (`records_within`).

A page in id order walks an index in process-id order and stops after `limit` rows: its cost does
not grow with the registry. A state filter is split into one arm per stored status, each a
walk of the (status, process_id) index, merged here: SQLite cannot merge several ranges of
one index in order, and would otherwise sort every matching row to return the first 200.
With a lens, the lens's index drives instead. Only the rows that make the page are decoded.

A text filter cannot use an index: the walk tests each row until `limit` match, so a text
that matches little reads every row the lens and states allow. The label is in the record's
JSON, which is read only where the record's text may hold the text (label_sieve.py): a scan
of 100,000 rows' text, not a parse of their JSON. The label is not a column because lash's
layout is not ours to change.

Pages in another order (status, label, age, updated, lease expiry; `ProcessPageQuery.order`)
are keyset pages on (sort key, process id): each stored status walks its own range of an
index (status, key, process_id) (order.py), also with no state filter (the five statuses
merged here, as the state arms are), so the first page reads ~limit rows per status and a
later page seeks straight to its cursor. Lease expiry has no index (renewals would pay for
it, see the schema): its held leases are a scan of the lease table and a sort, then the rows
without a lease follow by id. A lens, as in id order, drives its own walk and sorts only the
lens's rows.

Measured on the benchmarks' million-row registry (100,000 running; created times, labels
and lease expiries spread out: benchmarks/d2_sorted.py), `Processes.page` for 150 rows,
first page / the page after it, medians of 3 on a shared 2-vCPU machine: status, label,
age and updated 30-130 ms / 3-115 ms, ascending or descending, with no state filter or
`failed`; lease expiry 250-530 ms / 260-460 ms (the lease table's scan), 50-880 ms with
`failed`. A state no row is in (`waiting` there) walks every running row testing its JSON:
1.2 s in id order, 1-3.6 s sorted. Without these indexes (a file lash wrote) the same
first pages take 8 s (age) to 24 s (label): each status's rows sorted whole. On
PostgreSQL 15, 200,000 rows (no leases held), every order's first and second pages took
5-230 ms, each on its index (EXPLAIN).

Files created before these indexes existed are never altered (opening writes nothing), so
every query here is also correct without them, only slower.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterable

from lashtui.errors import InvalidRequest
from lashtui.model import (
    TERMINAL_STATES,
    ProcessCensus,
    ProcessPageQuery,
    ProcessRecord,
    ProcessState,
)
from lashtui.registry.sql.blob_id import null_names, null_shown, read_id, shown_id
from lashtui.registry.sql.ceiling import excluded, within_ceiling
from lashtui.registry.sql.decoded_row import decode_row
from lashtui.registry.sql.dialect import SQLITE, Dialect, Tx, dialect, has_backslash
from lashtui.registry.sql.drive import still_large
from lashtui.registry.sql.fetch import id_among, ordered_rows, stored_rows
from lashtui.registry.sql.filter import (
    HELD,
    LIVE,
    UNICODE_LOWER,
    Arm,
    id_page_ids,
    id_page_statements,
    started_owner_bound,
    unicode_lower,
    waiting_sql,
)
from lashtui.registry.sql.filter import (
    no_state as no_state_sql,
)
from lashtui.registry.sql.long_id import as_read, read_text
from lashtui.registry.sql.order import label_dialect, sorted_ids, walks_down, with_key
from lashtui.registry.sql.row import Row, fetch_rows


def page_statements(query: ProcessPageQuery, sql: Dialect = SQLITE) -> list[Arm]:
    """The SELECTs of one page in id order, one per status arm: each returns process ids in
    the page's direction, at most `limit` of them. Exposed so tests can read their query
    plans."""
    return id_page_statements(query, walks_down(query), sql)


def page(conn: Tx, query: ProcessPageQuery) -> list[ProcessRecord]:
    return page_within(conn, query, None)[0]


def page_within(
    conn: Tx, query: ProcessPageQuery, max_chars: int | None
) -> tuple[list[ProcessRecord], bool]:
    """One page, and whether it was cut short by size: with `max_chars` it ends with the
    row whose record takes the page's records to `max_chars` characters (the rows nearest
    the cursor kept, and at least one), and the rows past it, which match the query too,
    are left for the next page (`fetch.ordered_rows`)."""
    check_size(max_chars, "a process page")
    if query.states is not None and not query.states:
        return [], False
    sql = dialect(conn)
    if not query.text.isascii() and sql.name == "sqlite":  # the function `_text` asks for
        assert isinstance(conn, sqlite3.Connection)
        conn.create_function(UNICODE_LOWER, 1, unicode_lower, deterministic=True)
    if query.order == "id":
        ids = id_page_ids(conn, query, walks_down(query), sql)
    else:
        if query.order == "label":  # the label index's own expression (order.py)
            sql = label_dialect(conn, sql)
        ids = sorted_ids(conn, with_key(conn, query, sql), sql)
    # Same transaction, so every id found above is still there; only a lease row whose
    # process is gone (a file written with foreign keys off) names an id with no record,
    # and the lease-expiry page does not probe for that (order.py): it is skipped here.
    # The ids are in the walk's order, nearest the cursor first, so a cut keeps those.
    records, cut = records_within(conn, ids, max_chars)
    if query.backwards:
        records.reverse()
    return records, cut


_TERMINAL_LIST = ", ".join(f"'{state.value}'" for state in TERMINAL_STATES)


def census(conn: Tx) -> ProcessCensus:
    """Terminal counts from the status index alone; live rows by id, their wait read from
    the JSON (only live rows can wait, and there are far fewer of them)."""
    cursor = conn.execute(
        dialect(conn).change_position()
    ).fetchone()
    terminal = {state.value: 0 for state in TERMINAL_STATES}
    no_state = 0
    # Grouped by the column itself, so the status index is walked in order; a value that
    # names no state comes back as NULL, never as whatever another program stored there
    # (a blob, text that is not UTF-8: `fetch` could not even decode it).
    for status, count in conn.execute(
        f"SELECT CASE WHEN status IN ({_TERMINAL_LIST}) THEN status END, count(*) "
        "FROM processes WHERE status != 'running' GROUP BY status"
    ):
        if status is None:
            no_state += int(count)
        else:
            terminal[status] = int(count)
    # Such rows by id (rare: another program wrote them), so that a view's counts can tell
    # one leaving that count from one of the terminal rows (tui/counts.py).
    no_state_ids: frozenset[str] = frozenset()
    if no_state:
        sqlite = dialect(conn).name == "sqlite"
        pid = read_id() if sqlite else read_text("p.process_id")
        found = fetch_rows(
            conn, f"SELECT {pid} FROM processes p WHERE {no_state_sql('p.status')}"
        )
        ids = [value for (value,) in found]
        named = null_names(conn, [value for value in ids if type(value) is int])
        no_state_ids = frozenset(_shown(value, _name(named, value)) for value in ids)
    sql = dialect(conn)
    if sql.name != "sqlite":
        return ProcessCensus(
            cursor=int(cursor[0]) if cursor else 0, terminal=terminal,
            live=_live_on_postgres(conn, label_dialect(conn, sql)), no_state=no_state,
            no_state_ids=no_state_ids,
        )
    # Never loading a record past the ceiling (ceiling.py): such a row's stand-in runs.
    live, unkeyed = within_ceiling(
        conn, lambda large: _live_on_sqlite(conn, large), "p.status = 'running'"
    )
    return ProcessCensus(
        cursor=int(cursor[0]) if cursor else 0, terminal=terminal, live=live, no_state=no_state,
        no_state_ids=no_state_ids, unkeyed=unkeyed,
    )


def _live_on_sqlite(conn: Tx, large: tuple[int, ...]) -> tuple[dict[str, str], dict[str, int]]:
    """The live rows by id, each waiting or running as its record reads; the rows `large`
    (rowids of records past the ceiling: ceiling.py) running, their records unread. Then
    how many rows of each state were keyed alike (`ProcessCensus.unkeyed`)."""
    # Two shared strings for the values, not one per row: 100,000 live ids take ~13 MB.
    running, waiting = ProcessState.RUNNING.value, ProcessState.WAITING.value
    left_out, params = excluded(large)
    live_sql = (
        f"SELECT {read_id()}, {waiting_sql(dialect(conn))} FROM processes p "
        f"WHERE p.status = 'running'{left_out}"
    )
    not_text: list[tuple[object, str]] = []
    try:
        rows: Iterable[Row] = conn.execute(live_sql, params)
        live = _live_by_id(rows, not_text, running, waiting)
    except sqlite3.OperationalError as error:
        if "decode" not in str(error):
            raise
        # An id that is not UTF-8 (another program wrote it): read again, decoding it as
        # `fetch_rows` does. Iterated otherwise, so 100,000 live ids are never one list.
        not_text.clear()
        rows = fetch_rows(conn, live_sql, params)
        live = _live_by_id(rows, not_text, running, waiting)
    if large:
        marks = ",".join("?" * len(large))
        found = fetch_rows(
            conn, f"SELECT {read_id()} FROM processes p WHERE p.rowid IN ({marks})", large,
        )
        for (pid,) in found:
            if isinstance(pid, str):
                live[str(as_read(pid))] = running
            else:
                not_text.append((pid, running))
    unkeyed: Counter[str] = Counter()
    named = null_names(conn, [pid for pid, _ in not_text if type(pid) is int])
    for pid, state in not_text:  # after every text id, which keeps its own (blob_id.py)
        shown = _shown(pid, _name(named, pid))  # (a NULL id by its name: `null_names`)
        if shown in live:
            unkeyed[state] += 1  # counted: a stand-in spelled as a text id is (keyed alike)
        else:
            live[shown] = state
    return live, dict(unkeyed)


def _live_by_id(
    rows: Iterable[Row], not_text: list[tuple[object, str]], running: str, waiting: str
) -> dict[str, str]:
    """The live rows whose id is text, by id; those whose id is not (NULL, a blob) go to
    `not_text`, as read, for the census to name (`null_names`) and key after every text id."""
    live: dict[str, str] = {}
    for pid, parked in rows:
        state = waiting if parked else running
        if isinstance(pid, str):
            live[str(as_read(pid))] = state
        else:
            not_text.append((pid, state))
    return live


def _shown(process_id: object, name: object = None) -> str:
    """An id as every reader holds it (a NULL id by its rowid, read as an int, named by
    `name` when the read took its name, fetch.py `NULL_ROW_COLUMNS`; a blob: blob_id.py)."""
    if process_id is None or type(process_id) is int:
        return name if isinstance(name, str) and name else null_shown(process_id)
    return shown_id(process_id) if isinstance(process_id, bytes) else str(as_read(process_id))


def _name(named: dict[int, str], process_id: object) -> str | None:
    return named.get(process_id) if type(process_id) is int else None


def _live_on_postgres(conn: Tx, sql: Dialect) -> dict[str, str]:
    """The live rows by id from the status index alone, then the waiting ones from the
    partial index of waiting rows (postgres/schema.py `WAITING_INDEX`), which the planner
    matches only when the query writes its predicate as the index does: in the try-cast
    form, `sql` here wherever the registry has the function. Reading every live row's
    record instead took 2.3 s on 1,000,000 rows (100,000 live): their pages are spread over
    the whole table, far past PostgreSQL's default buffers."""
    running, waiting = ProcessState.RUNNING.value, ProcessState.WAITING.value
    pid = read_text("p.process_id")
    rows = conn.execute(f"SELECT {pid} FROM processes p WHERE p.status = 'running'")
    live = {as_read(process_id): running for (process_id,) in rows}
    for (process_id,) in conn.execute(
        f"SELECT {pid} FROM processes p WHERE p.status = 'running' AND {waiting_sql(sql)}"
    ):
        live[as_read(process_id)] = waiting
    return live


def get_many(conn: Tx, process_ids: list[str]) -> dict[str, ProcessRecord]:
    # (a NULL id's or a blob's row as every reader names it: blob_id.py)
    return {_shown(row[1], row[0]): decode_row(row) for row in stored_rows(conn, process_ids)}


def check_limit(limit: int, what: str, least: int = 0) -> None:
    """Refuse, in one sentence, a read's row limit that is not a whole number >= `least`;
    `what` names the limit, article and all ("a leased-process")."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < least:
        raise InvalidRequest(f"{what} limit must be a whole number >= {least}, got `{limit}`")


def check_size(max_chars: int | None, what: str) -> None:
    """Refuse a read's size bound (`max_chars`, None for none) that is not a whole number
    >= 1, naming the read (`what`: "a process page")."""
    if max_chars is not None:
        check_limit(max_chars, f"{what} size", least=1)


def leased(conn: Tx, limit: int) -> list[ProcessRecord]:
    return leased_within(conn, limit, None)[0]


def leased_within(
    conn: Tx, limit: int, max_chars: int | None
) -> tuple[list[ProcessRecord], bool]:
    """Rows whose lease is held (expired or not), the soonest to lapse first. A scan of the
    lease table (see schema.py for why there is no index by expiry), sorting ids only.
    With `max_chars`, cut by the records' size as `page_within` cuts a page, and whether it
    was (then more rows follow its last)."""
    check_limit(limit, "a leased-process")
    check_size(max_chars, "a leased-process list")
    ids = _ids(
        conn,
        "SELECT p.process_id FROM process_leases l JOIN processes p "
        "ON p.process_id = l.process_id "
        f"WHERE {HELD} ORDER BY l.lease_expires_at_ms, l.process_id LIMIT ?",
        (limit,),
    )
    return records_within(conn, ids, max_chars)


def abandon_candidates(conn: Tx, limit: int, lapsed_at_ms: int | None) -> list[ProcessRecord]:
    return abandon_candidates_within(conn, limit, lapsed_at_ms, None)[0]


def abandon_candidates_within(
    conn: Tx, limit: int, lapsed_at_ms: int | None, max_chars: int | None
) -> tuple[list[ProcessRecord], bool]:
    """Live rows with a pending abandon request, and started owner_bound rows (with
    `lapsed_at_ms`, only those whose lease is gone or expired by then), in id order; with
    `max_chars`, cut by the records' size as `leased_within` is."""
    check_limit(limit, "an abandon-candidate")
    check_size(max_chars, "an abandon-candidate list")
    sql = dialect(conn)
    lapsed, params = "", []
    if lapsed_at_ms is not None:
        lapsed = (
            "AND NOT EXISTS (SELECT 1 FROM process_leases l WHERE l.process_id = p.process_id "
            f"AND {LIVE})"
        )
        params.append(lapsed_at_ms)
    running, by_id = sql.running_by_id()
    candidate, large = _unless_large(
        conn,
        f"{sql.json_has('p.record_json', 'abandon_request')} OR ("
        f"{started_owner_bound(sql)} {lapsed})",
    )
    ids = _ids(
        conn,
        f"SELECT p.process_id FROM processes p WHERE {running} AND {candidate} "
        f"ORDER BY {by_id} LIMIT ?",
        (*large, *params, limit),
    )
    return records_within(conn, ids, max_chars)


def _unless_large(conn: Tx, condition: str) -> tuple[str, list[str]]:
    """`condition` on the row `p`'s record, false without testing it for the rows known
    past the ceiling (drive.py `still_large`: on SQLite the test would load such a record,
    and the Abandon requests view reads on every commit), and those ids to bind first."""
    large = still_large(conn)
    if not large:
        return f"({condition})", []
    return f"(CASE WHEN {id_among(large)} THEN FALSE ELSE ({condition}) END)", large


def next_lapse(conn: Tx, now_ms: int) -> int | None:
    """The soonest expiry after `now_ms` of a live lease on running owner_bound work that
    has started: when such a row next becomes "silent, not dead" without a commit (its
    owner stops renewing), and so joins `abandon_candidates(lapsed_at_ms=...)`. None when
    no such lease is live. The held leases and their rows' JSON only, not every row."""
    sql = dialect(conn)
    started, large = _unless_large(conn, started_owner_bound(sql))
    row = conn.execute(
        f"SELECT min({sql.whole('l.lease_expires_at_ms')}) FROM process_leases l JOIN processes p "
        f"ON p.process_id = l.process_id WHERE {LIVE} AND p.status = 'running' "
        f"AND {started}",
        (now_ms, *large),
    ).fetchone()
    return int(row[0]) if row is not None and row[0] is not None else None


def started_by(conn: Tx, owner_id: str, after_id: str | None, limit: int) -> list[str]:
    """The ids of running owner_bound rows whose record says `owner_id` started them, in id
    order after `after_id`, at most `limit`: what an owner drain looks at (the drain then
    checks the whole identity on each record). Read from the records' JSON in SQL, so the
    running rows are tested there and not decoded: the drain read every running record,
    17 s and 924 MB for the 100,000 running rows of a million (benchmarks' registry)."""
    check_limit(limit, "a started-rows", least=1)
    sql = dialect(conn)
    running, by_id = sql.running_by_id()
    owner = sql.json_text("p.record_json", "first_started.owner.owner_id")
    after, params = "", [owner_id]
    if after_id is not None:
        after, params = "AND p.process_id > ? ", [owner_id, after_id]
    return _ids(
        conn,
        f"SELECT p.process_id FROM processes p WHERE {running} AND {started_owner_bound(sql)} "
        f"AND {owner} = ? {after}ORDER BY {by_id} LIMIT ?",
        (*params, limit),
    )


def waking(
    conn: Tx, session_id: str, after_id: str | None, limit: int, max_chars: int | None
) -> tuple[list[ProcessRecord], str | None]:
    """The rows whose record's wake target is in session `session_id`, read in id order
    after `after_id`, and the id to read on after (None once the registry is read): each
    call looks at `limit` candidate rows at most and holds at most `max_chars` of their
    records plus one row. A candidate is a row whose JSON names the session there, as SQL
    reads it, or (SQLite, whose JSON functions match a key as it is written, not as JSON
    reads it) holds a backslash at all; each is then checked on its decoded record, so the
    result is exactly the rows the models say wake the session. The rest are never decoded:
    a session snapshot read every record in the registry."""
    check_limit(limit, "a waking-rows", least=1)
    check_size(max_chars, "a waking-rows page")
    sql = dialect(conn)
    names = f"{sql.json_text('p.record_json', 'wake_target.session_id')} = ?"
    if sql.name == "sqlite":
        names = f"({names} OR {has_backslash('p.record_json')})"
    else:
        may = sql.may_hold_key("p.record_json", "wake_target")
        names = f"(CASE WHEN {may} THEN {names} ELSE false END)"
    after, params = "", [session_id]
    if after_id is not None:
        after, params = "AND p.process_id > ? ", [session_id, after_id]
    ids = _ids(
        conn,
        f"SELECT p.process_id FROM processes p WHERE {names} {after}"
        "ORDER BY p.process_id LIMIT ?",
        (*params, limit),
    )
    records, cut = records_within(conn, ids, max_chars)
    found = [r for r in records if r.wake_target and r.wake_target.session_id == session_id]
    if cut:  # read on after the last row read
        return found, records[-1].id
    return found, (ids[-1] if len(ids) == limit else None)


def _ids(conn: Tx, sql: str, params: tuple[object, ...]) -> list[str]:
    return [process_id for (process_id,) in fetch_rows(conn, sql, params)]


def records_within(
    conn: Tx, ids: list[str], max_chars: int | None
) -> tuple[list[ProcessRecord], bool]:
    """The records of `ids` in their order, cut at `max_chars` (its caller checked it,
    `check_size`), and whether they were (`fetch.ordered_rows`)."""
    rows, covered = ordered_rows(conn, ids, max_chars)
    return [decode_row(row) for row in rows], covered < len(ids)
