"""Registries lash itself wrote (versions 6 and 21 to 24) open read-only through the
facade the views use: every process with its status, disposition, originator, grants or
observers, leases and events, decoded from what lash stored; actions refused in one
sentence; the folder byte-for-byte and file-list unchanged; other versions refused in one
sentence naming the ones read, and never advised to be deleted."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from lashtui.admin import Processes
from lashtui.clock import ManualClock
from lashtui.errors import NotARegistry, StoreError, UnsupportedSchema
from lashtui.model import ProcessListFilter, ProcessStatusFilter
from lashtui.registry import lash_version_of, open_registry
from lashtui.registry.sql.decoded_row import TOO_LARGE
from lashtui.registry.sql.dialect import MAX_STORED_BYTES
from lashtui.registry.sql.event_row import EVENT_TOO_LARGE
from tests.lash.fixture import copied, listing

NOW_MS = 1_800_000_000_000
ANY = ProcessListFilter(status=ProcessStatusFilter.ANY)


async def test_v6_every_process_with_its_facts(tmp_path: Path) -> None:
    db = copied(6, tmp_path)
    before = listing(tmp_path)
    clock = ManualClock(NOW_MS)
    # Asked read-write, as the dashboard asks: a lash file opens read-only all the same.
    async with open_registry(str(db), clock=clock, create=False) as registry:
        assert lash_version_of(registry) == 6
        processes = Processes(registry, clock=clock)
        rows = await processes.list(ANY)
        assert len(rows) == 68
        census = await processes.census()
        assert census.terminal == {"completed": 55, "failed": 12, "cancelled": 0, "abandoned": 0}
        assert list(census.live.values()) == ["running"]
        # lash v6 records no disposition: "not recorded" (held as externally owned: v6.py).
        assert {row.disposition_text() for row in rows} == {"not recorded"}
        assert {row.disposition.value for row in rows} == {"externally_owned"}
        assert all(row.originator.scope_id().startswith("session:workbench-") for row in rows)
        assert [row.undecodable for row in rows if row.undecodable] == []
        decoded = {row.process_id: row for row in rows}
        joke = decoded["process:8e4bd21b-cd9f-4b21-8218-e1cdcc64aa32"]
        # lash's `effect` cause (15 rows) and its host profile are kept as stored.
        effects = [row for row in rows if row.caused_by and row.caused_by.type == "effect"]
        assert len(effects) == 15
        record = await registry.get_process(joke.process_id)
        assert record is not None
        assert record.provenance.model_extra == {"host_profile_id": "default"}
        assert (joke.identity.kind, joke.label, joke.status_label) == (
            "lashlang",
            "tell_joke",
            "completed",
        )
        assert joke.input.type == "engine" and joke.input.kind == "lashlang_process"
        grants = [g for row in rows for g in await processes.grants(row.process_id)]
        assert len(grants) == 30
        assert {(g.descriptor.kind, g.descriptor.label) for g in grants} >= {
            ("lashlang", "on_button")
        }
        events = [e for row in rows for e in await processes.events(row.process_id)]
        assert len(events) == 110
        assert Counter(e.event_type for e in events) == {
            "process.completed": 55,
            "process.failed": 12,
            "process.wake": 43,
        }
        # Every lease row lash left was released (no owner): none is held.
        assert await processes.leases() == []
    assert listing(tmp_path) == before


@pytest.mark.parametrize("version", [21, 24])
async def test_v21_to_v24_every_process_with_its_facts(tmp_path: Path, version: int) -> None:
    db = copied(version, tmp_path)
    before = listing(tmp_path)
    clock = ManualClock(NOW_MS)
    async with open_registry(str(db), clock=clock, create=False) as registry:
        assert lash_version_of(registry) == version
        processes = Processes(registry, clock=clock)
        rows = {row.process_id: row for row in await processes.list(ANY)}
        assert set(rows) == {"durable-read-waiting-process", "durable-read-wake-process"}
        assert all(row.undecodable is None for row in rows.values())
        waiting, wake = rows["durable-read-waiting-process"], rows["durable-read-wake-process"]
        assert (waiting.disposition_text(), wake.disposition_text()) == (
            "rerunnable",
            "externally_owned",
        )
        assert waiting.label == "Durable read fixture"
        assert waiting.wait is not None and waiting.wait.kind.name == "fixture-ready"
        assert {row.originator.scope_id() for row in rows.values()} == {"host"}
        assert wake.wake_target is not None
        assert wake.wake_target.session_id == "durable-read-fixture"
        census = await processes.census()
        assert census.live == {
            "durable-read-waiting-process": "waiting",
            "durable-read-wake-process": "running",
        }
        # Observers are shown as the session's grants.
        observers = await processes.grants("durable-read-waiting-process")
        assert [g.session_id for g in observers] == ["durable-read-fixture"]
        (held,) = await processes.leases()
        assert held.process_id == "durable-read-waiting-process"
        assert held.lease_holder is not None
        assert held.lease_holder.owner_id == "durable-read-owner"
        events = await processes.events("durable-read-waiting-process")
        assert [e.event_type for e in events] == ["process.observer_added", "process.waiting"]
        (wake_event,) = await registry.events_after("durable-read-wake-process", 0)
        assert wake_event.undecodable is None
        assert wake_event.semantics.wake is not None
        assert wake_event.semantics.wake.input == "durable read wake"
    assert listing(tmp_path) == before


@pytest.mark.parametrize("version", [6, 21, 24])
async def test_actions_are_refused_in_one_sentence(tmp_path: Path, version: int) -> None:
    db = copied(version, tmp_path)
    before = listing(tmp_path)
    clock = ManualClock(NOW_MS)
    async with open_registry(str(db), clock=clock, create=False) as registry:
        processes = Processes(registry, clock=clock)
        live = next(iter((await processes.census()).live))
        with pytest.raises(StoreError) as refused:
            await processes.cancel(live, "by the test")
        assert str(refused.value) == (
            f"process registry `{db}` was written by lash (version {version}) and is open "
            "read-only: nothing was changed"
        )
    assert listing(tmp_path) == before


async def test_a_lash_file_in_wal_mode_gets_no_side_files(tmp_path: Path) -> None:
    """lash runs its registry in WAL mode: at rest (no -wal), the open is immutable and
    makes no -wal or -shm; beside a -wal and -shm it reads them without writing."""
    db = copied(21, tmp_path)
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA journal_mode=WAL").fetchone()
    conn.close()
    before = listing(tmp_path)
    assert list(before) == [db.name]
    async with open_registry(str(db), read_only=True) as registry:
        processes = Processes(registry)
        assert len(await processes.list(ANY)) == 2
    assert listing(tmp_path) == before


async def test_an_unreadable_version_is_one_sentence(tmp_path: Path) -> None:
    db = copied(21, tmp_path)
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA user_version = 19")
    conn.close()
    before = listing(tmp_path)
    for read_only in (False, True):
        with pytest.raises(UnsupportedSchema) as refused:
            async with open_registry(str(db), read_only=read_only, create=False):
                pass
        assert str(refused.value) == (
            "Unsupported lash process registry schema: this binary supports schema version 10, "
            "but the database reports version 19 — lashtui also reads lash's versions 6 and "
            f"21 to 24, read-only; `{db}` was left untouched."
        )
        assert "delete" not in str(refused.value)
    assert listing(tmp_path) == before


async def test_a_lash_stamp_without_lash_tables_is_not_a_registry(tmp_path: Path) -> None:
    db = tmp_path / "other.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
        conn.execute("PRAGMA user_version = 21")
    conn.close()
    with pytest.raises(NotARegistry, match="stamped version 21 but has no process registry"):
        async with open_registry(str(db), read_only=True, create=False):
            pass


# lash writing the registry meanwhile: another OS process holds it open in WAL mode with a
# commit still only in its -wal (a new event for the wake process), until told to stop.
LASH_WRITING = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA journal_mode=WAL")
conn.execute("PRAGMA wal_autocheckpoint=0")
conn.execute(
    "INSERT INTO process_events (process_id, sequence, event_type, idempotency_key, "
    "occurred_at_ms, event_json) SELECT process_id, 2, event_type, NULL, occurred_at_ms + 1, "
    "json_set(event_json, '$.sequence', 2, '$.payload.wake_input', 'written meanwhile') "
    "FROM process_events WHERE process_id = 'durable-read-wake-process'"
)
print("ready", flush=True)
sys.stdin.readline()
"""


@contextmanager
def lash_writing(db: Path) -> Iterator[None]:
    """LASH_WRITING running on `db`, its commit made, until the block ends."""
    writer = subprocess.Popen(
        [sys.executable, "-c", LASH_WRITING, str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
        yield
    finally:
        assert writer.stdin is not None
        writer.stdin.write("\n")
        writer.stdin.flush()
        writer.wait(timeout=30)


async def test_lash_writing_meanwhile_is_seen_and_nothing_is_written(tmp_path: Path) -> None:
    db = copied(21, tmp_path)
    with lash_writing(db):
        before = listing(tmp_path)
        assert {db.name + "-wal", db.name + "-shm"} <= set(before)
        async with open_registry(str(db), create=False) as registry:
            events = await registry.events_after("durable-read-wake-process", 0)
        assert [e.payload for e in events] == [
            {"wake_input": "durable read wake"},
            {"wake_input": "written meanwhile"},
        ]
        assert listing(tmp_path) == before


@pytest.mark.parametrize(
    "stored",
    ["not json", "[1, 2]", '{"id": "durable-read-wake-process"}'],
    ids=["not-json", "not-an-object", "no-fingerprint"],
)
async def test_a_row_no_decoder_can_read_is_one_stand_in(tmp_path: Path, stored: str) -> None:
    """A decoder that cannot translate a row hands it on as stored (decode.py): the model
    refuses it and that row, not the page, is shown as undecodable."""
    db = copied(21, tmp_path)
    with sqlite3.connect(db) as conn:
        conn.execute(
            "UPDATE processes SET record_json = ? WHERE process_id = 'durable-read-wake-process'",
            (stored,),
        )
    conn.close()
    async with open_registry(str(db), read_only=True) as registry:
        rows = {row.process_id: row for row in await Processes(registry).list(ANY)}
    assert rows["durable-read-waiting-process"].undecodable is None
    assert rows["durable-read-wake-process"].undecodable is not None
    assert rows["durable-read-wake-process"].status_label == "running"  # from the column


async def test_a_handle_opened_at_rest_follows_lash_when_it_starts_writing(
    tmp_path: Path,
) -> None:
    """Opened with no -wal (immutable), the handle sees a commit lash makes later: its
    reads are redone on a connection opened afresh (sqlite/file.py), views and all."""
    db = copied(21, tmp_path)
    async with open_registry(str(db), create=False) as registry:
        assert len(await registry.events_after("durable-read-wake-process", 0)) == 1
        with lash_writing(db):
            before = listing(tmp_path)
            events = await registry.events_after("durable-read-wake-process", 0)
            assert [e.sequence for e in events] == [1, 2]
            assert lash_version_of(registry) == 21
            assert listing(tmp_path) == before


@pytest.mark.parametrize("version", [6, 21])
async def test_a_row_past_the_ceiling_never_reaches_a_decoder(tmp_path: Path, version: int) -> None:
    """A record or an event past what any reader takes (sql/dialect.py `MAX_STORED_BYTES`)
    is never handed to the views' translating functions (lash/v6.py, lash/v21.py) or to
    Python at all: the row and the event are their stand-ins, the others read as ever."""
    db = copied(version, tmp_path)
    padding = "x" * MAX_STORED_BYTES
    with sqlite3.connect(db) as conn:
        (big,) = conn.execute("SELECT min(process_id) FROM processes").fetchone()
        (logged, sequence) = conn.execute(
            "SELECT process_id, min(sequence) FROM process_events "
            "GROUP BY process_id ORDER BY process_id LIMIT 1"
        ).fetchone()
        conn.execute(
            "UPDATE processes SET record_json = json_set(record_json, '$.padding', ?) "
            "WHERE process_id = ?",
            (padding, big),
        )
        conn.execute(
            "UPDATE process_events SET event_json = json_set(event_json, '$.padding', ?) "
            "WHERE process_id = ? AND sequence = ?",
            (padding, logged, sequence),
        )
    conn.close()
    del padding
    tracemalloc.start()
    try:
        async with open_registry(str(db), read_only=True) as registry:
            rows = {row.process_id: row for row in await Processes(registry).list(ANY)}
            events = await registry.events_after(logged, 0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < MAX_STORED_BYTES // 2
    assert rows[big].undecodable == TOO_LARGE
    assert [row.process_id for row in rows.values() if row.undecodable] == [big]
    assert [e.undecodable for e in events if e.sequence == sequence] == [EVENT_TOO_LARGE]
    assert [e.sequence for e in events if e.undecodable] == [sequence]
