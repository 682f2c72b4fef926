"""Process ids another program stored as a blob (SQLite only): how a row keyed by one is read
(`shown_id`, what every reader calls it), why it is a stand-in (`BLOB_ID_WORDS`), and how an
operator names it again (`blob_key`).

SQLite's columns take a value of any type, and its TEXT affinity leaves a blob a blob, so
another program may key a `processes` row by bytes (`CAST(x'616263' AS BLOB)`). A blob never
equals text, so no statement lashtui binds a `str` to finds that row, while every read that
walks the table meets it, with `bytes` where an id should be. Before, a worker's drive, its
`--once` pass and `sweep` each failed whole ("failed to decode process registry row") when
the bytes were not UTF-8 (one row locked the worker out of the registry), and listed a
row `abc` that `show abc` called unknown and the sweep counted busy when they were.

Now the read that meets such an id holds it as the text Python writes bytes in (`b'abc'`,
`b'r\\xffw'`), so it is never taken for a text id: the row is a stand-in that says why
(decoded_row.py `decode_row`), listed where SQLite sorts it (after every text id), a work item
the worker and the sweep count as undecodable and never claim (work_item.py `_work_item`,
run.py `_pick`), and looked up by that text when no row has it as its id (process.py
`get`, through `blob_of`). lashtui does not rewrite or end it: every write is keyed by
text, and a write or a read of what is keyed by its id (its events) that finds no row of
that text refuses it in one sentence (`refuse_blob`: row.py `load_record`,
`require_exists`; `end_undecodable`); another program, or `sqlite3`, has to. One write
does reach it: `prune` deletes it with the other ended rows once its status column names
an ended state (prune.py, which deletes by the column, not by a bound id).
PostgreSQL's text column holds no blob.

A rowid table's TEXT PRIMARY KEY (lash's layout and lashtui's) also takes NULL, as many
times as it is inserted (each NULL is distinct to the key's index); a number is stored as
its text (TEXT affinity), so NULL and a blob are all that is not text there. Before, a NULL
id failed `sweep`, `worker --once` and every drive whole ("failed to decode process
registry row: process_id"), and `ls` and the dashboard left the row out unsaid (an `IN`
never matches NULL). Now it is read by its rowid (`read_id`: an int, which no text id
reads as) and named `NULL#<rowid>` (`NULL#4`), with one `#` more while a text row has
that id (`null_name_sql`, `null_name`: `NULL##4` beside a text row `NULL#4`, which keeps
its id), so no two rows a read lists are named alike. It is a stand-in that says why
(`NULL_ID_WORDS`) like a blob's: listed first (where SQLite sorts NULL), several of them
by rowid, each one row of its own, skipped, counted and named by the worker and the sweep
(work_item.py), found by its name (`show 'NULL##4'`; any number of `#`s where no text
row has that spelling), matched by it by a text filter (filter.py), refused by every
action. `NULL` alone (`NULL_SHOWN`, as sqlite3 quotes it) still names the first by rowid
when no row has that text as its id. Before, every NULL row read as `NULL`, so several
listed as one (the first by rowid) while the census counted each, and a text row `NULL`
read as one with them; then a text row `NULL#4` took the NULL row's name. PostgreSQL's
primary key is NOT NULL. A registry lash wrote is read through views, which name the
table's rowid (lash/v21.py), so its NULL rows are named the same way.

A text id may be spelled as one of these (`NULL`, `b'zz'`): that text row wins the
spelling, so a command aimed at it is never turned onto a row nothing acts on when another
program inserts one. A blob is also named by SQLite's own spelling, `X'7A7A'`
(`sql_literal`), which `blob_key` reads too; `show` of the text row says that another
reads the same (command/detail.py `also_read_as`).
"""

from __future__ import annotations

import ast
import re
import sqlite3

from lashtui.registry.sql.dialect import Tx, dialect
from lashtui.registry.sql.stored_text import read_text

BLOB_ID_WORDS = (
    "its process_id column holds a blob, not text: no lashtui statement can name it, so "
    "nothing runs, recovers or ends it"
)


NULL_ID_WORDS = (
    "its process_id column is NULL, not text: no lashtui statement can name it, so "
    "nothing runs, recovers or ends it"
)
# How every reader named a NULL id (sqlite3's `quote` of it), never a blob's `b'...'`: now
# what names the first NULL row by rowid (`null_key`), and how a NULL row read without its
# rowid is named (a registry lash wrote: its views have none).
NULL_SHOWN = "NULL"
# How a NULL row is named, by its rowid (`null_shown`), which SQLite gives any whole number:
# `NULL#4`, or with more `#`s where a text row has that id (`null_name`). Any number of them
# names the same row wherever no text row has that very spelling.
_NULL_BY_ROWID = re.compile(r"NULL#+(-?[0-9]{1,19})")


def null_shown(rowid: int | None) -> str:
    """A NULL id's row as it is named when no text row has that id (`null_name`): by its
    rowid (`NULL#4`), or `NULL` where the read had none."""
    return NULL_SHOWN if rowid is None else f"NULL#{rowid}"


def null_name_sql(rowid: str = "p.rowid") -> str:
    """SQL for the name of the NULL id's row at `rowid` (an expression of the outer
    query): `NULL#4`, with one `#` more for as long as a text row has that id (`null_name`
    in Python). A text row keeps its own id (every command names it so), so the NULL row
    gives way, and no two rows a read lists are named alike: a text row `NULL#4` beside the
    NULL row at rowid 4 lists as `NULL#4`, the NULL row as `NULL##4`. Asked only of a NULL
    id's row: an index probe of the key a `#`."""
    return (
        "(WITH RECURSIVE h(n) AS (SELECT '#' UNION ALL SELECT n || '#' FROM h WHERE EXISTS "
        f"(SELECT 1 FROM processes t WHERE t.process_id = 'NULL' || h.n || {rowid})) "
        f"SELECT 'NULL' || max(n) || {rowid} FROM h)"
    )


def null_name(conn: Tx, rowid: int) -> str:
    """The name of the NULL id's row at `rowid` (`null_name_sql`, asked from Python)."""
    return null_names(conn, [rowid])[rowid]


def null_names(conn: Tx, rowids: list[int]) -> dict[int, str]:
    """`null_name` of each of `rowids`, the key asked `_NAMES_ASKED` names at a time (the
    census names every live NULL row: one statement each would cost a few microseconds a
    row, every census, for a registry another program filled with them)."""
    names = {rowid: null_shown(rowid) for rowid in rowids}
    asked = list(names)
    while asked:
        taken: set[object] = set()
        for start in range(0, len(asked), _NAMES_ASKED):
            chunk = [names[rowid] for rowid in asked[start : start + _NAMES_ASKED]]
            marks = ",".join("?" * len(chunk))
            found = conn.execute(
                f"SELECT process_id FROM processes WHERE process_id IN ({marks})", chunk
            )
            taken.update(row[0] for row in found)
        asked = [rowid for rowid in asked if names[rowid] in taken]
        for rowid in asked:  # (a text row has that id: one `#` more)
            names[rowid] = "NULL#" + names[rowid][len("NULL") :]
    return names


_NAMES_ASKED = 500  # (well under SQLite's bound-parameter limit)


def null_rowid(text: str) -> int | None:
    """The rowid `NULL#4` (or `NULL##4`...) names, or None if `text` is not spelled so."""
    spelled = _NULL_BY_ROWID.fullmatch(text)
    return int(spelled.group(1)) if spelled is not None else None


def is_null_spelling(text: str) -> bool:
    """Whether `text` is spelled as a NULL row is named (`NULL`, `NULL#4`, `NULL##4`)."""
    return text == NULL_SHOWN or _NULL_BY_ROWID.fullmatch(text) is not None


def read_id(column: str = "p.process_id", rowid: str = "p.rowid") -> str:
    """On SQLite, a process id column as a read that walks the table takes it: as
    `read_text`, and a NULL id as its row's rowid (an int: no text id reads as one, TEXT
    affinity stores a number as text), so that several NULL rows are read as several."""
    return f"coalesce({read_text(column)}, {rowid})"


# What `show` says it did not read of such a row: the other tables are keyed by text ids.
BLOB_NOT_READ = (
    "its lease, events, grants, cancel and reruns (keyed by text, never by a blob or NULL)"
)


def refuse_blob(process_id: str) -> str:
    """The one sentence for an action asked of a blob id's row (named by `shown_id`), or a
    read of what is keyed by its id (its events)."""
    column = "is NULL" if is_null_spelling(process_id) else "holds a blob"
    return (
        f"process `{process_id}` has an id that is not text (its process_id column {column}), "
        "which no lashtui statement can name, so lashtui only lists and shows it, and "
        "`prune` deletes it once its status column says it ended: only another program "
        "(sqlite3) can rewrite its row, or delete it sooner"
    )


def not_text(conn: Tx, process_id: str) -> bool:
    """Whether `process_id`, which no row has as its text id, names a row whose id is not
    text as a read shows it: a blob's (`blob_of`) or a NULL's (`null_key`)."""
    if is_null_spelling(process_id):
        return null_key(conn, process_id) is not None
    return blob_of(conn, process_id) is not None


def stored_key(conn: Tx, process_id: str | bytes | int) -> str | bytes | int:
    """What the row `process_id` names is keyed by: that text when a row has it as its id
    (exact text first) or no row's id that is not text reads as it; else the blob's bytes,
    or a NULL id's rowid (an int: how a page's cursor on such a row walks past it,
    filter.py). A blob or a rowid as read is its own key (listing.py pages by the column)."""
    if not isinstance(process_id, str):
        return process_id
    if not is_null_spelling(process_id) and blob_key(process_id) is None:
        return process_id  # (most cursors: nothing to ask)
    if dialect(conn).name != "sqlite":
        return process_id
    found = conn.execute("SELECT 1 FROM processes WHERE process_id = ?", (process_id,))
    if found.fetchone() is not None:
        return process_id
    if is_null_spelling(process_id):
        rowid = null_key(conn, process_id)
        return rowid if rowid is not None else process_id
    blob = blob_of(conn, process_id)
    return blob if blob is not None else process_id


def null_key(conn: Tx, process_id: str) -> int | None:
    """The rowid of the NULL id's row `process_id` names (`NULL#4`, `NULL##4`; `NULL`: the
    first by rowid), if there is one, whatever text rows there are (asked where none has
    that text as its id). Always None on PostgreSQL, whose primary key is NOT NULL."""
    if dialect(conn).name != "sqlite":
        return None
    if process_id == NULL_SHOWN:
        found = conn.execute("SELECT min(rowid) FROM processes WHERE process_id IS NULL")
    elif (rowid := null_rowid(process_id)) is not None:
        if not -(1 << 63) <= rowid < 1 << 63:
            return None
        found = conn.execute(
            "SELECT rowid FROM processes WHERE rowid = ? AND process_id IS NULL", (rowid,)
        )
    else:
        return None
    row = found.fetchone()
    return int(row[0]) if row is not None and isinstance(row[0], int) else None


def null_row(conn: Tx, columns: str, process_id: str = NULL_SHOWN) -> tuple[object, ...] | None:
    """The NULL id's row `process_id` names (`null_key`), read with `columns` from
    `processes p`, if there is one. Always None on PostgreSQL."""
    rowid = null_key(conn, process_id)
    if rowid is None:
        return None
    from lashtui.registry.sql.fetch import fetch_rows  # (fetch.py imports this module)

    rows = fetch_rows(
        conn, f"SELECT {columns} FROM processes p WHERE p.rowid = ? AND p.process_id IS NULL",
        (rowid,),
    )  # fmt: skip
    return tuple(rows[0]) if rows else None


def blob_of(conn: Tx, process_id: str) -> bytes | None:
    """The blob whose row `process_id` names as a read shows it (`shown_id`), if there is
    such a row: asked only where no row has `process_id` as its text id (exact match
    first). Always None on PostgreSQL, whose text column holds no blob (and where a bytea
    bound against text is an error)."""
    blob = blob_key(process_id)
    if blob is None or dialect(conn).name != "sqlite":
        return None
    found = conn.execute("SELECT 1 FROM processes WHERE process_id = ?", (blob,)).fetchone()
    return blob if found is not None else None


def is_blob_row(undecodable: str | None) -> bool:
    """Whether a stand-in's reason (`ObservedProcess.undecodable`) is a blob id's or a NULL
    id's (then perhaps more: decoded_row.py `undecodable_record` adds a status column that holds no
    state): an id that is not text, which nothing lashtui runs can act on."""
    return undecodable is not None and undecodable.startswith((BLOB_ID_WORDS, NULL_ID_WORDS))


def shown_id(value: bytes) -> str:
    """A blob id as every reader holds it: as Python writes bytes (`b'r\\xffw'`)."""
    return repr(value)


# The SQL function that gives a blob id as it is shown (`shown_id`), for the text filter
# (filter.py `_shown_id`): SQLite has no function that writes bytes as Python does, and
# the filter matched the raw bytes, so `b'zz'`, as the row is listed, found nothing.
BLOB_SHOWN = "lashtui_blob_shown"


def install(conn: sqlite3.Connection) -> None:
    """Give `conn` `BLOB_SHOWN` (every SQLite connection of the store: connect.py)."""
    conn.create_function(BLOB_SHOWN, 1, _shown_blob, deterministic=True)


def _shown_blob(value: bytes | str | None) -> str | None:
    return shown_id(value) if isinstance(value, bytes) else value


def sql_literal(value: bytes) -> str:
    """A blob as SQLite writes it (`quote`, what `sqlite3` prints): `X'7A7A'`. The other
    spelling `blob_key` reads, for a blob whose `b'...'` is some text row's id as well."""
    return f"X'{value.hex().upper()}'"


_SQL_BLOB = re.compile(r"[xX]'((?:[0-9a-fA-F]{2})*)'")


def blob_key(text: str) -> bytes | None:
    """The blob a `shown_id` text (`b'zz'`) or a `sql_literal` (`X'7A7A'`) stands for, or
    None if `text` is neither."""
    if (literal := _SQL_BLOB.fullmatch(text)) is not None:
        return bytes.fromhex(literal.group(1))
    if not text.startswith(("b'", 'b"')):
        return None
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    return value if isinstance(value, bytes) else None
