"""The SQLite file itself (semantics §14): creation, refusal, read-only, locking, decode
failures. Anything refused is left byte-for-byte as it was."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import sqlite3
import stat
from pathlib import Path

import pytest

from lashtui.clock import ManualClock
from lashtui.errors import (
    InvalidRequest,
    NotARegistry,
    StorageFull,
    StoreError,
    UnsupportedSchema,
)
from lashtui.model import ProcessEventAppendRequest
from lashtui.registry import open_registry
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.registry.sqlite.schema import SCHEMA_VERSION
from tests.builders import ext, own
from tests.filesystem import fill, small_disk


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_sqlite(path: Path, *, user_version: int, table: bool = True) -> None:
    conn = sqlite3.connect(path)
    if table:
        conn.execute("CREATE TABLE notes (body TEXT)")
        conn.execute("INSERT INTO notes VALUES ('keep me')")
    conn.execute(f"PRAGMA user_version = {user_version}")
    conn.commit()
    conn.close()


async def test_a_new_registry_is_private_wal_and_stamped(tmp_path: Path) -> None:
    path = tmp_path / "fresh.db"
    async with open_registry(str(path)) as registry:
        await registry.register_process(ext("p1"))
        for name in ("fresh.db", "fresh.db-wal", "fresh.db-shm"):
            assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    conn.close()
    assert {
        "processes",
        "process_events",
        "process_wake_acks",
        "process_handle_grants",
        "process_leases",
        "process_change_clock",
        "process_execution_envs",
    } <= tables


async def test_reopening_keeps_the_data(tmp_path: Path) -> None:
    path = str(tmp_path / "r.db")
    async with open_registry(path) as registry:
        await registry.register_process(ext("p1"))
    async with open_registry(path) as registry:
        assert (await registry.get_process("p1")) is not None


async def test_a_wrong_version_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    make_sqlite(path, user_version=9)
    before = digest(path)
    message = (
        f"Unsupported lash process registry schema: this binary supports schema version "
        f"{SCHEMA_VERSION}, but the database reports version 9. There is no migration chain — "
        "delete the process registry database and start fresh."
    )
    for read_only in (False, True):
        with pytest.raises(UnsupportedSchema, match=re.escape(message)):
            async with open_registry(str(path), read_only=read_only):
                pass
    assert digest(path) == before
    assert not (tmp_path / "old.db-wal").exists()


async def test_a_file_that_is_not_sqlite_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("these are my notes, not a database\n" * 20)
    before = digest(path)
    with pytest.raises(NotARegistry, match=re.escape(f"not a lash process registry: {path}")):
        async with open_registry(str(path)):
            pass
    assert digest(path) == before


async def test_another_applications_sqlite_file_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    make_sqlite(path, user_version=0)
    before = digest(path)
    with pytest.raises(NotARegistry, match=re.escape(f"not a lash process registry: {path}")):
        async with open_registry(str(path)):
            pass
    assert digest(path) == before


async def test_a_missing_directory_is_named(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "r.db"
    with pytest.raises(
        StoreError, match=re.escape(f"directory `{tmp_path / 'nowhere'}` does not exist")
    ):
        async with open_registry(str(path)):
            pass
    assert not (tmp_path / "nowhere").exists()


async def test_a_directory_is_not_a_registry(tmp_path: Path) -> None:
    with pytest.raises(NotARegistry, match="is a directory"):
        async with open_registry(str(tmp_path)):
            pass


async def test_read_only_opens_never_write(tmp_path: Path) -> None:
    path = tmp_path / "ro.db"
    async with open_registry(str(path)) as registry:
        await registry.register_process(ext("p1"))
    before = digest(path)
    async with open_registry(str(path), read_only=True) as registry:
        assert (await registry.get_process("p1")) is not None
        assert len(await registry.list_processes()) == 1
        with pytest.raises(StoreError, match="is open read-only"):
            await registry.register_process(ext("p2"))
        with pytest.raises(StoreError, match="is open read-only"):
            await registry.append_event("p1", ProcessEventAppendRequest.cancel_requested("p1", "x"))
    assert digest(path) == before


async def test_read_only_refuses_a_missing_or_empty_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    with pytest.raises(StoreError, match=re.escape(f"no process registry at `{missing}`")):
        async with open_registry(str(missing), read_only=True):
            pass
    assert not missing.exists()
    empty = tmp_path / "empty.db"
    empty.touch()
    with pytest.raises(NotARegistry, match="is empty"):
        async with open_registry(str(empty), read_only=True):
            pass


async def test_a_locked_database_fails_in_one_sentence_and_writes_nothing(
    tmp_path: Path, clock: ManualClock
) -> None:
    path = tmp_path / "locked.db"
    registry = await SqliteProcessRegistry.open(str(path), clock=clock, busy_timeout_ms=100)
    try:
        await registry.register_process(ext("p1"))
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(
                StoreError, match=r"is locked by another process \(still busy after 100 ms\)"
            ):
                await registry.register_process(ext("p2"))
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert await registry.get_process("p2") is None
        await registry.register_process(ext("p2"))  # and it works once the lock is gone
    finally:
        await registry.close()


async def test_a_corrupt_row_is_read_as_undecodable_and_written_as_a_store_error(
    tmp_path: Path, clock: ManualClock
) -> None:
    """Reads show it marked (issue 16: one bad row never locks a reader out, see
    test_undecodable.py); a write refuses it in one sentence, never a traceback."""
    path = tmp_path / "corrupt.db"
    async with open_registry(str(path), clock=clock) as registry:
        await registry.register_process(ext("p1"))
        conn = sqlite3.connect(path)
        conn.execute("UPDATE processes SET record_json = '{\"id\": 1}'")
        conn.commit()
        conn.close()
        found = await registry.get_process("p1")
        assert found is not None and found.undecodable
        assert [r.id for r in await registry.list_processes()] == ["p1"]
        with pytest.raises(StoreError, match=r"^process `p1` could not be decoded \("):
            await registry.register_process(ext("p1"))


async def test_memory_registries_work_for_tests() -> None:
    async with open_registry(":memory:") as registry:
        await registry.register_process(ext("p1"))
        claim = await registry.claim_process_lease("p1", own("a"), 1000)
        assert claim.acquired() is not None


async def test_a_number_beyond_64_bits_is_refused_in_one_sentence(tmp_path: Path) -> None:
    async with open_registry(str(tmp_path / "big.db")) as registry:
        await registry.register_process(ext("p1"))
        with pytest.raises(InvalidRequest, match="too large for the registry"):
            await registry.prune_terminal_processes(2**64)
        assert (await registry.prune_terminal_processes(2**63 - 1)).pruned_processes == 0


async def test_reopening_an_existing_registry_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "quiet.db"
    async with open_registry(str(path)) as registry:
        await registry.register_process(ext("p1"))
    before = digest(path)
    async with open_registry(str(path)) as registry:
        assert await registry.get_process("p1") is not None
    assert digest(path) == before


async def test_create_false_refuses_a_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "typo.db"
    with pytest.raises(StoreError, match=re.escape(f"no process registry at `{missing}`")):
        async with open_registry(str(missing), create=False):
            pass
    assert not missing.exists()


# (read_only, create)
OPEN_PATHS = [(True, False), (False, False), (False, True)]
OPEN_IDS = ["read-only", "read-write", "creating"]


@pytest.mark.parametrize(("read_only", "create"), OPEN_PATHS, ids=OPEN_IDS)
async def test_a_foreign_file_stamped_with_our_version_is_refused_before_any_byte_changes(
    tmp_path: Path, read_only: bool, create: bool
) -> None:
    """Its journal mode is rollback: switching it to WAL first would rewrite bytes 18-19."""
    path = tmp_path / "app.db"
    make_sqlite(path, user_version=SCHEMA_VERSION)
    before = digest(path)
    with pytest.raises(NotARegistry, match="has no process registry tables"):
        async with open_registry(str(path), read_only=read_only, create=create):
            pass
    assert digest(path) == before
    assert sorted(os.listdir(tmp_path)) == ["app.db"]


@pytest.mark.parametrize(("read_only", "create"), OPEN_PATHS[:2], ids=OPEN_IDS[:2])
async def test_an_empty_file_is_refused_unless_creating(
    tmp_path: Path, read_only: bool, create: bool
) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    with pytest.raises(NotARegistry, match=re.escape(f"{empty} is empty")):
        async with open_registry(str(empty), read_only=read_only, create=create):
            pass
    assert empty.read_bytes() == b""
    assert sorted(os.listdir(tmp_path)) == ["empty.db"]


@pytest.mark.parametrize(("read_only", "create"), OPEN_PATHS, ids=OPEN_IDS)
async def test_a_fifo_is_refused_without_opening_it(
    tmp_path: Path, read_only: bool, create: bool
) -> None:
    fifo = tmp_path / "pipe.db"
    os.mkfifo(fifo)
    async with asyncio.timeout(10):  # opening a FIFO would block until a writer came
        with pytest.raises(NotARegistry, match=re.escape(f"{fifo} is a FIFO (named pipe)")):
            async with open_registry(str(fifo), read_only=read_only, create=create):
                pass


async def test_a_full_disk_fails_the_write_alone_and_the_handle_goes_on(tmp_path: Path) -> None:
    """The transaction that hits the full disk rolls back whole with one sentence; the same
    handle still reads everything committed before, and writes again once there is room."""
    with small_disk(tmp_path) as disk:
        db = disk / "r.db"
        async with open_registry(str(db)) as registry:
            await registry.register_process(ext("p1"))
            filler = fill(disk)
            # The WAL has room for a few more small commits: write until one does not fit.
            committed = ["p1"]
            with pytest.raises(StorageFull, match=re.escape(f"`{db}` is full")):
                for n in range(10_000):
                    await registry.register_process(ext(f"q{n:05d}"))
                    committed.append(f"q{n:05d}")
            # A group of writes committed together fails together, each with the sentence.
            group = [registry.register_process(ext(f"g{n}")) for n in range(5)]
            outcomes = await asyncio.gather(*group, return_exceptions=True)
            assert all(isinstance(o, StorageFull) for o in outcomes), outcomes
            assert [p.id for p in await registry.list_processes()] == committed
            filler.unlink()
            await registry.register_process(ext("z"))
            assert [p.id for p in await registry.list_processes()] == [*committed, "z"]
        conn = sqlite3.connect(db)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.close()
