"""Short transactions run on the caller's thread (lashtui/registry/sqlite/connection.py):
they never make the event loop wait for another process's lock, the WAL they skip
checkpointing stays bounded, and the second connection leaves the file's locks alone."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lashtui.model import (
    LeaseOwnerIdentity,
    ProcessEventAppendRequest,
    ProcessStarted,
    SuccessOutput,
)
from lashtui.registry.sqlite import SqliteProcessRegistry, checkpoint, connection, short_write
from lashtui.registry.sqlite.connection import SqliteConnection
from tests.builders import ext, ob

# Holds the write lock of the file in argv[1] for argv[2] seconds, after printing "held".
HOLD_LOCK = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("held", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("COMMIT")
"""

# Appends a cancel request (reason argv[3]) to process argv[2] through a registry handle of
# its own, then exits.
APPEND = """
import asyncio, sys
from lashtui.model import (
    LeaseOwnerIdentity,
    ProcessEventAppendRequest,
    ProcessStarted,
    SuccessOutput,
)
from lashtui.registry.sqlite import SqliteProcessRegistry
async def main():
    registry = await SqliteProcessRegistry.open(sys.argv[1])
    request = ProcessEventAppendRequest.new("process.cancel_requested",
                                            {"reason": sys.argv[3]}, sys.argv[3])
    await registry.append_event(sys.argv[2], request)
    await registry.close()
asyncio.run(main())
"""


def cancel(reason: str) -> ProcessEventAppendRequest:
    return ProcessEventAppendRequest.new("process.cancel_requested", {"reason": reason}, reason)


async def test_a_write_waits_for_another_process_lock_without_blocking_the_loop(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "r.db")
    registry = await SqliteProcessRegistry.open(path)
    try:
        await registry.register_process(ext("p"))
        holder = subprocess.Popen(  # noqa: ASYNC220 - a child that outlives the await below
            [sys.executable, "-c", HOLD_LOCK, path, "0.6"], stdout=subprocess.PIPE, text=True
        )
        assert holder.stdout is not None
        assert await asyncio.to_thread(holder.stdout.readline) == "held\n"
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticking = asyncio.create_task(ticker())
        started = time.monotonic()
        result = await registry.append_event("p", cancel("later"))
        waited = time.monotonic() - started
        ticking.cancel()
        await asyncio.to_thread(holder.wait, 10)
        assert result.event.sequence == 1
        assert waited >= 0.3  # it did wait for the lock ...
        assert ticks >= 10  # ... on the thread: the loop went on ticking meanwhile
    finally:
        await registry.close()


async def test_the_wal_stays_bounded_though_inline_commits_never_checkpoint(
    tmp_path: Path,
) -> None:
    path = tmp_path / "r.db"
    registry = await SqliteProcessRegistry.open(str(path))
    try:
        await registry.register_process(ext("p"))
        for n in range(SqliteConnection.CHECKPOINT_EVERY * 12):
            await registry.append_event("p", cancel(f"r{n}"))
        wal = Path(f"{path}-wal").stat().st_size  # noqa: ASYNC240 - one stat, in a test
    finally:
        await registry.close()
    # Without the checkpoints every CHECKPOINT_EVERY commits, these 3,600 appends leave a WAL
    # of about 95 MB; with them it is reused from its start and stays near 8 MB (13 MB since
    # cancel requests also enter the audit's partial index: more pages per commit). It grew
    # for as long as a checkpoint took, 46 MB once with the suite on a loaded 2-core
    # machine; now the writes wait for a checkpoint a round late (the test above), so two
    # rounds, ~26 MB, is the most. Under 40 MB is still less than half the unbounded WAL.
    assert wal < 40 * 1024 * 1024, wal


@pytest.mark.parametrize(("restart_at", "restarts"), [(1, True), (10**6, False)])
async def test_the_wal_starts_over_only_once_it_holds_enough_frames(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, restart_at: int, restarts: bool
) -> None:
    """The checkpoint that lets the WAL start over runs on the writer's thread while the
    next writes wait (two fsyncs). It runs after a checkpoint behind the writes only once
    the WAL holds `RESTART_AT_FRAMES` frames (SQLite's own checkpoint point): a WAL of
    small transactions grows a round more first, where each round's writes waited."""
    monkeypatch.setattr(SqliteConnection, "CHECKPOINT_EVERY", 20)
    monkeypatch.setattr(SqliteConnection, "RESTART_AT_FRAMES", restart_at)
    made: list[int] = []
    real = checkpoint._checkpointed

    def counted(conn: sqlite3.Connection, runner: object, *args: object, **kw: object) -> object:
        made.append(1)
        return real(conn, runner, *args, **kw)  # type: ignore[arg-type]

    # (a write on the thread checkpoints through connection.py, a group through short_write.py)
    monkeypatch.setattr(connection, "_checkpointed", counted)
    monkeypatch.setattr(short_write, "_checkpointed", counted)
    registry = await SqliteProcessRegistry.open(str(tmp_path / "r.db"))
    try:
        await registry.register_process(ext("p"))
        for n in range(20 * 20):
            await registry.append_event("p", cancel(f"r{n}"))
            if n % 10 == 0:
                await asyncio.sleep(0.002)  # the checkpoint behind the writes ends meanwhile
    finally:
        await registry.close()
    assert bool(made) == restarts, made


async def test_a_slow_checkpoint_holds_the_writes_back_rather_than_let_the_wal_grow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A checkpoint behind the writes that is still running a whole round of commits after
    it started (a slow disk) makes the next writes wait for it: the commits made while it
    runs stay within about two rounds. Without that, every commit the loop could make in
    the checkpoint's time went into the WAL (hundreds here, thousands on a slow disk)."""
    every = 20
    monkeypatch.setattr(SqliteConnection, "CHECKPOINT_EVERY", every)
    during: list[int] = []

    def slow_checkpoint(conn: sqlite3.Connection) -> None:
        def events() -> int:
            return int(conn.execute("SELECT count(*) FROM process_events").fetchone()[0])

        before = events()
        time.sleep(0.2)
        during.append(events() - before)
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()

    monkeypatch.setattr(checkpoint, "_checkpoint", slow_checkpoint)
    registry = await SqliteProcessRegistry.open(str(tmp_path / "r.db"))
    try:
        await registry.register_process(ext("p"))
        for n in range(every * 5):
            await registry.append_event("p", cancel(f"r{n}"))
    finally:
        await registry.close()
    assert during, "no checkpoint ran"
    # A round to fall late, then a group of writes already queued when it did, at most.
    assert max(during) <= 2 * every + 2, during


async def test_another_process_commit_is_seen_and_the_file_stays_whole(tmp_path: Path) -> None:
    """Regression: opening the second connection once read the file's header with open() and
    close(), which dropped the first connection's POSIX locks; a writer in another process
    then reset the WAL on closing, and this handle read a stale snapshot for ever."""
    path = str(tmp_path / "r.db")
    registry = await SqliteProcessRegistry.open(path)
    try:
        await registry.register_process(ext("p"))
        await registry.append_event("p", cancel("mine"))
        expected = [{"reason": "mine"}]
        for reason in ("theirs-1", "theirs-2", "theirs-3"):
            assert [e.payload for e in await registry.events_after("p", 0)] == expected
            child = await asyncio.create_subprocess_exec(
                sys.executable, "-c", APPEND, path, "p", reason, cwd=os.getcwd()
            )
            assert await child.wait() == 0
            expected.append({"reason": reason})
            assert [e.payload for e in await registry.events_after("p", 0)] == expected
        await registry.append_event("p", cancel("mine-again"))
    finally:
        await registry.close()
    reopened = await SqliteProcessRegistry.open(path)
    try:
        assert len(await reopened.events_after("p", 0)) == 5
    finally:
        await reopened.close()


async def test_the_records_a_handle_holds_are_what_a_fresh_handle_decodes(
    tmp_path: Path,
) -> None:
    """Saves that patch the stored JSON in SQLite (json_set) and the per-connection record
    cache must agree with a plain decode of the file, field for field."""
    path = str(tmp_path / "r.db")
    owner = LeaseOwnerIdentity.opaque("w", "w:1")
    registry = await SqliteProcessRegistry.open(path)
    try:
        await registry.register_process(ob("p"))
        lease = (await registry.claim_process_lease("p", owner, 60_000)).acquired()
        assert lease is not None
        await registry.record_first_started("p", ProcessStarted(owner=owner, started_at_ms=7),
                                            lease)
        await registry.append_event("p", cancel("first"))
        held = await registry.get_process("p")
        fresh = await SqliteProcessRegistry.open(path)
        try:
            assert await fresh.get_process("p") == held
            await registry.complete_process_with_lease(lease, SuccessOutput(value=[1, "ü"]))
            assert await fresh.get_process("p") == await registry.get_process("p")
        finally:
            await fresh.close()
    finally:
        await registry.close()


async def test_a_run_of_inline_calls_still_lets_the_loop_turn(tmp_path: Path) -> None:
    """Inline calls complete without suspending their caller; a long run of them (a bulk
    action, a burst of starts) must still give the loop a turn every few ms."""
    registry = await SqliteProcessRegistry.open(str(tmp_path / "r.db"))
    # No checkpoint during the run: its hop to the thread would give the loop turns anyway.
    registry._file.CHECKPOINT_EVERY = 10**9
    try:
        await registry.register_process(ext("p"))
        gaps: list[float] = []
        stop = asyncio.Event()

        async def ticker() -> None:
            last = time.monotonic()
            while not stop.is_set():
                await asyncio.sleep(0)
                now = time.monotonic()
                gaps.append(now - last)
                last = now

        ticking = asyncio.create_task(ticker())
        await asyncio.sleep(0)
        started = time.monotonic()
        for n in range(1_000):
            await registry.append_event("p", cancel(f"r{n}"))
        took = time.monotonic() - started
        stop.set()
        await ticking
    finally:
        await registry.close()
    # Without the yields the ticker gets one turn, after all 1,000 appends.
    assert len(gaps) > 10 * took / 0.1, (len(gaps), took)
    assert max(gaps) < max(0.05, took / 4), (max(gaps), took)


async def test_close_returns_though_a_connection_thread_has_died(tmp_path: Path) -> None:
    """Regression: a snapshot app's loop that closed with a read in flight killed that
    connection's aiosqlite thread (it could not hand the result back), and close() then
    waited for ever on a close nobody would run. Here the thread is stopped the same way."""
    import aiosqlite.core

    registry = await SqliteProcessRegistry.open(str(tmp_path / "r.db"))
    connection = registry._db
    assert isinstance(connection, SqliteConnection)
    reader = connection._reader
    reader._tx.put_nowait((None, lambda: aiosqlite.core._STOP_RUNNING_SENTINEL))
    await asyncio.to_thread(reader._thread.join, 5)
    assert not reader._thread.is_alive()
    await asyncio.wait_for(registry.close(), 10)
    assert reader._connection is None
