"""The Processes view's orders: their sort keys as SQL, one expression per order shared by
the keyset pages and the indexes that serve them (each store's schema.py), and the sorted
keyset pages themselves (page.py says what they cost).

An index serves an order only when its expression is the query's, character for character
(SQLite matches an expression index by the parsed expression, PostgreSQL by the same), so
both are built here from one function. Every order but id and lease expiry walks an index
(status, key, process_id): the status comes first so that a state filter walks one range
per status, and the unfiltered view merges the five stored statuses (page.py), which also
spares each order a second index without the status.
"""

from __future__ import annotations

import heapq
import itertools
from typing import NamedTuple

from lashtui.errors import InvalidRequest
from lashtui.model import (
    NEWEST_FIRST,
    NO_LEASE,
    NO_STATE_KEY,
    PROCESS_STATES,
    ProcessLifecycleStatus,
    ProcessOrder,
    ProcessPageQuery,
    SortKey,
)
from lashtui.registry.sql.blob_id import read_id
from lashtui.registry.sql.dialect import (
    POSTGRES_TRY,
    SQLITE,
    TRY_JSONB,
    Dialect,
    Tx,
)
from lashtui.registry.sql.filter import (
    HELD,
    Arm,
    Lens,
    label_sql,
    lens_of,
    no_state,
    sqlite_order,
    status_arms,
    stored_status_arms,
    text_filter,
)
from lashtui.registry.sql.long_id import (
    MAX_READ_ID_CHARS,
    as_read,
    cursor_bound,
    is_cut,
    read_text,
)
from lashtui.registry.sql.row import fetch_rows
from lashtui.registry.sql.version import has_sort_label


def label_key(sql: Dialect, column: str = "p.record_json") -> str:
    """The label as the table shows it (the identity's label, else its kind), never NULL,
    so keyset comparisons need no NULL rules. On PostgreSQL compared as "C" (bytewise),
    as SQLite and Python compare it; the jsonb text would otherwise take the database's
    default collation, which could be anything.

    The rows lashtui writes carry the label in a column of its own, `sort_label` (row.py
    `insert_record`, PostgreSQL's start function; never changed after, as the identity is
    not), and the key reads it first (`sql.sort_label`). On SQLite the index on the JSON's
    expression was evaluated, four JSON parses of the ~1.3 kB record for the old entry
    and four for the new, by every UPDATE of a record, ~8 us of each of a run's two edits
    inside the write lock that worker processes queue for (P3: four workers drained ~9%
    faster without it); on PostgreSQL it cast the new record to jsonb through the
    try-cast function on every update. COALESCE stops at a value, so the JSON is read
    only for a row another program wrote without the column's value, which still sorts by
    its record's label.

    On PostgreSQL the index reads the record through the registry's try-cast function
    (`POSTGRES_TRY`), which never fails a write, and a page sorts by that same expression
    wherever the function exists (`label_dialect`), so the planner can match the two."""
    key = f"coalesce({label_sql(sql, column, any_size=True)}, '')"
    if sql.sort_label:
        key = f"coalesce({column.removesuffix('record_json')}sort_label, {key})"
    return key if sql.name == "sqlite" else f'({key}) COLLATE "C"'


SORT_LABEL_INDEX = "processes_status_sort_label_idx"


def label_dialect(conn: Tx, sql: Dialect) -> Dialect:
    """The dialect a label page writes its key in, the label index's: on SQLite reading
    `sort_label` where the registry has it (`label_key`); on PostgreSQL reading it where
    the index on it is there (a registry migrated from version 13 has the column, and its
    JSON-only index until `lashtui index` replaces it), else the try-cast form when the
    registry has the function (every writable open adds it; a registry only ever opened
    read-only by an older build may not, and has no label index either)."""
    if sql.name == "sqlite":
        return sql._replace(sort_label=True) if has_sort_label(conn) else sql
    row = conn.execute(
        "SELECT to_regclass(?) IS NOT NULL, to_regprocedure(?) IS NOT NULL",
        [SORT_LABEL_INDEX, f"{TRY_JSONB}(text)"],
    ).fetchone()
    # (The form the statement's other reads take is kept: whether the registry has the
    # function that tells a record naming a read key twice, sql/repeated.py.)
    if row is not None and row[0]:
        return POSTGRES_TRY._replace(sort_label=True, repeated_key=sql.repeated_key)
    if row is not None and row[1]:
        return POSTGRES_TRY._replace(repeated_key=sql.repeated_key)
    return sql


# The status order's key: the stored status, and `NO_STATE_KEY` for a value that names no
# state (another program wrote it), so that such rows sort after the five, as one.
_STATUS_KEY = (
    f"CASE WHEN p.status IN ({', '.join(repr(s.value) for s in ProcessLifecycleStatus)}) "
    f"THEN p.status ELSE '{NO_STATE_KEY}' END"
)


def key_sql(order: ProcessOrder, sql: Dialect) -> str:
    """The sort key of `order` over the processes row `p` (and for lease expiry, the lease
    row `l`)."""
    if order == "status":
        return _STATUS_KEY
    if order == "label":
        return label_key(sql)
    if order == "age":
        return "p.created_at_ms"
    if order == "updated":
        return "p.updated_at_ms"
    if order == "lease_expiry":
        return "l.lease_expires_at_ms"
    return "p.process_id"


def walks_down(query: ProcessPageQuery) -> bool:
    """Whether the page walks its key from high to low: descending, the newest-first
    orders, and a backwards page each turn it round once."""
    return (query.descending != (query.order in NEWEST_FIRST)) != query.backwards


def index_ddl(sql: Dialect) -> tuple[str, ...]:
    """The indexes the sorted pages walk (lease expiry has none: see schema.py)."""
    exists = "IF NOT EXISTS " if sql.name == "sqlite" else ""
    # The label index reads `sort_label` first, under a name of its own: a registry of an
    # older build keeps its JSON-only `processes_status_label_idx` until `lashtui index`
    # replaces it (each store's schema.py `SUPERSEDED`).
    return (
        f"CREATE INDEX {exists}processes_status_created_idx "
        "ON processes(status, created_at_ms, process_id)",
        f"CREATE INDEX {exists}processes_status_updated_idx "
        "ON processes(status, updated_at_ms, process_id)",
        f"CREATE INDEX {exists}{SORT_LABEL_INDEX} "
        f"ON processes(status, ({label_key(sql._replace(sort_label=True), 'record_json')}), "
        "process_id)",
    )


# --- the pages


def with_key(conn: Tx, query: ProcessPageQuery, sql: Dialect) -> ProcessPageQuery:
    """`query` with its cursor's sort key, read from the cursor's row when not given."""
    cursor = query.cursor
    if cursor is None or cursor[1] is not None:
        return query
    process_id = cursor[0]
    if query.order == "lease_expiry":
        select = (
            f"SELECT coalesce((SELECT l.lease_expires_at_ms FROM process_leases l "
            f"WHERE l.process_id = p.process_id AND {HELD}), {NO_LEASE}) "
            "FROM processes p WHERE p.process_id = ?"
        )
    else:
        key = _read_key(query.order, key_sql(query.order, sql))
        select = f"SELECT {key} FROM processes p WHERE p.process_id = ?"
    params: list[object] = [process_id]
    stored = _stored(conn, process_id)
    if type(stored) is int:  # a NULL id's row (blob_id.py), by its rowid
        select = select.replace("p.process_id = ?", "p.process_id IS NULL AND p.rowid = ?")
        params = [stored]
    elif isinstance(stored, bytes):  # a blob's, bound as the bytes its row is keyed by
        params = [stored]
    elif is_cut(process_id):  # the row it was cut from (long_id.py `cut_rows`)
        select = select.replace(
            "p.process_id = ?",
            "p.process_id > ? AND p.process_id < ? ORDER BY p.process_id LIMIT 1",
        )
        params = [process_id[:MAX_READ_ID_CHARS], as_read(process_id)]
    row = conn.execute(select, params).fetchone()
    if row is None:
        raise InvalidRequest(f"no process `{process_id}` to page from in `{query.order}` order")
    side = "before_key" if query.backwards else "after_key"
    return query.model_copy(update={side: as_read(row[0])})


def _stored(conn: Tx, process_id: str) -> str | bytes | int:
    """The cursor's id as its row is keyed (blob_id.py `stored_key`): the text, a blob's
    bytes, or a NULL id's rowid."""
    from lashtui.registry.sql.blob_id import stored_key  # (blob_id.py reads through fetch)

    return stored_key(conn, process_id)


# A sorted walk over a SQLite registry holding NULL ids (blob_id.py) reads each NULL id as
# its rowid (`read_id`) and breaks their ties by it, as the (status, key, process_id) index
# keeps them: each NULL row is a row of its own, and a cursor on one finds it again. Before,
# the walk listed the first by rowid alone (several listed as one).
def _ties_by_rowid(column: str, nulls: bool) -> bool:
    return nulls and column.endswith("p.process_id")


def _read_key(order: ProcessOrder, key: str) -> str:
    """A sort key as a page reads it: the label, free text another program may have stored
    at any length in `sort_label` or the record (one of 200 MB cost `ls --sort label`
    440 MB), under the ceiling on plain text (stored_text.py). A cut label sorts after every
    label it begins, as a cut id does among ids; `_keyset` bounds a walk by it as
    `cursor_bound` does by a cut id, so a page's cursor on its row moves past it both ways
    (labels that share their first 4,096 characters may be passed over: only another
    program's are that long)."""
    return read_text(key) if order == "label" else key


class _Segment(NamedTuple):
    """A part of an order that one kind of statement walks: its rows (FROM and predicate)
    and its key, an expression or one constant for every row of the segment."""

    source: str
    predicate: str
    key: str
    constant: int | None = None
    column: str | None = None  # the id column it walks, when not the lens's


def _segments(query: ProcessPageQuery, lens: Lens, sql: Dialect) -> list[_Segment]:
    """The order's segments in ascending key order. Lease expiry has two: the held leases
    by expiry, then every other row at the key NO_LEASE, by id."""
    if query.order != "lease_expiry":
        return [_Segment(lens.source, "", key_sql(query.order, sql))]
    unleased = (
        f"NOT EXISTS (SELECT 1 FROM process_leases l WHERE l.process_id = p.process_id AND {HELD})"
    )
    rest = _Segment(lens.source, unleased, "", NO_LEASE)
    # With no lens, the lease table drives (a scan: there is no index by expiry, see the
    # schema); a lens's rows are few, so its own walk drives and each probes its lease.
    if query.lens != "all" and query.scope is not None:
        leased = f"{lens.source} JOIN process_leases l ON l.process_id = p.process_id"
        return [_Segment(leased, HELD, "l.lease_expires_at_ms"), rest]
    if not query.text and (query.states is None or set(query.states) >= set(PROCESS_STATES)):
        # Nothing to read from the process row: the lease table alone, without probing
        # each held lease's process before the sort (100,000 probes on D2's registry, half
        # the page's time). A lease's row cascades with its process, and `page.read` skips
        # an id it does not find all the same.
        alone = _Segment("process_leases l", HELD, "l.lease_expires_at_ms", column="l.process_id")
        return [alone, rest]
    leased = f"process_leases l {sql.fixed_order_join} processes p ON p.process_id = l.process_id"
    return [_Segment(leased, HELD, "l.lease_expires_at_ms"), rest]


class _SortedArm(NamedTuple):
    """One walk of a sorted page: its status predicate, and the stored status it fixes
    (the key itself in status order), when it fixes one."""

    predicate: str
    params: list[object]
    status: str | None = None
    unindexed: bool = False  # its walk must not use the key's index (`_sorted_arms`)
    no_state: bool = False  # the rows whose status column holds no state


def _sorted_arms(
    query: ProcessPageQuery, lens: Lens, segment: _Segment, sql: Dialect
) -> list[_SortedArm]:
    """The state filter as arms for a sorted walk. With no lens each stored status is its
    own walk of its (status, key, process_id) index, even with no state filter (the five
    are merged); where a lens or the lease table drives, the arms are one OR'ed filter."""
    states = query.states
    if lens.predicate or segment.key.startswith("l."):
        arms = status_arms(states, f"{sql.not_indexed}p.status", sql)
        if len(arms) == 1:
            return [_SortedArm(*arms[0])]
        predicate = " OR ".join(f"({arm})" for arm, _ in arms)
        return [_SortedArm(f"({predicate})", [v for _, params in arms for v in params])]
    if states is None or set(states) >= set(PROCESS_STATES):
        walks = [
            _SortedArm(sql.status_is("p.status", s.value), [], s.value)
            for s in ProcessLifecycleStatus
        ]
        # The rows whose status column holds no state, which the page in id order lists
        # too: their own walk, none in a registry every writer kept (in status order at
        # the key `NO_STATE_KEY`, after the five). On SQLite its key and id are written
        # `+key` (in the keyset and the ORDER BY), which turns their indexes off, so that
        # the planner reads those ranges of the status index and sorts the few rows there,
        # never walking the key's or the ids' index testing every row (PostgreSQL's planner
        # estimates those ranges empty from the column's statistics).
        return [*walks, _SortedArm(no_state("p.status"), [], unindexed=True, no_state=True)]
    return [
        _SortedArm(arm, params, stored)
        for stored, (arm, params) in stored_status_arms(states, "p.status", sql)
    ]


# `_keyset` not told how its cursor's row is keyed: by the cursor's text.
_AS_GIVEN = object()


def _past_null(
    key: str, constant: SortKey | None, value: SortKey | None, column: str, down: bool,
    rowid: int,
) -> Arm | None:  # fmt: skip
    """`_keyset` past a NULL id's cursor (blob_id.py: its row's `rowid`), which sorts among
    its key's rows with the other NULL ids, by rowid, before every text id: walking up, its
    key's later NULL rows and other rows, and every greater key; down, its key's earlier
    NULL rows and the lesser keys."""
    later = (
        f"({column} IS NULL AND p.rowid < ?)" if down
        else f"({column} IS NOT NULL OR p.rowid > ?)"
    )  # fmt: skip
    if constant is not None:
        if value == constant:
            return later, [rowid]
        assert value is not None
        past = constant < value if down else constant > value  # type: ignore[operator]
        return ("", []) if past else None
    comparison = "<" if down else ">"
    return f"({key} {comparison} ? OR ({key} = ? AND {later}))", [value, value, rowid]


def _keyset(
    query: ProcessPageQuery,
    key: str,
    constant: SortKey | None,
    column: str,
    down: bool,
    sql: Dialect,
    stored: object = _AS_GIVEN,
    nulls: bool = False,
) -> Arm | None:
    """The keyset condition of a walk past the query's cursor; None when the whole walk
    lies before the cursor (a constant key on the wrong side of it).

    A row value alone is not enough for SQLite on the label's expression index (3.40 seeks
    on `(status=?)` only, then tests every row of the status, parsing its JSON): a plain
    bound on the label before it makes the seek land on the cursor's label, and leaves
    only the cursor's ties to test. On a column the row value seeks by itself, ties
    included, so it stands alone there.

    `stored` is the cursor's id as its row is keyed (`_stored`; the text itself when not
    asked), and `nulls` whether the registry holds a NULL id (SQLite only), which a walk
    down must meet past the cursor's key's other ids."""
    cursor = query.cursor
    if stored is _AS_GIVEN and cursor is not None:
        stored = cursor[0]
    if cursor is None:
        return "", []
    process_id, value = cursor
    if isinstance(value, str) and query.order == "label":
        value = cursor_bound(value, down, sql.name)  # (a cut label's: `_read_key`)
    comparison = "<" if down else ">"
    if constant is None and key.startswith("l.") and value == NO_LEASE:
        return ("", []) if down else None  # the cursor is past every lease
    if type(stored) is int:  # a NULL id's row: SQLite sorts NULL before every id of a key
        return _past_null(key, constant, value, column, down, stored)
    bound: object = stored
    if not isinstance(stored, bytes):
        bound = cursor_bound(process_id, down, sql.name)  # (a cut id's: long_id.py)
    # Walking down, a NULL id at the cursor's key is past it, yet `NULL < x` is not true.
    null = f" OR ({key} = ? AND {column} IS NULL)" if nulls and down else ""
    if constant is None and query.order != "label":
        if null:
            return f"(({key}, {column}) < (?, ?){null})", [value, bound, value]
        return f"({key}, {column}) {comparison} (?, ?)", [value, bound]
    if constant is None:
        return (
            f"{key} {comparison}= ? AND (({key}, {column}) {comparison} (?, ?){null})",
            [value, value, bound, *([value] if null else [])],
        )
    if value == constant:
        if nulls and down:
            return f"({column} < ? OR {column} IS NULL)", [bound]
        return f"{column} {comparison} ?", [bound]
    assert value is not None
    past = constant < value if down else constant > value  # type: ignore[operator]
    return ("", []) if past else None


def sorted_statements(
    query: ProcessPageQuery, sql: Dialect = SQLITE, stored: object = _AS_GIVEN,
    nulls: bool = False,
) -> list[list[Arm]]:  # fmt: skip
    """The SELECTs of one page in a sorted order, grouped by segment in the page's walk
    order; each returns (key, process id) rows in that order, at most `limit` of them.
    Exposed so tests can read their query plans. `stored` and `nulls`: `_keyset`'s."""
    lens = lens_of(query, sql)
    text, text_params = text_filter(query.text, sql)
    down = walks_down(query)
    direction = "DESC" if down else "ASC"
    groups: list[list[Arm]] = []
    segments = _segments(query, lens, sql)
    for segment in reversed(segments) if down else segments:
        column = segment.column or lens.id_column
        group: list[Arm] = []
        for arm in _sorted_arms(query, lens, segment, sql):
            constant: SortKey | None = segment.constant
            if query.order == "status":  # an arm that fixes the status has a constant key
                constant = NO_STATE_KEY if arm.no_state else arm.status
            key, walked = segment.key, column
            if arm.unindexed:
                key, walked = f"{sql.not_indexed}{key}", f"{sql.not_indexed}{column}"
            keyset = _keyset(query, key, constant, walked, down, sql, stored, nulls)
            if keyset is None:
                continue
            by_rowid = _ties_by_rowid(column, nulls)
            order_by = f"{walked} {direction}" + (f", p.rowid {direction}" if by_rowid else "")
            if constant is None:
                order_by = f"{key} {direction}, {order_by}"
            if arm.status is not None and not lens.predicate:
                # The arm walks its status's range of a (status, key, process_id) index.
                order_by = f"{sql.status_first('p.status', direction)}{order_by}"
            terms = [lens.predicate, segment.predicate, arm.predicate, keyset[0], text]
            where = " AND ".join(term for term in terms if term)
            read_key = _read_key(query.order, segment.key) if segment.key else segment.constant
            select = (
                f"SELECT {read_key}, {read_id(column) if by_rowid else read_text(column)} "
                f"FROM {segment.source} "
                f"{'WHERE ' if where else ''}{where} ORDER BY {order_by} LIMIT ?"
            )
            params = [*lens.params, *arm.params, *keyset[1], *text_params, query.limit]
            group.append((select, params))
        if group:
            groups.append(group)
    return groups


def _merge_order(row: tuple[object, object]) -> tuple[tuple[int, object], tuple[int, object]]:
    return _key_order(row[0]), sqlite_order((row[1],))


def _key_order(key: object) -> tuple[int, object]:
    """A sort key as SQLite orders a column's values: NULL, then numbers, then text, then
    blobs. Each arm comes so ordered from its index, but another program may store any type
    in any column (a blob `sort_label`, text in `created_at_ms`), and Python compares no
    bytes with str nor str with int: merged as they were read, such keys in two arms failed
    the whole page with a TypeError."""
    if key is None:
        return (0, 0)
    if isinstance(key, int | float):
        return (1, key)
    return (3, key) if isinstance(key, bytes) else (2, key)


def sorted_ids(conn: Tx, query: ProcessPageQuery, sql: Dialect) -> list[str]:
    """The page's ids in walk order: each segment's arms merged by (key, id), the segments
    one after the other until the page is full (a later segment is not read at all)."""
    down = walks_down(query)
    ids: list[str] = []
    stored: object = _AS_GIVEN
    nulls = False
    if sql.name == "sqlite":  # (PostgreSQL's ids are text, and never NULL)
        found = conn.execute("SELECT 1 FROM processes WHERE process_id IS NULL LIMIT 1")
        nulls = found.fetchone() is not None
        if query.cursor is not None:
            stored = _stored(conn, query.cursor[0])
    for group in sorted_statements(query, sql, stored, nulls):
        arms = [
            [(key, pid) for key, pid in fetch_rows(conn, statement, params)]
            for statement, params in group
        ]
        # Ties on the key are broken by id as SQLite orders it: NULL, then text, then a blob
        # (blob_id.py). Compared as Python values, a NULL's or a blob's id beside a text id
        # failed the whole page (`ls --sort label` over such rows ended in a TypeError).
        merged = heapq.merge(*arms, key=_merge_order, reverse=down)
        ids.extend(as_read(pid) for _, pid in itertools.islice(merged, query.limit - len(ids)))
        if len(ids) >= query.limit:
            break
    return ids
