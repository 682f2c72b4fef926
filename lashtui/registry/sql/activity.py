"""The Health view's counts, by epoch minute, from the registry's columns and event log: one
read, exact (every row counted, none sampled), both stores (a lashtui extension).

- starts: `processes.created_at_ms`, by the index on it;
- ends by terminal state, waits entered and left: the `process.<state>`, `process.waiting`
  and `process.resumed` events, by a partial index over those six types only (other
  events pay nothing for it on append) that covers (type, time, process, sequence). Every
  statement repeats the index's predicate word for word: SQLite uses a partial index only
  when the query's WHERE holds its predicate as one of its terms. Per-minute counts are one
  range count per minute and column on a generated list of minutes (a GROUP BY over the
  minute sorted every entry through a temporary b-tree: 1.2 s for a day of a million rows);
- a terminal event ends a wait when the process's last wait event before it is a
  `process.waiting`: looked up (by the primary key) for the range's terminal events or for
  the processes that ever entered a wait, whichever are fewer (both counted from the index);
- live rows now (the anchor the series are worked back from): the status index; waiting
  rows now: live rows whose last wait event is a `process.waiting`, again driven by the
  processes that entered a wait (reading the wait from the live rows' JSON instead took
  0.43-0.75 s for 100,000 live rows). A refresh passes the levels its last read ended with
  (`before`) and the series run forwards from them, with neither count;
- run durations: the latest `runs` terminal events in the window, per state a backwards walk
  of the index, then their rows by key for the kind and the first start (a row shown as
  its stand-in because its record names its kind twice counts as the stand-in's kind,
  `undecodable`, never started: `_kind_repeated`).

So waiting is what the event log says (the worker appends `process.waiting` and
`process.resumed` around every signal wait): a wait set with `set_process_wait` alone is not
in these series, though the census counts it, and a log with a `process.resumed` after its
terminal event would count that wait as left twice. Terminal transitions are counted by
lash's four terminal event types, which every terminal writer here and in lash uses; an
event type a registration declares terminal under another name is not counted (its row
still leaves the live count). Pruned rows take their start and their end with them. Series
that would go below zero for these reasons are shown as zero (`ProcessActivity.build`).
The reads driven by the processes that entered a wait cost in proportion to those (all
retained history), not to the window.

Measured on a 1,000,000-row registry (100,000 live) with its rows spread over 24 hours
(benchmarks/d4_charts.py, which times the whole draw), at a quiet moment: the read alone
takes 0.02-0.04 s for 15 minutes, 0.03 s for an hour and 0.12-0.14 s for 24 hours, a
refresh (the minutes since the last read, levels carried forwards) 0.01-0.02 s; with
100,000 processes that ever waited, 0.15 s for 15 minutes and 0.9-1.0 s for the day, a
refresh 0.03 s. On PostgreSQL every statement's plan uses the same indexes (checked with
EXPLAIN on 200,000 rows; not timed at a million). Without the two indexes (a file
created before them, lash's own included: opening never alters a file) the answer is the
same, counted by one scan of each table per read instead of a range count per minute (those
would each scan the whole log: 166 s for a quarter hour of a million rows); such a read took
8-10 s on the million-row file, and says so (`ProcessActivity.scanned`), and the Health view
then reads at most a fifth of the time.
"""

from __future__ import annotations

from lashtui.errors import InvalidRequest
from lashtui.model import (
    MINUTE_MS,
    RESUMED,
    WAITING,
    ActivityCounts,
    ProcessActivity,
)
from lashtui.model.activity import TERMINAL_NAMES
from lashtui.model.record import UNDECODABLE_KIND
from lashtui.registry.sql.dialect import SQLITE, Dialect, Tx, dialect, has_backslash
from lashtui.registry.sql.repeated import repeated_sql

_TERMINAL_TYPES = tuple(f"process.{state}" for state in TERMINAL_NAMES)
_TYPES = ", ".join(f"'{name}'" for name in (*_TERMINAL_TYPES, WAITING, RESUMED))
_TERMINALS = ", ".join(f"'{name}'" for name in _TERMINAL_TYPES)

EVENT_INDEX = "process_events_transition_idx"
CREATED_INDEX = "processes_created_idx"
TRANSITION_INDEX = (
    "ON process_events(event_type, occurred_at_ms, process_id, sequence) "
    f"WHERE event_type IN ({_TYPES})"
)


def _indexed(alias: str) -> str:
    """The partial index's predicate, as a term of a query on `process_events alias`."""
    return f"{alias}.event_type IN ({_TYPES})"


# Per-minute counts as one range count per minute and column, correlated on a generated
# list of minutes: a count over an index range steps its entries at ~40 ns each on SQLite,
# where GROUP BY over the minute sorts them through a temporary b-tree at ~1 us each.
_COLUMNS: tuple[tuple[str, str], ...] = (
    (
        "started",
        "SELECT count(*) FROM processes WHERE created_at_ms >= {lo} AND created_at_ms < {hi}",
    ),
    *(
        (
            name,
            "SELECT count(*) FROM process_events e WHERE "
            f"{_indexed('e')} AND e.event_type = '{name}' "
            "AND e.occurred_at_ms >= {lo} AND e.occurred_at_ms < {hi}",
        )
        for name in (*_TERMINAL_TYPES, WAITING, RESUMED)
    ),
)
COLUMN_NAMES = tuple(name for name, _ in _COLUMNS)


def _counts(lo: str, hi: str) -> str:
    return ", ".join(f"({count.format(lo=lo, hi=hi)})" for _, count in _COLUMNS)


PER_MINUTE = (
    "WITH RECURSIVE minute(m) AS (SELECT CAST(? AS BIGINT) UNION ALL "
    "SELECT m + 1 FROM minute WHERE m < ?) "
    f"SELECT m, {_counts(f'm * {MINUTE_MS}', f'(m + 1) * {MINUTE_MS}')} FROM minute"
)
# What was stamped after the last minute (a commit racing the read): the reconstruction
# takes it off the counts now first.
LATER = f"SELECT {_counts('?', '?')}"
# Without the indexes (see `_indexed_file`): one scan of each table, grouped by the minute.
STARTS_SCAN = (
    f"SELECT created_at_ms / {MINUTE_MS}, count(*) FROM processes "
    "WHERE created_at_ms >= ? GROUP BY 1"
)
EVENTS_SCAN = (
    f"SELECT e.event_type, e.occurred_at_ms / {MINUTE_MS}, count(*) FROM process_events e "
    f"WHERE {_indexed('e')} AND e.occurred_at_ms >= ? GROUP BY 1, 2"
)
_DISTINCT_WAITERS = (
    "(SELECT DISTINCT w.process_id FROM process_events w "
    f"WHERE {_indexed('w')} AND w.event_type = '{WAITING}' AND w.occurred_at_ms < ?) x"
)


def _last_wait_event(process: str, before: str = "") -> str:
    """The type of the process's last wait event (before sequence `before`): a walk back
    along the primary key."""
    bound = f"AND l.sequence < {before} " if before else ""
    return (
        f"(SELECT l.event_type FROM process_events l WHERE l.process_id = {process} {bound}"
        f"AND l.event_type IN ('{WAITING}', '{RESUMED}') ORDER BY l.sequence DESC LIMIT 1)"
    )


def _waiting_now(sql: Dialect) -> str:
    """Live rows whose last wait event is a `process.waiting`, driven by the processes that
    ever entered a wait (before the bound)."""
    return (
        f"SELECT count(*) FROM {_DISTINCT_WAITERS} {sql.fixed_order_join} processes p "
        "ON p.process_id = x.process_id WHERE p.status = 'running' "
        f"AND {_last_wait_event('p.process_id')} = '{WAITING}'"
    )


def _waits_ended_by_waiters(sql: Dialect) -> str:
    """Terminal events from the bound on that ended a wait, per minute: those of processes
    that entered a wait, whose last wait event before the terminal is a waiting."""
    return (
        f"SELECT t.occurred_at_ms / {MINUTE_MS}, count(*) FROM {_DISTINCT_WAITERS} "
        f"{sql.fixed_order_join} process_events t ON t.process_id = x.process_id "
        f"WHERE t.event_type IN ({_TERMINALS}) AND t.occurred_at_ms >= ? "
        f"AND {_last_wait_event('t.process_id', 't.sequence')} = '{WAITING}' GROUP BY 1"
    )


# The same, driven by the terminal events from the bound instead (fewer, for a short range
# of a registry where many processes ever waited).
WAITS_ENDED_BY_TERMINALS = (
    f"SELECT t.occurred_at_ms / {MINUTE_MS}, count(*) FROM process_events t "
    f"WHERE {_indexed('t')} AND t.event_type IN ({_TERMINALS}) AND t.occurred_at_ms >= ? "
    f"AND {_last_wait_event('t.process_id', 't.sequence')} = '{WAITING}' GROUP BY 1"
)
WAITERS = (
    "SELECT count(*) FROM process_events w "
    f"WHERE {_indexed('w')} AND w.event_type = '{WAITING}' AND w.occurred_at_ms < ?"
)


def _waits_ended(
    conn: Tx, since: int, indexed: bool, by_column: dict[str, dict[int, int]]
) -> list[tuple[int, int]]:
    """Per minute, the terminal events from `since` on that ended a wait, each looked up
    from whichever side has fewer rows: the terminal events from `since` (counted already)
    or the processes that ever entered a wait (a count of an index range)."""
    if indexed:
        terminals = sum(sum(by_column[name].values()) for name in _TERMINAL_TYPES)
        waiters = int(conn.execute(WAITERS, (2**62,)).fetchone()[0])
        if terminals <= waiters:
            return [(int(m), int(n)) for m, n in conn.execute(WAITS_ENDED_BY_TERMINALS, (since,))]
    statement = _waits_ended_by_waiters(dialect(conn))
    return [(int(m), int(n)) for m, n in conn.execute(statement, (2**62, since))]


def _now(conn: Tx) -> tuple[int, int]:
    """Live rows now, and those of them waiting (see `_waiting_now`)."""
    live = conn.execute("SELECT count(*) FROM processes WHERE status = 'running'").fetchone()
    waiting = conn.execute(_waiting_now(dialect(conn)), (2**62,)).fetchone()
    return int(live[0]), int(waiting[0])


# One terminal type's latest runs in [since, until): a backwards walk of the index.
LATEST_ENDS = (
    "SELECT e.occurred_at_ms, e.process_id FROM process_events e "
    f"WHERE {_indexed('e')} AND e.event_type = ? AND e.occurred_at_ms >= ? "
    "AND e.occurred_at_ms < ? ORDER BY e.occurred_at_ms DESC LIMIT ?"
)
LATEST_ENDS_SCAN = (
    "SELECT e.occurred_at_ms, e.process_id FROM process_events e "
    f"WHERE {_indexed('e')} AND e.event_type IN ({_TERMINALS}) AND e.occurred_at_ms >= ? "
    "AND e.occurred_at_ms < ? ORDER BY e.occurred_at_ms DESC LIMIT ?"
)
_CHUNK = 500  # ids per IN list, well under SQLite's bound-parameter limit


def _facts_statement(sql: Dialect, ids: int) -> str:
    """The kind, first start and registration time of `ids` rows, each found by its key.
    A separate read, not a join: PostgreSQL joins 1,000 ids to a million rows by hashing
    the whole table, where an IN list is a lookup per id on both stores."""
    kind = sql.json_text("p.record_json", "identity.kind")
    started = sql.json_text("p.record_json", "first_started.started_at_ms")
    return (
        f"SELECT p.process_id, {kind}, {started}, p.created_at_ms, {_kind_repeated(sql)} "
        f"FROM processes p WHERE p.process_id IN ({','.join('?' * ids)})"
    )


def _kind_repeated(sql: Dialect) -> str:
    """Whether the row `p` is shown as its stand-in, of kind `undecodable` and never
    started, because its record names `identity.kind` (or another read key: repeated.py)
    twice, where SQL read the first kind. Asked only of a record whose text may (a
    backslash, `"identity"` twice, or `"kind"` twice in the first identity): asking every
    run took the 15-minute read of 1,000 runs from ~9 to ~37 ms of CPU (benchmarks'
    100,000-row registry), on every refresh of the Health view; this test, to ~15 ms.
    A run whose record repeats another key is counted by its kind unless its text has a
    backslash, as is one whose record fails the models' validation."""
    if sql.name != "sqlite":
        return "FALSE"
    record, identity = "p.record_json", sql.json_text("p.record_json", "identity")
    may = (
        f"{has_backslash(record)} OR {_twice(record, 'identity')} "
        f"OR {_twice(identity, 'kind')}"
    )
    # (A record past the ceiling is measured first, never searched: dialect.py.)
    too_large = sql.too_large(record)
    return f"(CASE WHEN {too_large} THEN 0 WHEN {may} THEN {repeated_sql(sql)} ELSE 0 END)"


def _twice(text: str, name: str) -> str:
    """Whether the JSON `text` holds `"name"` more than once (a NULL text: no)."""
    quoted = f'\'"{name}"\''
    return f"(length({text}) - length(replace({text}, {quoted}, '')) > {len(name) + 2})"


def plans(conn: Tx) -> list[str]:
    """SQLite's query plan of each statement, one line per step (for the tests)."""
    never = 2**62
    statements = (
        (PER_MINUTE, (0, 1)),
        (LATER, (0, never) * len(_COLUMNS)),
        (_waiting_now(SQLITE), (never,)),
        (_waits_ended_by_waiters(SQLITE), (never, 0)),
        (WAITS_ENDED_BY_TERMINALS, (0,)),
        (LATEST_ENDS, ("process.completed", 0, 0, 1)),
        (_facts_statement(SQLITE, 2), ("a", "b")),
    )
    return [
        " / ".join(str(row[-1]) for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))
        for sql, params in statements
    ]


def activity(
    conn: Tx,
    first_minute: int,
    last_minute: int,
    runs: int,
    runs_from_minute: int,
    before: tuple[int, int] | None = None,
) -> ProcessActivity:
    if last_minute < first_minute:
        raise InvalidRequest(
            f"an activity range must end at or after its first minute, got {first_minute} "
            f"to {last_minute}"
        )
    if isinstance(runs, bool) or runs < 0:
        raise InvalidRequest(f"a duration-runs bound must be a whole number >= 0, got `{runs}`")
    since, until = first_minute * MINUTE_MS, (last_minute + 1) * MINUTE_MS
    indexed = _indexed_file(conn)
    live, waiting = (0, 0) if before is not None else _now(conn)
    if indexed:
        by_column = _per_minute(conn, first_minute, last_minute)
    else:
        by_column = _scanned(conn, since, last_minute)
    left = dict(by_column[RESUMED])
    for minute, count in _waits_ended(conn, since, indexed, by_column):
        left[int(minute)] = left.get(int(minute), 0) + int(count)
    counts = ActivityCounts(
        before=before,
        live_now=live,
        waiting_now=waiting,
        started=by_column["started"],
        ended={name.removeprefix("process."): by_column[name] for name in _TERMINAL_TYPES},
        waits_entered=by_column[WAITING],
        waits_left=left,
        runs=_runs(conn, runs_from_minute * MINUTE_MS, until, runs, indexed),
    )
    activity = ProcessActivity.build(first_minute, last_minute, counts)
    return activity if indexed else activity.model_copy(update={"scanned": True})


def _indexed_file(conn: Tx) -> bool:
    """Whether the registry has the charts' event index (a file made before it has not, and
    opening never adds it). Without it, every per-minute range count would be a scan of the
    whole log: 105 scans for a quarter hour, measured at 166 s on a million rows."""
    exists = dialect(conn).index_exists()
    return all(
        conn.execute(exists, (name,)).fetchone() is not None
        for name in (EVENT_INDEX, CREATED_INDEX)
    )


def _per_minute(conn: Tx, first_minute: int, last_minute: int) -> dict[str, dict[int, int]]:
    """Each column's count per minute, and after the last minute (as minute last + 1)."""
    by_column: dict[str, dict[int, int]] = {name: {} for name in COLUMN_NAMES}
    for minute, *counts in conn.execute(PER_MINUTE, (first_minute, last_minute)):
        for name, count in zip(COLUMN_NAMES, counts, strict=True):
            if count:
                by_column[name][int(minute)] = int(count)
    until = (last_minute + 1) * MINUTE_MS
    later = conn.execute(LATER, (until, 2**62) * len(_COLUMNS)).fetchone()
    for name, count in zip(COLUMN_NAMES, later, strict=True):
        if count:
            by_column[name][last_minute + 1] = int(count)
    return by_column


def _scanned(conn: Tx, since: int, last_minute: int) -> dict[str, dict[int, int]]:
    """`_per_minute` without the indexes: one scan of each table, grouped by the minute."""
    by_column: dict[str, dict[int, int]] = {name: {} for name in COLUMN_NAMES}

    def add(name: str, minute: int, count: int) -> None:
        minute = min(minute, last_minute + 1)
        by_column[name][minute] = by_column[name].get(minute, 0) + count

    for minute, count in conn.execute(STARTS_SCAN, (since,)):
        add("started", int(minute), int(count))
    for event_type, minute, count in conn.execute(EVENTS_SCAN, (since,)):
        add(str(event_type), int(minute), int(count))
    return by_column


def _runs(conn: Tx, since: int, until: int, runs: int, indexed: bool) -> list[tuple[str, int]]:
    """(kind, duration) of the latest `runs` runs to end in [since, until): from first
    start (registration, for a row never started) to the terminal event. With the index,
    a backwards walk per terminal type; without it, one scan for all four."""
    ends: list[tuple[int, str]] = []
    for event_type in _TERMINAL_TYPES if indexed else (None,):
        statement, params = (
            (LATEST_ENDS, (event_type, since, until, runs))
            if event_type is not None
            else (LATEST_ENDS_SCAN, (since, until, runs))
        )
        ends.extend((int(at), str(pid)) for at, pid in conn.execute(statement, params))
    ends = sorted(ends, reverse=True)[:runs]
    facts: dict[str, tuple[str, int]] = {}
    ids = sorted({pid for _, pid in ends})
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        for pid, kind, started, created, repeated in conn.execute(
            _facts_statement(dialect(conn), len(chunk)), chunk
        ):
            if repeated:  # shown as its stand-in: kind `undecodable`, never started
                kind, started = UNDECODABLE_KIND, None
            begun = int(started) if started is not None else int(created)
            facts[str(pid)] = (str(kind) if kind is not None else "?", begun)
    # Same snapshot, so every id read above is there (a row has one terminal event).
    return [(facts[pid][0], max(0, at - facts[pid][1])) for at, pid in ends if pid in facts]
