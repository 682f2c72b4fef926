"""Set-once facts and waits on a process row.

Covers scenarios.md group D (52-56) and scenario 76, i.e. semantics §5.3 and §5.12-§5.14 with
the api.md port decision 3: `record_first_started` is lease-fenced (a stale, foreign, expired or
released lease is refused with the lease error), refuses terminal rows and is
first-writer-wins; abandon requests are first-writer-wins, refused on terminal rows and never
terminalize; waits are set, overwritten, cleared, and cleared by a terminal; external refs are
set once. `updated_at_ms` (and the change feed) move only when something was written.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from lashtui.clock import ManualClock
from lashtui.errors import LashError, LeaseLost, ProcessConflict, UnknownProcess
from lashtui.model import (
    AbandonedOutput,
    AbandonRequest,
    ExternalRef,
    ProcessLease,
    ProcessListFilter,
    ProcessRecord,
    ProcessStarted,
    SuccessOutput,
    WaitKind,
    WaitState,
)
from lashtui.registry import ProcessRegistry, open_registry
from tests.builders import ext, ob, own, rr
from tests.raw import raw_connection

LIVE = 60_000


def lease_lost(pid: str = "p") -> str:
    return f"process lease for `{pid}` is missing or expired"


def started(name: str, at_ms: int) -> ProcessStarted:
    return ProcessStarted(owner=own(name), started_at_ms=at_ms)


def abandon(by: str, at_ms: int, reason: str | None = None) -> AbandonRequest:
    return AbandonRequest(requested_by=by, requested_at_ms=at_ms, reason=reason)


def signal_wait(pid: str, name: str, ordinal: int, since_ms: int) -> WaitState:
    return WaitState(
        kind=WaitKind(
            name=name,
            event_type=f"signal.{name}",
            key=f"process:{pid}:signal.{name}:{ordinal}",
            ordinal=ordinal,
        ),
        since_ms=since_ms,
    )


async def claim(
    registry: ProcessRegistry, name: str, ttl_ms: int = LIVE, pid: str = "p"
) -> ProcessLease:
    lease = (await registry.claim_process_lease(pid, own(name), ttl_ms)).acquired()
    assert lease is not None
    return lease


async def record_of(registry: ProcessRegistry, pid: str = "p") -> ProcessRecord:
    record = await registry.get_process(pid)
    assert record is not None
    return record


async def change_cursor(registry: ProcessRegistry) -> int:
    return (await registry.processes_changed_since(0, 1_000_000))[1]


async def assert_no_write(registry: ProcessRegistry, before: ProcessRecord, cursor: int) -> None:
    """The row is exactly as before and the change feed did not move."""
    assert await record_of(registry, before.id) == before
    assert await registry.processes_changed_since(cursor, 100) == ([], cursor)


async def terminal_row_with_live_lease(registry: ProcessRegistry) -> ProcessLease:
    """An externally-owned row completed out of band while a lease on it is still live."""
    await registry.register_process(ext("p"))
    lease = await claim(registry, "starter")
    await registry.complete_process("p", SuccessOutput(value="done elsewhere"))
    return lease


# --- record_first_started (§5.12, port decision 3) ----------------------------------------------


async def test_first_started_is_first_writer_wins(
    registry: ProcessRegistry, clock: ManualClock
) -> None:  # scenario 52
    await registry.register_process(ob("p"))
    lease = await claim(registry, "starter")
    now = clock.advance(100)
    first = await registry.record_first_started("p", started("starter", 111), lease)
    assert first.first_started == started("starter", 111)
    assert first.updated_at_ms == now

    cursor = await change_cursor(registry)
    clock.advance(100)
    second = await registry.record_first_started("p", started("other-starter", 222), lease)
    assert second == first
    await assert_no_write(registry, first, cursor)
    assert (await record_of(registry)).first_started == started("starter", 111)


async def test_first_started_keeps_the_original_even_for_a_later_lease_holder(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    await registry.register_process(rr("p"))
    await registry.record_first_started("p", started("a", 1), await claim(registry, "a", 10))
    clock.advance(10)
    b = await claim(registry, "b")
    record = await registry.record_first_started("p", started("b", 2), b)
    assert record.first_started == started("a", 1)


async def assert_first_started_refused(
    registry: ProcessRegistry, clock: ManualClock, lease: ProcessLease, pid: str = "p"
) -> None:
    before = await record_of(registry, pid)
    cursor = await change_cursor(registry)
    clock.advance(100)
    with pytest.raises(LeaseLost, match=re.escape(lease_lost(pid))):
        await registry.record_first_started(pid, started("intruder", 5), lease)
    await assert_no_write(registry, before, cursor)
    assert before.first_started is None


async def test_first_started_with_a_superseded_lease_is_refused(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    await registry.register_process(ob("p"))
    stale = await claim(registry, "a", 0)
    await claim(registry, "b")
    await assert_first_started_refused(registry, clock, stale)


async def test_first_started_with_an_expired_lease_is_refused(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    await registry.register_process(ob("p"))
    lease = await claim(registry, "a", 50)
    clock.advance(50)
    await assert_first_started_refused(registry, clock, lease)


async def test_first_started_with_a_released_lease_is_refused(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    await registry.register_process(ob("p"))
    lease = await claim(registry, "a")
    await registry.release_process_lease(lease)
    await assert_first_started_refused(registry, clock, lease)


@pytest.mark.parametrize(
    "forge",
    [{"owner": own("mallory")}, {"lease_token": "forged"}, {"fencing_token": 9}],
    ids=["owner", "token", "fence"],
)
async def test_first_started_with_a_forged_lease_is_refused(
    registry: ProcessRegistry, clock: ManualClock, forge: dict[str, Any]
) -> None:
    await registry.register_process(ob("p"))
    lease = await claim(registry, "a")
    await assert_first_started_refused(registry, clock, lease.model_copy(update=forge))


async def test_first_started_with_another_process_lease_is_refused(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    await registry.register_process(ob("p"))
    await registry.register_process(ob("q"))
    await claim(registry, "a", pid="p")
    foreign = await claim(registry, "a", pid="q")
    await assert_first_started_refused(registry, clock, foreign, pid="p")
    assert (await record_of(registry, "q")).first_started is None


async def test_first_started_on_a_terminal_row_is_refused(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    lease = await terminal_row_with_live_lease(registry)
    before = await record_of(registry)
    cursor = await change_cursor(registry)
    clock.advance(100)
    # semantics §5.12 [PORT] fixes no text; the refusal must name the terminal state
    with pytest.raises(LashError, match="terminal"):
        await registry.record_first_started("p", started("starter", 1), lease)
    await assert_no_write(registry, before, cursor)


async def test_first_started_on_unknown_process_fails(
    registry: ProcessRegistry,
) -> None:  # scenario 54
    await registry.register_process(ob("p"))
    lease = await claim(registry, "a")
    with pytest.raises(UnknownProcess, match=re.escape("unknown process `missing`")):
        await registry.record_first_started(
            "missing", started("a", 1), lease.model_copy(update={"process_id": "missing"})
        )


# --- abandon requests (§5.13) -----------------------------------------------------------------


async def test_abandon_request_is_first_writer_wins(
    registry: ProcessRegistry, clock: ManualClock
) -> None:  # scenario 53
    await registry.register_process(ob("p"))
    now = clock.advance(100)
    first = await registry.request_process_abandon("p", abandon("operator", 333, "host retired"))
    assert first.abandon_request == abandon("operator", 333, "host retired")
    assert first.updated_at_ms == now

    cursor = await change_cursor(registry)
    clock.advance(100)
    second = await registry.request_process_abandon("p", abandon("second-operator", 444))
    assert second == first
    await assert_no_write(registry, first, cursor)


async def test_abandon_request_never_terminalizes_nor_touches_the_lease(
    registry: ProcessRegistry,
) -> None:
    await registry.register_process(ob("p"))
    lease = await claim(registry, "worker")
    record = await registry.request_process_abandon("p", abandon("operator", 1))
    assert record.status.state == "running"
    assert await registry.events_after("p", 0) == []
    assert await registry.get_process_lease("p") == lease
    assert [r.id for r in await registry.list_non_terminal()] == ["p"]


async def test_abandon_request_on_unknown_process_fails(registry: ProcessRegistry) -> None:  # 54
    with pytest.raises(UnknownProcess, match=re.escape("unknown process `missing`")):
        await registry.request_process_abandon("missing", abandon("operator", 1))


async def test_abandoned_terminal_is_final(
    registry: ProcessRegistry, clock: ManualClock
) -> None:  # scenario 55
    await registry.register_process(ob("p"))
    output = AbandonedOutput.model_validate(
        {"evidence": {"writer": "sweep", "owner": own("dead-owner").model_dump(), "epoch_ms": 999}}
    )
    record = await registry.complete_process_with_lease(await claim(registry, "sweeper"), output)
    assert record.status.state == "abandoned"
    assert record.status.await_output == output
    abandoned = await registry.list_processes(ProcessListFilter.decode({"status": "abandoned"}))
    assert [r.id for r in abandoned] == ["p"]

    before = await record_of(registry)
    cursor = await change_cursor(registry)
    clock.advance(100)
    with pytest.raises(ProcessConflict, match=re.escape("process `p` is already terminal")):
        await registry.complete_process_with_lease(
            await claim(registry, "revenant"), SuccessOutput(value="I'm back")
        )
    with pytest.raises(
        ProcessConflict, match=re.escape("terminal process `p` cannot accept an abandon request")
    ):
        await registry.request_process_abandon("p", abandon("operator", 1))
    assert await record_of(registry) == before
    assert [e.event_type for e in await registry.events_after("p", 0)] == ["process.abandoned"]
    changed, _ = await registry.processes_changed_since(cursor, 100)
    assert changed == []

    report = await registry.prune_terminal_processes(2**63 - 1)
    assert report.pruned_processes == 1
    assert await registry.get_process("p") is None


# --- waits (§5.14) ---------------------------------------------------------------------------


async def test_wait_on_unknown_process_fails(registry: ProcessRegistry) -> None:  # scenario 56
    with pytest.raises(UnknownProcess, match=re.escape("unknown process `missing`")):
        await registry.set_process_wait("missing", signal_wait("missing", "ready", 1, 0))
    with pytest.raises(UnknownProcess, match=re.escape("unknown process `missing`")):
        await registry.clear_process_wait("missing")


async def test_wait_on_terminal_process_is_refused(
    registry: ProcessRegistry, clock: ManualClock
) -> None:  # scenario 56
    await registry.register_process(ext("p"))
    await registry.complete_process("p", SuccessOutput(value=1))
    before = await record_of(registry)
    cursor = await change_cursor(registry)
    clock.advance(100)
    with pytest.raises(
        ProcessConflict, match=re.escape("terminal process `p` cannot enter a wait state")
    ):
        await registry.set_process_wait("p", signal_wait("p", "ready", 1, clock.now_ms()))
    await assert_no_write(registry, before, cursor)


async def test_set_then_clear_wait(registry: ProcessRegistry, clock: ManualClock) -> None:  # 56
    await registry.register_process(ext("p"))
    now = clock.advance(100)
    wait = signal_wait("p", "ready", 1, now)
    waiting = await registry.set_process_wait("p", wait)
    assert waiting.wait == wait
    assert waiting.updated_at_ms == now
    assert [
        r.id for r in await registry.list_processes(ProcessListFilter.decode({"waiting": True}))
    ] == ["p"]

    now = clock.advance(100)
    cleared = await registry.clear_process_wait("p")
    assert cleared.wait is None
    assert cleared.updated_at_ms == now
    assert (await record_of(registry)).wait is None
    assert await registry.list_processes(ProcessListFilter.decode({"waiting": True})) == []


async def test_set_wait_overwrites_the_current_wait(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    await registry.register_process(ext("p"))
    await registry.set_process_wait("p", signal_wait("p", "ready", 1, clock.now_ms()))
    now = clock.advance(100)
    second = signal_wait("p", "ready", 2, now)
    record = await registry.set_process_wait("p", second)
    assert record.wait == second
    assert record.updated_at_ms == now


async def test_terminal_clears_the_wait(
    registry: ProcessRegistry, clock: ManualClock
) -> None:  # scenario 56
    await registry.register_process(ext("p"))
    await registry.set_process_wait("p", signal_wait("p", "ready", 1, clock.now_ms()))
    record = await registry.complete_process("p", SuccessOutput(value=1))
    assert record.wait is None
    assert (await record_of(registry)).wait is None


async def test_a_leased_completion_clears_the_wait(
    registry: ProcessRegistry, registry_target: str, clock: ManualClock
) -> None:  # scenario 56, through a worker's completion (a waiting row's is saved whole)
    await registry.register_process(ext("p"))
    lease = await claim(registry, "w")
    await registry.set_process_wait("p", signal_wait("p", "ready", 1, clock.now_ms()))
    record = await registry.complete_process_with_lease(lease, SuccessOutput(value=1))
    assert record.wait is None
    # Read as stored, by another handle (this one's record cache holds what it wrote).
    async with open_registry(registry_target) as other:
        assert (await record_of(other)).wait is None


@pytest.mark.parametrize("leased", [True, False])
async def test_a_wait_key_another_program_spelled_with_an_escape_ends_with_the_row(
    registry_target: str, clock: ManualClock, leased: bool
) -> None:
    # JSON (and the models) read `"w\u0061it"` as `wait`; SQLite 3.40's json_remove does
    # not, so a terminal edit in place would have left an ended row still waiting.
    async with open_registry(registry_target, clock=clock) as registry:
        await registry.register_process(ext("p"))
        await registry.set_process_wait("p", signal_wait("p", "ready", 1, clock.now_ms()))
    with raw_connection(registry_target) as conn:
        conn.execute(
            "UPDATE processes SET record_json = replace(record_json, ?, ?)",
            ('"wait"', '"w\\u0061it"'),
        )
    async with open_registry(registry_target, clock=clock) as registry:
        assert (await record_of(registry)).wait is not None  # read as a wait
        if leased:
            lease = await claim(registry, "w")
            await registry.complete_process_with_lease(lease, SuccessOutput(value=1))
        else:
            await registry.complete_process("p", SuccessOutput(value=1))
    async with open_registry(registry_target, clock=clock) as other:
        record = await record_of(other)
        assert (record.status.state, record.wait) == ("completed", None)


async def test_clear_wait_is_allowed_on_a_terminal_row(registry: ProcessRegistry) -> None:
    await registry.register_process(ext("p"))
    await registry.complete_process("p", SuccessOutput(value=1))
    record = await registry.clear_process_wait("p")
    assert record.wait is None
    assert record.status.state == "completed"


# --- external refs (§5.3) ----------------------------------------------------------------------


async def test_external_ref_is_set_once(
    registry: ProcessRegistry, clock: ManualClock
) -> None:  # scenario 76
    await registry.register_process(ext("p"))
    ref = ExternalRef(backend="restate", id="inv-1", metadata={"region": "eu"})
    now = clock.advance(100)
    stored = await registry.set_external_ref("p", ref)
    assert stored.external_ref == ref
    assert stored.updated_at_ms == now

    cursor = await change_cursor(registry)
    clock.advance(100)
    assert await registry.set_external_ref("p", ref) == stored
    await assert_no_write(registry, stored, cursor)

    for different in (
        ExternalRef(backend="restate", id="inv-2", metadata={"region": "eu"}),
        ExternalRef(backend="restate", id="inv-1", metadata={"region": "us"}),
        ExternalRef(backend="temporal", id="inv-1", metadata={"region": "eu"}),
        ExternalRef(backend="restate", id="inv-1"),
    ):
        with pytest.raises(
            ProcessConflict, match="^" + re.escape("process `p` external ref conflict: existing ")
        ):
            await registry.set_external_ref("p", different)
    await assert_no_write(registry, stored, cursor)


async def test_external_ref_on_unknown_process_fails(registry: ProcessRegistry) -> None:  # 75
    with pytest.raises(UnknownProcess, match=re.escape("unknown process `missing`")):
        await registry.set_external_ref("missing", ExternalRef(backend="b", id="1"))
