"""What a page's lens, state set and text filter are in SQL: the pieces both the id-order
pages (page.py) and the sorted pages (order.py) put together, and the id-order page's own
SELECTs (`id_page_statements`). See page.py's docstring for how each one walks its index,
and what a text filter costs.

Nothing here imports the models (a query is read through `PageShape`, which
`ProcessPageQuery` is, and its lens's scope through `ScopeShape`): the command line's
`ls --json` read (lashtui/listing.py), with a lens or without, runs these same statements
without loading pydantic.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from typing import NamedTuple, Protocol

from lashtui.registry.sql import label_sieve, shown_text
from lashtui.registry.sql.blob_id import BLOB_SHOWN, null_name_sql
from lashtui.registry.sql.decoded_wait import DECODES_WAITING
from lashtui.registry.sql.dialect import SQLITE, Dialect, Tx, has_backslash
from lashtui.registry.sql.fetch import fetch_rows
from lashtui.registry.sql.long_id import as_read, cursor_bound, read_text
from lashtui.registry.sql.repeated import repeated_sql
from lashtui.registry.sql.stored_text import READ_CHARS
from lashtui.state import LIVE_STATES, PROCESS_STATES, TERMINAL_STATES, ProcessState

# SQLite's lower() folds ASCII only; a non-ASCII needle is matched through Python's
# str.lower, registered on the connection, at about twice the cost per row (`_lowering`).
UNICODE_LOWER = "lashtui_lower"


def label_sql(sql: Dialect, column: str = "p.record_json", *, any_size: bool = False) -> str:
    """A row's label as the dashboard shows it (ObservedProcess.label): the identity's
    label, or its kind when the label is absent or empty (`any_size`: `Dialect.json_text`)."""
    label = sql.json_text(column, "identity.label", any_size=any_size)
    kind = sql.json_text(column, "identity.kind", any_size=any_size)
    return f"coalesce(nullif({label}, ''), {kind})"


# A lease is held while it has an owner and a token (lease.get_many reads the same rows);
# over the lease row `l`.
HELD = "l.lease_owner_id IS NOT NULL AND l.lease_token IS NOT NULL"
# The held leases, on PostgreSQL (postgres/schema.py): the reads that want only those (a
# drive's live holders and their rows, drive.py; the Health view's lease counts, probe.py;
# the leased rows and the lease-expiry order, page.py and order.py) read this index instead
# of the lease table. A released lease keeps its row (its fencing token goes on rising), so
# the table holds one for every row that ever ran, and every worker's drive, every renew
# interval, read all of them on the server the fleet shares (~33 ms over a million rows).
# Partial, on columns a renewal does not write, so a renewal moves no entry; a claim adds
# one and a release takes it out (a four-worker drain ~3% dearer on this machine's server,
# which the fleet's drives repay). Its predicate is HELD's, term for term. SQLite has none:
# one host's few workers, and a claim and a release each moving an entry cost its drains
# ~3% and its claim-and-release cycles (P2) ~16% (interleaved pairs, 2026-12-05), where
# the scan costs a drive ~40 ms over a million released leases, every renew interval.
HELD_INDEX = "process_leases_held_idx"
HELD_INDEX_DDL = (
    f"CREATE INDEX IF NOT EXISTS {HELD_INDEX} ON process_leases(process_id) "
    f"WHERE {HELD.replace('l.', '')}"
)
# Held and not expired at the bound time (one `?`): a live lease, which bars a claim.
LIVE = f"{HELD} AND l.lease_expires_at_ms > ?"


def in_backlog(sql: Dialect, seen: int = 0, marked: bool = False) -> str:
    """The running row `p` with its lease row `l` is in the backlog at the bound time (one
    `?`): rerunnable, without an abandon request, and no live lease. What a batch claim
    picks (run.py `_pick`), and what a worker's drive leaves to it (drive.py
    `drive_work_items`). Any of these runs whenever it is claimed (§8).

    The record tests sit behind the lease test, in one CASE: a test of `p` alone would be
    made as each running row is read, before its lease is joined, and on PostgreSQL it casts
    the record to jsonb (twice). A pick passes over every row other workers hold, so with
    four workers that was ~50 us for each of ~60 rows passed: 3.4 ms a pick and a third of
    the server's CPU in a drain (pg_stat_statements). NULL (a record the SQL cannot read)
    is not in the backlog: test it with `IS TRUE` / `IS NOT TRUE`.

    `seen`: that many record texts, bound after the time, which this test found in the
    backlog a moment ago (run.py `decode_ahead`). A row whose JSON is still one of them
    passes the record tests without them: they read nothing but that text, so the answer
    stands, and SQLite's JSON parse of the ~1.3 kB record is ~25,000 instructions a row
    inside the write lock, where a text comparison is a memcmp. (A CASE, not OR: SQLite
    evaluates both sides of an OR that is a value.) The lease is tested afresh.

    `marked`: the registry has lashtui's mark (backlog_mark.py), and a row marked plainly
    the backlog's passes the record tests without them, as a seen one does."""
    record = (
        f"{sql.json_text('p.record_json', 'disposition')} = 'rerunnable' "
        f"AND NOT {sql.json_has('p.record_json', 'abandon_request', escaped_keys=True)}"
    )
    if seen:
        texts = ", ".join("?" * seen)
        record = f"CASE WHEN p.record_json IN ({texts}) THEN TRUE ELSE {record} END"
    if marked:
        record = f"CASE WHEN p.backlog_seq = p.change_seq THEN TRUE ELSE {record} END"
    return f"CASE WHEN NOT ({LIVE}) THEN {record} ELSE FALSE END"


def started_owner_bound(sql: Dialect) -> str:
    """The process row `p` is owner_bound work that has started: what owner drain, the
    sweep and an operator's "silent, not dead" verdict are about."""
    return (
        f"{sql.json_text('p.record_json', 'disposition')} = 'owner_bound' "
        f"AND {sql.json_has('p.record_json', 'first_started')}"
    )


def waiting_sql(sql: Dialect, column: str = "p.record_json") -> str:
    """Whether the running row's record waits, as the models read it: one `wait` key, not
    null. A record that names `wait` twice does not decode (lashtui/state.py `repeated_key`)
    and its stand-in does not wait, so the census and the state filters count it running:
    SQLite's json_extract reads the first of the two, jsonb the last, and one of them said
    waiting where the row showed running. So is one that names any other key SQL reads
    twice (`disposition`, ...: repeated.py), on SQLite and on a PostgreSQL registry with
    the function. Only a row the first test finds waiting is looked at again, so the
    census pays in proportion to the waiting rows. On SQLite that look is the models' own
    (decoded_wait.py): a record they refuse for any reason counts running, as shown."""
    if sql.name == "sqlite":
        return _waiting_on_sqlite(sql, column)
    # The first term for the planner, which uses the waiting rows' index only where a
    # statement's predicate names the index's. The rest reads only the text of a record
    # that could name `wait` twice (a backslash, or `"wait"` twice: `replace` rather than
    # a `substr` after the first, which counts characters and cost three times as much),
    # and parses it as json (which keeps repeated keys) only where jsonb read it (the
    # inner CASE: PostgreSQL orders the terms of an AND as it likes, and a text that is
    # not JSON would fail the cast). Measured on PostgreSQL 15, 20,000 waiting rows among
    # 100,000 live (load average ~10): the census's read of them 5 ms -> 70-140 ms, each
    # waiting row's text read from the table where the index alone answered.
    holds = holds_wait_sql(sql, column)
    if sql.repeated_key:
        # A waiting record that names `wait` or any other read key twice does not decode,
        # and its stand-in does not wait (repeated.py): asked of each row found waiting
        # (the first term, as the index needs), as SQLite's readers ask theirs. Past the
        # ceiling it is never read: its stand-in does not wait. Nor does one whose wait the
        # models refuse for certain (`_wait_refused_on_postgres`), asked first.
        repeated = repeated_sql(sql, column)
        asked = (
            f"(CASE WHEN {sql.too_large(column)} THEN true "
            f"WHEN {_wait_refused_on_postgres(sql, column)} THEN true ELSE {repeated} END)"
        )
        return f"({holds} AND NOT {asked})"
    # Without it (repeated.py says when), only `wait` is asked.
    could_repeat = (
        f"strpos({column}, '\\') > 0 OR octet_length({column}) - "
        f"octet_length(replace({column}, '\"wait\"', '')) > 6"
    )
    # A record past the ceiling (dialect.py `MAX_STORED_BYTES`; its size from its header)
    # is never read as a record either: its stand-in does not wait (SQLite's test below
    # says 0 for it), where the index, made at any size, counted it waiting.
    repeated = (
        f"(CASE WHEN {sql.too_large(column)} THEN true "
        f"WHEN {_wait_refused_on_postgres(sql, column)} THEN true "
        f"WHEN {could_repeat} THEN (CASE WHEN "
        f"{holds} THEN (SELECT count(*) FROM json_each({column}::json) WHERE key = 'wait') > 1 "
        "ELSE false END) ELSE false END)"
    )
    return f"({holds} AND NOT {repeated})"


def _wait_refused_on_postgres(sql: Dialect, column: str) -> str:
    """On PostgreSQL, whether the record's `wait` (asked of a row found waiting, within the
    ceiling) is one the models refuse, so that the row does not decode and its stand-in
    runs: the complement of exactly the shape `WaitState` takes (`_wait_taken`). jsonb
    reads the last of a repeated member and unescapes keys, as the models do, so unlike
    SQLite's SQL it needs no guard for those. The models cannot be asked on the server;
    SQLite's census asks them (decoded_wait.py). Left waiting while shown running: a record
    the models refuse outside its wait (nothing short of the whole model in SQL tells it),
    and an int of more than 4,300 digits.

    The record is cast once, in a subquery (`OFFSET 0` keeps it one), and tested in a CASE
    (PostgreSQL orders the terms of an AND as it likes: a cast of a string to numeric
    would fail the statement). False where the cast fails (no verdict: NULL), and, by a
    byte search, for a text that cannot hold a `wait` (`Dialect.may_hold_key`): the
    running filter asks it of every running row should the planner test it first.

    Cost: a cast of the record a waiting row (through `lashtui_try_jsonb` where the
    registry has it, as the census's index needs: its subtransaction is most of it), then
    tests of the wait's few members. The census's read of 20,000 waiting rows among 100,000
    live, ~1.2 kB records (PostgreSQL 15, the backend's CPU from /proc, medians of 5
    interleaved runs, load average 14-19): 1,020 -> 1,140 ms in one run, 1,270 -> 1,160 ms
    in another, from the tests of the refusals it spelled out before to this exact shape:
    within the machine's noise."""
    may_wait = sql.may_hold_key(column, "wait")
    return (
        f"(CASE WHEN NOT {may_wait} THEN false ELSE (SELECT CASE WHEN ws.w IS NULL THEN false "
        f"ELSE NOT {_wait_taken('ws.w', column)} END "
        f"FROM (SELECT {sql.as_jsonb(column)} -> 'wait' AS w OFFSET 0) ws) END)"
    )


# pydantic's str -> int (lax mode, what a stored record is read in): Rust's `trim` of
# Unicode white space, a sign, ASCII digits with single underscores between them, then
# optionally `.` and zeros only (`" 1_000.00 "` is 1000; `"1e3"`, `"1."`, `"0x10"` are
# refused). Measured against pydantic 2.14 (tests/registry/test_wait_shape_sql.py).
_WHITE = "[\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
# (`{0,1}` for `?`, which the PostgreSQL store reads as a placeholder: tx.py.)
_INT_TEXT = f"^{_WHITE}*[+-]{{0,1}}[0-9](_{{0,1}}[0-9])*(\\.0+){{0,1}}{_WHITE}*$"
# A float pydantic takes as an int is whole and, rounded to a double, inside i64's open
# range: 2**63 - 512 and up round to 2**63 (ties to even), refused.
_FLOAT_INT_BOUND = (1 << 63) - 512
# Below this, a double rounds to 0 (taken as 0); the least double above 0 is ~4.9e-324.
_FLOAT_ZERO_BOUND = "2.4703282292062328e-324"
# An extra member's value may nest `MAX_JSON_DEPTH` (64) levels (model/wire.py
# `_extra_value`): deeper, it has an array or object at depth 64 below itself.
_TOO_DEEP = "strict $.**{64}.type()"


def _int_taken(value: str, record: str, path: str) -> str:
    """Whether pydantic's lax int takes the jsonb `value` (at `path` of the text `record`):
    true or false; a string `_INT_TEXT` matches; a JSON integer; a JSON float (a `.` or an
    exponent) that is whole, rounded to a double, within `_FLOAT_INT_BOUND`. jsonb keeps a
    number's scale, so `1.0` is told from `1`; not `1e30` from `1000...0` (both scale 0),
    the one case where the number's own text is read, through `json` (which, like jsonb,
    takes the last of a repeated member): never for a number of fewer than 19 digits."""
    number = f"({value})::numeric"
    double = f"({number})::float8"
    written = f"(({record})::json #> '{{{path}}}')::text"
    return (
        f"(CASE jsonb_typeof({value}) WHEN 'boolean' THEN true "
        f"WHEN 'string' THEN ({value} #>> '{{}}') ~ '{_INT_TEXT}' "
        f"WHEN 'number' THEN (CASE "
        f"WHEN scale({number}) = 0 AND abs({number}) < {_FLOAT_INT_BOUND} THEN true "
        f"WHEN scale({number}) = 0 AND {written} !~ '[.eE]' THEN true "
        f"WHEN abs({number}) >= {_FLOAT_INT_BOUND} THEN false "
        f"WHEN abs({number}) < 1e-300 THEN abs({number}) < {_FLOAT_ZERO_BOUND} "
        f"ELSE {double} = trunc({double}) END) "
        "ELSE false END)"
    )


def _extras_taken(value: str, known: tuple[str, ...]) -> str:
    """Whether the unknown members of the jsonb object `value` are ones a `WireModel` keeps:
    a name of at most `MAX_NAME_CHARS` (256) characters, a value nested at most 64 deep."""
    names = ", ".join(f"'{name}'" for name in known)
    return (
        f"NOT EXISTS (SELECT 1 FROM jsonb_each({value}) x WHERE x.key NOT IN ({names}) "
        "AND (char_length(x.key) > 256 OR "
        f"jsonb_path_query_array(x.value, '{_TOO_DEEP}') @> '[\"array\"]' OR "
        f"jsonb_path_query_array(x.value, '{_TOO_DEEP}') @> '[\"object\"]'))"
    )


def _wait_taken(wait: str, record: str) -> str:
    """Whether `WaitState` takes the jsonb `wait` of the text `record`: an object whose
    `kind` is an object with string `name`, `event_type` and `key`, an int `ordinal`, no
    tag or the tag `signal`; an int `since_ms`; unknown members as `_extras_taken` says.
    Each term is safe alone, so PostgreSQL may test them in any order."""
    kind = f"({wait} -> 'kind')"
    texts = [
        f"jsonb_typeof({kind} -> '{member}') = 'string'" for member in ("name", "event_type", "key")
    ]
    terms = [
        f"jsonb_typeof({wait}) = 'object'",
        f"jsonb_typeof({kind}) = 'object'",
        *texts,
        f"coalesce({kind} -> 'kind' = '\"signal\"'::jsonb, {kind} -> 'kind' IS NULL)",
        _int_taken(f"{wait} -> 'since_ms'", record, "wait,since_ms"),
        _int_taken(f"{kind} -> 'ordinal'", record, "wait,kind,ordinal"),
        f"(CASE WHEN jsonb_typeof({wait}) = 'object' THEN "
        f"{_extras_taken(wait, ('kind', 'since_ms'))} END)",
        f"(CASE WHEN jsonb_typeof({kind}) = 'object' THEN "
        f"{_extras_taken(kind, ('kind', 'name', 'event_type', 'key', 'ordinal'))} END)",
    ]
    return f"coalesce(({' AND '.join(terms)}), false)"


def holds_wait_sql(sql: Dialect, column: str = "p.record_json") -> str:
    """On PostgreSQL, whether jsonb reads a `wait` in the record (the last, where it names
    the key twice): the predicate of the waiting rows' index (postgres/schema.py
    `WAITING_INDEX`), which a census's `waiting_sql` must imply for the planner to use it."""
    # On PostgreSQL the record is cast only when it may hold a `wait` key at all: a live
    # row that does not wait (nearly all of them) is told by a byte search there
    # (`Dialect.may_hold_key`). Any size there, as the waiting rows' index was made
    # (postgres/schema.py `WAITING_INDEX`), so that the census's read still matches it.
    waiting = f"{sql.json_text(column, 'wait', any_size=True)} IS NOT NULL"
    may_wait = sql.may_hold_key(column, "wait")
    assert may_wait is not None, "PostgreSQL only"
    return f"(CASE WHEN {may_wait} THEN {waiting} ELSE false END)"


def _waiting_on_sqlite(sql: Dialect, column: str) -> str:
    # SQLite 3.40's json_extract matches a key as it is written: to it `"w\u0061it"` is no
    # `wait`, where JSON (and the models) read one. json_each compares keys unescaped (and
    # sees every `wait` the record names), so a record that is not waiting by the first
    # test and has a backslash at all (a byte search of its blob) is asked again through
    # it. serde_json never escapes a letter: lash's rows never get there.
    # A CASE, not OR/AND: SQLite evaluates its arms lazily, where the subquery under an AND
    # doubled the census on 100,000 rows with not one backslash among them (72 -> 159 ms).
    # A record past the ceiling (dialect.py `MAX_STORED_BYTES`) is measured once, first,
    # and never parsed or searched: SQLite 3.40 loads a text to measure it, and each of the
    # tests below would load it again (one of 600 MB took the census 1.4 s).
    waiting = f"{sql.json_text(column, 'wait', any_size=True)} IS NOT NULL"
    # Exactly one `wait`, not null (`min(type)` of none is NULL: 0 AND NULL is 0).
    one_wait = (
        f"(SELECT count(*) = 1 AND min(type) <> 'null' FROM json_each({column}) "
        "WHERE key = 'wait')"
    )
    # A row found waiting is shown waiting only if its record decodes, running, with that
    # wait: the models are asked (decoded_wait.py), so that a record they refuse anywhere
    # (its wait's shape or values, a key named twice, a field outside the wait) counts
    # and filters as the running stand-in it is shown as. Only those rows pay the call:
    # the census of 100,000 live rows, 20,000 of them waiting (~1.3 kB records, a file,
    # CPU medians of 9 interleaved runs) 894 -> 1123 ms, where the shape tests and the
    # repeated-key call it replaces caught only the refusals they spelled out.
    # A row whose id is read cut or as a blob (long_id.py, blob_id.py) is a stand-in
    # whatever its record says, never read (decoded_row.py `decode_row`): not waiting either.
    pid = f"{column.rpartition('.')[0]}.process_id" if "." in column else "process_id"
    unread_id = (
        f"typeof({pid}) = 'blob' OR length({read_text(pid)}) > {READ_CHARS}"
    )
    decodes = (
        f"(CASE WHEN {unread_id} THEN 0 ELSE {DECODES_WAITING}(CAST({column} AS BLOB)) END)"
    )
    return (
        f"(CASE WHEN {sql.too_large(column)} THEN 0 "
        f"WHEN {waiting} THEN {decodes} "
        f"WHEN NOT {has_backslash(column)} THEN 0 "
        f"WHEN json_valid({column}) AND {one_wait} THEN {decodes} ELSE 0 END)"
    )


Arm = tuple[str, list[object]]


def no_state(column: str) -> str:
    """Whether the status `column` holds no state at all (another program wrote it: see
    decoded_row.py `StatusMismatch`): the status index's ranges between and around the five states,
    which SQLite and PostgreSQL's "C" collation both compare bytewise (SQLite sorts a number
    before any text and a blob after). Empty in a registry every writer kept, so a walk of
    it reads nothing else."""
    bounds = sorted([ProcessState.RUNNING.value, *(state.value for state in TERMINAL_STATES)])
    gaps = [f"{column} < '{bounds[0]}'", f"{column} > '{bounds[-1]}'"] + [
        f"({column} > '{low}' AND {column} < '{high}')" for low, high in itertools.pairwise(bounds)
    ]
    return f"({' OR '.join(gaps)})"


def _lowering(sql: Dialect, needle: str) -> Callable[[str], str]:
    """How a field is lowered to be searched for `needle`: as Python's `str.lower` lowers
    it, which is how the dashboard tests the rows it holds (tui/window.py `matches`) and how
    the needle was lowered. SQLite's lower() (ASCII) and PostgreSQL's (the collation's) find
    an ASCII letter where it does, but for the two characters Python lowers to one
    (shown_text.FOLDED_TO_ASCII; PostgreSQL folds the Kelvin sign as Python does): each is
    written as Python lowers it first, where the needle holds its letter. So `/kel` finds a
    label `Kelvin` spelt with the Kelvin sign on SQLite, and on PostgreSQL `İst` is found by
    `/İst`, not `/ist`, as the screen's test finds it. (`replace` keeps each field read
    once; it costs ~0.1 s a letter over 100,000 rows' three fields on SQLite.)"""
    if sql.name == "sqlite" and not needle.isascii():
        return lambda field: f"{UNICODE_LOWER}({field})"
    folded = [
        (char, low)
        for char, low in shown_text.FOLDED_TO_ASCII.items()
        if low[0] in needle and (sql.name == "sqlite" or char == "\u0130")
    ]

    def lower(field: str) -> str:
        for char, low in folded:
            field = f"replace({field}, '{char}', '{low}')"
        return f"lower({field})"

    return lower


def unicode_lower(value: str | None) -> str | None:
    return value.lower() if isinstance(value, str) else value


def status_arms(states: frozenset[str] | None, status: str, sql: Dialect) -> list[Arm]:
    """One (predicate, params) per stored status the state set touches; [("", [])] for any.
    `status` is the column as the lens wants it written (see `Lens.status`)."""
    if states is None or set(states) >= set(PROCESS_STATES):
        return [("", [])]
    return [arm for _, arm in stored_status_arms(states, status, sql)]


def stored_status_arms(
    states: frozenset[str], status: str, sql: Dialect
) -> list[tuple[str, Arm]]:
    """`status_arms` of a state set that leaves some state out, each arm with the stored
    status it fixes (a sorted walk reads that status's range of its index, order.py)."""
    arms: list[tuple[str, Arm]] = [
        (state.value, (sql.status_is(status, state.value), []))
        for state in TERMINAL_STATES
        if state in states
    ]
    live = [state for state in LIVE_STATES if state in states]
    waiting, running = waiting_sql(sql), sql.status_is(status, "running")
    if len(live) == 2:
        arms.append(("running", (running, [])))
    elif live == [ProcessState.WAITING]:
        arms.append(("running", (f"{running} AND {waiting}", [])))
    elif live == [ProcessState.RUNNING]:
        arms.append(("running", (f"{running} AND NOT ({waiting})", [])))
    return arms


class Lens(NamedTuple):
    """How a lens reads: its FROM clause, the id column it walks in order, its predicate.

    With a lens, the lens drives and the state is only a filter (`+p.status` keeps SQLite
    off the status index): a session's rows or grants are few, while one state may hold
    most of the registry, and without ANALYZE statistics SQLite cannot know which is which.
    """

    source: str = "processes p"
    id_column: str = "p.process_id"
    predicate: str = ""
    params: tuple[object, ...] = ()
    status: str = "p.status"


class ScopeShape(Protocol):
    """What a lens's SQL reads of its scope: the model's `SessionScope` is one, and so is
    lashtui/scope.py's `ScopeId`, which the command line's model-free `ls --json` reads a
    lens's scope as (lashtui/listing.py)."""

    @property
    def agent_frame_id(self) -> str | None: ...
    def id(self) -> str: ...


class PageShape(Protocol):
    """What the SQL of a page reads from its query: `ProcessPageQuery` is one."""

    @property
    def lens(self) -> str: ...
    @property
    def scope(self) -> ScopeShape | None: ...
    @property
    def states(self) -> frozenset[str] | None: ...
    @property
    def text(self) -> str: ...
    @property
    def after_id(self) -> str | None: ...
    @property
    def before_id(self) -> str | None: ...
    @property
    def limit(self) -> int: ...
    @property
    def backwards(self) -> bool: ...


def lens_of(query: PageShape, sql: Dialect) -> Lens:
    scope = query.scope
    status = f"{sql.not_indexed}p.status"
    if query.lens == "all" or scope is None:
        return Lens()
    if query.lens == "granted":
        # CROSS JOIN fixes the grants as the outer loop: the grants' primary key is
        # (scope_id, process_id), so one scope's grants come in id order, each row probed
        # by its key.
        return Lens(
            source=f"process_handle_grants g {sql.fixed_order_join} processes p "
            "ON p.process_id = g.process_id",
            id_column="g.process_id",
            predicate="g.scope_id = ?",
            params=(scope.id(),),
            status=status,
        )
    if scope.agent_frame_id:
        return Lens(predicate="p.owner_scope_id = ?", params=(scope.id(),), status=status)
    # The session's root scope id, or any frame under it. The frames are one range of the
    # (owner_scope_id, process_id) index: every id that starts with `session:<sid>/frame:`
    # sorts before the same text with its last ':' bumped to ';'. No LIKE, so ids with % or
    # _ in them need no escaping. Two ranges cannot be walked in id order, so SQLite sorts
    # the session's matching ids (only the ids: the rows are read after the page is cut).
    root = scope.id()
    frames = f"{root}/frame:"
    return Lens(
        predicate="(p.owner_scope_id = ? OR (p.owner_scope_id >= ? AND p.owner_scope_id < ?))",
        params=(root, frames, f"{frames[:-1]};"),
        status=status,
    )


def text_filter(text: str, sql: Dialect) -> Arm:
    """Whether a row's id, scope id or label, each as it is shown (shown_text.py: escaped,
    cut where every reader cuts it), holds `text`, ignoring case."""
    if not text:
        return "", []
    needle = shown_text.needle(text)
    lower = _lowering(sql, needle)
    # A substring test, not LIKE: the text is matched literally, % and _ included.
    fields = (_shown_id(sql), "p.owner_scope_id", label_sql(sql))
    terms: list[str] = []
    binds: list[list[object]] = []
    for field in fields:
        term, count = shown_text.contains_shown(sql, field, lower, text)
        terms.append(term)
        binds.append([needle] * count)
    # The label is read only from a record whose text may hold it (label_sieve.py): that
    # read was nearly all of a filter's cost. (A CASE: PostgreSQL orders an OR's terms.)
    sieved = label_sieve.sieve(sql, "p.record_json", text)
    if sieved is not None:
        condition, sieve_params = sieved
        terms[2] = f"(CASE WHEN {condition} THEN {terms[2]} ELSE FALSE END)"
        binds[2] = [*sieve_params, *binds[2]]
    if sql.name == "sqlite":
        # A record that names a read key twice (`identity.label`, `disposition`, ...) does
        # not decode, and the row shows its stand-in's label (`undecodable: <why>`), not
        # the first label SQLite reads: it matches by its id and scope id only. Asked only
        # of a row whose label matched (repeated.py); a page stops at its limit.
        terms[2] = f"(CASE WHEN {terms[2]} THEN NOT {repeated_sql(sql)} ELSE 0 END)"
    return f"({' OR '.join(terms)})", [value for term in binds for value in term]


def _shown_id(sql: Dialect) -> str:
    """The id a text filter matches: as it is listed, so on SQLite a NULL id's row by its
    name (blob_id.py `null_name_sql`: `NULL#4`), and a blob id's as Python writes the bytes
    a read takes of it (blob_id.py `BLOB_SHOWN`: `b'zz'`, `b'r\\xffw'`), each asked only of
    such a row. It tested the column alone: NULL there, so the dashboard's `/` never found
    the row listed `NULL#4`; and a blob's raw bytes, so `/b'zz'` and `/xff` (of `b'r\\xffw'`)
    found nothing, though the dashboard's own test of the rows it holds (tui/window.py
    `matches`) matched them. PostgreSQL's key is NOT NULL text: nothing to name there."""
    if sql.name != "sqlite":
        return "p.process_id"
    blob = f"{BLOB_SHOWN}({read_text('p.process_id')})"
    return (
        f"CASE WHEN typeof(p.process_id) = 'blob' THEN {blob} "
        f"ELSE coalesce(p.process_id, {null_name_sql()}) END"
    )


# How `id_page_statements` is told its cursor is a row whose id is not text (blob_id.py
# `stored_key`): a NULL id's rowid (an int), or a blob's bytes. Unset, a cursor is text.
_TEXT = object()


def id_page_statements(
    query: PageShape, down: bool, sql: Dialect = SQLITE, key: object = _TEXT
) -> list[Arm]:
    """The SELECTs of one page in id order, one per status arm: each returns process ids in
    the page's direction (`down`: from high to low), at most `limit` of them. `key` is the
    cursor as stored when it names a row whose id is not text (`stored_key`: a NULL id's
    rowid, bytes for a blob).

    On SQLite each arm's NULL ids are a walk of their own (an index seek: SQLite keeps
    them in rowid order), read as their rowids (blob_id.py `read_id`) in rowid order: a
    walk down from a cursor never meets a NULL id (NULL < x is not true), and the key takes
    NULL more than once, so `process_id` alone cannot say which NULL row a page ended on.
    Before, all of them listed as one."""
    lens = lens_of(query, sql)
    text, text_params = text_filter(query.text, sql)
    column, order = lens.id_column, "DESC" if down else "ASC"
    cursor: object = query.before_id if query.backwards else query.after_id
    keyset = f"{column} {'<' if down else '>'} ?" if cursor is not None else ""
    null_bound, null_params = f"{column} IS NULL", []
    if cursor is not None and type(key) is int:  # a NULL row's: NULL ids sort first
        keyset, cursor = ("0" if down else f"{column} IS NOT NULL"), None
        null_bound += f" AND p.rowid {'<' if down else '>'} ?"
        null_params = [key]
    elif cursor is not None:
        cursor = key if key is not _TEXT else cursor_bound(str(cursor), down, sql.name)
    # (Not through the grants, whose NULL ids join no row: `g.process_id`.)
    nulls = column == "p.process_id" and sql.name == "sqlite"
    nulls = nulls and (not keyset or down or bool(null_params))
    if nulls and not keyset:
        keyset = f"{column} IS NOT NULL"  # (no cursor to bind: `params` below asks `cursor`)
    statements: list[Arm] = []
    for status, status_params in status_arms(query.states, lens.status, sql):
        # An arm with no lens walks its status's range of the (status, process_id) index.
        first = sql.status_first(lens.status, order) if status and not lens.predicate else ""
        for null_arm in (False, True) if nulls else (False,):
            bound = null_bound if null_arm else keyset
            terms = [term for term in (lens.predicate, status, bound, text) if term]
            where = f"WHERE {' AND '.join(terms)}" if terms else ""
            read, by = ("p.rowid", "p.rowid") if null_arm else (read_text(column), column)
            select = (
                f"SELECT {read} FROM {lens.source} {where} ORDER BY {first}{by} {order} LIMIT ?"
            )
            params = [
                *lens.params,
                *status_params,
                *(null_params if null_arm else [cursor] if keyset and cursor is not None else []),
                *text_params,
                query.limit,
            ]
            statements.append((select, params))
    return statements


def id_page_ids(conn: Tx, query: PageShape, down: bool, sql: Dialect = SQLITE) -> list[str]:
    """The ids of one page in id order: each status arm's walk, merged in the page's
    direction and cut at `limit` (SQLite cannot merge several ranges of one index in order
    itself: page.py). A NULL id is its rowid (an int: blob_id.py `read_id`); where the
    table has none (lash's views), NULL, and several such list as one."""
    from lashtui.registry.sql.blob_id import stored_key  # (blob_id.py reads through fetch)

    cursor = query.before_id if query.backwards else query.after_id
    key = stored_key(conn, cursor) if cursor is not None else None
    statements = id_page_statements(query, down, sql, _TEXT if isinstance(key, str) else key)
    arms = [fetch_rows(conn, select, params) for select, params in statements]
    merged = heapq.merge(*arms, key=sqlite_order, reverse=down)
    ids, null = [], False
    for row in merged:
        if row[0] is None:
            if null:
                continue
            null = True
        ids.append(as_read(row[0]))
        if len(ids) == query.limit:
            break
    return ids


def sqlite_order(row: tuple[object, ...]) -> tuple[int, object]:
    """An id as SQLite orders the column: NULL first (read as its rowid, an int: blob_id.py
    `read_id`, in rowid order), then text, then a blob (blob_id.py), so that arms whose
    heads are of different types merge (Python compares no str with bytes or None)."""
    value = row[0]
    if value is None or type(value) is int:
        return (0, value or 0)
    return (2, value) if isinstance(value, bytes) else (1, value)
