"""The Errors view's window (error.py groups it): which rows it reads, how each
ended-badly row's outcome is read out of its record, and which of them do not decode.

The window is the first `window` entries of the change-feed index (`change_seq`, which every
save moves on, so a row that has just ended is at its head) walked backwards: its cost is
bounded by the window whatever the registry holds, and it needs no index beyond the one lash's
layout already has in both stores. Only the failed, cancelled and abandoned rows in it have
their JSON read, each field through the dialect's guarded `json_text`: a row another
program wrote that is not JSON groups under empty code and message instead of failing the
read (on PostgreSQL by the dialect's tolerant form, which the store falls back to).
Measured on the 1,000,000-row benchmark registry (SQLite, 75% of rows ended badly, stdlib
sqlite3, warm cache): a 50,000-row window takes ~0.4 s, 100,000 ~0.9 s,
every row ~70 s; through the store on a loaded machine (load average 6-7 on 2 cores) 25,000
rows took 0.2-0.55 s and 50,000 0.55-0.87 s, hence a default of 20,000. PostgreSQL is
slower (its jsonb cast parses every field read afresh): ~1 s for 20,000 rows (`window_sql`).

A row whose record does not decode is grouped with the stand-ins, under their code and
words, whatever its stored outcome says (`undecodable_keys`): it costs a decode each
ended-badly row of the window the first time (20,000 failed rows, load average ~15:
SQLite's read ~0.7 -> ~2.2 s; later reads, whose verdicts are kept, ~1.0 -> ~1.5 s;
PostgreSQL's ~3.4 -> ~4.0 s, client CPU ~135 ms). The verdicts are the registry handle's
(record_cache.py `Verdicts`), each kept for its row with a hash of the row's columns and
their types (a later read of 20,000 rows ~0.6-0.7 s of CPU at load average ~2, against
~1.5 s decoding every row).
"""

from __future__ import annotations

import json

from lashtui.registry.sql.decoded_row import decode_row
from lashtui.registry.sql.dialect import Dialect, Tx, dialect
from lashtui.registry.sql.fetch import row_columns_in
from lashtui.registry.sql.repeated import outcome_may_repeat, repeated_sql
from lashtui.registry.sql.row import RecordCache, Row, fetch_rows

ENDED_BADLY = "p.status IN ('failed', 'cancelled', 'abandoned')"


def window_sql(sql: Dialect, large: tuple[int, ...] = ()) -> str:
    """The window's rows, newest change first (the `p.` columns read below kept), each
    ended-badly row with its outcome object and abandon reason read out of the record;
    the record of the rows `large` (SQLite rowids of records past the ceiling: ceiling.py)
    never read, as NULL (such a row groups with the undecodable ones).

    PostgreSQL keeps no parse between two `::jsonb` casts, so the whole record is cast once
    per field read here, and a group's code and message are then read from the outcome's
    small JSON (a failed row's record is cast once, not twice). Measured on PostgreSQL 15,
    a 20,000-row window of the benchmark's ~1.6 kB rows, three runs each on a machine at
    load average ~7: 0.75-1.0 s, against 0.87-1.3 s with each field read from the record.
    The LIMIT keeps either store from merging this subquery into the grouping around it."""
    if sql.name != "sqlite" and sql.repeated_key:
        return _window_on_postgres(sql)
    record = "p.record_json"
    if large:  # (rowids SQLite gave: whole numbers, written as they are)
        record = f"(CASE WHEN p.rowid IN ({','.join(map(str, large))}) THEN NULL ELSE {record} END)"
    outcome = sql.json_text(record, "status.await_output")
    reason = sql.json_text(record, "abandon_request.reason")
    window = (
        "SELECT p.process_id, p.status, p.change_seq, p.updated_at_ms, "
        f"{record} AS record_json, {_row_key(sql)} AS row_key, "
        f"CASE WHEN {ENDED_BADLY} THEN {outcome} END AS outcome, "
        f"CASE WHEN p.status = 'abandoned' THEN {reason} END AS reason "
        "FROM processes p ORDER BY p.change_seq DESC LIMIT ?"
    )
    # A record whose outcome names one of the keys read below twice does not decode (the
    # models read the last, SQLite the first: repeated.py), and groups with the stand-ins:
    # asked once a row (this LIMIT too keeps the grouping from copying the test into each
    # place that reads it), and only of an outcome that may (a text test, ~3 us a row: the
    # default window's read ~120 -> ~175 ms of CPU). A record that repeats only another
    # read key (`disposition`) still groups by its outcome: asking every record took the
    # read to ~350 ms, and nothing cheaper tells such a record from the rest (measured
    # over the benchmark's 14,000 ended-badly rows of a window, each ~1.5 kB: the test
    # itself ~18 us a row: a Python parse that lists the top-level keys, then its look
    # over the text; in SQL, duplicates among json_each's top-level keys alone, which
    # miss every nested repeat, ~4-5 us a row, json_tree over the read objects ~25 us, a
    # search of the record for each top-level name twice ~28 us). PostgreSQL's:
    # `_window_on_postgres`.
    may_repeat = outcome_may_repeat(sql, "w.outcome")
    repeated = f"CASE WHEN {may_repeat} THEN {repeated_sql(sql, 'w.record_json')} ELSE FALSE END"
    return f"(SELECT w.*, {repeated} AS repeated FROM ({window}) w LIMIT ?) p"


def _window_on_postgres(sql: Dialect) -> str:
    """`window_sql` on a PostgreSQL registry with the function that tells a record naming a
    read key twice (repeated.py), which every row with an outcome is asked: jsonb read the
    outcome and kept one of two. Its text test compares the record with jsonb's rendering
    of it, so the record is cast once here (a LATERAL subquery that OFFSET 0 keeps apart)
    for the outcome, the reason and that rendering (`repeated_sql`'s `rendered`)."""
    record = sql.as_jsonb("p.record_json")
    window = (
        f"SELECT p.*, {_row_key(sql)} AS row_key, x.j #>> '{{status,await_output}}' AS outcome, "
        "CASE WHEN p.status = 'abandoned' THEN x.j #>> '{abandon_request,reason}' END "
        "AS reason, x.j::text AS rendered FROM processes p CROSS JOIN LATERAL "
        f"(SELECT CASE WHEN {ENDED_BADLY} THEN {record} END AS j OFFSET 0) x "
        "ORDER BY p.change_seq DESC LIMIT ?"
    )
    asked = repeated_sql(sql, "w.record_json", rendered="w.rendered")
    repeated = f"CASE WHEN w.outcome IS NOT NULL THEN {asked} ELSE FALSE END"
    return f"(SELECT w.*, {repeated} AS repeated FROM ({window}) w LIMIT ?) p"


def _row_key(sql: Dialect) -> str:
    """What tells the rows of one read transaction apart in both stores, whatever their ids
    (a NULL, a blob, one cut: blob_id.py, long_id.py): SQLite's rowid, PostgreSQL's ctid."""
    return "p.rowid" if sql.name == "sqlite" else "p.ctid"


def among_undecodable(sql: Dialect) -> str:
    """Whether the window row `p` is one of the bound row keys (`undecodable_keys`)."""
    if sql.name == "sqlite":
        return "p.row_key IN (SELECT value FROM json_each(?))"
    return "p.row_key = ANY(?::tid[])"


def undecodable_keys(conn: Tx, window: int, large: tuple[int, ...] = ()) -> object:
    """The row keys (`_row_key`) of the window's failed, cancelled and abandoned rows whose
    record does not decode, as the statements here bind them: each is its stand-in in
    every list and in `show` (decoded_row.py `decode_row`: a value of the wrong type anywhere, a
    field outside the outcome, a status the column contradicts, a record past the ceiling,
    an id no reader takes), so it is no failure with a code, and groups with the other
    undecodable rows (`_unlike`). SQL alone could tell only the refusals it spelled out
    (the outcome's kind, a key named twice), and the view grouped the rest under the
    stored code while `lashtui check` and `ls` said undecodable; so each such row is
    decoded, as the list would. Cost: a decode an ended-badly row of the window (~11 us
    for lashtui's own ~1.3 kB records): see the module docstring's figures."""
    sql = dialect(conn)
    unread = f"p.rowid IN ({','.join(map(str, large))})" if large else None
    rows = fetch_rows(
        conn,
        f"SELECT {row_columns_in(sql, unread)}, {_row_key(sql)} FROM processes p "
        f"WHERE {ENDED_BADLY} AND {_IN_WINDOW}",
        (window,),
    )
    kept = conn.verdicts if isinstance(conn, RecordCache) else None
    verdicts = _verdicts(rows, kept.last if kept is not None else {})
    if kept is not None:
        kept.last = verdicts  # (replaced whole: another thread may be reading the old)
    keys = [key for key, (_, decodes) in verdicts.items() if not decodes]
    if sql.name == "sqlite":
        return json.dumps(keys)
    return [str(key) for key in keys]


# The rows of the window (one `?`, its size), as a test of the row `p`.
_IN_WINDOW = (
    "p.change_seq >= (SELECT min(w.change_seq) FROM (SELECT change_seq FROM processes "
    "ORDER BY change_seq DESC LIMIT ?) w)"
)


def _verdicts(
    rows: list[Row], kept: dict[object, tuple[int, bool]]
) -> dict[object, tuple[int, bool]]:
    """Whether each row (`row_columns` and its row key) decodes, as every list reads it
    (decoded_row.py), by its row key with its columns' `_typed_hash`: the verdict `kept` holds for
    that row when its columns hash alike, else a decode (record_cache.py `Verdicts`)."""
    verdicts: dict[object, tuple[int, bool]] = {}
    for row in rows:
        key, columns = row[-1], row[:-1]
        typed = _typed_hash(columns)
        held = kept.get(key)
        if held is not None and held[0] == typed:
            verdicts[key] = held
        else:
            verdicts[key] = (typed, decode_row(columns).undecodable is None)
    return verdicts


def _typed_hash(columns: Row) -> int:
    """The columns' hash with their types': `hash` alone reads a text and a blob of the same
    bytes alike, and 1 and 1.0 (a sound row once took its blob copy's verdict). Compared
    only with the same row's (its row key) in the read before, so what it keeps is 8
    bytes a row, not the row's record."""
    return hash((tuple(map(type, columns)), columns))


def rows_of(window: int) -> str:
    """The window's rows, as ceiling.py's `within_ceiling` measures them (SQLite only)."""
    return f"p.rowid IN (SELECT rowid FROM processes ORDER BY change_seq DESC LIMIT {int(window)})"
