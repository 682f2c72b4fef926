"""Process ids longer than any reader takes whole: an id column is read as every plain-text
column is (stored_text.py `read_text`; such an id becomes a cut id once read, `as_read`);
here, how the rows of cut ids are read again (`cut_rows`) and kept from every write.

Another program may store an id of any length (SQLite's own ceiling is a gigabyte; a write
of lashtui's allows 512 characters, `limit.MAX_ID_CHARS`). Taken whole, one id of 400 MB
cost `ls` 7.7 s and 2.9 GB and the dashboard a core and a 5 GB peak: every read held it,
bound it into the next statement (each of which had SQLite load it again to compare it)
and drew it. So the reads that list processes take at most `MAX_READ_ID_CHARS` and one
character more of an id column, in SQL, and a longer one is never held in Python: it is
read as its cut id, its first `MAX_READ_ID_CHARS` characters and `CUT_MARK`. A row read
with a cut id is a stand-in that says why (decoded_row.py `decode_row`), lists where its id sorts
(the cut id sorts among the others as the whole one does, and after every id it begins:
a page's cursor on it moves past it, `cursor_bound`), is read again by a range of the key
(`cut_rows`), and is never run, recovered or changed: the worker's reads leave it out, and
every write refuses a cut id (`refuse_cut`). `lashtui check --long-ids` counts such rows.

What this does not take away: SQLite loads a value to read any part of it (3.40 has no
cheap length of TEXT), and compares an index key that spills over its page by loading it,
so every statement whose walk or seek meets such an id still reads it inside SQLite, for
that statement, and frees it (~0.25 s and 400 MB for one of 400 MB). PostgreSQL's btree
indexes refuse a key past ~2.7 kB, so its `processes` key holds no such id.
"""

from __future__ import annotations

from lashtui.errors import InvalidRequest
from lashtui.registry.sql.dialect import Tx
from lashtui.registry.sql.stored_text import READ_CHARS, as_read, past_read, read_text

__all__ = ["as_read", "past_read", "read_text"]  # (stored_text.py's, as every reader's)

# How much of a cut id a refusal quotes (as `lashtui check --long-ids` names one).
CUT_QUOTED = 64

# The most of an id any reader takes whole: that of every plain-text column (stored_text.py),
# eight times what a write allows, as the 16 MiB ceiling on a record's JSON is eight times
# the largest record a write makes; the longest value lashtui shows, which shows a cut id as
# cut (`untrusted.bounded`).
MAX_READ_ID_CHARS = READ_CHARS
# What ends a cut id (`untrusted.CUT_MARK`): the last code point, so that the cut id sorts
# after every id that begins with its first `MAX_READ_ID_CHARS` characters (SQLite and
# PostgreSQL's "C" collation compare UTF-8 bytes, which order as code points do).
CUT_ID_WORDS = (
    f"its id is over {MAX_READ_ID_CHARS:,} characters, more than any reader takes (a write "
    "allows 512); lashtui shows its first characters and cannot act on it: "
    "`lashtui check --long-ids` counts such rows"
)


def is_cut(process_id: object) -> bool:
    """Whether an id a caller holds is read as a cut id: one (`as_read`), or an id longer
    than a reader takes, typed whole, which is looked up as its cut id too, so that every
    read of the row says the same of it."""
    return past_read(process_id)


def refuse_cut(process_id: str) -> InvalidRequest:
    """The one sentence for an action asked of a cut id's row."""
    return InvalidRequest(
        f"process `{process_id[:CUT_QUOTED]}…` has an id over {MAX_READ_ID_CHARS:,} "
        "characters, which no read takes whole, so lashtui cannot act on it"
    )


def cursor_bound(process_id: str, down: bool, sql_name: str) -> str:
    """A page cursor's id as its walk compares rows with it: a cut id walking up is past
    every id it was cut from (itself); walking down, the smallest extension of its first
    `MAX_READ_ID_CHARS` characters, so that those ids are behind it and the id of exactly
    those characters is not (NUL, which PostgreSQL's text cannot hold: there the next).
    (A cut label is bounded the same way: order.py `_read_key`.)"""
    if not is_cut(process_id) or not down:
        return as_read(process_id)
    return process_id[:MAX_READ_ID_CHARS] + ("\x00" if sql_name == "sqlite" else "\x01")


def cut_rows(conn: Tx, columns: str, cut_ids: list[str]) -> list[tuple[object, ...]]:
    """The rows of these cut ids, read with `columns` (`row_columns`: the id second, read
    with `read_text`) from
    `processes p`: for each, the first row in id order whose id begins with its first
    `MAX_READ_ID_CHARS` characters and is longer, with its id as read. (Two such ids that
    begin alike list as one: only another program's rows are this long.)"""
    from lashtui.registry.sql.fetch import fetch_rows  # (fetch.py imports this module)

    rows: list[tuple[object, ...]] = []
    for cut in dict.fromkeys(as_read(process_id) for process_id in cut_ids):
        found = fetch_rows(
            conn,
            f"SELECT {columns} FROM processes p WHERE p.process_id > ? AND p.process_id < ? "
            "ORDER BY p.process_id LIMIT 1",
            (cut[:MAX_READ_ID_CHARS], cut),
        )
        rows += [(row[0], as_read(row[1]), *row[2:]) for row in found]
    return rows
