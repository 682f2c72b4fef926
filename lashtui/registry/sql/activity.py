"""The Health view's counts, by epoch minute, from the registry's columns and event log: one
read, exact (every row counted, none sampled), both stores (a lashtui extension).

- starts: `processes.created_at_ms`, by the index on it;
- ends by terminal state, waits entered and left: the `process.<state>`, `process.waiting`
  and `process.resumed` events, by a partial index over those six types only (other
  events pay nothing for it on append) that covers (type, time, process, sequence). Every
  statement repeats the index's predicate word for word: SQLite uses a partial index only
  when the query's WHERE holds its predicate as one of its terms;
- a terminal event ends a wait when the process's last wait event before it is a
  `process.waiting`: looked up (by the primary key) only for processes that entered a wait
  before the window's end, a set read from the same index;
- live and waiting rows now (the anchor the series are reconstructed from): the status
  index, and the wait read from the live rows' JSON;
- run durations: the latest `runs` terminal events in the window, per state a backwards walk
  of the index, joined to their rows for the kind and the first start.

Terminal transitions are counted by lash's four terminal event types, which every terminal
writer here and in lash uses; an event type a registration declares terminal under another
name is not counted (its row still leaves the live count). Pruned rows take their start and
their end with them.

Measured on a 1,000,000-row registry with its rows spread over 24 hours (benchmarks/
d4_charts.py): see the numbers in that module's docstring. Without the two indexes (a file
created before them: opening never alters a file) the answer is the same, read by scans.
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
from lashtui.registry.sql.dialect import SQLITE, Dialect, Tx, dialect

_TERMINAL_TYPES = tuple(f"process.{state}" for state in TERMINAL_NAMES)
_TYPES = ", ".join(f"'{name}'" for name in (*_TERMINAL_TYPES, WAITING, RESUMED))
_TERMINALS = ", ".join(f"'{name}'" for name in _TERMINAL_TYPES)

TRANSITION_INDEX = (
    "ON process_events(event_type, occurred_at_ms, process_id, sequence) "
    f"WHERE event_type IN ({_TYPES})"
)


def _indexed(alias: str) -> str:
    """The partial index's predicate, as a term of a query on `process_events alias`."""
    return f"{alias}.event_type IN ({_TYPES})"


TRANSITIONS = (
    f"SELECT e.event_type, e.occurred_at_ms / {MINUTE_MS}, count(*) FROM process_events e "
    f"WHERE {_indexed('e')} AND e.occurred_at_ms >= ? GROUP BY 1, 2"
)
STARTS = (
    f"SELECT created_at_ms / {MINUTE_MS}, count(*) FROM processes "
    "WHERE created_at_ms >= ? GROUP BY 1"
)
# Terminal events from `since` whose process's last wait event before them is a waiting:
# the probe (a walk back along the primary key) only for processes that entered a wait
# before `until`, a set read once from the partial index.
WAITS_ENDED = (
    f"SELECT t.occurred_at_ms / {MINUTE_MS}, count(*) FROM process_events t "
    f"WHERE {_indexed('t')} AND t.event_type IN ({_TERMINALS}) AND t.occurred_at_ms >= ? "
    "AND t.process_id IN (SELECT w.process_id FROM process_events w "
    f"WHERE {_indexed('w')} AND w.event_type = '{WAITING}' AND w.occurred_at_ms < ?) "
    "AND (SELECT l.event_type FROM process_events l WHERE l.process_id = t.process_id "
    f"AND l.sequence < t.sequence AND l.event_type IN ('{WAITING}', '{RESUMED}') "
    f"ORDER BY l.sequence DESC LIMIT 1) = '{WAITING}' GROUP BY 1"
)


def _now_statement(sql: Dialect) -> str:
    wait = sql.json_text("p.record_json", "wait")
    return (
        f"SELECT count(*), coalesce(sum(CASE WHEN {wait} IS NOT NULL THEN 1 ELSE 0 END), 0) "
        "FROM processes p WHERE p.status = 'running'"
    )


def _runs_statement(sql: Dialect) -> str:
    """One terminal type's latest runs in [since, until) (a backwards walk of the index),
    each with its kind, first start and registration time."""
    kind = sql.json_text("p.record_json", "identity.kind")
    started = sql.json_text("p.record_json", "first_started.started_at_ms")
    return (
        f"SELECT e.occurred_at_ms, {kind}, {started}, p.created_at_ms FROM "
        "(SELECT e.process_id, e.occurred_at_ms FROM process_events e "
        f"WHERE {_indexed('e')} AND e.event_type = ? AND e.occurred_at_ms >= ? "
        "AND e.occurred_at_ms < ? ORDER BY e.occurred_at_ms DESC LIMIT ?) e "
        "JOIN processes p ON p.process_id = e.process_id"
    )


def plans(conn: Tx) -> list[str]:
    """SQLite's query plan of each statement, one line per step (for the tests)."""
    statements = (
        (TRANSITIONS, (0,)),
        (STARTS, (0,)),
        (WAITS_ENDED, (0, 0)),
        (_now_statement(SQLITE), ()),
        (_runs_statement(SQLITE), ("process.completed", 0, 0, 1)),
    )
    return [
        " / ".join(str(row[-1]) for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))
        for sql, params in statements
    ]


def activity(
    conn: Tx, first_minute: int, last_minute: int, runs: int, runs_from_minute: int
) -> ProcessActivity:
    if last_minute < first_minute:
        raise InvalidRequest(
            f"an activity range must end at or after its first minute, got {first_minute} "
            f"to {last_minute}"
        )
    if isinstance(runs, bool) or runs < 0:
        raise InvalidRequest(f"a duration-runs bound must be a whole number >= 0, got `{runs}`")
    since = first_minute * MINUTE_MS
    until = (last_minute + 1) * MINUTE_MS
    live, waiting = conn.execute(_now_statement(dialect(conn))).fetchone()
    ended: dict[str, dict[int, int]] = {state: {} for state in TERMINAL_NAMES}
    entered: dict[int, int] = {}
    left: dict[int, int] = {}
    for event_type, minute, count in conn.execute(TRANSITIONS, (since,)):
        if event_type == WAITING:
            entered[int(minute)] = int(count)
        elif event_type == RESUMED:
            left[int(minute)] = int(count)
        else:
            ended[event_type.removeprefix("process.")][int(minute)] = int(count)
    for minute, count in conn.execute(WAITS_ENDED, (since, until)):
        left[int(minute)] = left.get(int(minute), 0) + int(count)
    counts = ActivityCounts(
        live_now=int(live),
        waiting_now=int(waiting),
        started={int(m): int(n) for m, n in conn.execute(STARTS, (since,))},
        ended=ended,
        waits_entered=entered,
        waits_left=left,
        runs=_runs(conn, runs_from_minute * MINUTE_MS, until, runs),
    )
    return ProcessActivity.build(first_minute, last_minute, counts)


def _runs(conn: Tx, since: int, until: int, runs: int) -> list[tuple[str, int]]:
    """(kind, duration) of the latest `runs` runs to end in [since, until): from first
    start (registration, for a row never started) to the terminal event."""
    statement = _runs_statement(dialect(conn))
    found: list[tuple[int, str, int]] = []
    for event_type in _TERMINAL_TYPES:
        for ended, kind, started, created in conn.execute(
            statement, (event_type, since, until, runs)
        ):
            begun = int(started) if started is not None else int(created)
            found.append((int(ended), str(kind) if kind is not None else "?", int(ended) - begun))
    found.sort(reverse=True)
    return [(kind, max(0, duration)) for _, kind, duration in found[:runs]]
