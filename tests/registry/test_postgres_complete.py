"""The leased completion as one call to the schema's function (postgres/complete.py), and the
schema version that brought it (12, migrated from 11).

It must write what the shared path writes, byte for byte (the same rows in a twin schema
run through `event.complete_with_lease`), keep the fence (a lease that is not current
writes nothing and is LeaseLost), fall back to the shared path when what it was prepared
from has moved on, and keep the change feed's sequences distinct and visible when it
commits in a group with other saves."""

from __future__ import annotations

import asyncio
from typing import Any, NoReturn

import pytest

from lashtui.clock import ManualClock
from lashtui.errors import LeaseLost, StoreError, UnsupportedSchema
from lashtui.model import ProcessEventAppendRequest, ProcessLease, SuccessOutput
from lashtui.registry import open_registry
from lashtui.registry.postgres import PostgresProcessRegistry
from lashtui.registry.postgres.schema import (
    BEGIN_WRITE_FUNCTION,
    COMPLETE_FUNCTION,
    SCHEMA_VERSION,
    SEQ_BITS,
)
from lashtui.registry.postgres.tx import PgTx
from lashtui.registry.sql import event
from lashtui.registry.sql.prepared import prepare_completion
from lashtui.registry.sql.row import next_change_seq
from tests.builders import own, rr
from tests.raw import raw_connection
from tests.registry.server_functions import as_version_13_layout, calls, counted

TTL = 60_000
START = 1_780_000_000_000


def _rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """What a completion writes: the row (its change sequence aside: a transaction id),
    its events and its lease."""
    with raw_connection(url) as conn:
        return {
            "processes": conn.execute(
                "SELECT process_id, registration_hash, owner_scope_id, created_at_ms, "
                "updated_at_ms, status, record_json FROM processes ORDER BY 1"
            ).fetchall(),
            "events": conn.execute(
                "SELECT * FROM process_events ORDER BY process_id, sequence"
            ).fetchall(),
            "leases": conn.execute("SELECT * FROM process_leases ORDER BY 1").fetchall(),
        }


def _in_server(registry: PostgresProcessRegistry, lease: ProcessLease, now: int) -> bool:
    """Whether the registry would complete `lease` through the function now."""
    output = SuccessOutput(value=None)
    server = registry._server
    return (
        server.completes_in_server
        and prepare_completion(server.shared, lease, output, now) is not None
    )


async def _claimed(registry: PostgresProcessRegistry, pid: str, owner: str = "w") -> ProcessLease:
    outcome = await registry.claim_process_lease(pid, own(owner), TTL)
    lease = outcome.acquired()
    assert lease is not None
    return lease


def _shared_path_not_taken(*args: object) -> NoReturn:
    raise AssertionError("the completion took the shared path")


async def test_it_writes_what_the_shared_path_writes(
    postgres_schema: str, twin_schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The twin runs the shared path; here the shared path is made to fail, so every
    completion is the function's own writing."""
    outputs = [SuccessOutput(value={"n": 1, "text": "ü\"\\\n"}), SuccessOutput(value=None)]
    for url, in_server in ((postgres_schema, True), (twin_schema, False)):
        clock = ManualClock(START)
        async with open_registry(counted(url), clock=clock) as registry:
            assert isinstance(registry, PostgresProcessRegistry)
            registry._server.completes_in_server = in_server
            with monkeypatch.context() as patch:
                if in_server:
                    patch.setattr(event, "complete_with_lease", _shared_path_not_taken)
                await _complete_each(registry, clock, outputs, in_server)
        expected = len(outputs) if in_server else 0
        assert calls(url, COMPLETE_FUNCTION, expected) == expected
    assert _rows(postgres_schema) == _rows(twin_schema)


async def _complete_each(
    registry: PostgresProcessRegistry,
    clock: ManualClock,
    outputs: list[SuccessOutput],
    in_server: bool,
) -> None:
    for n, output in enumerate(outputs):
        pid = f"p{n}"
        await registry.register_process(rr(pid))
        lease = await _claimed(registry, pid)
        append = ProcessEventAppendRequest.new("process.cancel_requested", {"reason": "a"}, f"c{n}")
        await registry.append_event(pid, append)
        clock.advance(5)
        assert _in_server(registry, lease, clock.now_ms()) is in_server
        record = await registry.complete_process_with_lease(lease, output)
        assert record == await registry.get_process(pid)
        assert record.is_terminal()


async def test_a_lease_not_current_writes_nothing(postgres_schema: str) -> None:
    clock = ManualClock(START)
    async with open_registry(postgres_schema, clock=clock) as registry:
        assert isinstance(registry, PostgresProcessRegistry)
        await registry.register_process(rr("p"))
        stale = await _claimed(registry, "p", "a")
        clock.advance(TTL)  # expired (its expiry equals now), no one else holds it yet
        before = _rows(postgres_schema)
        assert _in_server(registry, stale, clock.now_ms())
        with pytest.raises(LeaseLost):
            await registry.complete_process_with_lease(stale, SuccessOutput(value=1))
        assert _rows(postgres_schema) == before
        current = await _claimed(registry, "p", "b")  # with the next fence
        before = _rows(postgres_schema)
        with pytest.raises(LeaseLost):
            await registry.complete_process_with_lease(stale, SuccessOutput(value=1))
        assert _rows(postgres_schema) == before
        assert _in_server(registry, current, clock.now_ms())
        record = await registry.complete_process_with_lease(current, SuccessOutput(value=2))
        assert record.is_terminal()
        with raw_connection(postgres_schema) as conn:
            leases = conn.execute(
                "SELECT lease_owner_id, lease_token, lease_fencing_token FROM process_leases"
            ).fetchall()
        assert leases == [(None, None, current.fencing_token)]


async def test_a_preparation_that_moved_on_takes_the_shared_path(postgres_schema: str) -> None:
    """Another handle appends to the row after this handle cached it: the log no longer
    ends where the completion assumed, and the record is not the text it was built from."""
    clock = ManualClock(START)
    async with open_registry(postgres_schema, clock=clock) as registry, open_registry(
        postgres_schema, clock=clock
    ) as other:
        assert isinstance(registry, PostgresProcessRegistry)
        await registry.register_process(rr("p"))
        lease = await _claimed(registry, "p")
        append = ProcessEventAppendRequest.new("process.cancel_requested", {"reason": "a"}, "c")
        await other.append_event("p", append)
        assert _in_server(registry, lease, clock.now_ms())  # prepared from what it holds
        record = await registry.complete_process_with_lease(lease, SuccessOutput(value=3))
        assert record == await other.get_process("p")
        events = await other.events_after("p", 0)
        assert [e.event_type for e in events] == ["process.cancel_requested", "process.completed"]
        assert [e.sequence for e in events] == [1, 2]


async def test_in_a_group_its_change_sequence_is_its_own_and_in_the_feed(
    postgres_schema: str,
) -> None:
    """Completions through the function commit in one group with appends (their
    sequences counted in the client): every save has a sequence of its own, and a follower
    from before sees every row after the commit."""
    clock = ManualClock(START)
    async with open_registry(postgres_schema, clock=clock) as registry:
        assert isinstance(registry, PostgresProcessRegistry)
        pids = [f"p{n}" for n in range(6)]
        leases = {}
        for pid in pids:
            await registry.register_process(rr(pid))
            leases[pid] = await _claimed(registry, pid)
        _, cursor = await registry.processes_changed_since(0, 100)
        assert all(_in_server(registry, leases[pid], clock.now_ms()) for pid in pids[:3])
        append = ProcessEventAppendRequest.new("process.cancel_requested", {"reason": "a"}, "c")
        await asyncio.gather(
            *(registry.complete_process_with_lease(leases[pid], SuccessOutput(value=pid))
              for pid in pids[:3]),
            *(registry.append_event(pid, append) for pid in pids[3:]),
        )  # fmt: skip
        changed, _ = await registry.processes_changed_since(cursor, 100)
        assert sorted(record.id for record in changed) == pids
        with raw_connection(postgres_schema) as conn:
            seqs = [s for (s,) in conn.execute("SELECT change_seq FROM processes")]
        assert len(set(seqs)) == len(seqs)


def _as_version_11(url: str) -> None:
    """What lashtui stamped before the completion's function."""
    with raw_connection(url) as conn:
        conn.execute(
            f"DROP FUNCTION {COMPLETE_FUNCTION}(text, text, bigint, text, text, text, text, "
            "bigint, bigint, text, text, text, bigint, text, text, bigint)"
        )
        conn.execute(f"DROP FUNCTION {BEGIN_WRITE_FUNCTION}(text, text)")
        conn.execute("UPDATE process_registry_meta SET schema_version = 11")


def _has_function(url: str) -> bool:
    """Whether the schema has version 12's functions (both, or neither)."""
    with raw_connection(url) as conn:
        found = conn.execute(
            "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE p.proname IN (?, ?) AND n.nspname = current_schema()",
            (COMPLETE_FUNCTION, BEGIN_WRITE_FUNCTION),
        ).fetchone()
        assert found[0] in (0, 2)
        return bool(found[0])


def _version(url: str) -> int:
    with raw_connection(url) as conn:
        return int(conn.execute("SELECT schema_version FROM process_registry_meta").fetchone()[0])


async def test_a_version_11_registry_is_read_as_it_is_and_migrated_by_a_writable_open(
    postgres_schema: str,
) -> None:
    clock = ManualClock(START)
    async with open_registry(postgres_schema, clock=clock) as registry:
        await registry.register_process(rr("p"))
        lease = await _claimed(registry, "p")  # type: ignore[arg-type]
    as_version_13_layout(postgres_schema)
    _as_version_11(postgres_schema)
    assert not _has_function(postgres_schema)
    async with open_registry(postgres_schema, read_only=True) as reader:
        assert (await reader.get_process("p")) is not None
    assert (_version(postgres_schema), _has_function(postgres_schema)) == (11, False)
    async with open_registry(postgres_schema, clock=clock) as registry:
        assert isinstance(registry, PostgresProcessRegistry)
        assert (_version(postgres_schema), _has_function(postgres_schema)) == (15, True)
        await registry.get_process("p")  # (into the handle's cache)
        assert _in_server(registry, lease, clock.now_ms())
        record = await registry.complete_process_with_lease(lease, SuccessOutput(value=1))
        assert record.is_terminal()
    assert SCHEMA_VERSION == 15  # (through 12, 13 and 14: test_postgres_start.py)


async def test_a_newer_version_is_refused(postgres_schema: str) -> None:
    async with open_registry(postgres_schema):
        pass
    with raw_connection(postgres_schema) as conn:
        conn.execute("UPDATE process_registry_meta SET schema_version = 16")
    for read_only in (False, True):
        with pytest.raises(UnsupportedSchema) as refused:
            async with open_registry(postgres_schema, read_only=read_only):
                pass
        assert "supports PostgreSQL schema version 15 (and migrates 10, 11, 12, 13 and 14), " \
            "but the database reports version 16" in str(refused.value)
    assert _version(postgres_schema) == 16


def test_sequences_by_offset_and_by_value_never_meet() -> None:
    """The function's save takes an offset from the transaction's first sequence without
    the BEGIN's row being read; saves counted in the client take the next after it, and
    the transaction's limit counts both."""
    tx = PgTx()
    tx.begin_sequences(1_000)
    assert tx.take_seq_offset() == 0  # 1,000, computed by the server
    assert next_change_seq(tx) == 1_001
    assert tx.take_seq_offset() == 2  # 1,002
    assert next_change_seq(tx) == 1_003
    tx.save_clock()  # within the limit
    tx.last_seq = 1_000 + (1 << SEQ_BITS)  # one past the transaction's room
    with pytest.raises(StoreError, match="split it"):
        tx.save_clock()
    tx.rolled_back()
    assert tx.last_seq is None


async def test_in_a_group_a_lost_lease_and_a_stale_preparation_are_their_callers_alone(
    postgres_schema: str,
) -> None:
    """The function's answer is read after COMMIT: a completion whose lease is lost gets
    LeaseLost and one whose preparation moved on is completed by the shared path, while
    the completions committed with them in one group stand, each written once."""
    clock = ManualClock(START)
    async with open_registry(postgres_schema, clock=clock) as registry, open_registry(
        postgres_schema, clock=clock
    ) as other:
        assert isinstance(registry, PostgresProcessRegistry)
        pids = [f"p{n}" for n in range(5)]
        leases = {}
        for pid in pids:
            await registry.register_process(rr(pid))
            leases[pid] = await _claimed(registry, pid)
        lost = pids[0]
        await other.release_process_lease(leases[lost])  # the lease is no longer current
        stale = pids[1]
        append = ProcessEventAppendRequest.new("process.cancel_requested", {"reason": "a"}, "c")
        await other.append_event(stale, append)  # the log no longer ends where assumed
        assert all(_in_server(registry, leases[pid], clock.now_ms()) for pid in pids)
        outcomes = await asyncio.gather(
            *(registry.complete_process_with_lease(leases[pid], SuccessOutput(value=pid))
              for pid in pids),
            return_exceptions=True,
        )  # fmt: skip
        assert isinstance(outcomes[0], LeaseLost)
        assert (await other.get_process(lost)).status.is_terminal() is False  # type: ignore[union-attr]
        for pid, outcome in zip(pids[1:], outcomes[1:], strict=True):
            assert not isinstance(outcome, BaseException)
            assert outcome == await other.get_process(pid) and outcome.is_terminal()
        events = await other.events_after(stale, 0)
        assert [e.event_type for e in events] == ["process.cancel_requested", "process.completed"]
        for pid in pids[2:]:
            assert [e.sequence for e in await other.events_after(pid, 0)] == [1]
