"""Keyset pages in the Processes view's orders (status, label, age, updated, lease expiry),
ascending and descending, on both stores.

The population has ties in every key (so the process-id tiebreak is what keeps pages stable),
rows with and without a lease, and each dashboard state. Every order is walked page by page
forwards and backwards, with small limits so pages end inside runs of ties, and combined with
lenses, state sets and the text filter; the expected order is the rule written in plain
Python. A cursor's key may be given or left for the registry to read from the cursor's row.
"""

from __future__ import annotations

import itertools

import pytest

from lashtui.clock import ManualClock
from lashtui.errors import InvalidRequest
from lashtui.model import (
    NEWEST_FIRST,
    NO_LEASE,
    NO_STATE_KEY,
    PROCESS_ORDERS,
    ObservedProcess,
    ProcessIdentity,
    ProcessOrder,
    ProcessPageQuery,
    ProcessRecord,
    SortKey,
    sort_key,
)
from lashtui.registry import ProcessRegistry, open_registry
from lashtui.registry.sql.dialect import SQLITE_LABELLED, TRY_JSONB
from lashtui.registry.sql.order import sorted_statements
from tests.builders import ext, rr
from tests.raw import raw_connection
from tests.registry.rows import ANY, claim, finish, ids, park
from tests.registry.test_pages import GRANTS, S1, S1F, by, expected_page, populate

SORTED: list[ProcessOrder] = [order for order in PROCESS_ORDERS if order != "id"]


async def populate_sorted(registry: ProcessRegistry, clock: ManualClock) -> None:
    """test_pages' population, plus rerunnable rows with leases and ties in every key."""
    await populate(registry, clock)
    labels = ["alpha", "beta", "alpha", None, "beta", "", "alpha", "zeta"]
    for n, label in enumerate(labels):
        if n % 3 == 0:  # every third registration shares its time with the one before
            clock.advance(1_000)
        identity = ProcessIdentity(kind="rerun", label=label)
        originator = S1 if n % 2 else S1F
        await registry.register_process(rr(f"r{n}", provenance=by(originator), identity=identity))
    for pid in ("r1", "r4"):
        await claim(registry, pid)  # same time: the same expiry
    clock.advance(500)
    await claim(registry, "r6")
    await claim(registry, "r2")
    clock.advance(700)
    await finish(registry, "r3")
    await park(registry, "r5", clock.now_ms())
    await registry.register_process(ext("q0", identity=ProcessIdentity(kind="ext", label="beta")))


@pytest.fixture
async def populated(registry: ProcessRegistry, clock: ManualClock) -> ProcessRegistry:
    await populate_sorted(registry, clock)
    return registry


class Rules:
    """The orders as plain Python over every record and lease."""

    def __init__(self, records: list[ProcessRecord], expiries: dict[str, int]) -> None:
        self.records = records
        self.expiries = expiries
        self.granted: dict[str, set[str]] = {}
        for grantee, pid in GRANTS:
            self.granted.setdefault(grantee.id(), set()).add(pid)

    def key(self, order: ProcessOrder, record: ProcessRecord) -> SortKey:
        if order == "id":
            return ""  # the tiebreak is the order
        if order == "status":
            return record.status.state.value
        if order == "label":
            return record.identity.label or record.identity.kind
        if order == "age":
            return record.created_at_ms
        if order == "updated":
            return record.updated_at_ms
        return self.expiries.get(record.id, NO_LEASE)

    def all(self, query: ProcessPageQuery) -> list[str]:
        """Every matching id in the query's order (no cursor, no limit)."""
        unbounded = query.model_copy(update={"order": "id", "limit": 10_000})
        wanted = set(expected_page(self.records, self.granted, unbounded))
        by_id = {record.id: record for record in self.records if record.id in wanted}
        reverse = query.descending != (query.order in NEWEST_FIRST)
        ordered = sorted(
            by_id.values(), key=lambda r: (self.key(query.order, r), r.id), reverse=reverse
        )
        return [record.id for record in ordered]


async def rules(registry: ProcessRegistry) -> Rules:
    records = await registry.list_processes(ANY)
    leases = await registry.get_process_leases([record.id for record in records])
    return Rules(records, {pid: lease.expires_at_epoch_ms for pid, lease in leases.items()})


async def walk(
    registry: ProcessRegistry, rule: Rules, query: ProcessPageQuery, *, keys: bool
) -> tuple[list[str], list[str]]:
    """Every page forwards from the start, and backwards from after the last row: the ids
    in the order the pages gave them (the backward walk put back in the query's order)."""
    by_id = {record.id: record for record in rule.records}

    def cursor(side: str, pid: str) -> dict[str, object]:
        key = rule.key(query.order, by_id[pid]) if keys and query.order != "id" else None
        return {f"{side}_id": pid, f"{side}_key": key}

    forwards: list[str] = []
    page = ids(await registry.page_processes(query))
    while page:
        forwards.extend(page)
        update = cursor("after", page[-1])
        page = ids(await registry.page_processes(query.model_copy(update=update)))
    backwards: list[str] = []
    if forwards:
        # The last row's page backwards, then on before each page's first row.
        page = [forwards[-1]]
        while page:
            backwards[:0] = page
            update = cursor("before", page[0])
            page = ids(await registry.page_processes(query.model_copy(update=update)))
    return forwards, backwards


@pytest.mark.parametrize("order", PROCESS_ORDERS)
@pytest.mark.parametrize("descending", [False, True])
async def test_every_order_pages_both_ways_through_ties(
    populated: ProcessRegistry, order: ProcessOrder, descending: bool
) -> None:
    rule = await rules(populated)
    for limit, keys in ((1, True), (2, False), (3, True), (50, False)):
        query = ProcessPageQuery(order=order, descending=descending, limit=limit)
        expected = rule.all(query)
        assert len(expected) == len(rule.records)
        forwards, backwards = await walk(populated, rule, query, keys=keys)
        assert forwards == expected, (limit, keys)
        assert backwards == expected, (limit, keys)


async def test_orders_read_as_the_table_shows_them(populated: ProcessRegistry) -> None:
    """Spot checks of the rule itself: ascending age is the newest first, rows without a
    lease come after every lease, a label falls back to the kind, and descending is the
    exact reverse."""

    async def first(**fields: object) -> list[str]:
        return ids(await populated.page_processes(ProcessPageQuery.model_validate(fields)))

    assert (await first(order="age", limit=1)) == ["q0"]
    assert (await first(order="age", descending=True, limit=1)) == ["p01"]
    assert await first(order="lease_expiry", limit=4) == ["r1", "r4", "r2", "r6"]
    assert await first(order="lease_expiry", descending=True, limit=2) == ["r7", "r5"]
    labels = await first(order="label", states={"running", "waiting"}, text="r", limit=50)
    assert [pid for pid in labels if pid[0] == "r"][:4] == ["r0", "r2", "r6", "r1"]  # alpha, beta
    assert "r3" not in labels
    everything = await first(order="status", limit=100)
    assert everything == list(reversed(await first(order="status", descending=True, limit=100)))


async def test_orders_combine_with_lenses_states_and_text(populated: ProcessRegistry) -> None:
    rule = await rules(populated)
    lenses: list[dict[str, object]] = [
        {},
        {"lens": "granted", "scope": S1},
        {"lens": "originated", "scope": S1},
        {"lens": "originated", "scope": S1F},
    ]
    state_sets = [None, {"running"}, {"waiting"}, {"running", "completed"}, {"failed", "waiting"}]
    checked = 0
    for order, descending, lens, states, text in itertools.product(
        SORTED, (False, True), lenses, state_sets, ("", "r", "alpha")
    ):
        query = ProcessPageQuery.model_validate(
            {
                **lens,
                "states": states,
                "text": text,
                "order": order,
                "descending": descending,
                "limit": 2,
            }
        )
        expected = rule.all(query)
        forwards, backwards = await walk(populated, rule, query, keys=checked % 2 == 0)
        assert forwards == expected, query
        assert backwards == expected, query
        checked += 1
    assert checked == 5 * 2 * 4 * 5 * 3


async def test_a_missing_cursor_row_is_one_sentence(populated: ProcessRegistry) -> None:
    query = ProcessPageQuery(order="label", after_id="nope")
    with pytest.raises(InvalidRequest, match="no process `nope` to page from in `label` order"):
        await populated.page_processes(query)


async def test_postgres_label_index_never_refuses_a_write_and_old_registries_still_sort(
    postgres_schema: str,
) -> None:
    """The label index reads through the try-cast function, so a row whose text jsonb
    refuses is still written (an index on the plain cast would fail that UPDATE); a
    registry without the function (and so without the index: one an older build made,
    opened read-only) sorts by label all the same."""
    async with open_registry(postgres_schema) as registry:
        for pid, label in (("a", "zulu"), ("b", "alpha"), ("c", "mike")):
            identity = ProcessIdentity(kind="k", label=label)
            await registry.register_process(ext(pid, identity=identity))
    with raw_connection(postgres_schema) as conn:  # another program's row: not JSON at all
        conn.execute(  # (whose insert named lash's columns: no `sort_label`)
            "UPDATE processes SET record_json = ?, sort_label = NULL WHERE process_id = 'c'",
            ("{",),
        )
    async with open_registry(postgres_schema) as registry:
        query = ProcessPageQuery(order="label")
        assert ids(await registry.page_processes(query)) == ["c", "b", "a"]  # c: no label, ''
    with raw_connection(postgres_schema) as conn:
        conn.execute(f"DROP FUNCTION {TRY_JSONB}(text) CASCADE")
        conn.execute("DELETE FROM processes WHERE process_id = 'c'")
    async with open_registry(postgres_schema, read_only=True) as registry:
        query = ProcessPageQuery(order="label", descending=True)
        assert ids(await registry.page_processes(query)) == ["a", "b"]


async def test_lease_expiry_skips_a_lease_whose_process_is_gone(tmp_path: object) -> None:
    """The unfiltered lease-expiry page reads the lease table alone (order.py): a held
    lease left behind by a program that deleted its process with foreign keys off is
    skipped, not a crash, and the other leases still list in expiry order."""
    db = f"{tmp_path}/r.db"
    clock = ManualClock(1_000_000)
    async with open_registry(db, clock=clock) as registry:
        for pid in ("a", "b", "c"):
            await registry.register_process(rr(pid))
        await claim(registry, "b")
        clock.advance(1_000)
        await claim(registry, "a")
        await claim(registry, "c")
    with raw_connection(db) as conn:  # a plain sqlite3 connection: foreign keys off
        conn.execute("DELETE FROM processes WHERE process_id = 'a'")
    async with open_registry(db, read_only=True) as registry:
        listed = ids(await registry.page_processes(ProcessPageQuery(order="lease_expiry")))
        assert listed == ["b", "c"]


@pytest.mark.parametrize("order", ["age", "updated", "label", "lease_expiry", "status"])
@pytest.mark.parametrize("descending", [False, True])
async def test_a_row_with_no_state_is_listed_in_every_order(
    registry: ProcessRegistry, registry_target: str, clock: ManualClock,
    order: ProcessOrder, descending: bool,
) -> None:  # fmt: skip
    """A row whose status column holds no state (another program wrote it) is listed in id
    order with no state filter, as undecodable; the sorted orders walked the five states'
    ranges alone, so it vanished when the operator sorted. It is walked on its own now,
    once, in its place: in status order after the five states (`NO_STATE_KEY`), where it
    was left out, whether the registry reads a cursor's key or the caller gives it (from
    `sort_key`, as the dashboard's window does), and so is one whose record does not
    decode either."""
    for n, pid in enumerate(("a", "b", "odd", "c", "d", "worse")):
        identity = ProcessIdentity(kind="k", label=f"label-{4 - n}")
        await registry.register_process(ext(pid, identity=identity))
        clock.advance(1_000)
    with raw_connection(registry_target) as conn:
        conn.execute("UPDATE processes SET status = 'zombie' WHERE process_id = 'odd'")
        conn.execute(
            "UPDATE processes SET status = '', record_json = 'x' WHERE process_id = 'worse'"
        )
    every = ["a", "b", "c", "d", "odd", "worse"]
    for limit, keyed in ((1, False), (2, False), (50, False), (1, True), (2, True)):
        query = ProcessPageQuery(order=order, descending=descending, limit=limit)
        seen: list[str] = []
        page = await registry.page_processes(query)
        while page and len(seen) <= len(every):  # (a wrong cursor could page for ever)
            seen += ids(page)
            last = page[-1]
            key = sort_key(order, ObservedProcess.from_record(last, None)) if keyed else None
            cursor = {"after_id": last.id, "after_key": key}
            page = await registry.page_processes(query.model_copy(update=cursor))
        assert sorted(seen) == every, (limit, keyed, seen)
        if order in ("age", "updated"):
            in_order = ["a", "b", "odd", "c", "d", "worse"]
            assert seen == (in_order[::-1] if descending != (order in NEWEST_FIRST)
                            else in_order)  # fmt: skip
        if order == "status":  # all running, then the two with no state, by id
            assert seen == (every[::-1] if descending else every), (limit, keyed, seen)


async def test_the_walk_of_rows_with_no_state_reads_no_key_index(tmp_path: object) -> None:
    """On SQLite the walk reads the status index's ranges between the five states and sorts
    what it finds (nothing, in a registry every writer kept), never the key's index row by
    row, on the first page and past a cursor."""
    db = f"{tmp_path}/r.db"
    async with open_registry(db) as registry:
        await registry.register_process(ext("a"))
    with raw_connection(db) as conn:
        for order, key in (
            ("age", 1), ("updated", 1), ("label", "x"), ("lease_expiry", 2**62),
            ("status", NO_STATE_KEY),
        ):  # fmt: skip
            for cursor in ({}, {"after_id": "a", "after_key": key}):
                query = ProcessPageQuery(order=order, **cursor)  # type: ignore[arg-type]
                (select, params), = [
                    statement
                    for group in sorted_statements(query, SQLITE_LABELLED)
                    for statement in group
                    if "p.status < " in statement[0]
                ]
                plan = " ".join(
                    str(row[3]) for row in conn.execute(f"EXPLAIN QUERY PLAN {select}", params)
                )
                assert "MULTI-INDEX OR" in plan and "status<" in plan, (order, cursor, plan)
                assert "created_idx (created" not in plan and "SCAN" not in plan, plan
