"""The Errors view's reads: failed, cancelled and abandoned rows grouped by (state, code,
message) over a window of the most recently changed processes (lashtui/model/error.py says
what each part of a group is and why a window).

The window (which rows, read how, and which of them do not decode, with what that costs) is
error_window.py's; this module groups it.

Codes and messages are clipped to `CLIP_CHARS` characters in SQL (`substr` counts
characters in both stores), so a huge stored message costs its parse but never reaches
Python whole.
"""

from __future__ import annotations

from lashtui.model import (
    CLIP_CHARS,
    ErrorGroup,
    ErrorGroupKey,
    ErrorGroupQuery,
    ErrorSummary,
    ProcessRecord,
    ProcessState,
    check_group_rows,
)
from lashtui.registry.sql.blob_id import BLOB_ID_WORDS, NULL_ID_WORDS
from lashtui.registry.sql.ceiling import within_ceiling
from lashtui.registry.sql.decoded_row import UNDECODABLE_CODE, UNDECODABLE_WORDS
from lashtui.registry.sql.dialect import Dialect, Tx, dialect
from lashtui.registry.sql.error_window import (
    ENDED_BADLY,
    among_undecodable,
    rows_of,
    undecodable_keys,
    window_sql,
)
from lashtui.registry.sql.page import check_size, records_within
from lashtui.registry.sql.row import Row, fetch_rows

_ORDER = {
    "count": "n DESC, last_seen DESC NULLS LAST, status, code, message",
    "last_seen": "last_seen DESC NULLS LAST, n DESC, status, code, message",
}


def _clip(expression: str) -> str:
    return f"coalesce(substr({expression}, 1, {CLIP_CHARS}), '')"


# The outcome's tag each ended-badly state's record holds (lashtui/model/output.py).
_OUTCOME_TYPES = {"failed": "failure", "cancelled": "cancelled", "abandoned": "abandoned"}


def _unlike(sql: Dialect) -> str:
    """Whether a row's outcome is not of its status column's kind: another program wrote
    one without the other (a failed row holding a cancel's output, a row whose record says
    it still runs), so its record does not decode (registry/sql/decoded_row.py) and its stored
    words are no verdict. Such a row groups under the stand-in's code and words (it was
    grouped under the words of the record it contradicts). A test of the small outcome
    read anyway, not a decode: a record may fail to decode in ways SQL cannot see."""
    kind = sql.json_text("p.outcome", "type")
    agree = " OR ".join(
        f"(p.status = '{status}' AND {kind} = '{tag}')" for status, tag in _OUTCOME_TYPES.items()
    )
    return f"(NOT coalesce({agree}, FALSE) OR p.repeated OR {among_undecodable(sql)})"


# A row whose id is not text (a NULL's or a blob's: blob_id.py) groups apart, under this
# code and its stand-in's words: every reader shows it as a stand-in whose record is never
# read, so the record's outcome (a copy of a failed row's, say) is no verdict on anything.
# It was counted with the ordinary failures its record named. SQLite only: PostgreSQL's id
# is always text.
NOT_TEXT_CODE = "process_id_not_text"


def _stand_in(sql: Dialect, null: str, blob: str, undecodable: str) -> str:
    """The CASE arms, before the rest, of a row every reader shows as its stand-in, which
    groups under the stand-in's code or words, whatever its record says: `null` for a NULL
    id and `blob` for a blob's (SQLite only), `undecodable` for a record that does not
    decode (`_unlike`). The id's arms come first: such a row's record is never read."""
    not_text = ""
    if sql.name == "sqlite":
        not_text = (
            f"WHEN p.process_id IS NULL THEN {null} "
            f"WHEN typeof(p.process_id) = 'blob' THEN {blob} "
        )
    return f"{not_text}WHEN {_unlike(sql)} THEN {undecodable} "


def _code(sql: Dialect) -> str:
    """A row's group code: the failure code, the abandon writer, none for a cancel."""
    failure = sql.json_text("p.outcome", "code")
    writer = sql.json_text("p.outcome", "evidence.writer")
    code, undecodable = f"'{NOT_TEXT_CODE}'", f"'{UNDECODABLE_CODE}'"
    return _clip(
        f"CASE {_stand_in(sql, code, code, undecodable)}"
        f"WHEN p.status = 'failed' THEN {failure} WHEN p.status = 'abandoned' THEN {writer} END"
    )


def _message(sql: Dialect) -> str:
    """A row's group message: the failure message or cancel reason, the abandon reason."""
    output = sql.json_text("p.outcome", "message")
    null, blob, undecodable = f"'{NULL_ID_WORDS}'", f"'{BLOB_ID_WORDS}'", f"'{UNDECODABLE_WORDS}'"
    return _clip(
        f"CASE {_stand_in(sql, null, blob, undecodable)}"
        f"WHEN p.status = 'abandoned' THEN p.reason ELSE {output} END"
    )


def group_statement(
    query: ErrorGroupQuery, sql: Dialect, undecodable: object = None, large: tuple[int, ...] = ()
) -> tuple[str, list[object]]:
    """The grouping SELECT (exposed so tests can read its plan): one row per group in the
    query's order, each with the number of groups and of rows over all of them.
    `undecodable`: `undecodable_keys` (none when not given)."""
    if undecodable is None:
        undecodable = "[]" if sql.name == "sqlite" else []
    updated = sql.whole("p.updated_at_ms")
    grouped = (
        f"SELECT p.status AS status, {_code(sql)} AS code, {_message(sql)} AS message, "
        # Times another program stored as other than whole numbers are left out (a text
        # won `max` and failed the reader); a group with none at all has no time (NULL).
        f"count(*) AS n, min({updated}) AS first_seen, max({updated}) AS last_seen "
        f"FROM {window_sql(sql, large)} WHERE {ENDED_BADLY} GROUP BY 1, 2, 3"
    )
    select = (
        "SELECT status, code, message, n, first_seen, last_seen, "
        "count(*) OVER () AS total_groups, sum(n) OVER () AS total_rows "
        f"FROM ({grouped}) g ORDER BY {_ORDER[query.order]} LIMIT ?"
    )
    return select, [undecodable, undecodable, query.window, query.window, query.limit]


def groups(conn: Tx, query: ErrorGroupQuery) -> ErrorSummary:
    """The summary of one window, in one snapshot (the caller's read transaction), never
    loading a record past the ceiling (ceiling.py)."""
    return within_ceiling(conn, lambda large: _groups(conn, query, large), rows_of(query.window))



def _groups(conn: Tx, query: ErrorGroupQuery, large: tuple[int, ...]) -> ErrorSummary:
    sql = dialect(conn)
    cursor = conn.execute(
        dialect(conn).change_position()
    ).fetchone()
    # Index only: counts the window's entries without reading a row.
    scanned = conn.execute(
        "SELECT count(*) FROM (SELECT 1 FROM processes ORDER BY change_seq DESC LIMIT ?) w",
        (query.window,),
    ).fetchone()[0]
    undecodable = undecodable_keys(conn, query.window, large)
    statement, params = group_statement(query, sql, undecodable, large)
    rows = fetch_rows(conn, statement, params)
    found = [
        ErrorGroup(
            state=ProcessState(status),
            code=code,
            message=message,
            count=int(n),
            first_seen_ms=None if first is None else int(first),
            last_seen_ms=None if last is None else int(last),
        )
        for status, code, message, n, first, last, _, _ in rows
    ]
    return ErrorSummary(
        window=query.window,
        scanned=int(scanned),
        rows=int(rows[0][7]) if rows else 0,
        total_groups=int(rows[0][6]) if rows else 0,
        groups=found,
        cursor=int(cursor[0]) if cursor else 0,
    )


def group_rows(conn: Tx, key: ErrorGroupKey, window: int, limit: int) -> list[ProcessRecord]:
    return group_rows_within(conn, key, window, limit, None)[0]


def group_rows_within(
    conn: Tx, key: ErrorGroupKey, window: int, limit: int, max_chars: int | None
) -> tuple[list[ProcessRecord], bool]:
    """The rows of one group in the same window, newest change first, at most `limit`; with
    `max_chars` cut by their records' size (page.py `records_within`), and whether they
    were. The ids are found first, so the window's sort holds ids, not records."""
    check_group_rows(window, limit)
    check_size(max_chars, "an error group's row list")
    found = within_ceiling(
        conn, lambda large: _group_ids(conn, key, window, limit, large), rows_of(window)
    )
    ids = [process_id for (process_id,) in found]
    return records_within(conn, ids, max_chars)


def _group_ids(
    conn: Tx, key: ErrorGroupKey, window: int, limit: int, large: tuple[int, ...]
) -> list[Row]:
    sql = dialect(conn)
    undecodable = undecodable_keys(conn, window, large)
    # A NULL id as its rowid (the window's row key there), as every read takes it
    # (blob_id.py `read_id`): the group's NULL rows listed as one, its count as each.
    pid = "coalesce(p.process_id, p.row_key)" if sql.name == "sqlite" else "p.process_id"
    return fetch_rows(
        conn,
        f"SELECT {pid} FROM {window_sql(sql, large)} "
        f"WHERE p.status = ? AND {_code(sql)} = ? AND {_message(sql)} = ? "
        "ORDER BY p.change_seq DESC LIMIT ?",
        (window, window, key.state.value, undecodable, key.code, undecodable, key.message,
         limit),
    )  # fmt: skip
