"""A leased completion built before its write transaction on SQLite (issue 19,
sql/prepared.py), from the writer's record cache: it must store exactly what the
transaction built inside would have, and fall back to that path whenever what it was built
from has moved on."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from lashtui.clock import ManualClock
from lashtui.errors import LeaseLost
from lashtui.model import (
    ProcessEventAppendRequest,
    ProcessLease,
    SuccessOutput,
)
from lashtui.registry.sql.store import SqlProcessRegistry
from lashtui.registry.sqlite import SqliteProcessRegistry
from tests.builders import own, rr, started

TTL = 60_000
START = 1_780_000_000_000
# The statement only today's path runs (event.py `append_to`'s sequence), and the one only
# the prepared path runs (its check of what the completion was built from).
INSIDE = "SELECT MAX(sequence) FROM process_events"
PREPARED = "SELECT (SELECT record_json = "


def cancel(reason: str) -> ProcessEventAppendRequest:
    return ProcessEventAppendRequest.new("process.cancel_requested", {"reason": reason}, reason)


def traced(registry: SqliteProcessRegistry) -> list[str]:
    statements: list[str] = []
    conn = registry._file._writer._connection
    assert conn is not None
    conn.set_trace_callback(statements.append)
    return statements


def ran(statements: list[str], start: str) -> int:
    return sum(sql.lstrip().startswith(start) for sql in statements)


def stored(path: str) -> dict[str, list[tuple[object, ...]]]:
    """Every row of the tables a completion writes, as stored."""
    with sqlite3.connect(path) as conn:
        return {
            table: conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
            for table in ("processes", "process_events", "process_leases")
        }


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[tuple[SqliteProcessRegistry, ...]]:
    """Two registries on two files with one clock, for the same writes by the two paths."""
    clock = ManualClock(START)
    opened = [
        await SqliteProcessRegistry.open(str(tmp_path / f"{name}.db"), clock=clock)
        for name in ("prepared", "inside")
    ]
    yield tuple(opened)
    for registry in opened:
        await registry.close()


async def claimed(registry: SqliteProcessRegistry, pid: str) -> ProcessLease:
    claim = await registry.claim_process_for_run(pid, own("w"), TTL, started("w"))
    lease = claim.outcome.acquired()
    assert lease is not None and claim.started
    return lease


async def test_a_prepared_completion_stores_what_the_transaction_built_inside_would(
    pair: tuple[SqliteProcessRegistry, SqliteProcessRegistry],
) -> None:
    prepared, inside = pair
    statements = traced(prepared)
    results = []
    for registry in pair:
        await registry.register_process(rr("p"))
        lease = await claimed(registry, "p")
        await registry.append_event("p", cancel("first"))  # the log is not empty
        output = SuccessOutput(value={"n": 1, "text": "é\u2028"})
        if registry is prepared:
            results.append(await registry.complete_process_with_lease(lease, output))
        else:  # the store's shared path: every step inside the transaction
            results.append(await SqlProcessRegistry.complete_process_with_lease(
                registry, lease, output
            ))
    assert ran(statements, PREPARED) == 1 and ran(statements, INSIDE) == 1  # the append's
    assert results[0] == results[1]
    assert results[0].is_terminal()
    assert stored(prepared.path) == stored(inside.path)
    assert await prepared.get_process("p") == results[0]


async def test_a_completion_falls_back_when_another_handle_appended_meanwhile(
    pair: tuple[SqliteProcessRegistry, SqliteProcessRegistry], tmp_path: Path
) -> None:
    prepared, _ = pair
    await prepared.register_process(rr("p"))
    lease = await claimed(prepared, "p")
    other = await SqliteProcessRegistry.open(prepared.path)
    try:
        await other.append_event("p", cancel("from elsewhere"))
    finally:
        await other.close()
    statements = traced(prepared)
    record = await prepared.complete_process_with_lease(lease, SuccessOutput(value=2))
    assert ran(statements, PREPARED) == 1 and ran(statements, INSIDE) == 1  # built inside
    assert record.is_terminal()
    events = stored(prepared.path)["process_events"]
    assert [(e[1], e[2]) for e in events] == [
        (1, "process.cancel_requested"),
        (2, "process.completed"),
    ]
    assert await prepared.get_process_lease("p") is None


async def test_a_prepared_completion_under_a_lapsed_lease_is_lost_and_writes_nothing(
    tmp_path: Path,
) -> None:
    clock = ManualClock(START)
    registry = await SqliteProcessRegistry.open(str(tmp_path / "r.db"), clock=clock)
    try:
        await registry.register_process(rr("p"))
        lease = await claimed(registry, "p")
        before = stored(registry.path)
        clock.advance(TTL)  # an expiry equal to now is expired
        statements = traced(registry)
        with pytest.raises(LeaseLost):
            await registry.complete_process_with_lease(lease, SuccessOutput(value=3))
        assert ran(statements, PREPARED) == 1 and ran(statements, INSIDE) == 0
        assert stored(registry.path) == before
    finally:
        await registry.close()
