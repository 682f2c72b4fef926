"""On PostgreSQL, a registry with a history: the ended rows of earlier work, whose ids sort
before the backlog's (ids that grow with time), and statistics that say so. The reads made
all the time must not read that history: a batch claim's pick, the drive, the sweep's
abandon candidates, the dashboard's pages of running rows. Each statement is planned here
as the store runs it (its own statements before it, in its transaction: the planner
settings it makes) and its plan checked, since PostgreSQL chooses by statistics, which a
small test registry would not have."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from lashtui.clock import ManualClock
from lashtui.model import ProcessPageQuery, RecoveryDisposition, SuccessOutput
from lashtui.registry import open_registry
from lashtui.registry.sql import page, run
from lashtui.registry.sql.backlog_mark import UNMARKED_INDEX
from lashtui.registry.sql.dialect import POSTGRES
from lashtui.registry.sql.drive import BACKLOG_LISTED, drive_work_items
from lashtui.registry.sql.filter import HELD_INDEX
from lashtui.registry.sql.order import sorted_statements
from lashtui.registry.sql.page import page_statements
from tests.builders import local, ob, own, rr, started
from tests.raw import raw_connection
from tests.registry.test_drive_worklist import Traced

ENDED, WAITING, OWNER_BOUND = 3_000, 3_000, 20
T = TypeVar("T")


async def with_a_history(url: str, clock: ManualClock) -> None:
    """`ENDED` ended rows (ids `a-...`, each lease row released), `WAITING` free
    rerunnable rows (`w-...`, marked the backlog's as lashtui's starts mark them) and
    `OWNER_BOUND` owner-bound rows (`o-...`), with fresh statistics."""
    async with open_registry(url, clock=clock) as registry:
        await registry.register_process(rr("tmpl"))
        await registry.register_process(rr("done"))
        lease = (await registry.claim_process_lease("done", own("w:1"), 60_000)).acquired()
        assert lease is not None
        await registry.complete_process_with_lease(lease, SuccessOutput(value=None))
        for n in range(OWNER_BOUND):
            await registry.register_process(ob(f"o-{n:04d}"))
    with raw_connection(url) as conn:
        numbered = "generate_series(1, ?) AS n(i)"
        conn.execute(
            "INSERT INTO processes (process_id, registration_hash, owner_scope_id, "
            "created_at_ms, updated_at_ms, change_seq, status, record_json, sort_label) "
            "SELECT 'a-' || lpad(i::text, 6, '0'), registration_hash, owner_scope_id, "
            "created_at_ms, updated_at_ms, change_seq + i, status, record_json, sort_label "
            f"FROM processes, {numbered} WHERE process_id = 'done'",
            (ENDED,),
        )
        conn.execute(
            "INSERT INTO process_leases SELECT 'a-' || lpad(i::text, 6, '0'), "
            "lease_owner_id, lease_owner_incarnation_id, lease_owner_liveness_json, "
            "lease_token, lease_fencing_token, lease_claimed_at_ms, lease_expires_at_ms "
            f"FROM process_leases, {numbered} WHERE process_id = 'done'",
            (ENDED,),
        )
        conn.execute(
            "INSERT INTO processes (process_id, registration_hash, owner_scope_id, "
            "created_at_ms, updated_at_ms, change_seq, status, record_json, sort_label, "
            "backlog_seq) SELECT 'w-' || lpad(i::text, 6, '0'), registration_hash, "
            "owner_scope_id, created_at_ms, updated_at_ms, change_seq + ? + i, status, "
            "record_json, sort_label, change_seq + ? + i "
            f"FROM processes, {numbered} WHERE process_id = 'tmpl'",
            (ENDED, ENDED, WAITING),
        )
        conn.execute("DELETE FROM processes WHERE process_id IN ('tmpl', 'done')")
    with raw_connection(url) as conn:
        conn.execute("ANALYZE")


def run_and_plan(url: str, call: Callable[[Traced], T], marker: str) -> tuple[T, str]:
    """`call`'s result on a traced connection to `url`, and the plan of the statement it
    ran holding `marker`, made in a transaction that has run the statements before it, as
    the store's transaction had (the planner settings among them)."""
    with raw_connection(url) as conn:
        traced = Traced(conn)
        result = call(traced)
    index = next(n for n, (sql, _) in enumerate(traced.ran) if marker in sql)
    with raw_connection(url) as conn:
        for sql, values in traced.ran[:index]:
            conn.execute(sql, values)
        sql, values = traced.ran[index]
        plan = "\n".join(str(row[0]) for row in conn.execute(f"EXPLAIN {sql}", values))
    return result, plan


async def test_a_batch_pick_walks_the_running_rows_not_the_history_before_them(
    postgres_schema: str, clock: ManualClock
) -> None:
    # On the primary key, in id order, the pick would test every ended row's status
    # before the first running one (123 ms a pick past 100,000 such rows).
    await with_a_history(postgres_schema, clock)
    owners = [own(f"w:attempt-{n}") for n in range(4)]
    claims, plan = run_and_plan(
        postgres_schema,
        lambda conn: run.claim_next_for_run(conn, owners, 60_000, started("w"), clock.now_ms),  # type: ignore[arg-type]
        "SKIP LOCKED",
    )
    assert [pid for pid, _ in claims] == [f"w-{n:06d}" for n in range(1, 5)]
    assert "Index Scan using processes_status_process_idx on processes p" in plan, plan
    assert "on processes p " not in plan.replace("processes_status_process_idx on", ""), plan


async def test_the_sweeps_abandon_candidates_walk_the_running_rows_not_the_history(
    postgres_schema: str, clock: ManualClock
) -> None:
    await with_a_history(postgres_schema, clock)
    found, plan = run_and_plan(
        postgres_schema,
        lambda conn: page.abandon_candidates(conn, 10, None),  # type: ignore[arg-type]
        "ORDER BY",
    )
    assert found == []  # none started, none asked to be abandoned
    assert "processes_status_process_idx" in plan and "processes_pkey" not in plan, plan


async def test_a_drive_over_a_history_walks_its_indexes_whatever_the_statistics_say(
    postgres_schema: str, clock: ManualClock
) -> None:
    # The statistics make the drive's partial indexes look like half the table (most rows
    # are unmarked: the history's); planned on them alone, the drive scanned the table.
    await with_a_history(postgres_schema, clock)
    items, plan = run_and_plan(
        postgres_schema,
        lambda conn: drive_work_items(conn, clock.now_ms(), local("ghost-finder")),  # type: ignore[arg-type]
        "UNION ALL",
    )
    assert [item.process_id for item in items] == sorted(
        [f"o-{n:04d}" for n in range(OWNER_BOUND)]
        + [f"w-{n:06d}" for n in range(1, BACKLOG_LISTED + 1)]
    )
    assert all(
        item.disposition is RecoveryDisposition.OWNER_BOUND
        for item in items if item.process_id.startswith("o-")
    )
    assert UNMARKED_INDEX in plan, plan
    for scan in ("Seq Scan", "Bitmap Heap Scan", "Hash", "Merge", "JIT"):
        assert scan not in plan, plan


async def test_the_held_leases_are_read_from_their_index_not_the_lease_table(
    postgres_schema: str, clock: ManualClock
) -> None:
    # A released lease keeps its row: the history's 3,000 lease rows, none held.
    await with_a_history(postgres_schema, clock)
    _, plan = run_and_plan(
        postgres_schema,
        lambda conn: drive_work_items(conn, clock.now_ms(), local("ghost-finder")),  # type: ignore[arg-type]
        "SELECT DISTINCT CASE WHEN length(l.lease_owner_liveness_json)",
    )
    assert f"Index Scan using {HELD_INDEX}" in plan, plan
    assert "Seq Scan" not in plan, plan


async def test_the_dashboards_pages_of_running_rows_walk_their_status_not_the_history(
    postgres_schema: str, clock: ManualClock
) -> None:
    # The Processes view's pages: by id, by age and in lease-expiry order (whose rows
    # without a lease follow by id), of the running rows and of every row.
    await with_a_history(postgres_schema, clock)
    running = frozenset({"running"})
    queries = [
        ProcessPageQuery(states=running, limit=50),
        ProcessPageQuery(states=running, order="age", limit=50),
        ProcessPageQuery(order="age", limit=50),
        ProcessPageQuery(order="lease_expiry", limit=50),
    ]
    with raw_connection(postgres_schema) as conn:
        for query in queries:
            statements = (
                page_statements(query, POSTGRES)
                if query.order == "id"
                else [arm for group in sorted_statements(query, POSTGRES) for arm in group]
            )
            for select, params in statements:
                if "'running'" not in select:
                    continue
                plan = "\n".join(
                    str(row[0]) for row in conn.execute(f"EXPLAIN {select}", params)
                )
                assert "processes_pkey" not in plan and "Seq Scan" not in plan, (query, plan)
    async with open_registry(postgres_schema, clock=clock) as registry:
        page = await registry.page_processes(ProcessPageQuery(states=running, limit=3))
    assert [record.id for record in page] == ["o-0000", "o-0001", "o-0002"]
