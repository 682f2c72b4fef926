"""The change clock within a transaction (row.py `next_change_seq`): a transaction's first
save takes its sequence from the clock row, later saves count on from it in memory, and the
row takes the last one at COMMIT. What the change feed promises must not change: every save
gets its own, larger sequence; a reader at the clock's value has seen every save up to it;
and the next transaction, on this handle or another, continues after it. On SQLite a group
commit's write that fails is rolled back to its savepoint, which also takes back the clock
row's update: the sequences it handed out become a gap, never a reuse."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from lashtui.errors import InvalidRequest
from lashtui.model import ProcessEventAppendRequest, ProcessRecord
from lashtui.registry import ProcessRegistry, open_registry
from lashtui.registry.postgres import PostgresProcessRegistry
from lashtui.registry.sql.dialect import Tx
from lashtui.registry.sql.json_edit import save_changes
from lashtui.registry.sql.row import require_record
from lashtui.registry.sql.store import SqlProcessRegistry
from lashtui.registry.sqlite import SqliteProcessRegistry
from tests.builders import ext
from tests.registry.rows import settled_census


def _save_each(conn: Tx, process_ids: list[str]) -> list[int]:
    """Save each row once, in this one transaction; their change sequences, read back."""
    for process_id in process_ids:
        record = require_record(conn, process_id)
        save_changes(conn, record, record.updated_at_ms + 1)
    return [_change_seq(conn, process_id) for process_id in process_ids]


def _change_seq(conn: Tx, process_id: str) -> int:
    row = conn.execute(
        "SELECT change_seq FROM processes WHERE process_id = ?", (process_id,)
    ).fetchone()
    return int(row[0])


def _clock(conn: Tx) -> int:
    row = conn.execute(
        "SELECT current_seq FROM process_change_clock WHERE singleton = 1"
    ).fetchone()
    return int(row[0])


def runner(registry: ProcessRegistry) -> SqlProcessRegistry:
    assert isinstance(registry, SqlProcessRegistry)
    return registry


async def test_saves_in_one_transaction_take_consecutive_sequences_and_the_clock_the_last(
    registry: ProcessRegistry,
) -> None:
    for n in range(4):
        await registry.register_process(ext(f"p{n}"))
    # (Settled: on the shared PostgreSQL test server a position may trail for a moment.)
    before = (await settled_census(registry))[0].cursor
    seqs = await runner(registry)._db.write(_save_each, ["p2", "p0", "p3"])
    first = seqs[0]
    assert seqs == [first, first + 1, first + 2]
    if isinstance(registry, PostgresProcessRegistry):
        # The first is the transaction id's (postgres/change_feed.py): above, not next.
        assert first > before
    else:
        assert first == before + 1
        assert await runner(registry)._db.read(_clock) == before + 3
    census, _ = await settled_census(registry)
    assert census.cursor == first + 2
    changed, cursor = await registry.processes_changed_since(before, 10)
    assert [record.id for record in changed] == ["p2", "p0", "p3"]
    assert cursor == first + 2
    # The next transaction continues after the last, not after the first.
    await registry.append_event("p1", cancel("next"))
    after = await runner(registry)._db.read(_change_seq, "p1")
    assert after > first + 2
    if not isinstance(registry, PostgresProcessRegistry):
        assert after == first + 3


async def test_another_handle_continues_after_a_transaction_that_saved_many_times(
    registry: ProcessRegistry, registry_target: str
) -> None:
    for n in range(3):
        await registry.register_process(ext(f"p{n}"))
    seqs = await runner(registry)._db.write(_save_each, ["p0", "p1", "p2"])
    async with open_registry(registry_target) as other:
        await other.append_event("p0", cancel("elsewhere"))
        changed, cursor = await other.processes_changed_since(seqs[-1], 10)
    assert [record.id for record in changed] == ["p0"]
    assert cursor > seqs[-1]
    if not isinstance(registry, PostgresProcessRegistry):
        assert cursor == seqs[-1] + 1


def cancel(reason: str) -> ProcessEventAppendRequest:
    return ProcessEventAppendRequest.new("process.cancel_requested", {"reason": reason}, reason)


def _save_then_fail(conn: sqlite3.Connection, process_id: str) -> None:
    record = require_record(conn, process_id)
    save_changes(conn, record, record.updated_at_ms + 1)
    save_changes(conn, record, record.updated_at_ms + 2)
    raise InvalidRequest("refused after saving")


def _save(conn: sqlite3.Connection, process_id: str) -> ProcessRecord:
    record = require_record(conn, process_id)
    return save_changes(conn, record, record.updated_at_ms + 1)


@pytest.mark.parametrize("failing_first", [True, False], ids=["fails-first", "fails-second"])
async def test_a_write_rolled_back_to_its_savepoint_leaves_a_gap_not_a_reuse(
    tmp_path: Path, failing_first: bool
) -> None:
    store = await SqliteProcessRegistry.open(str(tmp_path / "r.db"))
    try:
        for n in range(3):
            await store.register_process(ext(f"p{n}"))
        before = (await store.process_census()).cursor
        writes = [
            store._file.short_write(_save_then_fail, "p0"),
            store._file.short_write(_save, "p1"),
        ]
        if not failing_first:
            writes.reverse()
        outcomes = await asyncio.gather(*writes, return_exceptions=True)
        assert sum(isinstance(outcome, InvalidRequest) for outcome in outcomes) == 1
        kept = await store._file.read(_change_seq, "p1")
        assert kept > before
        assert await store._file.read(_change_seq, "p0") <= before  # not saved
        assert await store._file.read(_clock) >= kept
        changed, cursor = await store.processes_changed_since(before, 10)
        assert [record.id for record in changed] == ["p1"]
        # Later saves, here and on another handle, come after every sequence handed out.
        await store.append_event("p2", cancel("later"))
        assert await store._file.read(_change_seq, "p2") > max(kept, cursor)
        other = await SqliteProcessRegistry.open(str(tmp_path / "r.db"))
        try:
            await other.append_event("p0", cancel("elsewhere"))
            assert await other._file.read(_change_seq, "p0") > await store._file.read(
                _change_seq, "p2"
            )
        finally:
            await other.close()
    finally:
        await store.close()


@pytest.mark.parametrize("cursor", [-1, 2**63, 2**70])
async def test_a_change_feed_cursor_out_of_range_is_refused_naming_it(
    registry: ProcessRegistry, cursor: int
) -> None:
    # 2**70 failed in the store naming no value ("a number is too large for the
    # registry"); -1 was taken and handed back as the next cursor of an empty page.
    await registry.register_process(ext("a"))
    sentence = f"a change feed cursor is a change sequence from 0 to {2**63 - 1}, got {cursor}"
    with pytest.raises(InvalidRequest, match=f"^{sentence}$"):
        await registry.processes_changed_since(cursor, 10)
