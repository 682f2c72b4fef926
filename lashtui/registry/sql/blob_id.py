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
(row.py `decode_row`), listed where SQLite sorts it (after every text id), a work item
the worker and the sweep count as undecodable and never claim (lease.py `_work_item`,
run.py `_pick`), and looked up by that text when no row has it as its id (process.py
`get`, through `blob_of`). lashtui does not rewrite or end it: every write is keyed by
text, and a write or a read of what is keyed by its id (its events) that finds no row of
that text refuses it in one sentence (`refuse_blob`: row.py `load_record`,
`require_exists`; `end_undecodable`); another program, or `sqlite3`, has to.
PostgreSQL's text column holds no blob.
"""

from __future__ import annotations

import ast

from lashtui.registry.sql.dialect import Tx, dialect

BLOB_ID_WORDS = (
    "its process_id column holds a blob, not text: no lashtui statement can name it, so "
    "nothing runs, recovers or ends it"
)


# What `show` says it did not read of such a row: the other tables are keyed by text ids.
BLOB_NOT_READ = "its lease, events, grants, cancel and reruns (keyed by text, never by a blob)"


def refuse_blob(process_id: str) -> str:
    """The one sentence for an action asked of a blob id's row (named by `shown_id`), or a
    read of what is keyed by its id (its events)."""
    return (
        f"process `{process_id}` has an id that is not text (its process_id column holds a "
        "blob), which no lashtui statement can name, so lashtui only lists and shows it: "
        "only another program (sqlite3) can delete or rewrite its row"
    )


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
    """Whether a stand-in's reason (`ObservedProcess.undecodable`) is a blob id's (then
    perhaps more: row.py `undecodable_record` adds a status column that holds no state)."""
    return undecodable is not None and undecodable.startswith(BLOB_ID_WORDS)


def shown_id(value: bytes) -> str:
    """A blob id as every reader holds it: as Python writes bytes (`b'r\\xffw'`)."""
    return repr(value)


def blob_key(text: str) -> bytes | None:
    """The blob a `shown_id` text stands for, or None if `text` is no bytes literal."""
    if not text.startswith(("b'", 'b"')):
        return None
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    return value if isinstance(value, bytes) else None
