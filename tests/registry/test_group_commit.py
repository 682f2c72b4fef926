"""Group commit (lashtui/registry/sqlite/group.py): the short writes made in one turn of the
loop commit as one transaction, each in its own savepoint. What a caller sees must not
change: its own outcome and error, nothing of a failed or cancelled write, and a WAL that
stays bounded while writes never stop."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from lashtui.errors import InvalidRequest, ProcessConflict, UnknownProcess
from lashtui.model import (
    Engine,
    ProcessEventAppendRequest,
    ProcessExecutionEnvSpec,
    ProcessStartRequest,
    RecoveryDisposition,
)
from lashtui.registry.sql.json_edit import save_changes
from lashtui.registry.sql.row import require_record
from lashtui.registry.sqlite import SqliteProcessRegistry
from tests.builders import ext


def cancel(reason: str) -> ProcessEventAppendRequest:
    return ProcessEventAppendRequest.new("process.cancel_requested", {"reason": reason}, reason)


def count_commits(registry: SqliteProcessRegistry) -> list[str]:
    """Every COMMIT the handle's writer connection runs from now on."""
    statements: list[str] = []
    conn = registry._file._writer._connection
    assert conn is not None
    conn.set_trace_callback(lambda sql: statements.append(sql) if sql == "COMMIT" else None)
    return statements


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteProcessRegistry]:
    registry = await SqliteProcessRegistry.open(str(tmp_path / "r.db"))
    for n in range(20):
        await registry.register_process(ext(f"p{n}"))
    yield registry
    await registry.close()


async def test_writes_made_in_one_turn_commit_together(store: SqliteProcessRegistry) -> None:
    commits = count_commits(store)
    results = await asyncio.gather(
        *(store.append_event(f"p{n}", cancel(f"r{n}")) for n in range(20))
    )
    assert [r.event.process_id for r in results] == [f"p{n}" for n in range(20)]
    assert len(commits) == 1
    for n in range(20):
        assert [e.payload for e in await store.events_after(f"p{n}", 0)] == [{"reason": f"r{n}"}]


async def test_a_write_that_fails_fails_alone(store: SqliteProcessRegistry) -> None:
    commits = count_commits(store)
    undeclared = ProcessEventAppendRequest.new("nobody.declared.this", None, "k")
    outcomes = await asyncio.gather(
        store.append_event("p0", cancel("a")),
        store.append_event("missing", cancel("b")),
        store.append_event("p1", undeclared),
        store.append_event("p2", cancel("c")),
        return_exceptions=True,
    )
    assert not isinstance(outcomes[0], BaseException)
    assert isinstance(outcomes[1], UnknownProcess)
    assert str(outcomes[1]) == "unknown process `missing`"
    assert isinstance(outcomes[2], InvalidRequest)
    assert "undeclared event type `nobody.declared.this`" in str(outcomes[2])
    assert not isinstance(outcomes[3], BaseException)
    assert len(commits) == 1
    assert len(await store.events_after("p0", 0)) == 1
    assert await store.events_after("p1", 0) == []
    assert len(await store.events_after("p2", 0)) == 1


def _save_then_fail(conn: sqlite3.Connection, process_id: str) -> None:
    record = require_record(conn, process_id)
    save_changes(conn, record, record.updated_at_ms + 10_000)
    raise InvalidRequest("refused after saving")


async def test_a_failed_write_leaves_nothing_in_the_file_or_the_record_cache(
    store: SqliteProcessRegistry, tmp_path: Path
) -> None:
    before = await store.get_process("p3")
    assert before is not None
    outcomes = await asyncio.gather(
        store._file.short_write(_save_then_fail, "p3"),
        store.append_event("p4", cancel("kept")),
        return_exceptions=True,
    )
    assert isinstance(outcomes[0], InvalidRequest)
    assert not isinstance(outcomes[1], BaseException)
    # The handle's cached record is the stored one, not the save that was rolled back.
    assert await store.get_process("p3") == before
    fresh = await SqliteProcessRegistry.open(str(tmp_path / "r.db"))
    try:
        assert await fresh.get_process("p3") == before
        assert len(await fresh.events_after("p4", 0)) == 1
    finally:
        await fresh.close()


async def test_an_env_captured_by_a_failed_start_is_not_taken_as_stored(
    store: SqliteProcessRegistry, tmp_path: Path
) -> None:
    """A handle trusts the envs it has committed without reading them again; a start that
    captured one and then failed (rolled back to its savepoint) must not leave it trusted,
    or the next start with that env would skip storing it and point at nothing."""

    def start(pid: str, payload: int) -> ProcessStartRequest:
        return ProcessStartRequest(
            id=pid,
            input=Engine(kind="echo", payload=payload),
            disposition=RecoveryDisposition.RERUNNABLE,
            env_spec=ProcessExecutionEnvSpec(policy={"sandbox": "strict"}),
        )

    await store.start_process(start("x", 1).model_copy(update={"env_spec": None}))
    outcomes = await asyncio.gather(
        store.start_process(start("x", 2)),  # captures the env, then conflicts on "x"
        store.append_event("p7", cancel("kept")),
        return_exceptions=True,
    )
    assert isinstance(outcomes[0], ProcessConflict), outcomes[0]
    assert not isinstance(outcomes[1], BaseException)
    # This handle answers envs it has committed without a read: not this one.
    failed_ref = start("x", 2).env_spec.stable_ref()  # type: ignore[union-attr]
    with pytest.raises(UnknownProcess, match="unknown process execution env"):
        await store.get_process_execution_env(failed_ref)
    record = await store.start_process(start("y", 3))
    assert record.env_ref is not None
    fresh = await SqliteProcessRegistry.open(str(tmp_path / "r.db"))  # what a worker reads
    try:
        assert await fresh.get_process_execution_env(record.env_ref) == start("y", 3).env_spec
    finally:
        await fresh.close()


async def test_a_write_cancelled_before_its_group_commits_is_not_written(
    store: SqliteProcessRegistry,
) -> None:
    doomed = asyncio.create_task(store.append_event("p5", cancel("never")))
    kept = asyncio.create_task(store.append_event("p6", cancel("kept")))
    await asyncio.sleep(0)  # both have queued their write; the group has not run
    doomed.cancel()
    with pytest.raises(asyncio.CancelledError):
        await doomed
    await kept
    assert await store.events_after("p5", 0) == []
    assert len(await store.events_after("p6", 0)) == 1


async def test_the_wal_stays_bounded_while_groups_never_stop(tmp_path: Path) -> None:
    """Checkpoints run behind the writes; only the commit after one waits for a short
    checkpoint of its own, which lets the WAL start over (once it holds 1,000 frames).
    Measured (2026-12-05): without checkpoints this load leaves a WAL of ~186 MB, a quarter
    of it ~38 MB; with them ~8.7 MB at either size, and once 14.9 MB in a CI run whose
    restarts came late, so the bound is set well above what a restart leaves and far
    below what the load would grow to."""
    path = tmp_path / "r.db"
    registry = await SqliteProcessRegistry.open(str(path))
    registry._file.CHECKPOINT_EVERY = 50
    try:
        for n in range(8):
            await registry.register_process(ext(f"w{n}"))

        async def writer(n: int) -> None:
            for k in range(1_600):
                await registry.append_event(f"w{n}", cancel(f"r{k}"))

        await asyncio.gather(*(writer(n) for n in range(8)))
        wal = Path(f"{path}-wal").stat().st_size  # noqa: ASYNC240 - one stat, in a test
    finally:
        await registry.close()
    assert wal < 32 * 1024 * 1024, wal


async def test_a_write_made_alone_commits_at_once_without_a_turn_of_the_loop(
    store: SqliteProcessRegistry,
) -> None:
    # Nothing else is ready to run, so no other write could join its group: it commits on
    # the spot and its caller never suspends (two turns of the loop saved per write).
    loop = asyncio.get_running_loop()
    # An inline caller yields to the loop every YIELD_EVERY_S (4 ms); not within this test.
    store._file.YIELD_EVERY_S = 60.0
    for _ in range(100):  # let whatever the fixture left ready run first
        if not loop._ready:  # type: ignore[attr-defined]
            break
        await asyncio.sleep(0)
    commits = count_commits(store)
    pending = store.append_event("p3", cancel("alone"))
    with pytest.raises(StopIteration) as finished:
        pending.send(None)  # runs to its end: it never waited for the loop
    assert finished.value.value.event.sequence == 1
    assert len(commits) == 1
    # One that fails alone raises its own error at once, with nothing written.
    undeclared = store.append_event("p3", ProcessEventAppendRequest.new("nobody.x", None, "k"))
    with pytest.raises(InvalidRequest, match="undeclared event type"):
        undeclared.send(None)
    assert len(commits) == 1
    # With another callback ready in the same turn, the write waits to be grouped instead.
    loop.call_soon(lambda: None)
    grouped = asyncio.ensure_future(store.append_event("p4", cancel("grouped")))
    await grouped
    assert grouped.result().event.sequence == 1 and len(commits) == 2
