"""The audit trail's two sources (lashtui.model.audit): lashtui's table of operator
actions, written one row per target right after each action, and the operator events of
the event log, read newest first by keyset pages.

The table is created with a new registry (schema DDL) and, in a registry made before it
existed or by lash, by the first action recorded there: `CREATE TABLE IF NOT EXISTS` in
that write's own transaction, so opening a registry still writes nothing, and a read-only
open never does. A registry without it reads as "nothing recorded", said as such.

The table holds operator actions, made at human speed, so it is read by its primary key
alone, newest first, filters applied along the way. The event source reads the partial
index `process_events_operator_idx` (only cancel requests and re-run links are in it, so
the worker's appends of every other event do not maintain it; measured in the README) in
(time, process, sequence) order; a registry made before the index, or by lash, has no such
index and the same query scans the event log, correct but slower. Filters the index does
not serve (an operator named in a payload) are applied in Python over a bounded number of
index entries per page, and the page says where to go on from.
"""

from __future__ import annotations

import json

from pydantic import JsonValue

from lashtui.model import limit
from lashtui.model.audit import (
    AUDIT_EVENT_TYPES,
    AUDIT_TABLE,
    AuditPage,
    AuditQuery,
    OperatorAction,
)
from lashtui.registry.sql.dialect import Tx, dialect
from lashtui.registry.sql.event_row import event_row
from lashtui.registry.sql.log_read import page_rows
from lashtui.registry.sql.stored_text import (
    READ_CHARS,
    SMALL_JSON_CHARS,
    as_read,
    past_read,
    read_text,
)

# The event types of the partial index, written the same way in the index and the query
# (SQLite uses a partial index only for a query whose WHERE holds the index's own term).
OPERATOR_EVENTS = "event_type IN ('process.cancel_requested', 'lashtui.rerun_of')"
OPERATOR_EVENTS_INDEX = (
    "CREATE INDEX IF NOT EXISTS process_events_operator_idx "
    f"ON process_events(occurred_at_ms, process_id, sequence) WHERE {OPERATOR_EVENTS}"
)
assert set(AUDIT_EVENT_TYPES) == {"process.cancel_requested", "lashtui.rerun_of"}
# At most this many index entries are read for one page of the event source when a filter
# is applied in Python; the page then ends early and says where to go on from.
EVENT_SCAN_BUDGET = 5_000
# ...in chunks of at most this many characters of stored JSON (plus one event).
CHUNK_CHARS = 8 << 20

# The most of a row's detail JSON a read takes (stored_text.py): a detail is what an action
# named beyond its target (a reason of at most 4,096 characters, a signal, two scopes, a
# prune's counts), and `json.dumps` escapes each character past ASCII, so the longest
# lashtui writes is a reason of astral characters, 12 each: ~49,000. A longer one is left
# unread (`_detail`).
DETAIL_READ_CHARS = SMALL_JSON_CHARS
# The table's columns as a read takes them: its text under the ceiling on plain text, its
# detail under its own (stored_text.py). Another program's operator, id or sentence of
# 200 MB cost `audit` 440 MB and `audit --json` 4.4 s and 630 MB, and printed it.
_COLUMNS = ", ".join(
    (
        "id",
        "at_ms",
        # (SQLite's substr of an empty blob is NULL, which reads as absent: the column
        # itself, empty, is taken then.)
        *(
            f"coalesce({read_text(column)}, {column})"
            for column in ("operator", "action", "process_id", "outcome")
        ),
        read_text("sentence"),
        read_text("detail_json", DETAIL_READ_CHARS),
    )
)


def has_table(conn: Tx) -> bool:
    return conn.execute(dialect(conn).table_exists(), (AUDIT_TABLE,)).fetchone() is not None


def record(conn: Tx, actions: list[OperatorAction]) -> None:
    """Append the actions (one row per target), creating the table if it is missing."""
    conn.execute(dialect(conn).audit_table_ddl())
    for action in actions:
        limit.check_text("an operator", action.operator, limit.MAX_NAME_CHARS)
        detail = json.dumps(action.detail) if action.detail is not None else None
        # A sentence is stored within what a read takes of it (stored_text.py), so that what
        # lashtui records reads back as it was stored: a refusal may quote a long list (a
        # process's declared signals). Its whole was the action's own answer.
        sentence = action.sentence
        if len(sentence) > READ_CHARS:
            sentence = sentence[: READ_CHARS - 1] + "…"
        conn.execute(
            f"INSERT INTO {AUDIT_TABLE} (at_ms, operator, action, process_id, outcome, "
            "sentence, detail_json) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                action.at_ms,
                action.operator,
                action.action,
                action.process_id,
                action.outcome,
                sentence,
                detail,
            ),
        )


def page(conn: Tx, query: AuditQuery) -> AuditPage:
    if query.source == "events":
        return _event_page(conn, query)
    if not has_table(conn):
        return AuditPage(source="recorded", entries=[], recorded=False)
    where: list[str] = ["1 = 1"]
    params: list[object] = []
    cursor = query.row_cursor()
    if cursor is not None:
        where.append("id < ?")
        params.append(cursor)
    for column in ("operator", "action", "outcome"):
        value = getattr(query, column)
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if query.text:
        where.append(f"process_id IS NOT NULL AND {dialect(conn).contains('process_id')}")
        params.append(query.text)
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM {AUDIT_TABLE} WHERE {' AND '.join(where)} "
        "ORDER BY id DESC LIMIT ?",
        (*params, query.limit),
    ).fetchall()
    entries = [_recorded(row) for row in rows]
    more = entries[-1].id if len(entries) == query.limit else None
    return AuditPage(source="recorded", entries=entries, next_before=more)


def _recorded(row: tuple[object, ...]) -> OperatorAction:
    """A row of the table as an entry. The table is in the registry, so any program may
    have written it: a value of the wrong type is shown as what it is, never a failed read
    (the dashboard shows it through the untrusted-text boundary like any stored text), and
    a time that is not a whole number as unknown (it read as 0: 1970)."""
    id_, at_ms, *texts, detail = row
    # A text past the ceiling is held cut, and shown so (stored_text.py): its id, if cut, is
    # a cut id, which a detail opens as the row it was cut from and nothing acts on.
    operator, action, process_id, outcome, sentence = (as_read(text) for text in texts)
    return OperatorAction(
        source="recorded",
        id=str(id_),
        at_ms=at_ms if isinstance(at_ms, int) else None,
        operator=_as_text(operator),
        action=str(_as_text(action)),
        process_id=_as_text(process_id),
        outcome=str(_as_text(outcome)),
        sentence=str(_as_text(sentence)),
        detail=_detail(detail),
    )


# The most of a blob `_as_text` shows, in bytes (twice as many hex digits).
BLOB_SHOWN = 64


def _as_text(value: object) -> str | None:
    """A text column's value as text: None only where the column holds NULL. A value that
    is not text (SQLite keeps a blob or a number another program stored) is written as
    what it is and said not to be text: a blob as `x'...'` hex (its first `BLOB_SHOWN`
    bytes), a number as its digits. Read as absent, an operator stored as a blob was
    "(not recorded)" and a process id "(whole registry)": one operator's cancel of one
    process read as an anonymous action on the whole registry."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bytes):
        cut = "…" if len(value) > BLOB_SHOWN else ""
        # (A read takes one byte past READ_CHARS of a blob too: a longer one's size is not
        # known, only that it is larger.)
        size = f"more than {READ_CHARS:,}" if len(value) > READ_CHARS else f"{len(value):,}"
        return f"x'{value[:BLOB_SHOWN].hex()}'{cut} (a blob of {size} bytes, not text)"
    return f"{value!r} (a number, not text)"


def _detail(text: object) -> dict[str, JsonValue] | None:
    if not isinstance(text, str):
        return None
    if past_read(text, DETAIL_READ_CHARS):
        return {"undecodable": f"more than {DETAIL_READ_CHARS:,} characters of JSON: not read"}
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return {"undecodable": text[:200]}
    return value if isinstance(value, dict) else {"value": value}


def _event_page(conn: Tx, query: AuditQuery) -> AuditPage:
    types = [t for t, action in AUDIT_EVENT_TYPES.items() if query.action in (None, action)]
    if not types or query.outcome not in (None, "done", "requested"):
        return AuditPage(source="events", entries=[])
    where, params = [OPERATOR_EVENTS, f"event_type IN ({','.join('?' * len(types))})"], [*types]
    if query.text:
        where.append(dialect(conn).contains("process_id"))
        params.append(query.text)
    cursor = query.event_cursor()
    # Filtering by operator happens here, after the read: read the whole budget at once,
    # so a registry without the index scans its events once, not once per chunk.
    chunk = query.limit if query.operator is None else EVENT_SCAN_BUDGET
    entries: list[OperatorAction] = []
    scanned = 0
    while scanned < EVENT_SCAN_BUDGET:
        keyset = ["(occurred_at_ms, process_id, sequence) < (?, ?, ?)"] if cursor else []
        # A chunk is cut by size as well (a cancel request's payload may be a mebibyte, and
        # 5,000 of them would be 5 GiB held), so only an empty one says the scan has ended.
        # The keyset reads on from the last row's columns, so they must be whole numbers
        # (page_rows tests the sequence; the time is tested here: on SQLite another program
        # may store any value there).
        whole = dialect(conn).whole_only("e.occurred_at_ms")
        rows = page_rows(
            conn,
            f"FROM process_events e WHERE {' AND '.join(where + keyset)}{whole}",
            (*params, *(cursor or ())),
            "occurred_at_ms DESC, process_id DESC, sequence DESC",
            chunk,
            CHUNK_CHARS,
        )
        if not rows:
            return AuditPage(source="events", entries=entries)
        for row in rows:
            scanned += 1
            cursor = (int(row[4]), str(row[1]), int(row[2]))
            action = OperatorAction.from_event(event_row(row))
            if action is not None and action.id != _place(cursor):
                # The next page goes on from the row's columns, not from what its JSON says.
                action = action.model_copy(update={"id": _place(cursor)})
            if action is not None and query.operator in (None, action.operator):
                entries.append(action)
                if len(entries) == query.limit:
                    return AuditPage(source="events", entries=entries, next_before=action.id)
    # The budget ran out first: the page is short, and the next one goes on from here.
    assert cursor is not None
    return AuditPage(source="events", entries=entries, next_before=_place(cursor))


def _place(cursor: tuple[int, str, int]) -> str:
    """An event's place in the audit's keyset, as `AuditQuery.before` takes it back:
    `<occurred_at_ms>:<process_id>:<sequence>`."""
    return ":".join(map(str, cursor))
