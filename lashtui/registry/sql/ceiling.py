"""Scans over many records that never have SQLite load one past the ceiling
(dialect.py `MAX_STORED_BYTES`): the census's live rows (page.py), `lashtui check`'s
(probe.py) and the Errors view's window (error_window.py).

Each scan asks `Dialect.too_large` first and treats a record past the ceiling as its
stand-in does (undecodable: decoded_row.py `TOO_LARGE`), but SQLite 3.40 has no way to take a
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
`read`, and `ls`'s plain read, listing.py) runs through `unread_past_ceiling`. Those rows'
`too_large` reads true without measuring (dialect.py `Dialect.unread`), so such a row is
still listed, once, with its id and status, as its stand-in (decoded_row.py `TOO_LARGE`), and its
record is never loaded. The connection keeps the rowids and tells them again from their
rows' headers before each read (fetch.py `past_ceiling`'s way): a dashboard reads every
second. A read that meets a row not known yet fails under the limit, and runs again with
each record it tests first named to a function (`_noted`, ~0.3 us a row tested): SQLite
stops at the row whose record is past the limit, the last one named, which its header
then confirms; it is known from then on, and the read runs once more. After
`ONE_AT_A_TIME` such rows in one read, the rest are told from their rows' headers as the
read tests them (`_by_header`: an incremental-blob handle a row, 13-40 us on a table of
1,000,000 rows). Either way the search costs what the read covers, never the whole table
(it measured every record of the table a chunk at a time: on 1,000,000 rows, the first
`ls --waiting` read 4.4 s).

A read that fails with no such row to show for it met another value past the limit (an id
of hundreds of MB): that read alone runs without the limit, every record it tests told
from its row's header, never loaded; the next read runs under the limit again (the
connection once read unlimited from then on, no row left unread, and a later list loaded
a record of 160 MiB).
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


# The rows past the ceiling one read finds one at a time, each costing the read once more,
# before it tells every record it tests from its row's header instead (`_by_header`).
ONE_AT_A_TIME = 4


def unread_past_ceiling(conn: Tx, read: Callable[..., T], *args: object, **kwargs: object) -> T:
    """`read(conn, *args, **kwargs)`, a read of a registry's records, never having SQLite load a
    record past the ceiling (see the module docstring): under the length limit, the rows
    this connection knows past it left unread; if SQLite still meets a value past it, the
    rows past the ceiling among those the read tests are found and the read runs again,
    and they are known from then on. Runs `read` as ever on PostgreSQL (which measures a
    value from its header), on a plain connection, and on a registry lash wrote (its views
    have no rowids)."""
    if not isinstance(conn, RecordCache) or not isinstance(conn, sqlite3.Connection):
        return read(conn, *args, **kwargs)
    if getattr(conn, "lash_version", None) is not None:
        return read(conn, *args, **kwargs)
    known = conn.unread_rowids = _still_past(conn, conn.unread_rowids)
    named = [0]  # (the last rowid named: rowid 0 is never one)
    for attempt in range(ONE_AT_A_TIME + 1):
        named[:] = [0]
        try:  # (from the second run on, each row is named before its record is measured)
            with _limited(conn), _asking(conn, known, _noted(named) if attempt else None):
                return read(conn, *args, **kwargs)
        except sqlite3.DataError as error:
            if not _too_big(error):
                raise
        if attempt:
            met = _still_past(conn, tuple(named))  # (the row SQLite stopped at, if it is one)
            if not met or met[0] in known:
                break  # another value past the limit (an id of hundreds of MB)
            known = conn.unread_rowids = tuple(sorted({*known, *met}))
    found: set[int] = set()
    try:
        with _asking(conn, known, _by_header(conn, found)):
            try:
                with _limited(conn):
                    return read(conn, *args, **kwargs)
            except sqlite3.DataError as error:
                if not _too_big(error):
                    raise
            # Another value past the limit (see the module docstring): this read alone
            # loads it; every record it tests is still told from its row's header.
            return read(conn, *args, **kwargs)
    finally:
        conn.unread_rowids = tuple(sorted({*known, *found}))


# The function a read looking for rows past the ceiling gives SQLite (dialect.py
# `Dialect.ask`): `too_large` asks it with a row's rowid before measuring its record.
ASK = "lashtui_past_ceiling"


def _noted(named: list[int]) -> Callable[[object], int]:
    """`ASK` that says no, and keeps the last rowid it was asked of in `named`: when SQLite
    then stops at a record past its length limit, that is the record's row."""

    def noted(rowid: object) -> int:
        if isinstance(rowid, int):
            named[0] = rowid
        return 0

    return noted


def _by_header(conn: sqlite3.Connection, found: set[int]) -> Callable[[object], int]:
    """`ASK` that tells from the row's header (`_still_past`) whether its record is past the
    ceiling, adding those rows to `found`. Only the last row's answer is kept: a statement
    asks of a row several times in a row, and a read of a million rows would hold a
    million answers."""
    last = [0, 0]  # (rowid, answer): rowid 0 is never asked of

    def told(rowid: object) -> int:
        if not isinstance(rowid, int):
            return 0
        if rowid != last[0]:
            last[:] = [rowid, int(bool(_still_past(conn, (rowid,))))]
            if last[1]:
                found.add(rowid)
        return last[1]

    return told


@contextmanager
def _asking(
    conn: RecordCache, known: tuple[int, ...], ask: Callable[[object], int] | None
) -> Iterator[None]:
    """For the block, the connection's dialect names `known` as past the ceiling and, with
    `ask`, asks it of each other row before measuring its record (`Dialect.ask`)."""
    before = dialect(conn)
    if ask is None and before.unread == known and not before.ask:
        yield  # (nothing to name: every read of a connection with none known, the common case)
        return
    if ask is not None:
        assert isinstance(conn, sqlite3.Connection)
        conn.create_function(ASK, 1, ask)
    conn.dialect = before._replace(unread=known, ask=ASK if ask else "")  # type: ignore[attr-defined]
    try:
        yield
    finally:
        conn.dialect = before  # type: ignore[attr-defined]


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
