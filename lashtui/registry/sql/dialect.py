"""What the shared transaction functions need of a connection, and the few places where
SQLite's SQL and PostgreSQL's differ.

The registry's transactions are plain functions over a DB-API style connection (`Tx`): one
implementation of lash's semantics that both stores run, each inside its own transaction
and locking rules. They write SQLite's dialect with `?` placeholders; the PostgreSQL store's
connection translates the placeholders, and every other difference is a fragment asked of
`dialect(conn)`, so a statement reads the same for both stores but for the named part.

PostgreSQL's record JSON. lash's layout keeps the record in a TEXT column, and the census,
the pages' filters and the worklist read fields of it in SQL with `column::jsonb`. One row
whose text jsonb refuses (not JSON, a lone surrogate escaped, a number past numeric's
range, nesting past the server's stack) would fail every such statement, and PostgreSQL 15
has no way to test text for jsonb without failing (`pg_input_is_valid` is 16+, and IS JSON
too). So there are three forms, and a statement is written in one of them (`Dialect.jsonb`):

- the plain cast (`POSTGRES`), the normal path: only a `\\u0000` escape, which older lashtui
  builds and serde_json write for a NUL, is stepped around (a strpos, nearly free);
- `lashtui_try_jsonb(column)` (`POSTGRES_TRY`): a PL/pgSQL function that returns NULL for
  what the cast refuses. Its exception block opens a subtransaction per row, and makes it
  PARALLEL UNSAFE. Writable opens add it (postgres/schema.py);
- `pg_input_is_valid(column, 'jsonb')` (`POSTGRES_VALID`), on a server of 16 or later that
  lacks the function (a registry only ever opened read-only by this build). The function
  is preferred where it exists: nesting past the stack is a hard error, which
  pg_input_is_valid does not catch. (Only 15 was at hand to measure and test.)

A statement fails over from the first to a tolerant one: the store's connection rolls the
transaction back and runs it again, whole, in the tolerant form, and keeps that form for a
minute before it tries the plain cast again (postgres/jsonb_refusal.py), so only a registry
that holds such a row pays. Measured on PostgreSQL 15, 100,000 running rows whose records
are ~1.3 kB (the census reads every live row's `wait`), as the backend's CPU time (serial
plans, median of 9; wall-clock on this shared 2-core machine swung 1-3 s either way): the
census 1,120 ms plain, 1,180 ms with the function (+5%); the worklist, which reads two
fields a row, 2,290 and 2,240 ms (no difference past the noise). The function adds a fixed
~0.6 us a row, against ~11 us to parse such a record, so it weighs more on small records
(a count over small ones measured +50%); and its PARALLEL UNSAFE keeps the plan serial,
where the plain cast may use parallel workers. A registry with a refused row pays, once a
minute per handle, for the plain attempt up to the row it fails on.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple, Protocol


class Cursor(Protocol):
    """What a statement's result offers: sqlite3's and psycopg's cursors both fit."""

    @property
    def rowcount(self) -> int: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def __iter__(self) -> Iterator[Any]: ...


class Tx(Protocol):
    """A connection inside one transaction: `execute(sql, params)` with `?` placeholders."""

    def execute(self, sql: str, parameters: Any = ..., /) -> Cursor: ...


# PostgreSQL's three ways to read record JSON (see the module docstring).
JSONB_CAST, JSONB_TRY, JSONB_VALID = "cast", "try", "valid"
# The try-cast function writable opens add to a PostgreSQL registry (postgres/schema.py).
TRY_JSONB = "lashtui_try_jsonb"


# The most of one stored record or event (its JSON, in UTF-8 bytes) that any reader takes.
# Another program may store a value of any size (SQLite's own ceiling is a gigabyte), and a
# reader that took one whole would hold it, decode it into several times its size and, on
# a live screen, do so again every second: one record of 600 MB took `lashtui ls` 1.7 s and
# 1.2 GB, `ls --json` 9.9 s and 2.4 GB, `lashtui check` 6.1 s and 3.6 GB (SQLite's JSON
# functions parsing it). A value past it is never handed to a reader (`stored_json`: the
# read gets NULL, and the row or event is shown as undecodable, saying why: decoded_row.py
# `TOO_LARGE`), nor read as JSON in SQL (`json_text` and its siblings read NULL). lashtui's
# own writes stay far inside it (a registration and an output are 1 MiB each at most:
# lashtui/model/limit.py), and refuse a whole record past it (fetch.py
# `check_stored_size`), so what one writes every reader reads; lash's largest rows are a
# 120 KB record and a 199 KB event.
MAX_STORED_BYTES = 16 << 20


def _rowid_of(column: str) -> str | None:
    """The rowid of the `processes` row whose record is `column` (`p.record_json`, or
    `record_json` unqualified); None for any other column, which `unread` does not name."""
    if column == "record_json":
        return "rowid"
    if column == "p.record_json":
        return "p.rowid"
    return None


def has_backslash(column: str) -> str:
    """On SQLite, whether the JSON text in `column` holds a backslash anywhere, so that an
    escape may spell a key another way (SQLite 3.40's JSON functions match keys as written):
    a byte search of its blob, since `instr` on text counts characters."""
    return f"(instr(CAST({column} AS BLOB), X'5C') > 0)"


def _integer(column: str) -> str:
    """SQLite's test that `column` holds a whole number (it stores whatever another program
    gives it; PostgreSQL's integer columns need none)."""
    return f"typeof({column}) = 'integer'"


class Dialect(NamedTuple):
    """The SQL fragments that differ between the two stores. (A NamedTuple rather than a
    frozen dataclass: `dataclasses` and the `inspect` it imports cost ~40M instructions at
    start-up, an eighth of `ls --json`'s budget against the stdlib, lashtui/listing.py.)"""

    name: str
    # Whether the store can edit the stored record JSON in place (SQLite's json_set); without
    # it a save re-encodes the record, which PostgreSQL's text column needs anyway.
    edits_json_in_place: bool
    # SQLite's unary `+` keeps the planner off an index; PostgreSQL has no such operator on
    # text, and chooses by its statistics instead.
    not_indexed: str
    # SQLite runs a CROSS JOIN in the order written (the grants as the outer loop).
    fixed_order_join: str
    # How PostgreSQL reads a text column as jsonb (see `PostgreSQL's record JSON` below):
    # the plain cast, the registry's try-cast function, or pg_input_is_valid (16+).
    jsonb: str = JSONB_CAST
    # What a write transaction's read of a row it may change ends with: PostgreSQL's write
    # transactions lock each process's rows as they read them (postgres/transaction.py says
    # why), SQLite's BEGIN IMMEDIATE already holds the whole file.
    row_lock: str = ""
    # Whether a row inserted in this transaction is known to have no lease row: PostgreSQL
    # enforces the leases' foreign key (ON DELETE CASCADE), so the lease of an earlier row
    # of the same id went with that row; a SQLite file may hold one (lash's connections
    # need not enforce foreign keys), whose fence the next claim must pass.
    new_rows_leaseless: bool = False
    # Whether the label index reads the rows' label column, `sort_label` (order.py
    # `label_key`, `label_dialect`): a label page then sorts by it, the index's expression.
    sort_label: bool = False
    # On PostgreSQL, whether the registry has the function that tells a record naming a
    # read key twice (sql/repeated.py `POSTGRES_DDL`; set by the store's connection from
    # what its open found). SQLite's connections all register theirs.
    repeated_key: bool = False
    # On SQLite, the rowids of the `processes` rows a read found with a record past the
    # ceiling (ceiling.py `unread_past_ceiling`): `too_large` says so of them without
    # measuring, which would load the value. Empty on every other read.
    unread: tuple[int, ...] = ()
    # On SQLite, while a read looks for such rows (ceiling.py `unread_past_ceiling`), the
    # name of a function `too_large` asks with a row's rowid before measuring its record
    # (1: past the ceiling, unmeasured). Empty on every other read.
    ask: str = ""

    def too_large(self, column: str) -> str:
        """Whether the stored JSON in `column` is past `MAX_STORED_BYTES`. PostgreSQL reads
        a value's size from its header (`octet_length`), never the value. SQLite 3.40 has
        no such function for text (`octet_length` came in 3.43): `length` of the value as
        a blob is its size in bytes, and SQLite loads the value, in its own memory, to take
        it (600 MB: ~0.4 s and as many bytes, freed at once), but parses and hands nothing
        on. On rows of ordinary size it costs nothing measurable (0.62 against 0.69 us a
        300-byte row, 42 against 44 us a 100 kB one)."""
        if self.name == "sqlite":
            measured = f"length(CAST({column} AS BLOB)) > {MAX_STORED_BYTES}"
            rowid = _rowid_of(column) if self.unread or self.ask else None
            if rowid is None:
                return measured
            # (A CASE: SQLite evaluates its arms lazily, so those rows are never measured.)
            rowids = ",".join(map(str, self.unread))  # (whole numbers SQLite gave)
            asked = f" WHEN {self.ask}({rowid}) = 1 THEN 1" if self.ask else ""
            return f"(CASE WHEN {rowid} IN ({rowids}) THEN 1{asked} ELSE {measured} END)"
        return f"octet_length({column}) > {MAX_STORED_BYTES}"

    def stored_json(self, column: str) -> str:
        """`column`, a stored record's or event's JSON, as a read takes it: NULL when it is
        past `MAX_STORED_BYTES` (`too_large`)."""
        return f"CASE WHEN {self.too_large(column)} THEN NULL ELSE {column} END"

    def json_text(self, column: str, path: str, *, any_size: bool = False) -> str:
        """The JSON value at dotted `path` as text (NULL when absent or JSON null).

        NULL too when the text is past `MAX_STORED_BYTES`, which is never parsed; with
        `any_size`, read whatever its size: the label index's expression, which a page's
        key must spell as the index was made (order.py `label_key`), and which reads the
        record only for a row another program wrote without its label column.

        On SQLite, NULL too when the column is not JSON SQLite can read (another program
        wrote it, or it nests past SQLite's depth limit): json_extract would otherwise fail
        the whole statement, and one such row would stop every census, page and worklist.
        Measured on 100,000 rows: +7% on a census, +16% on the worklist (SQLite caches the
        parse between json_valid and json_extract).

        On PostgreSQL, NULL too for a `\\u0000` escape (older lashtui builds and serde_json
        write one for a NUL in a string), which jsonb refuses; in the tolerant forms, NULL for
        any text jsonb refuses. The plain cast fails its statement on the others, and the
        store's connection runs it again tolerant (see the module docstring). A NULL read
        here is no verdict: the worklist decodes such a row in Python (`worklist.work_items`)."""
        if self.name == "sqlite":
            valid = f"json_valid({column})" if any_size else self.json_valid(column)
            return f"(CASE WHEN {valid} THEN json_extract({column}, '$.{path}') END)"
        keys = ",".join(path.split("."))
        return f"({self._jsonb(column, any_size=any_size)} #>> '{{{keys}}}')"

    def json_value(self, column: str, path: str) -> str:
        """The JSON value at dotted `path` as JSON text, whatever its type (`json_text`
        gives a string's contents instead), guarded as `json_text` is; SQLite writes an
        absent value as `null`, PostgreSQL as NULL. Compare values after decoding: the two
        stores space and order an object's keys differently."""
        if self.name == "sqlite":
            # json_quote leaves a value json_extract returned as JSON (an object, an array)
            # as it is, and quotes a string: JSON text either way.
            extract = f"json_extract({column}, '$.{path}')"
            return f"(CASE WHEN {self.json_valid(column)} THEN json_quote({extract}) END)"
        keys = ",".join(path.split("."))
        return f"(({self._jsonb(column)} #> '{{{keys}}}')::text)"

    def json_valid(self, column: str) -> str:
        """On SQLite, whether `column` holds JSON its functions may read: JSON SQLite
        parses, within `MAX_STORED_BYTES` (tested first: a larger value is never parsed)."""
        return f"(NOT {self.too_large(column)} AND json_valid({column}))"

    def _jsonb(self, column: str, *, any_size: bool = False) -> str:
        """`column` as jsonb, or NULL where the cast would fail (as `jsonb` says) or the
        text is past `MAX_STORED_BYTES` (its size read from its header, never cast)."""
        if self.jsonb == JSONB_TRY:
            cast = f"{TRY_JSONB}({column})"
        elif self.jsonb == JSONB_VALID:
            cast = f"(CASE WHEN pg_input_is_valid({column}, 'jsonb') THEN {column}::jsonb END)"
        else:
            cast = f"(CASE WHEN strpos({column}, '\\u0000') = 0 THEN {column}::jsonb END)"
        return cast if any_size else f"(CASE WHEN NOT {self.too_large(column)} THEN {cast} END)"

    def as_jsonb(self, column: str) -> str:
        """On PostgreSQL, `column` as jsonb in this dialect's form, NULL past the ceiling
        and, in the tolerant forms, where jsonb refuses the text (`_jsonb`)."""
        return self._jsonb(column)

    def json_has(self, column: str, key: str, *, escaped_keys: bool = False) -> str:
        """Whether the top-level `key` is present in the JSON object (even as null).

        On PostgreSQL the record is cast only where its text may hold the key at all
        (`may_hold_key`): a worklist or a batch pick asks each free row whether it has an
        abandon request, and nearly none has; the cast was half of a worker's drive over a
        backlog of 10,000 rows on the server (~11 us a row). jsonb reads escaped keys.

        On SQLite, guarded as `json_text` is. SQLite 3.40's json_type matches a key as it
        is written: to it `"abandon\\u005frequest"` is no abandon request, where JSON (and
        the models) read one. With `escaped_keys`, a record whose key was not found and
        that has a backslash at all (a byte search) is asked again through json_each,
        which compares keys unescaped (as `waiting_sql` does for `wait`): what the backlog
        test and the work items need, where a wrong "no" would have a worker run a row the
        sweep must reconcile. Not by default: the byte search is ~1.3 us a row, and a census that
        tests two keys on 100,000 rows took ~40% longer with it; a count that misses such
        a row errs in what it shows, not in what runs. lash's rows never have one."""
        if self.name == "sqlite":
            if not escaped_keys:
                return (
                    f"(CASE WHEN {self.json_valid(column)} THEN json_type({column}, '$.{key}') END "
                    "IS NOT NULL)"
                )
            found = f"json_type({column}, '$.{key}') IS NOT NULL"
            return (
                f"(CASE WHEN NOT {self.json_valid(column)} THEN 0 WHEN {found} THEN 1 "
                f"WHEN NOT {has_backslash(column)} THEN 0 "
                f"ELSE EXISTS (SELECT 1 FROM json_each({column}) WHERE key = '{key}') END)"
            )
        return (
            f"(CASE WHEN {self.may_hold_key(column, key)} "
            f"THEN jsonb_exists({self._jsonb(column)}, '{key}') IS TRUE ELSE false END)"
        )

    def may_hold_key(self, column: str, key: str) -> str | None:
        """On PostgreSQL, false only where the JSON text in `column` cannot hold `key` as a
        key: it has neither `"key"` literally nor a backslash (so no escape such as
        `\\u0077` could spell the key another way). A byte search, where casting 1.4 KB of
        record to jsonb for each of 100,000 live rows was the census's cost (2.9 s against
        0.9 s on 1,000,000 rows at a load average of 9). None on SQLite, whose own JSON
        parse is cheaper than its `instr`, which counts characters (0.8 s of CPU against
        1.0 s for the same rows). `key` is a constant of lashtui's, never stored text."""
        if self.name == "sqlite":
            return None
        return f"(strpos({column}, '\"{key}\"') > 0 OR strpos({column}, '\\') > 0)"

    def contains(self, haystack: str) -> str:
        """Whether the text `haystack` contains the bound needle, literally."""
        if self.name == "sqlite":
            return f"instr({haystack}, ?) > 0"
        return f"strpos({haystack}, ?) > 0"

    def audit_table_ddl(self) -> str:
        """lashtui's table of operator actions (lashtui.model.audit): its row id grows with
        each insert, so it orders the rows newest-first and is their keyset cursor."""
        if self.name == "sqlite":
            key, integer, text = "INTEGER PRIMARY KEY", "INTEGER", "TEXT"
        else:
            key = "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
            integer, text = "BIGINT", 'TEXT COLLATE "C"'
        return (
            f"CREATE TABLE IF NOT EXISTS lashtui_operator_actions (id {key}, "
            f"at_ms {integer} NOT NULL, operator {text}, action {text} NOT NULL, "
            f"process_id {text}, outcome {text} NOT NULL, sentence TEXT NOT NULL, "
            "detail_json TEXT)"
        )

    def table_exists(self) -> str:
        """A statement giving one row when the table named by the bound value exists (in
        the store's schema: PostgreSQL's search_path, SQLite's main database)."""
        if self.name == "sqlite":
            return "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
        return "SELECT 1 WHERE to_regclass(?) IS NOT NULL"

    def index_exists(self) -> str:
        """A statement giving one row when the index named by the bound value exists (in
        the same schema as `table_exists`)."""
        if self.name == "sqlite":
            return "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?"
        return "SELECT 1 WHERE to_regclass(?) IS NOT NULL"

    def change_position(self) -> str:
        """A statement giving the change feed's position in the reader's snapshot: every
        save at or below it is visible there, and every later save will be above it.
        SQLite's clock row, which its one writer at a time moves; on PostgreSQL, where
        writers commit concurrently, the horizon below which every writing transaction has
        ended (postgres/change_feed.py `CHANGE_BOUND_DDL`)."""
        if self.name == "sqlite":
            # A clock another program set to something other than a whole number reads as
            # the last whole position a row holds (`whole`; the reader's int() failed).
            return (
                f"SELECT coalesce({self.whole('current_seq')}, (SELECT max(change_seq) FROM "
                f"processes WHERE {_integer('change_seq')}), 0) "
                "FROM process_change_clock WHERE singleton = 1"
            )
        # The last save below the bound, not the sequence just below it: the bound moves
        # with every transaction on the server, the last save only with this registry's
        # commits, so a reader that has read the feed to its end is at the position.
        return (
            "SELECT COALESCE(max(change_seq), 0) FROM processes "
            f"WHERE change_seq < {CHANGE_BOUND}"
        )

    def whole(self, column: str) -> str:
        """`column`'s value where it is a whole number, else NULL: SQLite stores whatever
        another program gives it (a text sorts above every number, so one would win every
        `max`, and fail the reader's `int`); PostgreSQL's integer columns hold only those."""
        if self.name == "sqlite":
            return f"CASE WHEN {_integer(column)} THEN {column} END"
        return column

    def feed_bound(self, column: str) -> str:
        """The condition (with a leading AND) that keeps a change-feed read at or below the
        position: on SQLite, whose clock only shows committed saves, only that the position
        is a whole number (another program may store any value there: a text sorts above
        every number and a real between two, so a page ending at one would be read again
        for ever, and a text failed the reader); on PostgreSQL, whose column holds only
        integers, below the bound: a save above it may have overtaken one uncommitted."""
        if self.name == "sqlite":
            return self.whole_only(column)
        return f" AND {column} < {CHANGE_BOUND}"

    def whole_only(self, column: str) -> str:
        """The condition (with a leading AND) that `column` holds a whole number: on SQLite,
        which stores whatever another program gives it, a read that pages by the column
        takes no other row (a text or a blob sorts above every number, so a page would end
        on it for ever); nothing on PostgreSQL, whose integer columns hold nothing else."""
        return f" AND {_integer(column)}" if self.name == "sqlite" else ""

    def not_whole(self, column: str) -> str | None:
        """The condition that `column` holds no whole number (the rows `whole_only` leaves
        out); None on PostgreSQL, whose integer columns hold nothing else."""
        return f"NOT {_integer(column)}" if self.name == "sqlite" else None

    def skip_locked(self, table: str) -> str:
        """What a pick of rows to claim ends with: on PostgreSQL the rows it picks are
        locked, passing over those another claim holds; SQLite has one writer."""
        if self.name == "sqlite":
            return ""
        return f" FOR NO KEY UPDATE OF {table} SKIP LOCKED"

    def status_is(self, column: str, status: str) -> str:
        """The row's stored status (`column`) is `status` (one of lash's, written as a
        literal), as a walk of an index that begins with the status reads it: on
        PostgreSQL a range, so that the status stays the first column of the walk's order
        (`running_by_id` says why; `status_first` gives that order)."""
        if self.name == "sqlite":
            return f"{column} = '{status}'"
        return f"{column} >= '{status}' AND {column} <= '{status}'"

    def status_first(self, column: str, direction: str) -> str:
        """What an ORDER BY of a walk that fixes the status (`status_is`) begins with:
        nothing on SQLite, the status itself on PostgreSQL."""
        return "" if self.name == "sqlite" else f"{column} {direction}".rstrip() + ", "

    def running_by_id(self, alias: str = "p") -> tuple[str, str]:
        """The running rows' condition and the order that walks them by id, for a read
        that stops at a LIMIT (a batch claim's pick, the drive's first backlog rows, the
        sweep's abandon candidates): both stores then walk the (status, process_id) index
        from the first running row. On PostgreSQL the status is a range, not an equality:
        the planner drops an ORDER BY column that an equality fixes, so `ORDER BY
        process_id` could also be walked on the primary key, testing each row's status, and
        it prefers that walk by its statistics. On a registry whose ended rows' ids sort
        first (ids that grow with time: a history of 100,000 rows before a backlog) that
        walk read the whole history at every pick: 123 ms a pick of 32, against 3 ms on
        the (status, process_id) index (EXPLAIN ANALYZE, PostgreSQL 15). The range leaves
        the order's first column in place, so only that index gives it."""
        status = f"{alias}.status"
        order = f"{self.status_first(status, '')}{alias}.process_id"
        return self.status_is(status, "running"), order

    def pick_in_id_order(self) -> tuple[str, str]:
        """Statements to run before and after a pick of rows to claim (empty on SQLite):
        on PostgreSQL, the planner is kept off sorting, so the pick walks an index in id
        order and stops at its LIMIT. The planner cannot estimate the pick's record tests
        (`json_text`, `json_has`: 0.5% of rows, its default), so it expects fewer matches
        than the LIMIT, and reads every running row, casting each record to jsonb, to sort
        them: 25-50 ms a pick on 2,000 rows, 250 ms on 10,000, where the index walk
        takes 0.3 ms (EXPLAIN ANALYZE on PostgreSQL 15). `RESET` puts the session's
        setting back for the rest of the transaction (a group commit's other writes)."""
        if self.name == "sqlite":
            return "", ""
        return "SET LOCAL enable_sort = off", "RESET enable_sort"

    def insert_or_ignore(self, insert: str) -> str:
        """`insert` ("INTO table (...) VALUES (...)") that does nothing on a key conflict."""
        if self.name == "sqlite":
            return f"INSERT OR IGNORE {insert}"
        return f"INSERT {insert} ON CONFLICT DO NOTHING"


# The PostgreSQL change feed's bound in the statement's snapshot (see `change_position` and
# postgres/change_feed.py): the first sequence the oldest transaction still writing could hold.
CHANGE_BOUND = "(SELECT lashtui_change_bound(pg_current_snapshot()))"

SQLITE = Dialect(
    name="sqlite", edits_json_in_place=True, not_indexed="+", fixed_order_join="CROSS JOIN"
)
POSTGRES = Dialect(
    name="postgres",
    edits_json_in_place=False,
    not_indexed="",
    fixed_order_join="JOIN",
    new_rows_leaseless=True,
)
# A registry whose rows carry `sort_label` (order.py `label_dialect`).
SQLITE_LABELLED = SQLITE._replace(sort_label=True)
# The tolerant forms, for a statement the plain cast failed (see the module docstring).
POSTGRES_TRY = POSTGRES._replace(jsonb=JSONB_TRY)
POSTGRES_VALID = POSTGRES._replace(jsonb=JSONB_VALID)


def dialect(conn: object) -> Dialect:
    """The dialect of `conn`: a connection says so with a `dialect` attribute; a plain
    sqlite3 connection has none."""
    found = getattr(conn, "dialect", SQLITE)
    return found if isinstance(found, Dialect) else SQLITE
