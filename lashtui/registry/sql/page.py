"""The dashboard's reads over a large registry: keyset pages, the census, batch gets, the
lease holders and the abandon candidates (lashtui extensions, not lash's trait).

Every page walks an index in process-id order and stops after `limit` rows, so its cost does
not grow with the registry. A state filter is split into one arm per stored status, each a
walk of the (status, process_id) index, merged here: SQLite cannot merge several ranges of
one index in order, and would otherwise sort every matching row to return the first 200.
With a lens, the lens's index drives instead. Only the rows that make the page are decoded.

A text filter cannot use an index: the walk tests each row (the label needs its JSON) until
`limit` match, so a text that matches little reads every row the lens and states allow
(measured here: ~5 s for a million rows, ~0.3 s for 100,000). The label is not a column
because lash's layout is not ours to change.

Files created before these indexes existed are never altered (opening writes nothing), so
every query here is also correct without them, only slower.
"""

from __future__ import annotations

import heapq
import itertools
import sqlite3
from collections.abc import Iterable
from typing import NamedTuple

from lashtui.errors import InvalidRequest
from lashtui.model import (
    LIVE_STATES,
    PROCESS_STATES,
    TERMINAL_STATES,
    ProcessCensus,
    ProcessPageQuery,
    ProcessRecord,
    ProcessState,
)
from lashtui.registry.sql.dialect import SQLITE, Dialect, Tx, dialect
from lashtui.registry.sql.row import ROW_COLUMNS, Row, decode_row, fetch_rows

_CHUNK = 500  # stay well under SQLite's bound-parameter limit

# SQLite's lower() folds ASCII only; a non-ASCII needle is matched through Python's
# str.lower, registered on the connection, at about twice the cost per row. PostgreSQL's
# lower() folds by the database's encoding and needs no help.
UNICODE_LOWER = "lashtui_lower"


def _label(sql: Dialect) -> str:
    """A row's label as the dashboard shows it (ObservedProcess.label): the identity's
    label, or its kind when the label is absent or empty."""
    label = sql.json_text("p.record_json", "identity.label")
    kind = sql.json_text("p.record_json", "identity.kind")
    return f"coalesce(nullif({label}, ''), {kind})"


def _waiting(sql: Dialect) -> str:
    return f"{sql.json_text('p.record_json', 'wait')} IS NOT NULL"


Arm = tuple[str, list[object]]


def _unicode_lower(value: str | None) -> str | None:
    return value.lower() if isinstance(value, str) else value


def _status_arms(states: frozenset[str] | None, status: str, sql: Dialect) -> list[Arm]:
    """One (predicate, params) per stored status the state set touches; [("", [])] for any.
    `status` is the column as the lens wants it written (see `_Lens.status`)."""
    if states is None or set(states) >= set(PROCESS_STATES):
        return [("", [])]
    arms: list[Arm] = [
        (f"{status} = ?", [state.value]) for state in TERMINAL_STATES if state in states
    ]
    live = [state for state in LIVE_STATES if state in states]
    waiting = _waiting(sql)
    if len(live) == 2:
        arms.append((f"{status} = 'running'", []))
    elif live == [ProcessState.WAITING]:
        arms.append((f"{status} = 'running' AND {waiting}", []))
    elif live == [ProcessState.RUNNING]:
        arms.append((f"{status} = 'running' AND NOT ({waiting})", []))
    return arms


class _Lens(NamedTuple):
    """How a lens reads: its FROM clause, the id column it walks in order, its predicate.

    With a lens, the lens drives and the state is only a filter (`+p.status` keeps SQLite
    off the status index): a session's rows or grants are few, while one state may hold
    most of the registry, and without ANALYZE statistics SQLite cannot know which is which.
    """

    source: str = "processes p"
    id_column: str = "p.process_id"
    predicate: str = ""
    params: tuple[object, ...] = ()
    status: str = "p.status"


def _lens(query: ProcessPageQuery, sql: Dialect) -> _Lens:
    scope = query.scope
    status = f"{sql.not_indexed}p.status"
    if query.lens == "all" or scope is None:
        return _Lens()
    if query.lens == "granted":
        # CROSS JOIN fixes the grants as the outer loop: the grants' primary key is
        # (scope_id, process_id), so one scope's grants come in id order, each row probed
        # by its key.
        return _Lens(
            source=f"process_handle_grants g {sql.fixed_order_join} processes p "
            "ON p.process_id = g.process_id",
            id_column="g.process_id",
            predicate="g.scope_id = ?",
            params=(scope.id(),),
            status=status,
        )
    if scope.agent_frame_id:
        return _Lens(predicate="p.owner_scope_id = ?", params=(scope.id(),), status=status)
    # The session's root scope id, or any frame under it. The frames are one range of the
    # (owner_scope_id, process_id) index: every id that starts with `session:<sid>/frame:`
    # sorts before the same text with its last ':' bumped to ';'. No LIKE, so ids with % or
    # _ in them need no escaping. Two ranges cannot be walked in id order, so SQLite sorts
    # the session's matching ids (only the ids: the rows are read after the page is cut).
    root = scope.id()
    frames = f"{root}/frame:"
    return _Lens(
        predicate="(p.owner_scope_id = ? OR (p.owner_scope_id >= ? AND p.owner_scope_id < ?))",
        params=(root, frames, f"{frames[:-1]};"),
        status=status,
    )


def _text(text: str, sql: Dialect) -> Arm:
    if not text:
        return "", []
    lower = "lower" if text.isascii() or sql is not SQLITE else UNICODE_LOWER
    needle = text.lower()
    # A substring test, not LIKE: the text is matched literally, % and _ included.
    fields = ("p.process_id", "p.owner_scope_id", _label(sql))
    predicate = " OR ".join(sql.contains(f"{lower}({field})") for field in fields)
    return f"({predicate})", [needle, needle, needle]


def page_statements(query: ProcessPageQuery, sql: Dialect = SQLITE) -> list[Arm]:
    """The SELECTs of one page, one per status arm: each returns process ids in the page's
    direction, at most `limit` of them. Exposed so tests can read their query plans."""
    lens = _lens(query, sql)
    text, text_params = _text(query.text, sql)
    column, order = lens.id_column, "DESC" if query.backwards else "ASC"
    cursor = query.before_id if query.backwards else query.after_id
    keyset = f"{column} {'<' if query.backwards else '>'} ?" if cursor is not None else ""
    statements: list[Arm] = []
    for status, status_params in _status_arms(query.states, lens.status, sql):
        terms = [term for term in (lens.predicate, status, keyset, text) if term]
        where = f"WHERE {' AND '.join(terms)}" if terms else ""
        select = f"SELECT {column} FROM {lens.source} {where} ORDER BY {column} {order} LIMIT ?"
        params = [
            *lens.params,
            *status_params,
            *([cursor] if keyset else []),
            *text_params,
            query.limit,
        ]
        statements.append((select, params))
    return statements


def page(conn: Tx, query: ProcessPageQuery) -> list[ProcessRecord]:
    if query.states is not None and not query.states:
        return []
    sql = dialect(conn)
    if not query.text.isascii() and sql is SQLITE:  # the function `_text` asks for
        assert isinstance(conn, sqlite3.Connection)
        conn.create_function(UNICODE_LOWER, 1, _unicode_lower, deterministic=True)
    statements = page_statements(query, sql)
    arms = [fetch_rows(conn, statement, params) for statement, params in statements]
    merged = heapq.merge(*arms, reverse=query.backwards)
    ids = [row[0] for row in itertools.islice(merged, query.limit)]
    if query.backwards:
        ids.reverse()
    # Same transaction, so every id found above is still there.
    found = get_many(conn, ids)
    return [found[process_id] for process_id in ids]


def census(conn: Tx) -> ProcessCensus:
    """Terminal counts from the status index alone; live rows by id, their wait read from
    the JSON (only live rows can wait, and there are far fewer of them)."""
    cursor = conn.execute(
        "SELECT current_seq FROM process_change_clock WHERE singleton = 1"
    ).fetchone()
    terminal = {state.value: 0 for state in TERMINAL_STATES}
    for status, count in conn.execute(
        "SELECT status, count(*) FROM processes WHERE status != 'running' GROUP BY status"
    ):
        terminal[status] = int(count)
    # Two shared strings for the values, not one per row: 100,000 live ids take ~13 MB.
    running, waiting = ProcessState.RUNNING.value, ProcessState.WAITING.value
    live_sql = (
        f"SELECT p.process_id, {_waiting(dialect(conn))} FROM processes p "
        "WHERE p.status = 'running'"
    )
    try:
        rows: Iterable[Row] = conn.execute(live_sql)
        live = {process_id: waiting if parked else running for process_id, parked in rows}
    except sqlite3.OperationalError as error:
        if "decode" not in str(error):
            raise
        # An id that is not UTF-8 (another program wrote it): read again, decoding it as
        # `fetch_rows` does. Iterated otherwise, so 100,000 live ids are never one list.
        rows = fetch_rows(conn, live_sql)
        live = {process_id: waiting if parked else running for process_id, parked in rows}
    return ProcessCensus(cursor=int(cursor[0]) if cursor else 0, terminal=terminal, live=live)


def get_many(conn: Tx, process_ids: list[str]) -> dict[str, ProcessRecord]:
    found: dict[str, ProcessRecord] = {}
    for start in range(0, len(process_ids), _CHUNK):
        chunk = process_ids[start : start + _CHUNK]
        rows = fetch_rows(
            conn,
            f"SELECT {ROW_COLUMNS} FROM processes p "
            f"WHERE p.process_id IN ({','.join('?' * len(chunk))})",
            chunk,
        )
        for row in rows:
            found[row[1]] = decode_row(row)
    return found


def _check_limit(limit: int, what: str) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise InvalidRequest(f"a {what} limit must be a whole number >= 0, got `{limit}`")


def leased(conn: Tx, limit: int) -> list[ProcessRecord]:
    """Rows whose lease is held (expired or not), the soonest to lapse first. A scan of the
    lease table (see schema.py for why there is no index by expiry)."""
    _check_limit(limit, "leased-process")
    rows = fetch_rows(
        conn,
        f"SELECT {ROW_COLUMNS} FROM process_leases l JOIN processes p "
        "ON p.process_id = l.process_id "
        "WHERE l.lease_owner_id IS NOT NULL AND l.lease_token IS NOT NULL "
        "ORDER BY l.lease_expires_at_ms, l.process_id LIMIT ?",
        (limit,),
    )
    return [decode_row(row) for row in rows]


def abandon_candidates(
    conn: Tx, limit: int, lapsed_at_ms: int | None
) -> list[ProcessRecord]:
    """Live rows with a pending abandon request, and started owner_bound rows (with
    `lapsed_at_ms`, only those whose lease is gone or expired by then), in id order."""
    _check_limit(limit, "abandon-candidate")
    sql = dialect(conn)
    lapsed, params = "", []
    if lapsed_at_ms is not None:
        lapsed = (
            "AND NOT EXISTS (SELECT 1 FROM process_leases l WHERE l.process_id = p.process_id "
            "AND l.lease_owner_id IS NOT NULL AND l.lease_token IS NOT NULL "
            "AND l.lease_expires_at_ms > ?)"
        )
        params.append(lapsed_at_ms)
    rows = fetch_rows(
        conn,
        f"SELECT {ROW_COLUMNS} FROM processes p WHERE p.status = 'running' AND ("
        f"{sql.json_has('p.record_json', 'abandon_request')} OR ("
        f"{sql.json_text('p.record_json', 'disposition')} = 'owner_bound' "
        f"AND {sql.json_has('p.record_json', 'first_started')} {lapsed})) "
        "ORDER BY p.process_id LIMIT ?",
        (*params, limit),
    )
    return [decode_row(row) for row in rows]

