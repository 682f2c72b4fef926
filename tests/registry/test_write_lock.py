"""A SQLite handle's use of the file's one write lock (lashtui/registry/sqlite/write_lock.py):
each write's hold is counted with how long it lasted, a try another connection's hold
refused is counted and tried again, and nothing else counts."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.registry.sqlite.write_lock import WriteLockUse
from tests.builders import ext
from tests.worker.support import GUARD_S


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteProcessRegistry]:
    registry = await SqliteProcessRegistry.open(str(tmp_path / "r.db"))
    yield registry
    await registry.close()


async def test_each_write_counts_one_hold_and_a_read_none(store: SqliteProcessRegistry) -> None:
    before = store.write_lock_use()
    await store.register_process(ext("p1"))  # a short write: a group of one
    await asyncio.gather(*(store.register_process(ext(f"g{n}")) for n in range(5)))  # one group
    middle = store.write_lock_use()
    assert middle.holds == before.holds + 2
    assert middle.held_s > before.held_s
    assert middle.refused == before.refused == 0

    await store.list_processes()
    await store.get_process("p1")
    assert store.write_lock_use() == middle


async def test_the_hold_lasts_from_begin_to_commit(store: SqliteProcessRegistry) -> None:
    before = store.write_lock_use()

    def slow(conn: sqlite3.Connection) -> None:
        conn.execute("UPDATE process_change_clock SET current_seq = current_seq")
        time.sleep(0.05)  # on the writer's thread, inside BEGIN IMMEDIATE ... COMMIT

    await store._file.write(slow)
    after = store.write_lock_use()
    assert after.holds == before.holds + 1
    assert after.held_s - before.held_s >= 0.05


async def test_a_try_refused_by_another_connection_is_counted_and_tried_again(
    store: SqliteProcessRegistry,
) -> None:
    """Another connection (here the stdlib's, as another process would) holds the lock: the
    handle's write is refused, counted, and commits once the lock is let go."""
    other = sqlite3.connect(store.path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        write = asyncio.create_task(store.register_process(ext("waited")))
        async with asyncio.timeout(GUARD_S):
            while store.write_lock_use().refused == 0:  # noqa: ASYNC110 (a counter, no event)
                await asyncio.sleep(0.005)
        assert not write.done()
        holds = store.write_lock_use().holds
        other.execute("COMMIT")
        async with asyncio.timeout(GUARD_S):
            record = await write
    finally:
        other.close()
    assert record.id == "waited"
    assert await store.get_process("waited") is not None
    use = store.write_lock_use()
    assert use.holds == holds + 1
    assert use.refused >= 1


async def test_a_read_only_handle_never_holds_it(tmp_path: Path) -> None:
    path = str(tmp_path / "r.db")
    writer = await SqliteProcessRegistry.open(path)
    await writer.register_process(ext("p1"))
    await writer.close()
    reader = await SqliteProcessRegistry.open(path, read_only=True)
    try:
        await reader.list_processes()
        assert reader.write_lock_use() == WriteLockUse()
    finally:
        await reader.close()
