"""A test of a row's record text, asked before its label is read, that lets the text filter
(filter.py `text_filter`, the dashboard's `/`) pass over a row whose label cannot match.

The label is in the record's JSON (filter.py `label_sql`): PostgreSQL casts each row's text
to jsonb to read it, SQLite parses it. A filter that matches little reads every row, so that
read was nearly all of its cost (PostgreSQL: ~8-10 s over 100,000 rows, at load ~6). A
label is a piece of its record's text, so a row whose text, lowered as the label is
lowered, does not hold the needle cannot match by its label, unless the label is written
another way in the text or shown another way on screen. Those rows, and only those, keep
the JSON read (`sieve`):

- An escape in the JSON writes a character another way. `\\uXXXX` may spell any character
  (a writer may escape every non-ASCII one, or any at all); the others (`\\"`, `\\\\`,
  `\\/`, `\\n`...) stand only for `"`, a backslash, `/` and controls. A needle of ASCII
  without `"` or `/` (a backslash or a control makes it one that crosses an escape, below)
  is matched only by characters that no escape but `\\u` writes, so only a text holding
  `\\u` keeps the read. Any other needle keeps it for a text holding a backslash: one
  without holds its label verbatim, between quotes, so its lowering agrees with the
  label's even where lowering looks at the neighbours (a final sigma).
- Lowering. PostgreSQL's `lower` folds by the collation, which over a whole 1.5 kB text
  costs ~3x the ASCII folding of `COLLATE "C"` (3.2 s against 1.1 s for 100,000 records).
  So an ASCII needle is looked for in the text folded as ASCII, which agrees with the
  label's folding on every ASCII character. A non-ASCII needle is looked for in the
  text folded in the label's own collation (`"default"`, whatever the column's is).
  SQLite folds ASCII only, and LIKE folds as its `lower` does: `lower` and `instr` over
  the whole text cost as much as the JSON parse, where LIKE and GLOB scan for their first
  literal character (~0.2 s against ~0.5-1.3 s over the same records). A non-ASCII needle
  (matched through Python's `str.lower`: filter.py `UNICODE_LOWER`) is not sieved there.
  On both, the two characters Python lowers to an ASCII letter (`İ` -> `i̇`, Kelvin `K` ->
  `k`: shown_text.FOLDED_TO_ASCII), which the label is lowered to (filter.py `_lowering`)
  and the text's folding here does not give, keep the read of a text holding them as
  themselves when the needle holds the letter.
- The shown form (shown_text.py): a needle that can match across an escape `visible`
  writes (`may_cross_escape`: `/\\x1b`, `/e0zz`, any beginning with a hex digit) matches a
  label holding a character that is not printable ASCII as it is shown, not as stored.
  Such a character is in the text escaped (a backslash) or as itself: jsonb takes no
  control character unescaped, so on PostgreSQL one that is not ASCII (the text's length
  in characters differs from its size in bytes) or DEL. SQLite's tests of a character
  class scan the text a character at a time (`GLOB '*[^ -~]*'` made `/\\x1b` 8x slower),
  so there such a needle is not sieved.

A row whose text is not JSON, or not an object, has no label to read (NULL), so passing
over it changes nothing. The id and scope terms are columns, tested as before. On
PostgreSQL a UTF8 database is assumed (`İ` and `K` are written into the statement, and the
length test tells only a multi-byte encoding's characters): the registries here all are.
"""

from __future__ import annotations

import re

from lashtui.registry.sql import shown_text
from lashtui.registry.sql.dialect import Dialect

# SQLite refuses a LIKE pattern past 50,000 bytes (SQLITE_MAX_LIKE_PATTERN_LENGTH): a longer
# needle, escaped, is not sieved.
_MAX_LIKE_NEEDLE = 1_000


def sieve(sql: Dialect, column: str, text: str) -> tuple[str, list[object]] | None:
    """The condition, on the record text in `column`, that a row's label may match the
    filter `text`, and its parameters; None where no such test is cheap (on SQLite a
    non-ASCII needle, or one that may cross an escape). See the module docstring."""
    needle = shown_text.needle(text)
    ascii_needle = needle.isascii()
    crosses = shown_text.may_cross_escape(text)
    plain = ascii_needle and not crosses and '"' not in needle and "/" not in needle
    escape = "\\u" if plain else "\\"  # a text holding it keeps the JSON read
    # The characters the label's lowering (filter.py `_lowering`) turns into a letter of the
    # needle, where the text's folding here does not: a text holding one keeps the read.
    folded = [c for c, low in shown_text.FOLDED_TO_ASCII.items() if low[0] in needle]
    if sql.name == "sqlite":
        if not ascii_needle or crosses or len(needle) > _MAX_LIKE_NEEDLE:
            return None
        # LIKE folds ASCII only, as the label's `lower` here does; GLOB keeps case, and
        # a backslash is itself to it (it has no escape character).
        pattern = "%" + re.sub(r"([\\%_])", r"\\\1", needle) + "%"
        scan = f"{column} LIKE ? ESCAPE '\\' OR {column} GLOB '*{escape}*'"
        scan += "".join(f" OR {column} GLOB '*{char}*'" for char in folded)
        return _within_ceiling(sql, column, scan), [pattern]
    collation = '"C"' if ascii_needle else '"default"'
    holds = sql.contains(f"lower({column} COLLATE {collation})")
    kept = [f"strpos({column}, '{escape}') > 0"]
    kept += [f"strpos({column}, '{char}') > 0" for char in folded]
    if crosses:
        # A character `visible` escapes, written as itself: one that is not ASCII, or
        # DEL. (Counting characters costs a third of shown_text.py's regex over 1.5 kB.)
        wide = f"length({column}) <> octet_length({column})"
        kept.append(f"({wide} OR strpos({column}, chr(127)) > 0)")
    return _within_ceiling(sql, column, " OR ".join([holds, *kept])), [needle]


def _within_ceiling(sql: Dialect, column: str, scan: str) -> str:
    """`scan`, asked only of a record within the ceiling (dialect.py `too_large`): the
    label of one past it is never read (NULL), and SQLite must not load it (ceiling.py:
    a read runs under a length limit, and the rows it found past it are told by rowid);
    nor PostgreSQL lower a copy of it."""
    return f"(CASE WHEN {sql.too_large(column)} THEN FALSE ELSE ({scan}) END)"
