"""The facts `lashtui check` judges (lashtui.model.probe), in one snapshot, both stores.

Four statements, each bounded by an index or a small table rather than by the registry:

- the live rows (the status index's `running` range): how many, the pending abandon
  requests and the oldest of them, the silent-not-dead rows, and those whose record does not
  say running. This reads each live row's JSON (disposition, first start, abandon request,
  state), as the census and the Abandon requests view do, so it costs in proportion to the
  live rows, not to the registry;
- the rows whose status column holds no state: the status index's ranges between the five
  states, empty in a registry every writer kept, so it reads nothing else;
- the lease table: held, lapsed, the newest claim and expiry (one pass; there is no index by
  expiry, see the schema, and the table holds a row per process that was ever claimed);
- the `process.failed` events since a time: a range of the partial index over the terminal
  and wait events (activity.py's `process_events_transition_idx`). A registry made before
  that index (a file lash wrote) counts them by a scan of the event log instead: the same
  answer, only slower.

Measured on the benchmarks' 1,000,000-row registry (100,000 live): see `lashtui check` in
the README.
"""

from __future__ import annotations

from lashtui.model import ProbeFacts
from lashtui.model.limit import MAX_ID_CHARS
from lashtui.model.probe import LEASE_AHEAD_MS
from lashtui.registry.sql.activity import _indexed
from lashtui.registry.sql.backlog_mark import MARKED
from lashtui.registry.sql.blob_id import null_name, null_shown, read_id, shown_id
from lashtui.registry.sql.ceiling import excluded, within_ceiling
from lashtui.registry.sql.dialect import Dialect, Tx, dialect
from lashtui.registry.sql.fetch import fetch_rows
from lashtui.registry.sql.filter import HELD, LIVE, no_state, sqlite_order, started_owner_bound
from lashtui.registry.sql.repeated import repeated_sql
from lashtui.registry.sql.stored_text import as_read, read_text
from lashtui.registry.sql.version import has_backlog_seq

# A lease with a holder (a released one keeps its row with the owner and token cleared).


# The first row of a count by id, as SQLite orders the column (filter.py `sqlite_order`:
# NULL, then text, then a blob), kept so until `check` names the first of them all
# (`_named`): named first, a NULL id was left out (`min` skips NULL, and `None` was read as
# "no first") and a blob compared with text ids as the text it is shown as, so `check`
# named a blob's row while NULL rows came before it in `ls`.
First = tuple[int, object]


def _first(least: object, null: object) -> First | None:
    """The first id of rows whose `min(process_id)` is `least` and whose NULL ids' least
    rowid is `null` (`_least_null`: such a row sorts before every other, and is named by
    its rowid, blob_id.py); None when there are no rows."""
    if null is not None:
        return sqlite_order((null,))
    return None if least is None else sqlite_order((as_read(least),))


def _least_null(sql: Dialect, condition: str = "TRUE") -> str:
    """The least rowid of the rows (of `condition`) whose id is NULL: SQLite's; none on
    PostgreSQL, whose primary key is NOT NULL (and which has no rowid)."""
    rowid = "p.rowid" if sql.name == "sqlite" else "NULL"
    return f"min(CASE WHEN p.process_id IS NULL AND {condition} THEN {rowid} END)"


def _named(conn: Tx, first: First | None) -> str | None:
    """A `First` as every reader names its row (blob_id.py: `NULL#4`, `NULL##4` where a
    text row is `NULL#4`, `b'zz'`)."""
    if first is None:
        return None
    value = first[1]
    if first[0] == 0:
        return null_name(conn, value) if type(value) is int else null_shown(None)
    return shown_id(value) if isinstance(value, bytes) else str(value)


Live = tuple[int, int, int | None, int, int, First | None, int, First | None]


def _live_rows(conn: Tx, now_ms: int, large: tuple[int, ...]) -> Live:
    """`_live`, then the first row it counted for naming a read key twice; the rows `large`
    (rowids of records past the ceiling, unread: ceiling.py) counted live, with the rows
    whose state is unknown, as `ls` shows them undecodable."""
    live, requests, oldest, silent, not_running, first, repeated = _live(conn, now_ms, large)
    first_repeated = _first_repeated(conn, large) if repeated else None
    if large:
        marks = ",".join("?" * len(large))
        found = fetch_rows(
            conn, f"SELECT {read_id()} FROM processes p WHERE p.rowid IN ({marks})", large,
        )
        firsts = [sqlite_order((as_read(pid),)) for (pid,) in found]
        first = min([*firsts, *([] if first is None else [first])])
        live, not_running = live + len(large), not_running + len(large)
    return live, requests, oldest, silent, not_running, first, repeated, first_repeated


def _live(
    conn: Tx, now_ms: int, large: tuple[int, ...] = ()
) -> tuple[int, int, int | None, int, int, First | None, int]:
    """(live rows, pending abandon requests, the oldest request's time, silent-not-dead,
    live rows whose record does not say running (`_not_running`), the first of them, and
    the other live rows whose record names a read key twice).

    The records' JSON is the cost here, so a row with a live lease (a LEFT JOIN, tested
    first) never has its JSON read for the silent count, and on PostgreSQL a plain text test
    (`_holds`) skips the JSON reads of rows whose record does not hold the key at all.
    On SQLite a NOT EXISTS beside the JSON reads made it read each record twice (1.8 s
    against ~0.6 s for 100,000 rows, most of it the records' text).

    A record that names a read key twice is a stand-in, undecodable, with no abandon
    request and not owner_bound (repeated.py): the requests and the silent rows leave it
    out (asked last, of the few rows they would count), and it is counted with the rows
    whose state is unknown, as `ls` shows it undecodable: once a row, since the test is a
    Python call, and not for a row lashtui marked plainly the backlog's, whose text
    lashtui wrote, each key once (backlog_mark.py). Its first is found apart, only when
    there is one (`_first_repeated`)."""
    sql = dialect(conn)
    params: list[object] = []
    repeated = repeated_sql(sql)
    requested = sql.json_has("p.record_json", "abandon_request")
    by_text = _keyed_by_text(sql, "p.process_id")
    count_requested = f"{_holds(sql, _ABANDON, params)}{requested} AND NOT {repeated}{by_text}"
    oldest_at = sql.json_text("p.record_json", "abandon_request.requested_at_ms")
    oldest_guard = _holds(sql, _ABANDON, params)
    oldest = (
        f"CASE WHEN {oldest_guard}{requested} AND NOT {repeated}{by_text} "
        f"THEN CAST({oldest_at} AS BIGINT) END"
    )
    silent = (
        f"{_holds(sql, _FIRST_STARTED, params)}{_holds(sql, _OWNER_BOUND, params)}"
        f"{started_owner_bound(sql)} AND NOT {requested} AND NOT {repeated}{by_text}"
    )
    # (Twice, in the order written: on PostgreSQL each test binds its own needle.)
    not_running, first_not_running = _not_running(sql, params), _not_running(sql, params)
    unasked = _not_asked(conn, sql, params)
    # (The same test again, of the NULL ids `min` skips alone: the id is tested first, so
    # no other row's JSON is read for it. Its needles bound after `unasked`'s, as the
    # statement has them.)
    null_not_running = _not_running(sql, params)
    params.append(now_ms)
    left_out, rowids = excluded(large)
    params.extend(rowids)
    row = fetch_rows(
        conn,
        f"SELECT count(*), count(CASE WHEN {count_requested} THEN 1 END), min({oldest}), "
        f"count(CASE WHEN l.process_id IS NOT NULL THEN NULL WHEN {silent} THEN 1 END), "
        f"count(CASE WHEN {not_running} THEN 1 END), "
        f"{read_text(f'min(CASE WHEN {first_not_running} THEN p.process_id END)')}, "
        f"count(CASE WHEN {unasked} THEN NULL WHEN {repeated} THEN 1 END), "
        f"{_least_null(sql, null_not_running)} "
        "FROM processes p LEFT JOIN process_leases l ON l.process_id = p.process_id "
        f"AND {LIVE} WHERE p.status = 'running'{left_out}",
        params,
    )[0]
    oldest_ms = None if row[2] is None else int(row[2])
    counts = int(row[0]), int(row[1]), oldest_ms, int(row[3]), int(row[4])
    return (*counts, _first(row[5], row[7]), int(row[6]))


def _not_asked(conn: Tx, sql: Dialect, params: list[object]) -> str:
    """The live rows `_live` does not ask whether their record names a read key twice:
    every row on a PostgreSQL registry without the function (repeated.py says when); else
    those lashtui marked plainly the backlog's, and those whose record does not say running
    (`_not_running` counts them already; on PostgreSQL it binds its needles in `params`,
    in the order written)."""
    if sql.name != "sqlite" and not sql.repeated_key:
        return "TRUE"
    state = _not_running(sql, params)
    # (An older SQLite file has no mark; a PostgreSQL registry with the function has been
    # opened writable by this build, which made it version 15, which has them.)
    marks = has_backlog_seq(conn) if sql.name == "sqlite" else getattr(conn, "backlog_seq", False)
    marked = f"{MARKED} OR " if marks else ""
    return f"({marked}{state})"


def _first_repeated(conn: Tx, large: tuple[int, ...] = ()) -> First | None:
    """The first live row by id that `_live` counted for naming a read key twice (read only
    when it counted one, which it never does on a PostgreSQL registry without the
    function)."""
    sql = dialect(conn)
    params: list[object] = []
    unasked = _not_asked(conn, sql, params)
    left_out, rowids = excluded(large)
    row = fetch_rows(
        conn,
        f"SELECT {read_text('min(p.process_id)')}, {_least_null(sql)} "
        "FROM processes p WHERE p.status = 'running' "
        f"AND CASE WHEN {unasked} THEN FALSE ELSE {repeated_sql(sql)} END{left_out}",
        [*params, *rowids],
    )[0]
    return _first(row[0], row[1])


def _not_running(sql: Dialect, params: list[object]) -> str:
    """Whether a live row's record does not say running: it names another state (another
    program changed the record or the column without the other), or it is not JSON at all.
    Either reads as a row that does not decode (sql/decoded_row.py), which nothing runs or recovers.
    On PostgreSQL a text test stands for the JSON read (`_holds` says why): a record that
    holds `"state":"running"` anywhere is taken to say it (lashtui's own functions set both
    in one statement). JSON may space its tokens, as another program's encoder does
    (Python's `json.dumps` writes `"state": "running"`), so a record without the compact
    form is matched again allowing whitespace around the colon: the compact test alone
    counted every such row as of unknown state, and `check` warned of rows that every
    reader decodes as running. (The regular expression runs only on records the plain
    search missed.)"""
    if sql.name == "sqlite":
        return f"{sql.json_text('p.record_json', 'status.state')} IS NOT 'running'"
    # A record past the ceiling is undecodable whatever it holds (decoded_row.py `TOO_LARGE`), and
    # is never searched: its size is in its header, where a search reads it all.
    params.extend(('"state":"running"', _SPACED_RUNNING))
    return (
        f"(CASE WHEN {sql.too_large('p.record_json')} THEN TRUE "
        f"ELSE NOT ({sql.contains('p.record_json')} OR p.record_json ~ ?) END)"
    )


# `"state"`, a colon and `"running"`, with JSON's whitespace (space, tab, LF, CR) allowed
# around the colon: a POSIX regular expression for PostgreSQL's `~`.
_SPACED_RUNNING = '"state"[ \t\n\r]*:[ \t\n\r]*"running"'


def _no_state(conn: Tx) -> tuple[int, First | None]:
    """(rows whose status column holds no state, the first of them by id, as every read
    takes an id: stored_text.py)."""
    first = read_text("min(p.process_id)")
    row = fetch_rows(
        conn,
        f"SELECT count(*), {first}, {_least_null(dialect(conn))} FROM processes p "
        f"WHERE {no_state('p.status')}",
    )[0]
    return int(row[0]), _first(row[1], row[2])


# How much of the first over-long id `check` names: enough to find it by.
LONG_ID_SHOWN = 64


def _long_ids(conn: Tx) -> tuple[int, str | None]:
    """(rows whose id is longer than `MAX_ID_CHARS`, the first of them by id, cut to
    `LONG_ID_SHOWN` characters in SQL, so that the reader never holds one whole). One pass
    over the ids: SQLite reads its primary key's index (75 ms over 1,000,000 ids here);
    PostgreSQL tests the size its header gives before it counts characters."""
    if dialect(conn).name == "sqlite":
        longer = f"length(p.process_id) > {MAX_ID_CHARS}"
        first = f"substr(min(p.process_id), 1, {LONG_ID_SHOWN})"
    else:
        longer = (
            f"octet_length(p.process_id) > {MAX_ID_CHARS} "
            f"AND char_length(p.process_id) > {MAX_ID_CHARS}"
        )
        first = f"left(min(p.process_id), {LONG_ID_SHOWN})"
    row = fetch_rows(conn, f"SELECT count(*), {first} FROM processes p WHERE {longer}")[0]
    return int(row[0]), row[1]


# The text a record must hold for a JSON read of it to be worth making (see `_holds`).
_ABANDON, _FIRST_STARTED, _OWNER_BOUND = '"abandon_request"', '"first_started"', '"owner_bound"'


def _holds(sql: Dialect, needle: str, params: list[object]) -> str:
    """`<record holds needle> AND ` on PostgreSQL, nothing on SQLite; its parameter is
    appended to `params` (call in the order the statement is written).

    PostgreSQL parses a record afresh for each field read (~11 us a row); a text search
    is far cheaper. Measured on 100,000 live rows (PostgreSQL 15, every lease lapsed, every
    row a silent candidate): 6-7 s with every field read from every row's JSON, 3.5-4 s with
    these tests. On SQLite the JSON parse is cached between reads of a row and the text
    test only adds work (1.4-2.4 s without it, 3.1-5.0 s with it, same run). Keys are plain
    text from every writer (lash's serde, pydantic); one that escaped a key's letters
    (`"\\u0061bandon_request"`) would hide its row from these PostgreSQL counts only."""
    if sql.name == "sqlite":
        return ""
    params.append(needle)  # (never of a record past the ceiling: `_not_running`)
    return (
        f"(CASE WHEN {sql.too_large('p.record_json')} THEN FALSE "
        f"ELSE {sql.contains('p.record_json')} END) AND "
    )


def _keyed_by_text(sql: Dialect, column: str) -> str:
    """` AND <column holds text>` on SQLite; nothing on PostgreSQL, whose ids are text.

    A row keyed by a blob or NULL (blob_id.py) is a stand-in whose record is never decoded
    and whose lease is never read (`show`: "not read: its lease, events, grants, ..."; `ls`
    shows no holder): `check` counted its lease held and lapsed, and its record's started
    owner_bound work silent-not-dead, of a row `show` says nothing of. The counts leave it
    out now, and `check` says how many leases it left so (`ProbeFacts.unread_leases`)."""
    return f" AND typeof({column}) = 'text'" if sql.name == "sqlite" else ""


def _leases(conn: Tx, now_ms: int) -> tuple[int, int, int | None, int | None, int, int]:
    """(held leases, lapsed among them, the newest claim, the newest expiry, the leases
    dated ahead, left out of the newest two: `ProbeFacts.future_leases`; and the held
    leases of rows keyed by no text, left out of all the rest: `_keyed_by_text`)."""
    sql = dialect(conn)
    whole = sql.whole  # (a lease row's numbers as another program stored them)
    expires, claimed = whole("l.lease_expires_at_ms"), whole("l.lease_claimed_at_ms")
    dated = f"({claimed} <= ? AND {expires} <= ?)"
    read = f"TRUE{_keyed_by_text(sql, 'l.process_id')}"
    row = conn.execute(
        f"SELECT count(CASE WHEN {read} THEN 1 END), "
        f"coalesce(sum(CASE WHEN {read} AND {expires} <= ? THEN 1 ELSE 0 END), 0), "
        f"max(CASE WHEN {read} AND {dated} THEN {claimed} END), "
        f"max(CASE WHEN {read} AND {dated} THEN {expires} END), "
        f"coalesce(sum(CASE WHEN NOT ({read}) OR {dated} THEN 0 ELSE 1 END), 0), "
        f"count(CASE WHEN {read} THEN NULL ELSE 1 END) FROM process_leases l WHERE {HELD}",
        (now_ms, *(now_ms, now_ms + LEASE_AHEAD_MS) * 3),
    ).fetchone()
    claim = None if row[2] is None else int(row[2])
    expiry = None if row[3] is None else int(row[3])
    return int(row[0]), int(row[1]), claim, expiry, int(row[4]), int(row[5])


def held_leases(conn: Tx, now_ms: int) -> tuple[int, int]:
    """(held leases, lapsed among them by `now_ms`): the lease table's pass alone."""
    held, lapsed, _, _, _, _ = _leases(conn, now_ms)
    return held, lapsed


def _failed(conn: Tx, since_ms: int) -> int:
    """`process.failed` events at or after `since_ms`; the partial index's predicate is
    repeated word for word, or SQLite would not use it (activity.py)."""
    row = conn.execute(
        "SELECT count(*) FROM process_events e "
        f"WHERE {_indexed('e')} AND e.event_type = 'process.failed' "
        "AND e.occurred_at_ms >= ?",
        (since_ms,),
    ).fetchone()
    return int(row[0])


def facts(conn: Tx, now_ms: int, failed_since_ms: int) -> ProbeFacts:
    # Never loading a record past the ceiling (ceiling.py): such a row is undecodable.
    live, requests, oldest, silent, not_running, first_not_running, repeated, first_repeated = (
        within_ceiling(conn, lambda large: _live_rows(conn, now_ms, large), "p.status = 'running'")
    )
    no_state, first_no_state = _no_state(conn)
    long_ids, first_long_id = _long_ids(conn)
    held, lapsed, claim, expiry, ahead, unread = _leases(conn, now_ms)
    # (An id another program stored as a blob is named as Python writes bytes.)
    found = (first_no_state, first_not_running, first_repeated)
    firsts = [first for first in found if first is not None]
    return ProbeFacts(
        now_ms=now_ms,
        live=live,
        held_leases=held,
        lapsed_leases=lapsed,
        newest_claim_ms=claim,
        newest_expiry_ms=expiry,
        future_leases=ahead,
        unread_leases=unread,
        silent_not_dead=silent,
        abandon_requests=requests,
        oldest_abandon_request_ms=oldest,
        failed_since_ms=failed_since_ms,
        failed_since=_failed(conn, failed_since_ms),
        unknown_state=no_state + not_running + repeated,
        unknown_state_first=_named(conn, min(firsts, default=None)),
        long_ids=long_ids,
        long_ids_first=None if first_long_id is None else str(first_long_id),
    )


def change_cursor(conn: Tx) -> int:
    """The change feed's position now: a follower reads this before its first listing and
    then the feed after it, so a commit made while it listed is seen (twice at worst)."""
    row = conn.execute(
        dialect(conn).change_position()
    ).fetchone()
    return int(row[0]) if row else 0
