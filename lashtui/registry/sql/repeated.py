"""The SQL readers' half of a record that names a key twice (lashtui/state.py
`repeated_key`): such a record does not decode, so the models show its stand-in (running,
never waiting, externally owned, with no abandon request: row.py `undecodable_record`),
while SQLite's JSON functions read the first of the two values. A census, a state filter,
`check`'s counts or an error group that read the first counted the row as what the rest
of the tool does not show it to be. `repeated_sql` asks the models' own question in SQL.

On SQLite it is `repeated_key` itself, registered on each of the store's connections as a
deterministic function (`install`): written again in SQL, from json_each over the record
and over each object it names, it cost twice as much (~24 against ~12 us a 1.4 kB record,
10,000 live rows, SQLite 3.40), and it would be a second statement of the rule to keep in
step with the models. It costs a Python call a row, so every reader asks it only of the
rows it would count otherwise: a waiting row for the census and the state filters, a live
row not already counted apart for `check` (and none lashtui marked plainly the backlog's:
it wrote that text itself, each key once: backlog_mark.py), a failed, cancelled or
abandoned row in the Errors view's window whose small outcome may repeat a key
(`outcome_may_repeat`), a row whose label a text filter matched (filter.py `text_filter`:
its label is then the stand-in's), and a Health view run whose record may repeat its kind
(activity.py `_kind_repeated`).

On PostgreSQL this is no test (false): the record is text there too, and another program
may store a repeat in it, but its SQL reads the record through jsonb, which keeps the last
value, as a plain parse would; a row the models show undecodable for a repeated key is
counted there by that last value. (Only `wait` is asked again there: filter.py
`waiting_sql`.)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from lashtui.registry.sql.dialect import Dialect, has_backslash
from lashtui.state import OUTCOME_READ, repeated_key

if TYPE_CHECKING:
    import sqlite3

REPEATED_KEY = "lashtui_repeated_key"


def repeated_key_of(value: object) -> str | None:
    """What SQLite's `lashtui_repeated_key(blob)` returns: the dotted path of the read key
    the record names twice (`repeated_key`), or NULL; NULL too for a value that is not
    UTF-8 JSON text (the record is read as a blob: sqlite3 fails the whole statement when
    it cannot decode a text argument, and another program may store any bytes)."""
    if not isinstance(value, bytes):
        return None
    try:
        text = value.decode()
        # `repeated_key` needs the top-level keys a parse finds (it counts each once in the
        # text): a plain parse gives them (the models' path passes pydantic's fields set).
        record = json.loads(text)
    except (ValueError, RecursionError):  # (not UTF-8, or not JSON: nothing repeats)
        return None
    return repeated_key(text, record) if isinstance(record, dict) else None


def install(conn: sqlite3.Connection) -> None:
    """Give `conn` the function `repeated_sql` calls."""
    conn.create_function(REPEATED_KEY, 1, repeated_key_of, deterministic=True)


def repeated_sql(sql: Dialect, column: str = "p.record_json") -> str:
    """Whether the record JSON in `column` names twice a key some reader reads in SQL, as
    the models decide it (see the module docstring); false for a record past the ceiling
    (never read: dialect.py `MAX_STORED_BYTES`) and on PostgreSQL."""
    if sql.name != "sqlite":
        return "FALSE"
    return (
        f"(CASE WHEN {sql.too_large(column)} THEN 0 "
        f"ELSE {REPEATED_KEY}(CAST({column} AS BLOB)) IS NOT NULL END)"
    )


def outcome_may_repeat(sql: Dialect, column: str) -> str:
    """Whether the small outcome JSON in `column` (a failed, cancelled or abandoned row's
    `status.await_output`, sql/error.py) may name one of the keys SQL reads of it twice:
    it has a backslash (an escape may spell a key another way), or one of their quoted
    names twice (a search after the first: the text is small). False where it cannot,
    which is nearly every outcome: the Errors view asks `repeated_sql` only of the rest.
    Asking it of every record of the default 20,000-row window took that read from ~120
    to ~350 ms (the benchmarks' 100,000-row registry); this test, to ~180 ms of CPU.
    False on PostgreSQL (see the module docstring)."""
    if sql.name != "sqlite":
        return "FALSE"
    twice = [
        f"instr(substr({column}, instr({column}, '\"{name}\"') + {len(name) + 2}), "
        f"'\"{name}\"') > 0"
        for name in sorted(set(_names(OUTCOME_READ)))
    ]
    return f"({' OR '.join([has_backslash(column), *twice])})"


def _names(tree: dict[str, Any]) -> Iterator[str]:
    for name, below in tree.items():
        yield name
        yield from _names(below)
