"""One stored record or event larger than any reader takes (sql/dialect.py
`MAX_STORED_BYTES`, 16 MiB), on both stores.

Another program may store a value of any size. A reader never receives one past the ceiling:
its read gets NULL in its place, so the value never becomes a Python object (measured here
with tracemalloc, which sees every str and bytes Python makes, including psycopg's), and the
row or event is its stand-in, saying why. A page counts an event left unread as the whole
ceiling, so a page holding one ends there; a record left unread it counts as nothing (it is
never loaded), so a page goes on past it. lashtui's own writes refuse a record past it, so
what one writes every reader reads. (tests/registry/test_undecodable.py runs such a row
through every read, the writes' refusal, `end_undecodable`, prune, the worker and the
sweep, with the other kinds of undecodable row.)
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import tracemalloc
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from lashtui.clock import ManualClock
from lashtui.errors import InvalidRequest, StoreError
from lashtui.model import (
    Engine,
    ErrorGroupKey,
    ErrorGroupQuery,
    OpaqueLiveness,
    ProcessEventAppendRequest,
    ProcessPageQuery,
    ProcessRecord,
    ProcessStartRequest,
    RecoveryDisposition,
    failure,
)
from lashtui.model.page import PAGE_CHARS
from lashtui.registry import ProcessRegistry, open_registry
from lashtui.registry.sql import decoded_row, row
from lashtui.registry.sql.dialect import MAX_STORED_BYTES
from lashtui.registry.sql.event_row import EVENT_TOO_LARGE
from lashtui.registry.sql.fetch import check_stored_size
from lashtui.registry.sqlite.connect import RegistryConnection
from lashtui.worker import ProcessWorker
from tests.builders import ext, local, started
from tests.cli.test_cli import LASHTUI
from tests.raw import raw_connection, store_record_json
from tests.registry.rows import ANY, park

T = TypeVar("T")


async def echo(ctx: object, payload: object) -> object:
    return payload


def past_ceiling(text: str) -> str:
    """A stored record's or event's JSON, still one its model reads, padded past the
    ceiling by a field the models keep (an identity's label; an event's unknown field)."""
    body = json.loads(text)
    if "identity" in body:
        body["identity"]["label"] = "x" * MAX_STORED_BYTES
    else:
        body["padding"] = "x" * MAX_STORED_BYTES
    return json.dumps(body)


async def held_at_most(limit: int, read: Callable[[], Awaitable[T]]) -> T:
    """`read()`, failing if Python held `limit` bytes or more at once meanwhile."""
    tracemalloc.start()
    try:
        result = await read()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < limit, f"the read held {peak:,} bytes at its peak"
    return result


def ids(records: list[ProcessRecord]) -> list[str]:
    return [record.id for record in records]


def rerunnable(process_id: str) -> ProcessStartRequest:
    """A start a worker runs (engine `echo`), its env captured as a start captures one."""
    return ProcessStartRequest(
        id=process_id,
        input=Engine(kind="echo", payload={}),
        disposition=RecoveryDisposition.RERUNNABLE,
    )


def refuse_to_load_past_the_ceiling(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every SQLite connection a registry opens from now on has SQLite's own length limit at
    the ceiling: a statement that loads a value past it fails ("string or blob too big"),
    so a read that passes never loaded one, even in SQLite's memory, where tracemalloc
    cannot see."""
    open_as_ever = RegistryConnection.__init__

    def limited(self: RegistryConnection, *args: Any, **kwargs: Any) -> None:
        open_as_ever(self, *args, **kwargs)
        self.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_STORED_BYTES)

    monkeypatch.setattr(RegistryConnection, "__init__", limited)


async def test_a_record_past_the_ceiling_is_never_read(
    registry: ProcessRegistry, registry_target: str
) -> None:
    for process_id in ("a", "big", "c"):
        await registry.register_process(ext(process_id))
    big = await registry.get_process("big")
    assert big is not None
    store_record_json(registry_target, "big", past_ceiling(big.model_dump_json()))

    async def every_read() -> tuple[Any, ...]:
        return (
            await registry.get_process("big"),
            await registry.list_processes(ANY),
            await registry.page_processes_within(ProcessPageQuery(limit=10), PAGE_CHARS),
            await registry.processes_changed_since(0, 10, max_chars=PAGE_CHARS),
            await registry.process_census(),
            await registry.list_work_items(),
        )

    got, listed, (page, cut), (feed, _), census, items = await held_at_most(
        MAX_STORED_BYTES // 2, every_read
    )

    assert isinstance(got, ProcessRecord)
    assert got.undecodable == decoded_row.TOO_LARGE
    assert got.identity.label == f"undecodable: {decoded_row.TOO_LARGE}"
    assert got.status.state.value == "running" and got.created_at_ms == big.created_at_ms
    assert [(r.id, r.undecodable) for r in listed] == [
        ("a", None), ("big", decoded_row.TOO_LARGE), ("c", None),
    ]  # fmt: skip
    # A stand-in costs a page nothing (its record is never loaded): the page and the feed
    # go on past it. Counted at the ceiling, it ended both ("a", "big"; cut), and the
    # dashboard's window showed fewer rows than there were until a scroll.
    assert (ids(page), cut) == (["a", "big", "c"], False)
    assert ids(feed) == ["a", "big", "c"]  # (the feed's order: its saves)
    assert set(census.live) == {"a", "big", "c"}
    assert {item.process_id for item in items} == {"a", "big", "c"}
    for order in ("age", "updated", "status", "label"):
        rows, cut = await registry.page_processes_within(
            ProcessPageQuery(limit=10, order=order), PAGE_CHARS
        )
        assert (sorted(ids(rows)), cut) == (["a", "big", "c"], False), order


async def test_an_event_past_the_ceiling_is_its_stand_in(
    registry: ProcessRegistry, registry_target: str
) -> None:
    await registry.register_process(ext("p"))
    for reason in ("one", "two", "three"):
        await registry.append_event("p", ProcessEventAppendRequest.cancel_requested("p", reason))
    with raw_connection(registry_target) as conn:
        (text,) = conn.execute(
            "SELECT event_json FROM process_events WHERE process_id = 'p' AND sequence = 2"
        ).fetchone()
        conn.execute(
            "UPDATE process_events SET event_json = ? WHERE process_id = 'p' AND sequence = 2",
            (past_ceiling(text),),
        )

    async def every_read() -> tuple[Any, ...]:
        return (
            await registry.events_after("p", 0),
            await registry.events_after("p", 0, max_chars=8 << 20),
            await registry.recent_events("p", 10, max_chars=8 << 20),
        )

    whole, first_page, newest = await held_at_most(MAX_STORED_BYTES // 2, every_read)

    assert [(e.sequence, e.undecodable) for e in whole] == [
        (1, None), (2, EVENT_TOO_LARGE), (3, None),
    ]  # fmt: skip
    stand_in = whole[1]
    assert stand_in.event_type == "process.cancel_requested" and stand_in.payload is None
    # Pages count it as the whole ceiling: they end with it (from the oldest or the newest).
    assert [e.sequence for e in first_page] == [1, 2]
    assert [e.sequence for e in newest] == [2, 3]


async def test_a_replay_of_an_event_past_the_ceiling_is_one_sentence(
    registry: ProcessRegistry, registry_target: str
) -> None:
    await registry.register_process(ext("p"))
    request = ProcessEventAppendRequest.cancel_requested("p", "stop")
    await registry.append_event("p", request)
    with raw_connection(registry_target) as conn:
        (text,) = conn.execute("SELECT event_json FROM process_events").fetchone()
        conn.execute("UPDATE process_events SET event_json = ?", (past_ceiling(text),))

    with pytest.raises(StoreError) as refused:
        await registry.append_event("p", request)  # the same key and payload: a replay
    assert str(refused.value) == (
        f"process `p` event under replay key `{request.replay_key}` could not be decoded "
        f"({EVENT_TOO_LARGE})"
    )
    assert len(await registry.events_after("p", 0)) == 1  # nothing written


def test_a_write_refuses_what_no_reader_would_take(tmp_path: Path) -> None:
    check_stored_size("x" * MAX_STORED_BYTES, "a record")  # at the ceiling: taken
    with pytest.raises(InvalidRequest) as refused:
        check_stored_size("x" * (MAX_STORED_BYTES + 1), "process `p`'s record")
    assert str(refused.value) == (
        "process `p`'s record would be 16,777,217 bytes of JSON; the most any reader takes "
        "is 16,777,216 (16 MiB)"
    )
    # Measured in UTF-8 bytes, as the stores measure it, not in characters.
    with pytest.raises(InvalidRequest, match="would be 16,777,218 bytes"):
        check_stored_size("é" * (MAX_STORED_BYTES // 2 + 1), "a record")


async def test_the_store_refuses_to_save_such_a_record(tmp_path: Path) -> None:
    """lashtui's own limits keep every record it builds far inside the ceiling, so the save's
    check is reached here by a record made without them (`model_copy` validates nothing)."""
    db = str(tmp_path / "r.db")
    async with open_registry(db) as registry:
        record = await registry.register_process(ext("p"))
    huge = record.model_copy(
        update={
            "id": "q",
            "identity": record.identity.model_copy(update={"label": "x" * MAX_STORED_BYTES}),
        }
    )
    conn = sqlite3.connect(db)
    try:
        for save in (row.insert_record, row.save_record):
            target = huge if save is row.insert_record else huge.model_copy(update={"id": "p"})
            with pytest.raises(
                InvalidRequest, match=r"record would be 16,7\d\d,\d{3} bytes of JSON"
            ):
                save(conn, target)
        conn.rollback()
        stored = conn.execute("SELECT process_id, length(record_json) FROM processes").fetchall()
    finally:
        conn.close()
    assert [(pid, size < 10_000) for pid, size in stored] == [("p", True)]  # nothing written


async def test_sqlite_reads_by_id_never_load_such_a_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On SQLite the reads of given rows (a page's records, the Processes view's window, the
    detail's row) tell a record past the ceiling from its row's header and never load it,
    where measuring it in SQL would (SQLite 3.40 has no `octet_length`). Proved with SQLite's
    own length limit set to the ceiling: any statement that loaded the value would fail."""
    db = str(tmp_path / "r.db")
    async with open_registry(db) as registry:
        for process_id in ("a", "big", "c"):
            await registry.register_process(ext(process_id))
        await registry.claim_process_lease("big", local("w"), 60_000)
        big = await registry.get_process("big")
    assert big is not None
    store_record_json(db, "big", past_ceiling(big.model_dump_json()))
    refuse_to_load_past_the_ceiling(monkeypatch)
    async with open_registry(db, read_only=True) as registry:
        got = await registry.get_process("big")
        page, cut = await registry.page_processes_within(ProcessPageQuery(limit=10), PAGE_CHARS)
        by_id = await registry.get_processes(["a", "big", "c"])
        # The Abandon requests view's reads, on every commit, test records in SQL: the rows
        # known past the ceiling (found by the reads above) are not tested.
        candidates, _ = await registry.list_abandon_candidates_within(10, PAGE_CHARS)
        lapse = await registry.next_lease_lapse(0)  # (a live lease on it: its test skipped)
        # A whole list measures records in SQL: it leaves this one unread too (ceiling.py
        # `unread_past_ceiling`; tests/registry/test_unread_past_ceiling.py).
        listed = await registry.list_processes(ANY)
    assert got is not None and got.undecodable == decoded_row.TOO_LARGE
    assert [(r.id, r.undecodable) for r in listed] == [
        ("a", None), ("big", decoded_row.TOO_LARGE), ("c", None),
    ]  # fmt: skip
    assert (ids(page), cut) == (["a", "big", "c"], False)  # (a stand-in costs a page nothing)
    assert {pid: r.undecodable for pid, r in by_id.items()} == {
        "a": None, "big": decoded_row.TOO_LARGE, "c": None,
    }  # fmt: skip
    assert candidates == [] and lapse is None


async def test_a_lease_holders_liveness_past_the_ceiling_reads_as_opaque(
    registry: ProcessRegistry, registry_target: str
) -> None:
    """A lease's holder liveness another program stored past the ceiling is never read into
    Python: the lease reads with opaque liveness (never provably dead), as a missing one."""
    await registry.register_process(ext("p"))
    await registry.claim_process_lease("p", local("w"), 60_000)
    padded = json.dumps({"type": "local_process", "padding": "x" * MAX_STORED_BYTES})
    with raw_connection(registry_target) as conn:
        conn.execute("UPDATE process_leases SET lease_owner_liveness_json = ?", (padded,))
    del padded

    async def every_read() -> tuple[Any, ...]:
        return (
            await registry.get_process_lease("p"),
            await registry.get_process_leases(["p"]),
            await registry.list_leased_processes_within(10, PAGE_CHARS),
            await registry.list_work_items(),
        )

    lease, leases, (leased, _), items = await held_at_most(MAX_STORED_BYTES // 2, every_read)
    assert lease is not None and lease.owner.owner_id == "w"
    assert lease.owner.liveness == OpaqueLiveness()
    assert leases["p"] == lease and ids(leased) == ["p"]
    assert [item.lease for item in items] == [lease]


async def test_a_workers_drives_never_load_such_a_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: ManualClock
) -> None:
    """On SQLite a worker's drive tests records in SQL, which would load a value past the
    ceiling to measure it, every renew interval (one of 600 MB held each drive 3-7 s and
    3.5 GB). Its first drive finds such rows by their headers, and every drive (and a
    sweep-only pass, `lashtui sweep`) then leaves them out of its SQL and counts them
    skipped; the other rows run. Proved with SQLite's length limit at the ceiling, as
    above, on a worker's own connections."""
    db = str(tmp_path / "r.db")
    async with open_registry(db, clock=clock) as registry:
        for process_id in ("a-run", "b-big", "c-run"):
            await registry.start_process(rerunnable(process_id))
        await registry.register_process(ext("d-big"))
        for process_id in ("b-big", "d-big"):
            record = await registry.get_process(process_id)
            assert record is not None
            store_record_json(db, process_id, past_ceiling(record.model_dump_json()))
    refuse_to_load_past_the_ceiling(monkeypatch)
    async with open_registry(db, clock=clock) as registry:
        worker = ProcessWorker(registry, clock=clock)
        worker.engines.register("echo", echo)
        for run in (True, True, False):  # two worker's passes, then a sweep-only pass
            await worker.drive_pending_processes(run=run)
            await worker.idle()
    async with open_registry(db, clock=clock) as registry:
        states = {r.id: r.status.state.value for r in await registry.list_processes(ANY)}
    assert states == {
        "a-run": "completed", "b-big": "running", "c-run": "completed", "d-big": "running",
    }  # fmt: skip
    assert worker.stats.verdicts["skipped_undecodable"] >= 6  # type: ignore[index]


async def test_a_batch_claims_pick_passes_such_a_row_unloaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch claim's pick walks the running rows in id order and tests the records of
    those not marked plainly the backlog's (a rewrite by another program clears the mark):
    one past the ceiling, first in the walk, is passed over by its header, never loaded,
    and the rows after it are claimed."""
    db = str(tmp_path / "r.db")
    async with open_registry(db) as registry:
        for process_id in ("a-big", "b-run", "c-run"):
            await registry.start_process(rerunnable(process_id))
        big = await registry.get_process("a-big")
        assert big is not None
        store_record_json(db, "a-big", past_ceiling(big.model_dump_json()))
    refuse_to_load_past_the_ceiling(monkeypatch)
    async with open_registry(db) as registry:
        owners = [local(f"w{n}") for n in range(4)]
        claims = await registry.claim_processes_for_run(owners, 60_000, started("w"))
    assert [(pid, claim is not None) for pid, claim in claims] == [
        ("b-run", True), ("c-run", True),
    ]  # fmt: skip


async def _parked_past_ceiling(registry: ProcessRegistry, target: str, now_ms: int) -> None:
    """Rows a, big and c, running; big parked, then its record padded past the ceiling."""
    for process_id in ("a", "big", "c"):
        await registry.register_process(ext(process_id))
    await park(registry, "big", now_ms)
    big = await registry.get_process("big")
    assert big is not None and big.wait is not None
    store_record_json(target, "big", past_ceiling(big.model_dump_json()))


async def test_check_and_the_census_count_such_a_record_as_its_stand_in_and_name_it(
    registry: ProcessRegistry, registry_target: str, clock: ManualClock
) -> None:
    """`lashtui check` counts a live row whose record is past the ceiling with the rows
    whose state is unknown (every view shows it undecodable) and names it; the census counts
    it running, as its stand-in runs. PostgreSQL's check searched the record's text for its
    state and counted it running, named nowhere. Neither read holds the record."""
    await _parked_past_ceiling(registry, registry_target, clock.now_ms())

    async def both() -> tuple[Any, ...]:
        census = await registry.process_census()
        return census, await registry.probe_facts(clock.now_ms(), 0)

    census, facts = await held_at_most(MAX_STORED_BYTES // 2, both)
    assert census.live == {"a": "running", "big": "running", "c": "running"}
    assert (facts.live, facts.unknown_state, facts.unknown_state_first) == (3, 1, "big")
    shown = await registry.get_process("big")
    assert shown is not None and shown.undecodable == decoded_row.TOO_LARGE
    result = await asyncio.to_thread(
        subprocess.run,
        [LASHTUI, "--db", registry_target, "check"], capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert result.stdout.startswith(
        "LASHTUI WARNING - 1 row whose state is unknown, first big (`lashtui show big` says why)"
    ), result.stdout


async def test_sqlite_census_check_and_errors_never_load_such_a_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite 3.40 loads a text to measure it, so the census, check and the Errors view's
    read, which test every record's size first, loaded one past the ceiling whole in
    SQLite's own memory (a 16 MiB record raised the reader's peak by 18, 18 and 50 MiB;
    600 MB, by as many times that). They now run under SQLite's length limit and leave out
    the rows it refuses (sql/ceiling.py). Proved with that limit set on every connection:
    a statement that loaded the value fails."""
    db = str(tmp_path / "r.db")
    clock = ManualClock(1_000_000)
    async with open_registry(db, clock=clock) as registry:
        await _parked_past_ceiling(registry, db, clock.now_ms())
        for process_id in ("failed", "failed-big"):
            await registry.register_process(ext(process_id))
            await registry.complete_process(process_id, failure("boom", "it broke"))
        big = await registry.get_process("failed-big")
    assert big is not None
    store_record_json(db, "failed-big", past_ceiling(big.model_dump_json()))
    refuse_to_load_past_the_ceiling(monkeypatch)
    async with open_registry(db, read_only=True) as registry:
        census = await registry.process_census()
        facts = await registry.probe_facts(clock.now_ms(), 0)
        summary = await registry.error_groups(ErrorGroupQuery())
        key = ErrorGroupKey(
            state="failed", code=decoded_row.UNDECODABLE_CODE, message=decoded_row.UNDECODABLE_WORDS
        )
        broken = await registry.error_group_rows(key, 20_000)
    assert census.live == {"a": "running", "big": "running", "c": "running"}
    assert (facts.live, facts.unknown_state, facts.unknown_state_first) == (3, 1, "big")
    assert {(g.code, g.message): g.count for g in summary.groups} == {
        ("boom", "it broke"): 1, (decoded_row.UNDECODABLE_CODE, decoded_row.UNDECODABLE_WORDS): 1,
    }  # fmt: skip
    assert [(r.id, r.undecodable) for r in broken] == [("failed-big", decoded_row.TOO_LARGE)]
