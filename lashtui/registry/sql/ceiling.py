"""Scans over many records that never have SQLite load one past the ceiling
(dialect.py `MAX_STORED_BYTES`): the census's live rows (page.py), `lashtui check`'s
(probe.py) and the Errors view's window (error_window.py).

Each scan asks `Dialect.too_large` first and treats a record past the ceiling as its
stand-in does (undecodable: row.py `TOO_LARGE`), but SQLite 3.40 has no way to take a
text's size but loading it (`octet_length`, which reads it from the row's header, came in
3.43; `length` counts characters): a 600 MB record was loaded whole, in SQLite's own
memory, by every census and check (a 16 MiB one raised the reader's peak by 18 MiB). So
these scans run with the connection's length limit (`SQLITE_LIMIT_LENGTH`) at the ceiling:
SQLite then refuses to load a larger value ("string or blob too big") before it allocates
it, and the statement fails. Only then are the scan's rows measured, a chunk at a time
under the same limit (a chunk that fails is halved until the row is found: each record is
loaded at most a few times, none past the ceiling), and the scan runs again with those
rows left out, for the caller to count as the undecodable rows they are. PostgreSQL reads
a value's size from its header (`octet_length`): nothing to do there.

A statement that still fails under the limit met another value past it (an id of
hundreds of MB: `lashtui check --long-ids` names such a row): it runs again without the
limit, as before, and SQLite loads that value.

Every other read of many records on a SQLite store's connection (lists, id and sorted
pages and their state and text filters, the feed, the dashboard's window: connection.py
`read`, and `ls`'s plain read, listing.py) runs through `unread_past_ceiling`, which does
the same for a whole read and keeps the rows it found: those rows' `too_large` reads true
without measuring (dialect.py `Dialect.unread`), so such a row is still listed, once, with
its id and status, as its stand-in (row.py `TOO_LARGE`), and its record is never loaded.
The connection keeps the rowids and tells them again from their rows' headers before each
read (fetch.py `past_ceiling`'s way, ~3 us a row): a dashboard reads every second, and
only a read that meets a new such row searches the table again.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from lashtui.registry.sql.dialect import MAX_STORED_BYTES, Tx, dialect
from lashtui.registry.sql.record_cache import RecordCache

T = TypeVar("T")

# Rows measured in one statement while the rows past the ceiling are looked for.
CHUNK = 500


def within_ceiling(conn: Tx, scan: Callable[[tuple[int, ...]], T], where: str) -> T:
    """`scan(())`, or, where SQLite met a record past the ceiling, `scan(rowids)` with the
    rowids of the rows over `processes p` matching `where` whose record is past it, which
    the scan must leave out (`excluded`) and count itself."""
    if not isinstance(conn, sqlite3.Connection):
        return scan(())
    try:
        with _limited(conn):
            return scan(())
    except sqlite3.DataError as error:
        if not _too_big(error):
            raise
    with _limited(conn):
        large = tuple(_large_rows(conn, where))
    try:
        with _limited(conn):
            return scan(large)
    except sqlite3.DataError as error:
        if not _too_big(error):
            raise
    return scan(large)  # (another value past the limit: see the module docstring)


def unread_past_ceiling(conn: Tx, read: Callable[..., T], *args: object, **kwargs: object) -> T:
    """`read(conn, *args, **kwargs)`, a read of a registry's records, never having SQLite load a
    record past the ceiling (see the module docstring): under the length limit, the rows
    this connection knows past it left unread; if SQLite still meets one, the rows past it
    are looked for (all of them: which the read met is not known) and the read runs again
    leaving those unread too. Runs `read` as ever on PostgreSQL (which measures a value
    from its header), on a plain connection, and on a registry lash wrote (its views have
    no rowids)."""
    if not isinstance(conn, RecordCache) or not isinstance(conn, sqlite3.Connection):
        return read(conn, *args, **kwargs)
    if getattr(conn, "lash_version", None) is not None or conn.ceiling_unheld:
        return read(conn, *args, **kwargs)
    known = _still_past(conn, conn.unread_rowids)
    try:
        with _limited(conn), _unread(conn, known):
            return read(conn, *args, **kwargs)
    except sqlite3.DataError as error:
        if not _too_big(error):
            raise
    with _limited(conn):
        found = tuple(_large_rows(conn, "TRUE"))
    conn.unread_rowids = found
    try:
        with _limited(conn), _unread(conn, found):
            return read(conn, *args, **kwargs)
    except sqlite3.DataError as error:
        if not _too_big(error):
            raise
    # Another value past the limit (a huge id, see the module docstring): this connection
    # reads as before from now on, rather than search the table again at every read.
    conn.ceiling_unheld = True
    with _unread(conn, found):
        return read(conn, *args, **kwargs)


def _still_past(conn: sqlite3.Connection, rowids: tuple[int, ...]) -> tuple[int, ...]:
    """Those of `rowids` whose row still holds a record past the ceiling, told from each
    row's header (an incremental-blob handle's length), never from the value."""
    still = []
    for rowid in rowids:
        try:
            with conn.blobopen("processes", "record_json", rowid, readonly=True) as blob:
                if len(blob) > MAX_STORED_BYTES:
                    still.append(rowid)
        except sqlite3.Error:
            continue  # (the row is gone, or its record NULL: nothing to leave unread)
    return tuple(still)


@contextmanager
def _unread(conn: RecordCache, rowids: tuple[int, ...]) -> Iterator[None]:
    """The connection's dialect naming `rowids` as past the ceiling for the block
    (`Dialect.unread`), then as it was."""
    if not rowids:
        yield
        return
    before = dialect(conn)
    conn.dialect = before._replace(unread=rowids)  # type: ignore[attr-defined]
    try:
        yield
    finally:
        conn.dialect = before  # type: ignore[attr-defined]


def excluded(rowids: tuple[int, ...], alias: str = "p") -> tuple[str, list[object]]:
    """` AND <alias>.rowid NOT IN (...)` and its parameters ('' and none for no rows)."""
    if not rowids:
        return "", []
    return f" AND {alias}.rowid NOT IN ({','.join('?' * len(rowids))})", list(rowids)


def _too_big(error: sqlite3.DataError) -> bool:
    return "too big" in str(error)


@contextmanager
def _limited(conn: sqlite3.Connection) -> Iterator[None]:
    """The connection's length limit at the ceiling for the block (SQLite refuses to load
    a larger string or blob), then as it was."""
    before = conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_STORED_BYTES)
    try:
        yield
    finally:
        conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, before)


def _large_rows(conn: sqlite3.Connection, where: str) -> list[int]:
    """The rowids of the rows matching `where` whose record is past the ceiling, found
    under the limit (a chunk that fails is halved until the row is found)."""
    rowids = [rowid for (rowid,) in conn.execute(f"SELECT p.rowid FROM processes p WHERE {where}")]
    found: list[int] = []

    def measure(chunk: list[int]) -> None:
        try:
            conn.execute(
                "SELECT count(*) FROM processes p "
                f"WHERE p.rowid IN ({','.join('?' * len(chunk))}) "
                "AND length(CAST(p.record_json AS BLOB)) >= 0",
                chunk,
            ).fetchone()
        except sqlite3.DataError as error:
            if not _too_big(error):
                raise
            if len(chunk) == 1:
                found.append(chunk[0])
                return
            half = len(chunk) // 2
            measure(chunk[:half])
            measure(chunk[half:])

    for start in range(0, len(rowids), CHUNK):
        measure(rowids[start : start + CHUNK])
    return found
