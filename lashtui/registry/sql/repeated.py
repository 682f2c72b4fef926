"""The SQL readers' half of a record that names a key twice (lashtui/state.py
`repeated_key`): such a record does not decode, so the models show its stand-in (running,
never waiting, externally owned, with no abandon request: decoded_row.py `undecodable_record`),
while SQLite's JSON functions read the first of the two values. A census, a state filter,
`check`'s counts or an error group that read the first counted the row as what the rest
of the tool does not show it to be. `repeated_sql` asks the models' own question in SQL.

On SQLite it is `repeated_key` itself, registered on each of the store's connections as a
deterministic function (`install`): written again in SQL, from json_each over the record
and over each object it names, it cost twice as much (~24 against ~12 us a 1.4 kB record,
10,000 live rows, SQLite 3.40), and it would be a second statement of the rule to keep in
step with the models. It costs a Python call a row, so every reader asks it only of the
rows it would count otherwise (a waiting row for the census and the state filters asks the
models' whole decode instead, which includes this: decoded_wait.py): a live
row not already counted apart for `check` (and none lashtui marked plainly the backlog's:
it wrote that text itself, each key once: backlog_mark.py), a failed, cancelled or
abandoned row in the Errors view's window whose small outcome may repeat a key
(`outcome_may_repeat`), a row whose label a text filter matched (filter.py `text_filter`:
its label is then the stand-in's), and a Health view run whose record may repeat its kind
(activity.py `_kind_repeated`).

On PostgreSQL it is `lashtui_repeated_key(text)`, a PL/pgSQL function written from the same
tree of read keys (`POSTGRES_DDL`, installed as `lashtui_try_jsonb` is: postgres/
schema.py): its SQL reads the record through jsonb, which keeps the last value, while the
function reads it as `json`, which keeps every member in order (json_each). It returns the
dotted path `repeated_key` returns, and NULL for a text `json` does not read (its exception
block: an untrusted row never fails a reader). It costs ~0.2 ms a call, so the same rows
are asked as on SQLite (the Errors view: every row with an outcome, since jsonb read it),
and each only once a text test against jsonb's rendering of the record found that it may
name some key twice (`_may_repeat_on_postgres`, a cast). A registry without it (made by an
older lashtui, opened only read-only or by a role that may not create functions since) asks
nothing there (`Dialect.repeated_key` false): such a row counts by the last value, as
before; only `wait` is asked again there (filter.py `waiting_sql`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from lashtui.core_event_types import CORE_EVENT_TYPES_JSON
from lashtui.registry.sql import decoded_wait
from lashtui.registry.sql.dialect import Dialect, has_backslash
from lashtui.state import _READ as READ  # (the tree itself: the function is written from it)
from lashtui.state import OUTCOME_READ, repeated_key

if TYPE_CHECKING:
    import sqlite3

REPEATED_KEY = "lashtui_repeated_key"
# The member nearly every record holds as lashtui writes it (`_may_repeat_on_postgres`).
_CORE_MEMBER = f'"event_types":{CORE_EVENT_TYPES_JSON}'
assert "'" not in _CORE_MEMBER and "\\" not in _CORE_MEMBER  # (spelled as an SQL literal)


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
    """Give `conn` the function `repeated_sql` calls, and the one the waiting test calls
    (decoded_wait.py): every reader's connection needs both."""
    conn.create_function(REPEATED_KEY, 1, repeated_key_of, deterministic=True)
    decoded_wait.install(conn)


def repeated_sql(
    sql: Dialect, column: str = "p.record_json", *, rendered: str | None = None
) -> str:
    """Whether the record JSON in `column` names twice a key some reader reads in SQL, as
    the models decide it (see the module docstring); false for a record past the ceiling
    (never read: dialect.py `MAX_STORED_BYTES`), and on a PostgreSQL registry without the
    function (`Dialect.repeated_key`). On PostgreSQL `rendered` is jsonb's rendering of
    the record as text (NULL where it is not read), where the statement has it already;
    else the record is cast for it (`_may_repeat_on_postgres`)."""
    if sql.name == "sqlite":
        return (
            f"(CASE WHEN {sql.too_large(column)} THEN 0 "
            f"ELSE {REPEATED_KEY}(CAST({column} AS BLOB)) IS NOT NULL END)"
        )
    if not sql.repeated_key:
        return "FALSE"
    return (
        f"(CASE WHEN {sql.too_large(column)} THEN FALSE "
        f"WHEN NOT {_may_repeat_on_postgres(sql, column, rendered)} THEN FALSE "
        f"ELSE {REPEATED_KEY}({column}) IS NOT NULL END)"
    )


def _may_repeat_on_postgres(sql: Dialect, column: str, rendered: str | None) -> str:
    """Whether the record JSON in `column` may name some key twice, anywhere, told without
    the function, which costs ~0.2 ms a 1.4 kB record (PL/pgSQL, its subtransaction, a
    json_each a level): nearly every record is told here for a few microseconds.

    With no backslash in the text, every `"` in it opens or closes a string (a quote inside
    one would be escaped), and jsonb, which keeps one member of a repeated key, writes the
    same strings back, escaping none of them (a control character must be escaped in JSON
    already): so the text and jsonb's rendering of it hold as many quotes unless jsonb
    dropped a member, which has a key. A text jsonb does not read (NULL in the tolerant
    forms) may repeat too.

    Where the statement has no rendering of its own (`rendered`), the core event types
    member, two thirds of nearly every record (core_event_types.py), is cut from the text
    first, with the comma on one side of it, and what is left is cast and compared (in
    subqueries, so that each is made once): with no backslash, that member can only stand
    as a member, so what is left is JSON still; its text is lashtui's, naming no key twice,
    and a key it repeats beside it (`event_types`) no reader reads. The cast of a third of
    the text took the probe's SQL from ~480 to ~395 ms of the server's CPU (~105 without
    the test; the benchmarks' registry, 10,000 live rows)."""
    quotes = "octet_length({0}) - octet_length(replace({0}, '\"', ''))"
    if rendered is not None:
        return (
            f"(strpos({column}, '\\') > 0 OR {quotes.format(column)} IS DISTINCT FROM "
            f"{quotes.format(rendered)})"
        )
    cut = f"replace(replace({column}, '{_CORE_MEMBER},', ''), ',{_CORE_MEMBER}', '')"
    compared = (
        f"(SELECT {quotes.format('c.t')} IS DISTINCT FROM {quotes.format('c.j')} FROM "
        f"(SELECT s.t, ({sql.as_jsonb('s.t')})::text AS j FROM (SELECT {cut} AS t OFFSET 0) s "
        "OFFSET 0) c)"
    )
    return f"(strpos({column}, '\\') > 0 OR {compared})"


def outcome_may_repeat(sql: Dialect, column: str) -> str:
    """Whether the small outcome JSON in `column` (a failed, cancelled or abandoned row's
    `status.await_output`, sql/error.py) may name one of the keys SQL reads of it twice:
    it has a backslash (an escape may spell a key another way), or one of their quoted
    names twice (a search after the first: the text is small). False where it cannot,
    which is nearly every outcome: the Errors view asks `repeated_sql` only of the rest.
    Asking it of every record of the default 20,000-row window took that read from ~120
    to ~350 ms (the benchmarks' 100,000-row registry); this test, to ~180 ms of CPU.

    False on PostgreSQL, whose outcome jsonb read (keeping one of two): the Errors view
    asks every row with an outcome there (sql/error_window.py `_window_on_postgres`)."""
    names = sorted(set(_names(OUTCOME_READ)))
    if sql.name != "sqlite":
        return "FALSE"
    twice = [
        f"instr(substr({column}, instr({column}, '\"{name}\"') + {len(name) + 2}), "
        f"'\"{name}\"') > 0"
        for name in names
    ]
    return f"({' OR '.join([has_backslash(column), *twice])})"


def _names(tree: dict[str, Any]) -> Iterator[str]:
    for name, below in tree.items():
        yield name
        yield from _names(below)


def _level(tree: dict[str, Any], where: str, depth: int) -> list[str]:
    """PL/pgSQL that returns the first key of `tree` the object `o<depth>` names twice (in
    the order of their second naming), else the first below one of them, in `tree`'s order:
    state.py `_repeat`, a level at a time. One json_each a level reads the names and keeps
    the values the next level reads (a `->` a key would parse the object again)."""
    names = ", ".join(f"'{name}'" for name in tree)
    nested = [name for name, below in tree.items() if below]
    kids = ", ".join(f"'{name}'" for name in nested)
    o, found, below = f"o{depth}", f"f{depth}", f"k{depth}"
    keep = f"json_object_agg(e.key, e.value) FILTER (WHERE e.key IN ({kids}))" if nested else "NULL"
    lines = [
        f"SELECT (array_agg(e.key ORDER BY e.ord) FILTER (WHERE e.n = 2))[1], {keep} "
        f"INTO {found}, {below} FROM (SELECT t.key, t.value, t.ord, "
        "row_number() OVER (PARTITION BY t.key ORDER BY t.ord) AS n "
        f"FROM json_each({o}) WITH ORDINALITY AS t(key, value, ord) "
        f"WHERE t.key IN ({names})) e;",
        f"IF {found} IS NOT NULL THEN RETURN '{where}' || {found}; END IF;",
    ]
    for name in nested:
        inner = f"o{depth + 1}"
        lines.append(f"{inner} := {below} -> '{name}';")
        lines.append(f"IF json_typeof({inner}) = 'object' THEN")
        lines.extend(f"    {line}" for line in _level(tree[name], f"{where}{name}.", depth + 1))
        lines.append("END IF;")
    return lines


def _depth(tree: dict[str, Any]) -> int:
    return 1 + max((_depth(below) for below in tree.values()), default=0)


def postgres_ddl() -> str:
    """The PL/pgSQL function `repeated_sql` calls on PostgreSQL: `repeated_key` written
    from the same tree of read keys (state.py `_READ`), over the record read as `json`,
    which keeps every member, in order, where jsonb keeps the last of a repeated key.
    NULL for a text `json` does not read, or deeper than the server's stack: the exception
    block (which opens a subtransaction a call, and makes it PARALLEL UNSAFE, as
    `lashtui_try_jsonb`; WHEN OTHERS never catches a cancel). IMMUTABLE and STRICT."""
    depth = _depth(READ) - 1  # (the deepest level has no object below it to read)
    declared = " ".join(f"o{d} json; f{d} text; k{d} json;" for d in range(depth))
    body = "\n        ".join(_level(READ, "", 0))
    return f"""CREATE OR REPLACE FUNCTION {REPEATED_KEY}(value text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL UNSAFE AS $$
    DECLARE
        {declared}
    BEGIN
        o0 := value::json;
        IF json_typeof(o0) IS DISTINCT FROM 'object' THEN
            RETURN NULL;
        END IF;
        {body}
        RETURN NULL;
    EXCEPTION WHEN others THEN
        RETURN NULL;
    END $$"""


POSTGRES_DDL = postgres_ddl()
