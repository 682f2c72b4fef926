"""A stored text as a person is shown it, for the text filter (filter.py `text_filter`, the
dashboard's `/`): what the operator types is what they see, so the filter matches that.

Every reader shows a stored string `visible` (lashtui.untrusted: ESC as `\\x1b`, a bidi
override as `\\u202e`) and no more of it than its first `SHOWN_CHARS` characters (an id past
them is held cut). The filter matched the raw text: `/\\x1b` found nothing where the row showed
`\\x1b`, and a text past the cut, which no view shows, found the row.

Escaping every value in SQL would cost every filtered scan a function call a field a row
(on SQLite a call into Python: 256 ms over 100,000 ids, where the plain test is 30). So the
plain test stays, and the shown form is asked only where it can differ:
- a plain match on a value over `SHOWN_CHARS` characters (the match may be past the cut);
- no plain match, on a value holding a character that is not printable ASCII (the only
  values `visible` changes), and only for a text that can overlap an escape: `visible`
  copies every other character, so a text matches the shown form without matching the
  stored one only across an escape; and a text without a backslash overlaps one only by
  beginning with the end of one (`x`, `u` or a hex digit). `/sess` never asks.
A text typed (or pasted) with a character `visible` escapes is matched as shown too:
`visible` of it, which is what such a character looks like on screen.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable

from lashtui.registry.sql.dialect import Dialect
from lashtui.untrusted import OBEYED_RANGES, SHOWN_CHARS, visible

# The SQL function that gives a text as it is shown, on SQLite (a Python function: SQLite
# has nothing that writes `\x1b`); PostgreSQL's is an expression (`_shown_postgres`).
SHOWN = "lashtui_shown"

# The characters that Python's `str.lower` lowers to text holding an ASCII letter though they
# are not ASCII, and what it writes for each (Unicode's mappings, simple and full; `str.lower`
# over every code point finds no others). SQLite's lower() leaves both; PostgreSQL's writes
# `İ` as a plain `i`.
FOLDED_TO_ASCII = {"\u0130": "i\u0307", "\u212a": "k"}

# The characters a match across an escape begins with, when it does not hold its backslash:
# the rest of `\x..`, `\u....` and `\U........`, lowered as the filter lowers.
_ESCAPE_TAIL = frozenset("xu0123456789abcdef")


def install(conn: sqlite3.Connection) -> None:
    """Give `conn` `SHOWN` (every SQLite connection of the store: connect.py)."""
    conn.create_function(SHOWN, 1, _shown, deterministic=True)


def _shown(value: str | bytes | None) -> str | bytes | None:
    return visible(value) if isinstance(value, str) else value


def needle(text: str) -> str:
    """The text a filter looks for: as it would be shown, lowered."""
    return visible(text).lower()


def contains_shown(
    sql: Dialect, field: str, lower: Callable[[str], str], text: str
) -> tuple[str, int]:
    """The condition that `field`, as shown and lowered by `lower`, holds the bound needle
    (`needle`), and how many times it binds it (see the module docstring)."""
    plain = sql.contains(lower(field))
    shown = sql.contains(lower(_shown_sql(sql, f"substr({field}, 1, {SHOWN_CHARS})")))
    longer = f"length({field}) > {SHOWN_CHARS}"
    if not may_cross_escape(text):
        return f"(CASE WHEN {plain} THEN NOT ({longer}) OR {shown} ELSE FALSE END)", 2
    unusual = _unusual(sql, field)
    return (
        f"(CASE WHEN {plain} THEN NOT ({longer}) OR {shown} "
        f"WHEN {unusual} THEN {shown} ELSE FALSE END)",
        3,
    )


def may_cross_escape(text: str) -> bool:
    """Whether the filter `text` can match a shown form across an escape `visible` wrote
    (see the module docstring): only then is a value it does not match as stored asked."""
    said = needle(text)
    return "\\" in said or said[:1] in _ESCAPE_TAIL


def _unusual(sql: Dialect, field: str) -> str:
    """Whether `field` holds a character that is not printable ASCII: a superset of those
    `visible` escapes, told without a function call (GLOB's class and PostgreSQL's regex run
    in the server; ~50 ms over 100,000 ids on SQLite)."""
    if sql.name == "sqlite":
        return f"{field} GLOB '*[^ -~]*'"
    return f"{field} ~ '[^ -~]'"


def _shown_sql(sql: Dialect, value: str) -> str:
    if sql.name == "sqlite":
        return f"{SHOWN}({value})"
    return _shown_postgres(value)


def _shown_postgres(value: str) -> str:
    """`visible` as a PostgreSQL expression: each character of `value` that it escapes
    written as Python writes it (`\\x1b`, `\\u202e`, `\\U000e0001`), in order. Asked only
    of the rare values that need it (`contains_shown`): it splits the value into rows."""
    escape = (
        "CASE WHEN ascii(c) <= 255 THEN '\\x' || lpad(to_hex(ascii(c)), 2, '0') "
        "WHEN ascii(c) <= 65535 THEN '\\u' || lpad(to_hex(ascii(c)), 4, '0') "
        "ELSE '\\U' || lpad(to_hex(ascii(c)), 8, '0') END"
    )
    return (
        f"(SELECT coalesce(string_agg(CASE WHEN c ~ '{_postgres_class()}' THEN {escape} "
        f"ELSE c END, '' ORDER BY n), '') "
        f"FROM regexp_split_to_table({value}, '') WITH ORDINALITY AS shown_chars(c, n))"
    )


@functools.cache
def _postgres_class() -> str:
    """`visible`'s characters as a PostgreSQL regex bracket, in its escapes (a PostgreSQL
    text holds no NUL and no surrogate, so neither is in it)."""

    def code(point: int) -> str:
        return f"\\u{point:04x}" if point <= 0xFFFF else f"\\U{point:08x}"

    parts = []
    for low, high in OBEYED_RANGES:
        if 0xD800 <= low <= 0xDFFF:
            continue
        low = max(low, 1)
        parts.append(code(low) if low == high else f"{code(low)}-{code(high)}")
    return f"[{''.join(parts)}]"
