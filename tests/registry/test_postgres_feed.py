"""The PostgreSQL change feed without a write lock (postgres/change_feed.py): writers commit
concurrently and out of the order of their sequences, and a follower must still see every
row at its latest save, never moving its cursor past a save that commits later.

The out-of-order test is run twice: as the store runs it, and with the feed's bound taken
away (a reader that trusts the sequences alone, as a plain sequence-numbered feed would),
where it must miss the late commit: the scenario is one that catches that mistake."""

from __future__ import annotations

import asyncio
import random
import threading

import pytest

from lashtui.model import ProcessEventAppendRequest, ProcessRecord
from lashtui.registry import open_registry
from lashtui.registry.postgres import PostgresProcessRegistry
from lashtui.registry.sql.dialect import Dialect, Tx
from lashtui.registry.sql.json_edit import save_changes
from lashtui.registry.sql.row import require_record
from tests.builders import ext


def _save_and_hold(
    conn: Tx, process_ids: list[str], saved: threading.Event, release: threading.Event
) -> None:
    """Save each row, then keep the transaction open until `release` (on a pool thread)."""
    for process_id in process_ids:
        record = require_record(conn, process_id)
        save_changes(conn, record, record.updated_at_ms + 1)
    saved.set()
    if not release.wait(30):
        raise TimeoutError("never released")


def note(reason: str) -> ProcessEventAppendRequest:
    return ProcessEventAppendRequest.new("process.cancel_requested", {"reason": reason}, reason)


class Follower:
    """Reads the feed to its end each time it is asked, keeping each row's latest record."""

    def __init__(self, registry: PostgresProcessRegistry, cursor: int) -> None:
        self.registry = registry
        self.cursor = cursor
        self.seen: dict[str, ProcessRecord] = {}

    async def read(self) -> None:
        while True:
            records, cursor = await self.registry.processes_changed_since(self.cursor, 50)
            for record in records:
                self.seen[record.id] = record
            if cursor == self.cursor:
                return
            self.cursor = cursor


async def _out_of_order(url: str) -> tuple[Follower, dict[str, ProcessRecord]]:
    """A holds a save open while B, which began after it (a larger transaction id, so
    larger sequences), saves and commits; the follower reads; then A commits and the
    follower reads again. Returns the follower and the rows as they end."""
    async with open_registry(url) as setup:
        for process_id in ("a", "b"):
            await setup.register_process(ext(process_id))
    handles = [await PostgresProcessRegistry.open(url) for _ in range(3)]
    holder, other, reader = handles
    try:
        follower = Follower(reader, await reader.change_cursor())
        saved, release = threading.Event(), threading.Event()
        held = asyncio.create_task(holder._db.write(_save_and_hold, ["a"], saved, release))
        assert await asyncio.to_thread(saved.wait, 10)
        await other.append_event("b", note("b, committed while a is held"))
        await follower.read()
        release.set()
        await held
        await follower.read()
        final = {pid: await reader.get_process(pid) for pid in ("a", "b")}
        return follower, {pid: record for pid, record in final.items() if record}
    finally:
        release.set()
        for handle in handles:
            await handle.close()


async def test_a_save_that_commits_after_a_later_one_is_not_passed_over(
    postgres_schema: str,
) -> None:
    follower, final = await _out_of_order(postgres_schema)
    assert follower.seen == final


async def test_without_the_bound_the_same_reader_misses_the_late_commit(
    postgres_schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check on the test above: sequences alone, in a feed that did not wait for the
    writers still open below them, pass over A's save for good."""
    monkeypatch.setattr(Dialect, "feed_bound", lambda self, column: "")
    follower, final = await _out_of_order(postgres_schema)
    assert follower.seen["b"] == final["b"]
    assert follower.seen.get("a") != final["a"]


async def test_eight_writers_with_long_transactions_and_a_follower_miss_nothing(
    postgres_schema: str,
) -> None:
    """Eight handles write at once: registrations, appends to rows another writer also
    appends to (so writes to one row queue on its lock), and transactions held open for a
    while over saves of several rows, overlapping each other and the short ones. A follower
    reads the feed all along; at the end it must hold every row exactly as it ended."""
    rows = [f"r{n}" for n in range(24)]
    async with open_registry(postgres_schema) as setup:
        for process_id in rows:
            await setup.register_process(ext(process_id))
    handles = [await PostgresProcessRegistry.open(postgres_schema) for _ in range(9)]
    reader, writers = handles[0], handles[1:]
    done = asyncio.Event()
    follower = Follower(reader, 0)
    release_all = threading.Event()

    async def short_writer(n: int, handle: PostgresProcessRegistry) -> None:
        chance = random.Random(n)
        for i in range(30):
            if i % 3 == 0:
                await handle.register_process(ext(f"w{n}-{i}"))
            else:
                await handle.append_event(chance.choice(rows), note(f"{n}-{i}"))

    async def long_writer(n: int, handle: PostgresProcessRegistry) -> None:
        chance = random.Random(100 + n)
        for _ in range(6):
            held = sorted(chance.sample(rows, 3))
            saved, release = threading.Event(), threading.Event()
            task = asyncio.create_task(handle._db.write(_save_and_hold, held, saved, release))
            await asyncio.to_thread(saved.wait, 10)
            await asyncio.sleep(chance.uniform(0.02, 0.15))  # others commit meanwhile
            release.set()
            await task

    async def follow() -> None:
        while True:
            finished = done.is_set()
            await follower.read()
            if finished:
                return
            await asyncio.sleep(0.005)

    try:
        following = asyncio.create_task(follow())
        await asyncio.gather(
            *(short_writer(n, handle) for n, handle in enumerate(writers[:5])),
            *(long_writer(n, handle) for n, handle in enumerate(writers[5:])),
        )
        done.set()
        await following
        final = {record.id: record for record in await reader.list_processes()}
    finally:
        release_all.set()
        for handle in handles:
            await handle.close()
    assert len(final) == 24 + 5 * 10
    assert follower.seen == final
