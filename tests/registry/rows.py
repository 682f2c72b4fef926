"""Steps the registry suites share: closing a row the way its disposition allows, parking it
in a signal wait, declaring and appending wake-bearing events, and reading the change feed.

Terminals follow api.md port decision 2: an externally-owned row closes through
`complete_process`; every other row closes under a lease with `complete_process_with_lease`.
"""

from __future__ import annotations

import asyncio

from lashtui.model import (
    ProcessAwaitOutput,
    ProcessCensus,
    ProcessEvent,
    ProcessEventAppendRequest,
    ProcessEventSemanticsSpec,
    ProcessEventType,
    ProcessLease,
    ProcessListFilter,
    ProcessRecord,
    ProcessStatusFilter,
    ProcessWakeSpec,
    RecoveryDisposition,
    SessionScope,
    SuccessOutput,
    WaitKind,
    WaitState,
)
from lashtui.registry import ProcessRegistry
from tests.builders import own
from tests.raw import raw_connection

WAKE = "producer.wake"
LEASE_TTL_MS = 60_000
NEVER = 2**63 - 1

ANY = ProcessListFilter(status=ProcessStatusFilter.ANY)


def scope(session_id: str, frame: str | None = None) -> SessionScope:
    return SessionScope(session_id=session_id, agent_frame_id=frame)


def wake_event_type(name: str = WAKE) -> ProcessEventType:
    """A declared event whose payload (a string) becomes the wake input."""
    return ProcessEventType(
        name=name, semantics=ProcessEventSemanticsSpec(wake=ProcessWakeSpec(input="payload"))
    )


def success(value: object = True) -> SuccessOutput:
    return SuccessOutput(value=value)  # type: ignore[arg-type]


def wait_state(process_id: str, since_ms: int, name: str = "ready", ordinal: int = 1) -> WaitState:
    kind = WaitKind(
        name=name,
        event_type=f"signal.{name}",
        key=f"process:{process_id}:signal.{name}:{ordinal}",
        ordinal=ordinal,
    )
    return WaitState(kind=kind, since_ms=since_ms)


async def claim(registry: ProcessRegistry, process_id: str, owner: str = "worker") -> ProcessLease:
    outcome = await registry.claim_process_lease(process_id, own(owner), LEASE_TTL_MS)
    lease = outcome.acquired()
    assert lease is not None, f"expected to acquire the lease of {process_id}, got {outcome}"
    return lease


async def finish(
    registry: ProcessRegistry,
    process_id: str,
    output: ProcessAwaitOutput | None = None,
    lease: ProcessLease | None = None,
) -> ProcessRecord:
    """Make the row terminal through the path its disposition allows."""
    output = output if output is not None else success()
    record = await registry.get_process(process_id)
    assert record is not None, f"no row {process_id}"
    if record.disposition is RecoveryDisposition.EXTERNALLY_OWNED and lease is None:
        return await registry.complete_process(process_id, output)
    lease = lease or await claim(registry, process_id)
    return await registry.complete_process_with_lease(lease, output)


async def append_wake(registry: ProcessRegistry, process_id: str, text: str) -> ProcessEvent:
    result = await registry.append_event(process_id, ProcessEventAppendRequest.new(WAKE, text))
    return result.event


async def park(registry: ProcessRegistry, process_id: str, since_ms: int) -> ProcessRecord:
    return await registry.set_process_wait(process_id, wait_state(process_id, since_ms))


async def feed_end(registry: ProcessRegistry) -> int:
    """The change-feed cursor after every change made so far."""
    cursor = 0
    while True:
        records, cursor = await registry.processes_changed_since(cursor, 1000)
        if not records:
            return cursor


async def caught_up(registry: ProcessRegistry, target: str) -> int:
    """The change cursor, once it covers every row saved so far (read from the rows
    themselves, in `target`'s database). On PostgreSQL the position stops below the
    registry's writing transactions still in flight (change_feed.py `lashtui_change_bound`), and
    a read in a snapshot of its own also below any transaction on the shared test server
    that ended as it began: a lag, never a change missed."""
    with raw_connection(target) as conn:
        last = conn.execute("SELECT COALESCE(MAX(change_seq), 0) FROM processes").fetchone()[0]
    async with asyncio.timeout(10.0):  # a guard only: a transaction in flight ends in ms
        while (cursor := await registry.change_cursor()) < last:  # noqa: ASYNC110 (a guard)
            await asyncio.sleep(0.01)
    return cursor


async def settled_census(registry: ProcessRegistry) -> tuple[ProcessCensus, int]:
    """A census and the feed's end, read when they agree, within a few seconds. On
    PostgreSQL a census's position may trail the feed's for a moment while another
    transaction anywhere on the server ends (the test server is shared by the suite's
    processes; change_feed.py `lashtui_change_bound`), then catches up: a lag, never a row
    counted on the wrong side of it (test_census checks the counts against the rows)."""
    for _ in range(100):
        census = await registry.process_census()
        end = await feed_end(registry)
        if census.cursor == end:
            break
        await asyncio.sleep(0.05)
    return census, end


def ids(records: list[ProcessRecord]) -> list[str]:
    return [record.id for record in records]
