"""`change_cursor` and `work_items_changed_since`: what a worker woken by a commit reads.

On each store: the cursor read before a commit lies before it; the feed after that cursor
gives the live rows that changed (as the full worklist gives them, lease included), in
change order, skips rows that ended but moves past them, pages by `limit`, and gives
nothing (and the same cursor) once read to the end."""

from __future__ import annotations

import pytest

from lashtui.clock import ManualClock
from lashtui.errors import InvalidRequest
from lashtui.model import ProcessWorkItem, SuccessOutput
from lashtui.registry import ProcessRegistry
from tests.builders import ext, local, ob, own, rr


async def read_to_end(
    registry: ProcessRegistry, cursor: int, limit: int
) -> tuple[list[list[str]], int]:
    """Every page's live ids, until the cursor stops moving."""
    pages: list[list[str]] = []
    while True:
        items, moved = await registry.work_items_changed_since(cursor, limit)
        if moved == cursor:
            assert items == []
            return pages, cursor
        pages.append([item.process_id for item in items])
        cursor = moved


async def test_the_feed_gives_the_live_rows_changed_after_the_cursor(
    registry: ProcessRegistry,
) -> None:
    await registry.register_process(rr("before"))
    cursor = await registry.change_cursor()
    assert await registry.work_items_changed_since(cursor, 10) == ([], cursor)

    await registry.register_process(rr("new"))
    await registry.register_process(ext("ended"))
    await registry.complete_process("ended", SuccessOutput(value=1))
    await registry.register_process(ob("held"))
    lease = (await registry.claim_process_lease("held", own("x"), 60_000)).acquired()

    items, moved = await registry.work_items_changed_since(cursor, 10)
    assert [item.process_id for item in items] == ["new", "held"]  # change order; ended skipped
    assert moved == await registry.change_cursor()
    full = {item.process_id: item for item in await registry.list_work_items()}
    assert items == [full["new"], full["held"]]  # the worklist's own items, lease included
    assert isinstance(items[1], ProcessWorkItem) and items[1].lease == lease
    assert await registry.work_items_changed_since(moved, 10) == ([], moved)


async def test_the_feed_pages_by_limit_and_moves_past_ended_rows(
    registry: ProcessRegistry,
) -> None:
    cursor = await registry.change_cursor()
    for n in range(5):
        await registry.register_process(rr(f"r{n}"))
    await registry.register_process(ext("gone"))
    await registry.complete_process("gone", SuccessOutput(value=1))
    await registry.register_process(rr("last"))

    pages, end = await read_to_end(registry, cursor, 2)
    assert pages == [["r0", "r1"], ["r2", "r3"], ["r4"], ["last"]]  # "gone" filled a page slot
    assert end == await registry.change_cursor()


async def test_a_page_limit_below_one_is_refused(registry: ProcessRegistry) -> None:
    with pytest.raises(InvalidRequest, match="a change feed page limit must be >= 1, got 0"):
        await registry.work_items_changed_since(0, 0)


async def test_a_claimant_is_not_given_the_rows_it_could_only_be_refused(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    # A woken worker passes itself: rows whose live lease is held by an owner it cannot
    # prove dead are left out (most of a fleet's commits: each other's claims), the rest
    # come as the worklist gives them, and the cursor moves past all of them.
    me = local("me")  # this pid, alive
    cursor = await registry.change_cursor()
    holders = {
        "held-live": (local("other"), 60_000),  # same host, alive: refused
        "held-dead": (local("gone", start="not-its-start"), 60_000),  # provably dead
        "held-elsewhere": (local("far", host="host-b"), 60_000),  # cannot be proved
        "held-opaque": (own("x"), 60_000),  # cannot be proved
        "lapsed": (own("y"), 0),  # expired at once
    }
    await registry.register_process(rr("free"))
    for pid, (holder, ttl) in holders.items():
        await registry.register_process(rr(pid))
        assert (await registry.claim_process_lease(pid, holder, ttl)).acquired() is not None
    await registry.register_process(ext("ended"))
    await registry.complete_process("ended", SuccessOutput(value=1))

    items, moved = await registry.work_items_changed_since(cursor, 100, me)
    assert [item.process_id for item in items] == ["free", "held-dead", "lapsed"]
    assert moved == await registry.change_cursor()
    full = {item.process_id: item for item in await registry.list_work_items()}
    assert items == [full["free"], full["held-dead"], full["lapsed"]]
    # Without a claimant, every live row as before; the claimant's view agrees with
    # `ProcessLease.bars` row by row.
    every, same = await registry.work_items_changed_since(cursor, 100)
    assert [item.process_id for item in every] == ["free", *holders] and same == moved
    now = clock.now_ms()
    for item in every:
        assert (item in items) == (item.lease is None or not item.lease.bars(me, now))
    # Paged, the cursor still moves past the rows left out.
    pages: list[list[str]] = []
    while (page := await registry.work_items_changed_since(cursor, 2, me))[1] != cursor:
        pages.append([item.process_id for item in page[0]])
        cursor = page[1]
    assert pages == [["free"], ["held-dead"], ["lapsed"], []] and cursor == moved
