"""The key the dashboard keeps a process's row by: its id, unless that id is not text.

SQLite lets another program store a process whose id is NULL or a blob
(registry/sql/blob_id.py). Every reader names such a row by its stand-in, `NULL` or
`b'zz'`, and a text id may be spelled the same: a text row `NULL` beside a NULL one.
Keyed by the id as read, the two were one row of the Processes view (the one read last
won), so the header counted a row the table did not show, and an action from that row
acted on whichever row had won.

So a row whose id is not text is keyed apart, by its id behind a character that no id
read from a registry holds: a high surrogate. A text id is UTF-8, or, where another
program stored bytes that are not, decoded with `surrogateescape` (sql/fetch.py), which
gives only low surrogates (U+DC80..U+DCFF); PostgreSQL's text holds no surrogate at all.
The key never reaches the screen or the registry: a cell shows the row's id, and what
asks the registry by id asks by `key_id`.
"""

from __future__ import annotations

from lashtui.model import ObservedProcess
from lashtui.registry.sql.blob_id import NULL_ID_WORDS, blob_key, null_rowid
from lashtui.tui.undecodable import not_text

NOT_TEXT = "\ud800"  # what a not-text row's key begins with (never in an id as read)


def row_key(process: ObservedProcess) -> str:
    """The key of `process`'s row: its id, or for an id that is not text, that id behind
    `NOT_TEXT`, so that it is never one row with the text id spelled like it."""
    return NOT_TEXT + process.process_id if not_text(process) else process.process_id


def key_id(key: str) -> str:
    """The process id a row key names, as every reader names it (`NULL`, `b'zz'`)."""
    return key.removeprefix(NOT_TEXT)


def is_not_text(key: str) -> bool:
    """Whether `key` is a row whose id is not text (`row_key`)."""
    return key.startswith(NOT_TEXT)


def id_place(process: ObservedProcess) -> tuple[int, object]:
    """Where `process`'s id sits in the registry's id order (SQLite's: NULL ids first, by
    rowid, then text, then blobs; registry/sql/filter.py `sqlite_order`), so that the
    window holds its rows as a page lists them: by the text `NULL#10` a NULL row sat after
    the text `NULL` and before `NULL#9`, where every page lists it first."""
    if not not_text(process):
        return (1, process.process_id)
    rowid = null_rowid(process.process_id)
    if rowid is not None and (process.undecodable or "").startswith(NULL_ID_WORDS):
        return (0, rowid)
    return (2, process.process_id)


def spelled_place(process_id: str) -> tuple[int, object]:
    """`id_place` of an id without its row (a census's id, a page's cursor): told by its
    spelling alone, so a text id spelled `NULL#4` or `b'zz'` is placed as the row that
    reads so (such text rows are another program's, and rare)."""
    rowid = null_rowid(process_id)
    if rowid is not None:
        return (0, rowid)
    return (2, process_id) if blob_key(process_id) is not None else (1, process_id)
