"""`lashtui ls -o json|jsonl` on a SQLite registry of lashtui's own, read without importing
pydantic or the models, and what it shares with `ls` itself (the page size, the states a
`--status` and `--waiting` select, the notice when the output stops at `--limit`).

Why this exists: `ls --json` printed its 1,000 rows at ~0.25x the stdlib doing the same SQL,
and importing the models alone costs more than the peer's whole run (README, Performance,
S1). So for the common case the command line (cli.py) comes here first, before it imports
asyncio or the commands: id order (`--sort id`, either direction, `--after`), any
`--status`/`--waiting`, `--limit`, either lens or none, no `--watch`, a SQLite file that
lash did not write. Anything else returns None at once and runs today's `cmd_ls`.

The lenses, which operators use most, are served too (until session 36 they went through
the facade, ~10x the peer's time for a lens that holds few rows): the security lens
(`--granted-to`) and the lineage lens (`--originated-by`). Their scope is read by
lashtui/scope.py `parse_scope`, the grammar and refusal sentences `SessionScope.parse` and
the parser's `scope_check` use too, into a `ScopeId`, which the store's lens SQL (sql/filter.py
`lens_of`) reads as it reads a `SessionScope`: its id and its frame.

How it stays the same command: it opens the file with the store's own read-only open
(sqlite/connect.py `connect_file`: every check before SQLite opens it, the version check,
nothing written, the same one sentence for each refusal), runs the store's own statements
(sql/filter.py `id_page_ids`, sql/fetch.py `stored_rows` and `held_lease_rows`, the same
`ROW_COLUMNS`) in pages of `LS_PAGE` as `Listing.pages` does, and re-reads a page on a fresh
connection when a writer overtook an immutable one, as the store's `_reading` does. Each
row is printed by lashtui/observed_json.py when it can vouch for it, and otherwise exactly
as before: decoded by the store's `decode_row` (a stand-in if it does not decode), its
lease by `LeaseRow.lease`, printed by `ObservedProcess.to_json`, the models imported at the
first such row. Output goes through the same `json_escaped`, and the notice is the same
function's.

Why it is synchronous, with the stdlib's sqlite3, when the rule is one async API and no sync
twin: this is not a second API. It is one read-only, one-shot read of one command that owns
its process, runs nothing else concurrently and exits after it; there is no event loop to
block. asyncio, aiosqlite and the store's connection threads cost ~150M instructions for
that (a third of the stdlib peer's whole run) and buy nothing here. It reuses the store's SQL
and open rather than copying them, and every other command, and `ls` in every other case,
goes through the facade.
"""

from __future__ import annotations

import gc
import os
import sqlite3
import sys
from argparse import Namespace
from collections.abc import Iterator
from typing import Any, NamedTuple, TextIO

from lashtui.errors import InvalidRequest, StoreError
from lashtui.scope import ScopeId, parse_scope
from lashtui.state import PROCESS_STATES, ProcessState
from lashtui.untrusted import json_escaped, shell_word, visible

# Rows per page read: the default `--limit` (1,000, plus the one row past it) in one page,
# and `--limit 0` on a million rows in bounded memory (measured: ~370 MB RSS with pages of
# 10,000 decoded records; a page costs one indexed query, so smaller pages cost little).
# At most the model's PAGE_LIMIT_MAX (a test checks).
LS_PAGE = 2_000
# ...and at most this many characters of records a page (then up to the row that passes
# it): a record may be a mebibyte or two, and 2,000 of them gigabytes. The facade's
# `PAGE_CHARS`, which `ls` reads through otherwise (a test checks).
LS_PAGE_CHARS = 16 << 20

_ANY = "any"


def ls_states(status: str, waiting: bool | None) -> frozenset[str] | None:
    """The states `ls --status STATUS` and `--waiting`/`--not-waiting` list, as one set (a
    waiting row is a running row with a wait); None when STATUS names no status (the model's
    `ProcessStatusFilter` refuses it in one sentence)."""
    if status == _ANY:
        states = set(PROCESS_STATES)
    elif status in PROCESS_STATES and status != ProcessState.WAITING:
        states = {ProcessState(status)}
    else:
        return None
    if ProcessState.RUNNING in states:
        states.add(ProcessState.WAITING)
    if waiting is not None:
        chosen = {ProcessState.WAITING} if waiting else set(PROCESS_STATES) - {ProcessState.WAITING}
        states &= chosen
    return frozenset(states)


def notice(shown: int, last_id: str | None, after: str | None) -> str:
    """The stderr line when the output stopped at the limit: how to read on."""
    since = f" after `{after}`" if after is not None else ""
    # (`model.outcome.counted`'s rule, written here: this module imports no model.)
    first = "the first matching process" if shown == 1 else f"the first {shown} matching processes"
    return visible(
        f"lashtui: showing {first}{since}; "
        f"--after {shell_word(last_id or '')} for the next page, --limit 0 for all"
    )


class _Page(NamedTuple):
    """One id-order page as the store's SQL reads it (sql/filter.py `PageShape`)."""

    states: frozenset[str]
    after_id: str | None
    limit: int
    lens: str = "all"
    scope: ScopeId | None = None
    text: str = ""
    before_id: str | None = None
    backwards: bool = False


class Selection(NamedTuple):
    """What `ls` selects, as `command/query.py` `page_query` reads it for the facade: the
    state set and the lens (`all`, `granted`: the security lens, `originated`: the lineage
    lens) with its scope."""

    states: frozenset[str]
    lens: str = "all"
    scope: ScopeId | None = None


def eligible(args: Namespace) -> Selection | None:
    """What `ls` selects when this read serves `args`, else None (today's `cmd_ls`
    serves)."""
    target: str = args.db
    if (
        args.command != "ls"
        or args.output not in ("json", "jsonl")
        or getattr(args, "watch", False)
        or args.sort != "id"
        or target.startswith(("postgresql://", "postgres://"))
        or target == ":memory:"
    ):
        return None
    status = ProcessState.RUNNING.value if args.status is None else args.status
    states = ls_states(status, args.waiting)
    if states is None:
        return None
    # As `page_query`: the security lens if given, else the lineage lens (argparse lets
    # only one be given). The parser's `scope_check` has read the scope by this same
    # grammar; one it refused never comes here, and one that does not read is the
    # facade's to refuse.
    for lens, given in (("granted", args.granted_to), ("originated", args.originated_by)):
        if given is not None:
            try:
                return Selection(states, lens, parse_scope(given))
            except InvalidRequest:
                return None
    return Selection(states)


def list_plainly(args: Namespace) -> int | None:
    """`ls`'s JSON listing, printed; None, having printed nothing, when this read does not
    serve `args` (see the module docstring). Refusals raise the store's own `LashError`."""
    selection = eligible(args)
    if selection is None:
        return None
    from lashtui.registry.sqlite.connect import READ_ONLY_BUSY_TIMEOUT_MS, connect_file

    conn = connect_file(args.db, True, False, READ_ONLY_BUSY_TIMEOUT_MS)
    if conn.lash_version is not None:
        conn.close()
        return None  # lash's own registries read through views and their decoders
    reader = _Reader(conn, os.path.abspath(args.db))
    # As `collector_paused` (command/query.py): many objects, no cycles. Enabled again
    # after, for a caller of `main` in a process that goes on (the tests, a Python user).
    enabled = gc.isenabled()
    gc.disable()
    try:
        listing = _Listing(reader, args, selection)
        if not listing.write(sys.stdout):
            return None
    finally:
        reader.conn.close()
        if enabled:
            gc.enable()
    if listing.cut:
        print(notice(listing.shown, listing.last_id, args.after), file=sys.stderr)
    return 0


class _Overtaken(Exception):
    """Writers kept overtaking an immutable connection's read."""


class _Reader:
    """Reads on the store's read-only connection, each in one read snapshot; a read an
    immutable connection was overtaken during is redone on a fresh one (the store's
    sqlite/reread.py `_reading` says why)."""

    ATTEMPTS = 5  # the store's REREAD_ATTEMPTS

    def __init__(self, conn: Any, path: str) -> None:
        self.conn, self.path = conn, path

    def page(self, page: _Page, down: bool) -> tuple[list[Row], dict[str, Row], bool]:
        from lashtui.registry.sql.ceiling import unread_past_ceiling
        from lashtui.registry.sqlite.connect import connect_read_only
        from lashtui.registry.sqlite.file import still_immutable

        for _ in range(self.ATTEMPTS):
            state = self.conn.immutable_at
            self.conn.execute("BEGIN")
            try:
                found = unread_past_ceiling(self.conn, _read_page, page, down)
            finally:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
            if state is None or still_immutable(self.path, state):
                return found
            timeout = self.conn.execute("PRAGMA busy_timeout").fetchone()[0]
            fresh = connect_read_only(self.path, timeout, first=False)
            self.conn.close()
            self.conn = fresh
        raise _Overtaken


def _read_page(conn: Any, page: _Page, down: bool) -> tuple[list[Row], dict[str, Row], bool]:
    """One page's rows in order, their held leases, and whether the page was cut short by
    its records' size, as the store reads them (it reads the leases in a second snapshot;
    here they share the page's). In the connection's dialect, which names the rows whose
    records are past the ceiling once a read has found them (sql/ceiling.py)."""
    from lashtui.registry.sql.dialect import dialect
    from lashtui.registry.sql.fetch import held_lease_rows, ordered_rows
    from lashtui.registry.sql.filter import id_page_ids

    ids = id_page_ids(conn, page, down, dialect(conn))
    rows, covered = ordered_rows(conn, ids, LS_PAGE_CHARS)
    return rows, held_lease_rows(conn, [row[1] for row in rows]), covered < len(ids)


Row = tuple[Any, ...]


def _cursor(process_id: Any) -> Any:
    """The next page's cursor on a row: its id, a NULL id's as read (its rowid, an int),
    the NULL row read without one (a view's) as `NULL` (None would start the listing over),
    a blob's as read (bytes): blob_id.py `stored_key` takes them."""
    from lashtui.registry.sql.blob_id import NULL_SHOWN

    return NULL_SHOWN if process_id is None else process_id


def _named(row: Row) -> str:
    """A row's id as the note on stderr names it, as every reader shows it: a blob's as
    `b'...'`, a NULL id's by its name, read in its record's place (`NULL#4`, `NULL##4`
    where a text row is `NULL#4`: blob_id.py `null_name_sql`). The bytes themselves ended
    `ls --limit N` whose last row was a blob's in a traceback (a text pattern asked of
    bytes)."""
    from lashtui.registry.sql.blob_id import null_shown, shown_id

    cursor = _cursor(row[1])
    if type(cursor) is int:
        return row[0] if isinstance(row[0], str) and row[0] else null_shown(cursor)
    return shown_id(cursor) if isinstance(cursor, bytes) else str(cursor)


class _Listing:
    """`Listing.pages` and `write_listing` (command/query.py) over the plain read: pages of
    `LS_PAGE` in id order until `--limit` rows (0: all), one row past it read to know
    whether more follow (`cut`)."""

    def __init__(self, reader: _Reader, args: Namespace, selection: Selection) -> None:
        self.reader, self.selection = reader, selection
        self.limit: int = args.limit
        self.after: str | None = args.after
        self.down: bool = args.desc
        self.lines = args.output == "jsonl"
        self.shown, self.cut = 0, False
        self.last_id: str | None = None
        self.models: Any = None  # today's row printer, imported at the first row it needs

    def _pages(self) -> Iterator[tuple[list[Row], dict[str, Row]]]:
        limit = self.limit
        while True:
            want = LS_PAGE if not limit else min(LS_PAGE, limit - self.shown + 1)
            selected = self.selection
            page = _Page(selected.states, self.after, want, selected.lens, selected.scope)
            rows, leases, cut = self.reader.page(page, self.down)
            full = cut or len(rows) == want  # (cut: a page of large records ends early)
            if limit and self.shown + len(rows) > limit:
                rows, self.cut = rows[: limit - self.shown], True
            if rows:
                self.shown += len(rows)
                # (a NULL id's row is named as every reader names it: blob_id.py)
                self.after = _cursor(rows[-1][1])
                self.last_id = _named(rows[-1])
                yield rows, leases
            if self.cut or not full:
                return

    def write(self, out: TextIO) -> bool:
        """The listing on `out`; False, having written nothing, if the first page could not
        be read here (today's path then reads it, and says what is wrong)."""
        from lashtui.observed_json import observed_json

        pages = self._pages()
        try:
            page = next(pages, None)
        except (sqlite3.Error, _Overtaken):
            return False
        opening, between, closing = ("", "\n", "\n") if self.lines else ("[", ",", "]\n")
        first = True
        while page is not None:
            rows, leases = page
            for row in rows:
                # A blob id's lease is not read (its row is a stand-in: blob_id.py), as
                # the table and `show` say; validated, it failed the whole listing.
                lease = leases.get(row[1]) if isinstance(row[1], str) else None
                text = observed_json(row, lease)
                if text is None:
                    text = self._by_the_models(row, lease)
                out.write((opening if first else between) + json_escaped(text))
                first = False
            page = self._next(pages)
        if not first or not self.lines:
            out.write(("[" if first else "") + closing)
        return True

    def _next(self, pages: Iterator[tuple[list[Row], dict[str, Row]]]) -> Any:
        """The next page; a failure after output began is the store's one sentence."""
        from lashtui.registry.sqlite.connect import READ_ONLY_BUSY_TIMEOUT_MS, store_error

        try:
            return next(pages, None)
        except sqlite3.Error as error:
            raise store_error(error, self.reader.path, READ_ONLY_BUSY_TIMEOUT_MS) from None
        except _Overtaken:
            raise StoreError(
                f"process registry `{self.reader.path}` kept changing under a read-only read"
            ) from None

    def _by_the_models(self, row: Row, lease: Row | None) -> str:
        """A row not vouched for, printed as `ls` always printed it: the store's decode (a
        stand-in if it does not decode), its lease, `ObservedProcess.to_json`."""
        if self.models is None:
            from lashtui.model import ObservedProcess
            from lashtui.registry.sql.decoded_row import decode_row
            from lashtui.registry.sql.lease_row import read_lease

            self.models = ObservedProcess, read_lease, decode_row
        observed, read_lease, decode_row = self.models
        held = read_lease(row[1], lease) if lease is not None else None
        text: str = observed.from_record(decode_row(row), held).to_json()
        return text
