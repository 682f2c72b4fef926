"""Reading rows of the `processes` and `process_leases` tables as they are stored: the
columns every read that returns records takes (`row_columns`), the rows whose record is
past the ceiling on one stored value (`past_ceiling`; dialect.py `MAX_STORED_BYTES`,
`Dialect.stored_json`), the held-lease read,
`fetch_rows`, which survives TEXT that is not UTF-8, and `sized_page`, a page of stored
JSON (records, events) cut by its size as well as its count.

Nothing here imports the models: the command line's `ls --json` read
(lashtui/listing.py) reads the same columns with the same statements without loading
pydantic; decoded_row.py decodes them into records.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from lashtui.errors import InvalidRequest
from lashtui.registry.sql.blob_id import (
    blob_key,
    is_null_spelling,
    null_name_sql,
    null_row,
    read_id,
    stored_key,
)
from lashtui.registry.sql.dialect import MAX_STORED_BYTES, Dialect, Tx, dialect
from lashtui.registry.sql.long_id import cut_rows, is_cut
from lashtui.registry.sql.stored_text import as_read, read_text


def check_stored_size(text: str, what: str) -> None:
    """Refuse a whole record or event whose JSON no reader would take (`MAX_STORED_BYTES`):
    one sentence naming its size, and nothing written."""
    if len(text) * 4 <= MAX_STORED_BYTES:
        return  # (UTF-8 takes at most four bytes a character)
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_STORED_BYTES:
        raise InvalidRequest(
            f"{what} would be {size:,} bytes of JSON; the most any reader takes is "
            f"{MAX_STORED_BYTES:,} ({MAX_STORED_BYTES >> 20} MiB)"
        )


# A row's record JSON and the columns a stand-in is built from (decoded_row.py
# `undecodable_record`): what `row_columns` reads, with the record guarded, and each text
# column as every read takes one (long_id.py `read_text`: at most one character past what a
# reader takes whole).
ROW_COLUMN_LIST = (
    "p.record_json",
    read_text("p.process_id"),
    read_text("p.registration_hash"),
    read_text("p.owner_scope_id"),
    "p.created_at_ms",
    "p.updated_at_ms",
    read_text("p.status"),
)
ROW_COLUMNS = ", ".join(ROW_COLUMN_LIST)
# The same for the rows of cut ids (long_id.py `cut_rows`), whose records are never decoded.
CUT_ROW_COLUMNS = ", ".join(("''", *ROW_COLUMN_LIST[1:]))
# ...and for NULL ids' rows (SQLite only), their id read as their rowid and their name in
# the record's place (blob_id.py `null_name_sql`; a NULL id's record is never read).
NULL_ROW_COLUMNS = ", ".join((null_name_sql(), "p.rowid", *ROW_COLUMN_LIST[2:]))
Row = tuple[Any, ...]


def row_columns(conn: Tx) -> str:
    """`ROW_COLUMNS` as every read that returns records takes them: the record NULL when it
    is past `MAX_STORED_BYTES` (`stored_json`; decoded_row.py `decode_row` makes it a stand-in)."""
    return row_columns_in(dialect(conn))


def row_column_list(conn: Tx) -> list[str]:
    """`row_columns`, a column an item."""
    sql = dialect(conn)
    return [_record_column(sql, None), _id_column(sql), *ROW_COLUMN_LIST[2:]]


def row_columns_in(sql: Dialect, unread: str | None = None) -> str:
    """`row_columns` in that dialect (the benchmarks' stdlib peers read the same), the
    record NULL also where `unread` holds (tested first)."""
    return ", ".join((_record_column(sql, unread), _id_column(sql), *ROW_COLUMN_LIST[2:]))


def _id_column(sql: Dialect) -> str:
    """The id as a read of rows takes it: on SQLite a NULL id as its rowid (blob_id.py
    `read_id`), so that a walk of the table (the change feed, a list) reads each NULL row
    as itself; PostgreSQL's are never NULL."""
    return SQLITE_ID_COLUMN if sql.name == "sqlite" else ROW_COLUMN_LIST[1]


SQLITE_ID_COLUMN = read_id()  # (made once: every read of rows names it)


def _record_column(sql: Dialect, unread: str | None) -> str:
    record = sql.stored_json("p.record_json")
    if unread is not None:
        record = f"CASE WHEN {unread} THEN NULL ELSE {record} END"
    if sql.name == "sqlite":  # a NULL id's row: its name (`NULL_ROW_COLUMNS`), never its record
        record = f"CASE WHEN p.process_id IS NULL THEN {_NULL_NAME} ELSE {record} END"
    return record


_NULL_NAME = null_name_sql()


# A lease holder's liveness JSON (lease table `l`) as every read takes it: NULL past the
# most a write allows of it, which reads as opaque liveness (never provably dead; lease_row.py
# `_decode_liveness`), as NULL always has. A liveness is a few hundred bytes, but a write
# takes an owner with unknown fields up to `MAX_JSON_BYTES` of JSON (model/wire.py
# `check_extras_size`), so that is the ceiling, in characters (never more than its bytes);
# it was a record's (16 MiB), which let a lease list of a thousand rows hold 16 GB of them.
# Measured with `length` rather than each store's byte count, so that one text serves both
# stores: these statements are made before any connection.
LIVENESS_CHARS = 1 << 20  # `lashtui.model.limit.MAX_JSON_BYTES`, which imports pydantic
LIVENESS = (
    f"CASE WHEN length(l.lease_owner_liveness_json) > {LIVENESS_CHARS} THEN NULL "
    "ELSE l.lease_owner_liveness_json END"
)

# The columns of lease_row.py's `LeaseRow`, in its order, from the lease table aliased `l`: its
# names under the ceiling on plain text (stored_text.py; a longer one makes the lease a
# stand-in that nothing acts by, lease_row.py `lease_row_problem`).
LEASE_ROW_COLUMNS = (
    f"{read_text('l.lease_owner_id')}, {read_text('l.lease_owner_incarnation_id')}, "
    f"{LIVENESS}, {read_text('l.lease_token')}, "
    "l.lease_fencing_token, l.lease_claimed_at_ms, l.lease_expires_at_ms"
)


def held_leases_sql(count: int) -> str:
    """The held leases of `count` process ids (bound in order): each row is the process id,
    then the columns of lease_row.py's `LeaseRow`."""
    return (
        f"SELECT l.process_id, {LEASE_ROW_COLUMNS} FROM process_leases l "
        "WHERE l.lease_owner_id IS NOT NULL AND l.lease_token IS NOT NULL "
        f"AND l.process_id IN ({','.join('?' * count)})"
    )


Statement = tuple[str, tuple[Any, ...]]


def read_ahead(conn: Tx, *statements: Statement) -> None:
    """Ask a connection that pipelines its statements (PostgreSQL's) to send these reads
    with the next statement it runs, so that their results come back in that statement's
    round trip; a later `execute` of the very same statement (text and values) takes the
    result already there instead of running it. On a connection that does not pipeline
    (SQLite's) this does nothing, and each read runs when it is executed, as before.

    The caller asks only for reads that nothing it does between its next statement and
    their use can change: they run right after that statement, so after the row lock it
    takes (a write's first read locks the process row, and every write to the process's
    events and lease locks that row first). Each result is used at most once, and is
    forgotten when the write that asked for it ends (the connection says when)."""
    ahead = getattr(conn, "read_ahead", None)
    if ahead is not None:
        ahead(statements)


def unstorable_parameter(error: UnicodeEncodeError) -> InvalidRequest:
    """The sentence for a bound value with a lone surrogate, which UTF-8 cannot encode."""
    text = error.object if isinstance(error.object, str) else ""
    code = f"\\u{ord(text[error.start]):04x}" if text else "a lone surrogate"
    return InvalidRequest(
        f"a value looked up holds a lone surrogate ({code}), which UTF-8 cannot store"
    )


def _lenient_text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def fetch_rows(
    conn: Tx,
    sql: str,
    params: Any = (),
    *,
    max_chars: int | None = None,
    unread_chars: int = MAX_STORED_BYTES,
) -> list[Row]:
    """`conn.execute(sql, params).fetchall()`, surviving TEXT that is not UTF-8 (another
    program may store any bytes in an SQLite TEXT column, and sqlite3 then refuses the
    whole result): the statement is run again in the same transaction with the bytes
    decoded as lone surrogates, which make that row's record undecodable and nothing else.
    The default decoder stays for every result without such bytes (it is C; a Python text
    factory costs on every cell).

    With `max_chars`, the rows stop after the one whose first column (stored JSON) takes
    their total length to `max_chars` or past it (`stored_chars`, a value left unread
    counting `unread_chars`): rows past it are never stepped, so never read (SQLite yields
    a result a row at a time; PostgreSQL's result arrives whole, and `sized_page` has the
    server cut it)."""
    try:
        return _take(conn.execute(sql, params), max_chars, unread_chars)
    except UnicodeEncodeError as error:
        # A parameter no store can hold (psycopg raises this, not a DB error; the SQLite
        # store binds the ones a byte decoded to: sqlite/raw_text.py).
        raise unstorable_parameter(error) from None
    except sqlite3.OperationalError as error:
        if "decode" not in str(error) or not isinstance(conn, sqlite3.Connection):
            raise
    factory = conn.text_factory
    conn.text_factory = _lenient_text
    try:
        return _take(conn.execute(sql, params), max_chars, unread_chars)
    finally:
        conn.text_factory = factory


# What a record left unread (`stored_json`) counts toward a page's `max_chars`: nothing.
# Its reads never load it (they tell it from its row's header, `past_ceiling`, or name it
# unmeasured, ceiling.py), so its stand-in holds a few hundred bytes, and a page goes on past
# it: counted at the ceiling, it ended every page it was on, and the dashboard's window
# showed 2 of 4 rows until a scroll. An event left unread still counts the whole ceiling
# (`stored_chars`' default): SQLite measures an event by loading it (and frees it at once),
# so a page holding one ends there rather than load each.
UNREAD_RECORD_CHARS = 0


def stored_chars(value: object, unread_chars: int = MAX_STORED_BYTES) -> int:
    """What a read's stored JSON counts toward a page's `max_chars`: its length, and
    `unread_chars` for one left unread (`stored_json`)."""
    if value is None:
        return unread_chars
    return len(value) if isinstance(value, str | bytes) else 0


def _take(cursor: Any, max_chars: int | None, unread_chars: int) -> list[Row]:
    if max_chars is None:
        return cursor.fetchall()  # type: ignore[no-any-return]
    rows: list[Row] = []
    total = 0
    for row in cursor:
        rows.append(row)
        total += stored_chars(row[0], unread_chars)
        if total >= max_chars:
            break
    close = getattr(cursor, "close", None)
    if close is not None:
        close()  # (a statement left part-stepped would hold its read open)
    return rows


def sized_page(
    conn: Tx,
    columns: list[str],
    source: str,
    params: tuple[object, ...],
    order_by: list[str],
    limit: int | None,
    max_chars: int | None,
    unread_chars: int = MAX_STORED_BYTES,
) -> list[Row]:
    """`SELECT {columns} {source} ORDER BY {order_by} LIMIT ?`, the rows cut once their first
    column (stored JSON) reaches `max_chars` in all (the row that reaches it included; a
    value left unread counts `unread_chars`, `stored_chars`).
    Each name in `order_by` ("p.change_seq DESC") must be one of `columns`.

    SQLite yields a result a row at a time, so the rows past the cut are never stepped
    (`fetch_rows`). PostgreSQL's result arrives whole, so the server makes the cut: a
    running sum of the column's `octet_length` (which reads a stored value's length from
    its header, never the value: a TOASTed mebibyte is not fetched to be measured), bytes
    rather than characters there, never fewer."""
    limited = " LIMIT ?" if limit is not None else ""
    bound = (*params, limit) if limit is not None else params
    order = ", ".join(order_by)
    if max_chars is None or dialect(conn).name == "sqlite":
        sql = f"SELECT {', '.join(columns)} {source} ORDER BY {order}{limited}"
        return fetch_rows(conn, sql, bound, max_chars=max_chars, unread_chars=unread_chars)
    size = f"coalesce(octet_length({columns[0]}), {unread_chars})"  # as `stored_chars`
    named = ", ".join(f"{column} AS c{n}" for n, column in enumerate(columns))
    outer_order = ", ".join(_by_position(columns, part) for part in order_by)
    sized = (
        f"SELECT {named}, SUM({size}) OVER (ORDER BY {order} ROWS UNBOUNDED PRECEDING) "
        f"- {size} AS before_chars {source} ORDER BY {order}{limited}"
    )
    outer = ", ".join(f"c{n}" for n in range(len(columns)))
    sql = f"SELECT {outer} FROM ({sized}) page WHERE before_chars < ? ORDER BY {outer_order}"
    return fetch_rows(conn, sql, (*bound, max_chars))


def _by_position(columns: list[str], order: str) -> str:
    """`e.sequence DESC` as the outer query names it: `c2 DESC`."""
    name, _, direction = order.rpartition(" ")
    if direction not in ("ASC", "DESC"):  # (an expression's own spaces: no direction)
        name, direction = order, ""
    return f"c{columns.index(name)} {direction}".rstrip()


CHUNK = 500  # ids bound per statement: well under SQLite's bound-parameter limit


def stored_rows(conn: Tx, process_ids: list[str]) -> list[Row]:
    """The rows of these ids, read with `row_columns` (in no particular order; an id with
    no row has none), a record past the ceiling left unread unmeasured (`past_ceiling`)."""
    cut = [process_id for process_id in process_ids if is_cut(process_id)]
    if cut:  # (long_id.py)
        whole = [process_id for process_id in process_ids if not is_cut(process_id)]
        return stored_rows(conn, whole) + cut_rows(conn, CUT_ROW_COLUMNS, cut)
    rows: list[Row] = []
    for start in range(0, len(process_ids), CHUNK):
        chunk = process_ids[start : start + CHUNK]
        large = past_ceiling(conn, chunk)
        rows += fetch_rows(
            conn,
            f"SELECT {_unread_among(conn, large)} FROM processes p "
            f"WHERE p.process_id IN ({','.join('?' * len(chunk))})",
            [*large, *chunk],
        )
    return rows + _not_text_rows(conn, process_ids, {row[1] for row in rows})


def _not_text_rows(conn: Tx, process_ids: list[str], found: set[object]) -> list[Row]:
    """The rows of those ids no row has as its text id that name, as a read shows them, a
    row whose id is not text (blob_id.py: `NULL#4`, a blob's `b'...'`), read as a cut id's
    is (they are stand-ins whose records are never read): how the dashboard reads such a row
    again by the id it lists (it was "gone", and left out of marked rows unsaid)."""
    rows: list[Row] = []
    for process_id in process_ids:
        if process_id in found or (
            not is_null_spelling(process_id) and blob_key(process_id) is None
        ):
            continue
        key = stored_key(conn, process_id)
        if isinstance(key, int):
            rows += null_rows(conn, [key]).values()
        elif isinstance(key, bytes):
            rows += fetch_rows(
                conn, f"SELECT {CUT_ROW_COLUMNS} FROM processes p WHERE p.process_id = ?", (key,)
            )
    return rows


def null_rows(conn: Tx, rowids: list[Any]) -> dict[object, Row]:
    """The rows of NULL ids at these rowids (blob_id.py), by rowid, read as a cut id's
    (`NULL_ROW_COLUMNS`: their record unread, their id their rowid)."""
    found: dict[object, Row] = {}
    for start in range(0, len(rowids), CHUNK):
        chunk = rowids[start : start + CHUNK]
        for row in fetch_rows(
            conn,
            f"SELECT {NULL_ROW_COLUMNS} FROM processes p "
            f"WHERE p.rowid IN ({','.join('?' * len(chunk))}) AND p.process_id IS NULL",
            chunk,
        ):
            found[row[1]] = row
    return found


def _unread_among(conn: Tx, large: list[str]) -> str:
    """`row_columns`, with the records of these ids (bound first) left unread."""
    return row_columns_in(dialect(conn), id_among(large) if large else None)


def id_among(process_ids: list[str]) -> str:
    """The row `p` is one of these ids (bound in order): how the reads name the rows
    `past_ceiling` found, whose records they leave unread."""
    return f"p.process_id IN ({','.join('?' * len(process_ids))})"


def ordered_rows(
    conn: Tx, process_ids: list[str], max_chars: int | None
) -> tuple[list[Row], int]:
    """The rows of these ids read with `row_columns`, in the ids' order (an id with no row
    has none), and how many of the ids that read covered: all of them, or with `max_chars`
    those up to the row whose record takes the rows' total to `max_chars` characters or
    past it. The records past that row are never read (a record may be a mebibyte or two,
    and a page of 2,000 of them gigabytes).

    SQLite looks each id up in the order given (a CROSS JOIN keeps the ids as the outer
    loop) and steps no row past the cut (`fetch_rows`); PostgreSQL's server makes the cut
    from the records' stored sizes (`sized_page`), in one statement. A cut id (long_id.py)
    reads the row it was cut from, with no record."""
    if any(_read_apart(process_id) for process_id in process_ids):
        return _with_cut_rows(conn, process_ids, max_chars)
    if dialect(conn).name != "sqlite":
        return _ordered_on_server(conn, process_ids, max_chars)
    rows: list[Row] = []
    left = max_chars
    for start in range(0, len(process_ids), CHUNK):
        chunk = process_ids[start : start + CHUNK]
        values = ",".join(["(?)"] * len(chunk))
        large = past_ceiling(conn, chunk)  # left unread, not measured again
        read = fetch_rows(
            conn,
            f"SELECT {_unread_among(conn, large)} FROM (VALUES {values}) AS v "
            "CROSS JOIN processes p ON p.process_id = v.column1",
            [*large, *chunk],
            max_chars=left,
            unread_chars=UNREAD_RECORD_CHARS,
        )
        rows += read
        if left is not None:
            left -= sum(stored_chars(row[0], UNREAD_RECORD_CHARS) for row in read)
            if left <= 0:  # cut at the last row read: the ids after it are not covered
                return rows, start + chunk.index(read[-1][1]) + 1
    return rows, len(process_ids)


def _with_cut_rows(
    conn: Tx, process_ids: list[str], max_chars: int | None
) -> tuple[list[Row], int]:
    """`ordered_rows` of ids some of which are cut or a NULL id's rowid (an int, blob_id.py
    `read_id`; None: a view's NULL row, read without one): the others read as ever, the cut
    ones' and the NULL ones' rows (no record: they count nothing toward `max_chars`) put
    back in their places, up to where the others' read stopped."""
    whole = [pid for pid in process_ids if not _read_apart(pid)]
    rows, covered = ordered_rows(conn, whole, max_chars)
    found = {row[1]: row for row in rows}
    cut_ids = [process_id for process_id in process_ids if is_cut(process_id)]
    cut: dict[object, Row] = {row[1]: row for row in cut_rows(conn, CUT_ROW_COLUMNS, cut_ids)}
    read: list[object] = list(process_ids)  # (a NULL id's rowid is an int among them)
    cut.update(null_rows(conn, [pid for pid in read if type(pid) is int]))
    if None in process_ids:  # a NULL id read without its rowid (a view's): the first one
        null = null_row(conn, CUT_ROW_COLUMNS)
        if null is not None:
            cut[None] = null
    ordered: list[Row] = []
    taken = 0  # of the whole ids
    for at, process_id in enumerate(process_ids):
        if _read_apart(process_id):
            row = cut.pop(as_read(process_id), None)  # (once: an id given twice reads once)
            if row is not None:
                ordered.append(row)
        else:
            if taken == covered:
                return ordered, at
            taken += 1
            if process_id in found:
                ordered.append(found[process_id])
    return ordered, len(process_ids)


def _read_apart(process_id: object) -> bool:
    """Whether a page's id names a row read apart: a cut id's, a NULL id's (its rowid, an
    int, or None from a view: blob_id.py `read_id`)."""
    return process_id is None or type(process_id) is int or is_cut(process_id)


def past_ceiling(conn: Tx, process_ids: list[str]) -> list[str]:
    """On SQLite, those of these ids whose stored record is past `MAX_STORED_BYTES`, told
    from each value's size as its row's header gives it (the length of an incremental-blob
    handle, ~3 us), never from the value: `stored_json` loads a value to measure it, and
    the live views read their rows again every second (with `stored_json` alone, one
    record of 600 MB kept the dashboard at 57% of a core; before either, 88% and 2.4 GB).
    Read from lash's own table under a registry of lash's (lash/: the views are not
    tables), whose records its views then never translate."""
    blobopen = getattr(conn, "blobopen", None)
    if blobopen is None:
        return []
    found = fetch_rows(
        conn,
        "SELECT p.rowid, p.process_id FROM main.processes p "
        f"WHERE p.process_id IN ({','.join('?' * len(process_ids))})",
        process_ids,
    )
    large = []
    for rowid, process_id in found:
        try:
            with blobopen("processes", "record_json", rowid, readonly=True, name="main") as blob:
                if len(blob) > MAX_STORED_BYTES:
                    large.append(process_id)
        except sqlite3.Error:
            continue  # (a NULL, which no layout stores): `stored_json` decides as ever
    known = getattr(conn, "large_records", None)  # (a RecordCache's, for its drives)
    if large and known is not None:
        known.update(large)
    return large


def _ordered_on_server(
    conn: Tx, process_ids: list[str], max_chars: int | None
) -> tuple[list[Row], int]:
    """`ordered_rows` on PostgreSQL: without a cut, the rows put in order here; with one,
    in the ids' order and cut by the server, which also says each record's stored size so
    that the cut is known from what came back."""
    if max_chars is None:
        found = {row[1]: row for row in stored_rows(conn, process_ids)}
        return [found[pid] for pid in process_ids if pid in found], len(process_ids)
    record = row_column_list(conn)[0]
    size = f"coalesce(octet_length({record}), {UNREAD_RECORD_CHARS})"  # as the cut counts
    columns = [record, *row_column_list(conn)[1:], "v.n", size]
    source = (
        "FROM unnest(?::text[]) WITH ORDINALITY AS v(id, n) "
        "JOIN processes p ON p.process_id = v.id"
    )
    rows = sized_page(
        conn, columns, source, (process_ids,), ["v.n"], None, max_chars, UNREAD_RECORD_CHARS
    )
    covered = len(process_ids)
    if sum(int(row[-1]) for row in rows) >= max_chars:  # cut at the last row returned
        covered = int(rows[-1][-2])
    return [row[:-2] for row in rows], covered


def held_lease_rows(conn: Tx, process_ids: list[str]) -> dict[str, Row]:
    """The held leases of these ids: each id's `LeaseRow` columns (lease_row.py)."""
    found: dict[str, Row] = {}
    for start in range(0, len(process_ids), CHUNK):
        chunk = process_ids[start : start + CHUNK]
        for process_id, *columns in fetch_rows(conn, held_leases_sql(len(chunk)), chunk):
            found[process_id] = tuple(columns)
    return found
