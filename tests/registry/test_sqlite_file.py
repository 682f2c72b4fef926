"""The SQLite file itself (semantics §14): creation, refusal, read-only, locking, decode
failures. Anything refused is left byte-for-byte as it was."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import sqlite3
import stat
import sys
from pathlib import Path

import pytest

from lashtui.clock import ManualClock
from lashtui.errors import (
    InvalidRequest,
    NotARegistry,
    RegistryMissing,
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


async def test_a_path_object_opens_the_file_it_names(tmp_path: Path) -> None:
    # As `open()` takes one: a pathlib.Path names the same file as its text.
    async with open_registry(tmp_path / "r.db") as registry:
        await registry.register_process(ext("p1"))
    async with open_registry(str(tmp_path / "r.db")) as registry:
        assert (await registry.get_process("p1")) is not None


@pytest.mark.parametrize("target", [5, None, b"r.db", ["r.db"]])
async def test_a_target_that_is_no_path_is_refused_naming_it(target: object) -> None:
    with pytest.raises(InvalidRequest, match=re.escape(f"`{target!r}`")) as refused:
        async with open_registry(target):  # type: ignore[arg-type]
            pass
    assert str(refused.value).startswith(
        f"a registry target is a file path or a postgresql:// URL, got {type(target).__name__}"
    )


async def test_a_wrong_version_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    make_sqlite(path, user_version=9)
    before = digest(path)
    # One sentence naming the version and those lashtui reads; never advice to delete the
    # file (it may be a lash deployment's only history: registry/lash/detect.py).
    message = (
        "Unsupported lash process registry schema: this binary supports schema version "
        f"{SCHEMA_VERSION}, but the database reports version 9 — lashtui also reads lash's "
        f"versions 6 and 21 to 24, read-only; `{path}` was left untouched."
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


async def test_a_write_waiting_for_another_process_lock_does_not_hold_up_reads(
    tmp_path: Path, clock: ManualClock
) -> None:
    # A short write that finds the write lock held waits for it on the loop, between turns
    # (sqlite/short_write.py `_commit_group`), not queued on the writer's thread, where every
    # read of the handle waited behind it until the other process let go.
    path = tmp_path / "held.db"
    registry = await SqliteProcessRegistry.open(str(path), clock=clock, busy_timeout_ms=5000)
    try:
        await registry.register_process(ext("p1"))
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            write = asyncio.create_task(registry.register_process(ext("p2")))
            await asyncio.sleep(0.05)
            assert not write.done()  # waiting for the lock
            async with asyncio.timeout(0.5):  # the lock is held for seconds yet
                found = await registry.get_process("p1")
            assert found is not None and not write.done()
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        async with asyncio.timeout(2):
            assert (await write).id == "p2"  # and the write commits once the lock is free
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


@pytest.mark.parametrize(("read_only", "create"), [(True, True), (False, False)])
async def test_a_missing_file_is_named_to_python_without_the_command_lines_advice(
    tmp_path: Path, read_only: bool, create: bool
) -> None:
    # A Python caller has no --db, no $LASHTUI_DB and runs no `lashtui start`: the
    # sentence names the path and what is wrong, and the class says which refusal it is.
    missing = tmp_path / "typo.db"
    with pytest.raises(RegistryMissing) as refused:
        async with open_registry(missing, read_only=read_only, create=create):
            pass
    assert str(refused.value) == f"no process registry at `{missing}`: no such file"
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


# --- POSIX locks: opening a handle must not drop the ones this process already holds -------


def held_locks(path: Path) -> list[tuple[str, str, str]]:
    """The fcntl locks this OS process holds on `path` (kind, first byte, last byte), as
    Linux lists them in /proc/locks. Closing any descriptor of a file drops them all."""
    info = path.stat()
    device = f"{os.major(info.st_dev):02x}:{os.minor(info.st_dev):02x}:{info.st_ino}"
    held = []
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        if "->" in fields or fields[1] != "POSIX":  # a waiter, or a flock/OFD lock
            continue
        kind, pid, where, first, last = fields[3:8]
        if int(pid) == os.getpid() and where == device:
            held.append((kind, first, last))
    return sorted(held)


# SQLite's shared lock on the main file (SHARED_FIRST..+SHARED_SIZE), which a WAL connection
# holds from its first read until it closes, and its "DMS" read lock on byte 128 of the -shm.
SHARED_LOCK = ("READ", str(0x40000000 + 2), str(0x40000000 + 2 + 510 - 1))
DMS_LOCK = ("READ", "128", "128")
needs_proc_locks = pytest.mark.skipif(
    not os.path.exists("/proc/locks"), reason="reads Linux's /proc/locks"
)
SECOND_OPENS = {  # read_only, create
    "read-write": (False, True),
    "read-only": (True, True),
    "create=False": (False, False),
}


@needs_proc_locks
@pytest.mark.parametrize("first", ["registry", "plain sqlite3"])
@pytest.mark.parametrize("second", SECOND_OPENS)
async def test_opening_another_handle_keeps_the_locks_this_process_holds(
    tmp_path: Path, first: str, second: str
) -> None:
    """Two handles on one file in one process (the dashboard beside the demo, a worker
    beside the facade): opening the second must leave the first's SQLite locks in place.
    A descriptor opened and closed outside SQLite would drop them all."""
    path = tmp_path / "r.db"
    async with open_registry(str(path)) as setup:
        await setup.register_process(ext("p1"))
    async with open_registry(str(path)) as registry:
        await registry.get_process("p1")
        plain = sqlite3.connect(path) if first == "plain sqlite3" else None
        if plain is not None:
            plain.execute("SELECT count(*) FROM processes").fetchone()
        held = held_locks(path)
        assert SHARED_LOCK in held
        assert DMS_LOCK in held_locks(Path(f"{path}-shm"))
        read_only, create = SECOND_OPENS[second]
        async with open_registry(str(path), read_only=read_only, create=create) as other:
            assert (await other.get_process("p1")) is not None
            assert held_locks(path) == held
        assert held_locks(path) == held
        assert DMS_LOCK in held_locks(Path(f"{path}-shm"))
        if plain is not None:
            plain.close()


OTHER_PROCESS = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
print(conn.execute("SELECT count(*) FROM processes").fetchone()[0])
conn.close()
"""


async def count_in_another_process(path: Path) -> int:
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", OTHER_PROCESS, str(path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(child.communicate(), timeout=60)
    assert child.returncode == 0, err.decode()
    return int(out)


async def test_another_process_closing_leaves_the_wal_of_an_open_handle_alone(
    tmp_path: Path,
) -> None:
    """The consequence of a dropped lock: another process closing its connection finds no
    one else holding the file, checkpoints, and deletes the -wal and -shm that this
    process's open handle still writes to; its later commits then reach no other reader."""
    path = tmp_path / "r.db"
    async with open_registry(str(path)) as registry:
        await registry.register_process(ext("p1"))
        async with open_registry(str(path), read_only=True) as other:
            assert (await other.get_process("p1")) is not None
        assert await count_in_another_process(path) == 1
        assert (tmp_path / "r.db-wal").exists()
        assert (tmp_path / "r.db-shm").exists()
        await registry.register_process(ext("p2"))
        assert await count_in_another_process(path) == 2
    assert await count_in_another_process(path) == 2


_PLAIN_OPENS: list[str] | None = None  # recording while a list, between the hook's calls
_HOOKED: list[object] = []


def _record_plain_open(event: str, args: tuple[object, ...]) -> None:
    if event == "open" and _PLAIN_OPENS is not None and isinstance(args[0], (str, Path)):
        _PLAIN_OPENS.append(os.fspath(args[0]))


@pytest.mark.parametrize("second", SECOND_OPENS)
async def test_opening_never_opens_the_files_outside_sqlite(tmp_path: Path, second: str) -> None:
    """No `open` of the registry, its -wal or its -shm by Python code (the audit hook sees
    every `open` and `os.open`; SQLite's own opens are C and unseen): creating a registry,
    and opening it again beside a handle that holds its locks."""
    global _PLAIN_OPENS
    if _record_plain_open not in _HOOKED:  # an audit hook cannot be removed: add it once
        sys.addaudithook(_record_plain_open)
        _HOOKED.append(_record_plain_open)
    path = tmp_path / "r.db"
    ours = {str(path), f"{path}-wal", f"{path}-shm"}
    _PLAIN_OPENS = []
    try:
        async with open_registry(str(path)) as registry:
            await registry.register_process(ext("p1"))
            read_only, create = SECOND_OPENS[second]
        async with open_registry(str(path), read_only=read_only, create=create) as other:
                assert (await other.get_process("p1")) is not None
        opened = [name for name in _PLAIN_OPENS if name in ours]
    finally:
        _PLAIN_OPENS = None
    assert opened == []


async def test_a_main_file_of_nuls_whose_commits_are_in_the_wal_is_left_to_sqlite(
    tmp_path: Path,
) -> None:
    """What a writer that extends the file before writing it (mmap, a chunk size) leaves for
    an instant while it checkpoints a new registry: page 1 not yet written, the commits in
    the -wal. The header check must not refuse it; SQLite reads page 1 from the -wal."""
    made, path = tmp_path / "made", tmp_path / "nuls"
    made.mkdir()
    path.mkdir()
    async with open_registry(str(made / "r.db")) as registry:
        await registry.register_process(ext("p1"))
    conn = sqlite3.connect(made / "r.db")
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    conn.execute("VACUUM")  # every page, page 1 included, into the -wal
    for name in ("r.db", "r.db-wal"):  # copied while the connection keeps the -wal
        (path / name).write_bytes((made / name).read_bytes())
    conn.close()
    (path / "r.db").write_bytes(b"\x00" * (path / "r.db").stat().st_size)
    async with open_registry(str(path / "r.db"), create=False) as registry:
        assert (await registry.get_process("p1")) is not None
