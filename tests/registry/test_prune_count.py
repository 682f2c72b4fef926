"""Counting what a prune would delete (`count_prunable_processes`), on both stores.

The count must equal what the prune then deletes, processes and events, at every cutoff
(strict, like the prune; running rows never counted), write nothing, and carry the
change-feed position that bounds the prune that follows it to the rows counted. On SQLite it
must seek the (status, updated_at_ms, process_id) index rather than scan the table.
"""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from lashtui.model import ProcessEventAppendRequest, ProcessPruneCount
from lashtui.registry import ProcessRegistry
from lashtui.registry.sql.prune import DOOMED
from tests.builders import ext
from tests.registry.rows import NEVER, feed_end, finish


async def three_ended_one_running(registry: ProcessRegistry, clock) -> tuple[int, int]:
    """`a` (2 events) and `b` (1) end early, `c` (1) ends 1 s later, `live` runs: returns
    the cutoff just after the early two and the one just after `c`."""
    for pid in ("a", "b", "c", "live"):
        await registry.register_process(ext(pid))
    await registry.append_event("a", ProcessEventAppendRequest.new("process.waiting", {}))
    await finish(registry, "a")
    early = (await finish(registry, "b")).updated_at_ms + 1
    clock.advance(1_000)
    late = (await finish(registry, "c")).updated_at_ms + 1
    return early, late


async def settled_count(registry, cutoff: int) -> tuple[ProcessPruneCount, int]:
    """A count and the feed's end, read when their positions agree, within a few seconds
    (on PostgreSQL a position may trail for a moment while another transaction on the
    shared test server ends: rows.py `settled_census`)."""
    for _ in range(100):
        count = await registry.count_prunable_processes(cutoff)
        end = await feed_end(registry)
        if count.up_to_change_seq == end:
            break
        await asyncio.sleep(0.05)
    return count, end


async def test_the_count_is_what_the_prune_then_deletes(registry, clock):
    early, late = await three_ended_one_running(registry, clock)

    count, before = await settled_count(registry, early)

    assert (count.processes, count.events) == (2, 3)
    assert count.up_to_change_seq == before
    assert (await settled_count(registry, early))[1] == before  # counting wrote nothing
    assert await registry.get_process("a") is not None
    report = await registry.prune_terminal_processes(early)
    assert (report.pruned_processes, report.pruned_events) == (2, 3)
    after, end = await settled_count(registry, NEVER)
    assert after == ProcessPruneCount(processes=1, events=1, up_to_change_seq=end)
    assert (await registry.count_prunable_processes(late)).processes == 1


async def test_the_cutoff_is_strict_and_running_rows_are_never_counted(registry, clock):
    await registry.register_process(ext("live"))
    await registry.register_process(ext("p"))
    done = await finish(registry, "p")

    assert (await registry.count_prunable_processes(done.updated_at_ms)).processes == 0
    largest, _ = await settled_count(registry, NEVER)  # (trails a moment on PostgreSQL)
    assert (largest.processes, largest.events) == (1, 1)


async def test_a_prune_bounded_by_the_count_spares_rows_that_ended_after_it(registry, clock):
    await three_ended_one_running(registry, clock)
    count = await registry.count_prunable_processes(NEVER)
    assert count.processes == 3
    clock.advance(1_000)
    await finish(registry, "live")  # ends after the count: not what the operator confirmed

    report = await registry.prune_terminal_processes(NEVER, up_to_change_seq=count.up_to_change_seq)

    assert (report.pruned_processes, report.pruned_events) == (3, 4)
    assert await registry.get_process("live") is not None


def test_the_sqlite_count_seeks_the_status_and_update_index(tmp_path):
    from lashtui.registry.sqlite.schema import DDL

    conn = sqlite3.connect(tmp_path / "plan.db")
    for statement in DDL:
        conn.execute(statement)
    plan = " ".join(
        row[3]
        for row in conn.execute(
            f"EXPLAIN QUERY PLAN SELECT count(*) FROM processes p JOIN process_events e "
            f"ON e.process_id = p.process_id WHERE {DOOMED}",
            [NEVER],
        )
    )
    assert "COVERING INDEX processes_status_updated_idx (status=? AND updated_at_ms<?)" in plan
    assert "SCAN" not in plan


async def test_a_count_while_a_writer_is_mid_transaction_is_what_the_prune_deletes(
    registry, registry_target, clock
):
    """On PostgreSQL the change position stops below a write transaction still open (one
    that began before later writers committed: its saves will land below theirs). Rows
    ended after it began are committed but above the position: the count must leave them
    out, as the prune bounded by its position spares them, and count them once it ends."""
    if not registry_target.startswith("postgresql://"):
        pytest.skip("SQLite's position is its clock row: every committed row is below it")
    import psycopg

    from lashtui.registry.postgres.schema import WRITER_LOCK_CLASS

    slow = psycopg.connect(registry_target)  # not autocommit: its transaction stays open
    try:  # a writer of this registry, as the store begins one: the lock, then an id
        slow.execute(
            f"SELECT pg_advisory_xact_lock_shared({WRITER_LOCK_CLASS}, hashtext(current_schema()))"
        )
        slow.execute("SELECT pg_current_xact_id()")
        await three_ended_one_running(registry, clock)
        count = await registry.count_prunable_processes(NEVER)
        report = await registry.prune_terminal_processes(
            NEVER, up_to_change_seq=count.up_to_change_seq
        )
        assert (report.pruned_processes, report.pruned_events) == (count.processes, count.events)
        assert count.processes == 0  # all three ended after the slow writer began
    finally:
        slow.close()
    for _ in range(100):  # (the suite's other processes' transactions may hold it a moment)
        count = await registry.count_prunable_processes(NEVER)
        if count.processes:
            break
        await asyncio.sleep(0.05)
    assert (count.processes, count.events) == (3, 4)
    report = await registry.prune_terminal_processes(NEVER, up_to_change_seq=count.up_to_change_seq)
    assert (report.pruned_processes, report.pruned_events) == (3, 4)
