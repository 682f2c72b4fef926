"""`change_cursor` and `work_items_changed_since`: what a worker woken by a commit reads.

On each store: the cursor read before a commit lies before it; the feed after that cursor
gives the live rows that changed (as the full worklist gives them, lease included), in
change order, skips rows that ended but moves past them, pages by `limit`, and gives
nothing (and the same cursor) once read to the end.

On PostgreSQL the cursor and each feed read stop below the writing transactions still in
flight (postgres/change_feed.py `CHANGE_BOUND_DDL`), and a read in a repeatable-read snapshot
also below any transaction on the server that committed while it began, which on the
shared test server may be another test's: such a read gives a prefix of the answer, and
its rows again later (a reader sees a change late rather than miss one). So the cursor here
is read until it covers every row saved (`caught_up`), and a feed read asserted on is one
that has caught up too (`settled`): the exact answer, which is what is asserted."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest

from lashtui.clock import ManualClock
from lashtui.errors import InvalidRequest
from lashtui.model import LeaseOwnerIdentity, ProcessWorkItem, SuccessOutput
from lashtui.registry import ProcessRegistry
from lashtui.registry.sql.stored_text import READ_CHARS, as_read
from tests.builders import ext, local, ob, own, rr
from tests.raw import raw_connection
from tests.registry.rows import caught_up

GUARD_S = 10.0  # a guard only: a transaction in flight elsewhere ends in milliseconds
T = TypeVar("T")


async def settled(read: Callable[[], Awaitable[tuple[T, int]]], head: int) -> tuple[T, int]:
    """`read()`'s answer (what it gives, the cursor it ends at) once it ends at `head` and
    two reads in a row agree: a read cut short by the bound ends before `head`, or (paged)
    splits a page, and the next one does not (see the docstring)."""
    last: tuple[T, int] | None = None
    async with asyncio.timeout(GUARD_S):
        while True:
            answer = await read()
            if answer[1] == head and answer == last:
                return answer
            last = answer
            await asyncio.sleep(0 if answer[1] == head else 0.01)


def feed(
    registry: ProcessRegistry,
    cursor: int,
    limit: int,
    claimant: LeaseOwnerIdentity | None = None,
) -> Callable[[], Awaitable[tuple[list[ProcessWorkItem], int]]]:
    return lambda: registry.work_items_changed_since(cursor, limit, claimant)


def read_to_end(
    registry: ProcessRegistry, cursor: int, limit: int, claimant: LeaseOwnerIdentity | None = None
) -> Callable[[], Awaitable[tuple[list[list[str]], int]]]:
    """Every page's live ids, until the cursor stops moving."""

    async def read() -> tuple[list[list[str]], int]:
        pages: list[list[str]] = []
        at = cursor
        while True:
            items, moved = await registry.work_items_changed_since(at, limit, claimant)
            if moved == at:
                assert items == []
                return pages, at
            pages.append([item.process_id for item in items])
            at = moved

    return read


async def test_the_feed_gives_the_live_rows_changed_after_the_cursor(
    registry: ProcessRegistry, registry_target: str
) -> None:
    await registry.register_process(rr("before"))
    cursor = await caught_up(registry, registry_target)
    assert await registry.work_items_changed_since(cursor, 10) == ([], cursor)

    await registry.register_process(rr("new"))
    await registry.register_process(ext("ended"))
    await registry.complete_process("ended", SuccessOutput(value=1))
    await registry.register_process(ob("held"))
    lease = (await registry.claim_process_lease("held", own("x"), 60_000)).acquired()

    head = await caught_up(registry, registry_target)
    items, moved = await settled(feed(registry, cursor, 10), head)
    assert [item.process_id for item in items] == ["new", "held"]  # change order; ended skipped
    full = {item.process_id: item for item in await registry.list_work_items()}
    assert items == [full["new"], full["held"]]  # the worklist's own items, lease included
    assert isinstance(items[1], ProcessWorkItem) and items[1].lease == lease
    assert await registry.work_items_changed_since(moved, 10) == ([], moved)


async def test_the_feed_pages_by_limit_and_moves_past_ended_rows(
    registry: ProcessRegistry, registry_target: str
) -> None:
    cursor = await caught_up(registry, registry_target)
    for n in range(5):
        await registry.register_process(rr(f"r{n}"))
    await registry.register_process(ext("gone"))
    await registry.complete_process("gone", SuccessOutput(value=1))
    await registry.register_process(rr("last"))

    head = await caught_up(registry, registry_target)
    pages, _ = await settled(read_to_end(registry, cursor, 2), head)
    assert pages == [["r0", "r1"], ["r2", "r3"], ["r4"], ["last"]]  # "gone" filled a page slot


async def test_a_page_limit_below_one_is_refused(registry: ProcessRegistry) -> None:
    with pytest.raises(InvalidRequest, match="a change feed page limit must be >= 1, got 0"):
        await registry.work_items_changed_since(0, 0)


async def test_a_claimant_is_not_given_the_rows_it_could_only_be_refused(
    registry: ProcessRegistry, registry_target: str, clock: ManualClock
) -> None:
    # A woken worker passes itself: rows whose live lease is held by an owner it cannot
    # prove dead are left out (most of a fleet's commits: each other's claims), the rest
    # come as the worklist gives them, and the cursor moves past all of them.
    me = local("me")  # this pid, alive
    cursor = await caught_up(registry, registry_target)
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

    head = await caught_up(registry, registry_target)
    items, moved = await settled(feed(registry, cursor, 100, me), head)
    assert [item.process_id for item in items] == ["free", "held-dead", "lapsed"]
    full = {item.process_id: item for item in await registry.list_work_items()}
    assert items == [full["free"], full["held-dead"], full["lapsed"]]
    # Without a claimant, every live row as before; the claimant's view agrees with
    # `ProcessLease.bars` row by row.
    every, same = await settled(feed(registry, cursor, 100), head)
    assert [item.process_id for item in every] == ["free", *holders] and same == moved
    now = clock.now_ms()
    for item in every:
        assert (item in items) == (item.lease is None or not item.lease.bars(me, now))
    # Paged, the cursor still moves past the rows left out.
    pages, end = await settled(read_to_end(registry, cursor, 2, me), head)
    assert pages == [["free"], ["held-dead"], ["lapsed"], []] and end == moved


async def test_a_claimant_is_given_a_row_whose_id_is_not_read_whole_as_the_drive_is(
    registry: ProcessRegistry, registry_target: str, clock: ManualClock
) -> None:
    """A row whose id another program made longer than any reader takes (long_id.py) is an
    undecodable item to the worker's drive (skipped, counted and named, never claimed). The
    feed a woken worker reads left it out, so the worker said nothing of it until its next
    full drive: now it gives the drive's own item, in the feed's order."""
    cursor = await caught_up(registry, registry_target)
    await registry.register_process(rr("first"))
    await registry.register_process(rr("long"))
    await registry.register_process(rr("last"))
    long_id = "L" * (READ_CHARS + 50)
    with raw_connection(registry_target) as conn:
        conn.execute("UPDATE processes SET process_id = ? WHERE process_id = 'long'", (long_id,))
    head = await caught_up(registry, registry_target)
    items, _ = await settled(feed(registry, cursor, 100, local("me")), head)
    drive = {item.process_id: item for item in await registry.list_drive_work_items(
        clock.now_ms(), local("me"))}  # fmt: skip
    cut = as_read(long_id)
    assert [item.process_id for item in items] == ["first", cut, "last"]
    assert items[1] == drive[cut] and items[1].undecodable
