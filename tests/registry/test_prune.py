"""Pruning terminal processes (semantics §5.21; scenarios H89-H94).

Covers the strict cutoff on `updated_at_ms`, that running rows survive any cutoff, that a
pruned row takes its events, wake acks, grants and lease row with it so the id is unknown
everywhere afterwards (and starts again at fencing token 1 when re-registered), that a second
prune reports zeros, and the 07-08 `filter` and `up_to_change_seq` narrowing.
"""

from __future__ import annotations

import re

import pytest

from lashtui.errors import UnknownProcess
from lashtui.model import (
    AbandonRequest,
    HostOriginator,
    ProcessEventAppendRequest,
    ProcessHandleDescriptor,
    ProcessListFilter,
    ProcessProvenance,
    ProcessPruneReport,
    ProcessStatus,
    ProcessStatusFilter,
    TriggerOccurrenceCause,
    failure,
)
from lashtui.registry import ProcessRegistry
from tests.builders import ext, ob, own
from tests.registry.rows import (
    ANY,
    LEASE_TTL_MS,
    NEVER,
    append_wake,
    claim,
    feed_end,
    finish,
    ids,
    park,
    scope,
    wake_event_type,
)

GRANTEE = scope("s1")
DESCRIPTOR = ProcessHandleDescriptor(kind="test")


def report(processes: int, events: int) -> ProcessPruneReport:
    return ProcessPruneReport(pruned_processes=processes, pruned_events=events)


async def assert_unknown_everywhere(registry: ProcessRegistry, pid: str) -> None:
    unknown = f"^{re.escape(f'unknown process `{pid}`')}$"
    assert await registry.get_process(pid) is None
    assert await registry.get_process_lease(pid) is None
    assert await registry.has_handle_grant(GRANTEE, pid) is False
    assert pid not in ids(await registry.list_processes(ANY))
    with pytest.raises(UnknownProcess, match=unknown):
        await registry.events_after(pid, 0)
    with pytest.raises(UnknownProcess, match=unknown):
        await registry.wake_events_after(pid, 0)
    with pytest.raises(UnknownProcess, match=unknown):
        await registry.handle_grants_for_process(pid)
    with pytest.raises(UnknownProcess, match=unknown):
        await registry.recent_events(pid, 10)
    with pytest.raises(UnknownProcess, match=unknown):
        await registry.count_events_through(pid, "producer.wake", 10)
    with pytest.raises(UnknownProcess, match=unknown):
        await registry.ack_wake(pid, 2)
    with pytest.raises(UnknownProcess, match=unknown):
        await registry.append_event(pid, ProcessEventAppendRequest.new("process.waiting", {}))
    with pytest.raises(UnknownProcess, match=unknown):
        await registry.claim_process_lease(pid, own("late"), 1_000)


async def old_fresh_live(registry: ProcessRegistry, clock) -> int:
    """Scenario 89's rows. `old` ran under a lease, was granted, and has two wake events (one
    acked) plus its terminal: 3 events. `fresh` finished later with one unacked wake. Returns
    `fresh.updated_at_ms`."""
    await registry.register_process(ob("old", event_types=[wake_event_type()]))
    await registry.grant_handle(GRANTEE, "old", DESCRIPTOR)
    lease = await claim(registry, "old")
    await append_wake(registry, "old", "one")
    await append_wake(registry, "old", "two")
    await registry.ack_wake("old", 1)
    await finish(registry, "old", lease=lease)
    clock.advance(1_000)

    await registry.register_process(ext("fresh", event_types=[wake_event_type()]))
    await registry.grant_handle(GRANTEE, "fresh", DESCRIPTOR)
    await append_wake(registry, "fresh", "fresh wake")
    fresh = await finish(registry, "fresh")

    await registry.register_process(ext("live"))
    await registry.grant_handle(GRANTEE, "live", DESCRIPTOR)
    return fresh.updated_at_ms


async def test_prune_removes_old_terminal_rows_with_everything_hanging_off_them(registry, clock):
    # scenario 89
    cutoff = await old_fresh_live(registry, clock)

    assert await registry.prune_terminal_processes(cutoff) == report(1, 3)

    await assert_unknown_everywhere(registry, "old")
    live_grants = await registry.list_handle_grants(GRANTEE)
    assert [g.process_id for g, _ in live_grants] == ["fresh", "live"]
    assert ids(await registry.list_non_terminal()) == ["live"]
    assert [e.sequence for e in await registry.wake_events_after("fresh", 0)] == [1]
    assert ids(await registry.list_processes(ANY)) == ["fresh", "live"]


async def test_a_row_updated_exactly_at_the_cutoff_is_kept(registry, clock):
    # scenario 90
    await registry.register_process(ext("p"))
    done = await finish(registry, "p")

    assert await registry.prune_terminal_processes(done.updated_at_ms) == report(0, 0)
    assert await registry.get_process("p") == done

    assert await registry.prune_terminal_processes(done.updated_at_ms + 1) == report(1, 1)
    assert await registry.get_process("p") is None


async def test_the_cutoff_is_measured_from_the_latest_update_of_a_terminal_row(registry, clock):
    await registry.register_process(ext("p"))
    done = await finish(registry, "p")
    clock.advance(1_000)
    # non-terminal events are still accepted on terminal rows and bump updated_at (§4.4)
    await registry.append_event("p", ProcessEventAppendRequest.new("process.waiting", {}))
    touched = clock.now_ms()

    assert await registry.prune_terminal_processes(done.updated_at_ms + 1) == report(0, 0)
    assert await registry.prune_terminal_processes(touched) == report(0, 0)
    assert await registry.prune_terminal_processes(touched + 1) == report(1, 2)


async def test_running_rows_survive_even_the_largest_cutoff(registry, clock):
    # scenario 91
    await registry.register_process(ext("idle"))
    await registry.register_process(ext("waiting"))
    await park(registry, "waiting", clock.now_ms())
    await registry.register_process(ob("abandon-requested"))
    await registry.request_process_abandon(
        "abandon-requested", AbandonRequest(requested_by="operator", requested_at_ms=1)
    )
    await registry.register_process(ob("lease-lapsed"))
    await registry.claim_process_lease("lease-lapsed", own("gone"), 0)
    await registry.register_process(ext("chatty"))
    await registry.append_event("chatty", ProcessEventAppendRequest.new("process.waiting", {}))
    await registry.register_process(ext("done"))
    await finish(registry, "done")
    running = await registry.list_non_terminal()
    clock.advance(10_000_000)

    assert await registry.prune_terminal_processes(NEVER) == report(1, 1)

    assert await registry.list_non_terminal() == running
    assert ids(await registry.list_processes(ANY)) == ids(running)
    assert len(await registry.events_after("chatty", 0)) == 1
    assert await registry.get_process_lease("lease-lapsed") is not None


async def test_a_second_identical_prune_reports_zeros(registry, clock):
    # scenario 92
    cutoff = await old_fresh_live(registry, clock)
    await registry.prune_terminal_processes(cutoff)
    remaining = await registry.list_processes(ANY)

    assert await registry.prune_terminal_processes(cutoff) == report(0, 0)
    assert await registry.list_processes(ANY) == remaining


async def test_a_re_registered_pruned_id_starts_again_at_fencing_token_one(registry, clock):
    # scenario 93
    await registry.register_process(ob("p"))
    first = await claim(registry, "p", owner="a")
    clock.advance(LEASE_TTL_MS)  # a's lease lapses; b's claim fences it out
    second = await claim(registry, "p", owner="b")
    assert (first.fencing_token, second.fencing_token) == (1, 2)
    await finish(registry, "p", lease=second)
    clock.advance(1)
    await registry.prune_terminal_processes(clock.now_ms())

    await registry.register_process(ob("p"))
    outcome = await registry.claim_process_lease("p", own("c"), 60_000)

    lease = outcome.acquired()
    assert lease is not None and lease.fencing_token == 1


async def test_a_re_registered_pruned_id_has_no_history(registry, clock):
    # scenario 93 (derived): events, wake acks and grants went with the old row
    await registry.register_process(ext("p", event_types=[wake_event_type()]))
    await registry.grant_handle(GRANTEE, "p", DESCRIPTOR)
    await append_wake(registry, "p", "old wake")
    await registry.ack_wake("p", 1)
    await finish(registry, "p")
    clock.advance(1)
    await registry.prune_terminal_processes(clock.now_ms())
    clock.advance(500)

    again = await registry.register_process(ext("p", event_types=[wake_event_type()]))

    assert again.status == ProcessStatus.running()
    assert again.created_at_ms == again.updated_at_ms == clock.now_ms()
    assert await registry.events_after("p", 0) == []
    assert await registry.handle_grants_for_process("p") == []
    assert await registry.has_handle_grant(GRANTEE, "p") is False
    await append_wake(registry, "p", "new wake")  # sequence 1 again, and not acked
    assert [e.sequence for e in await registry.wake_events_after("p", 0)] == [1]


async def test_prune_with_a_filter_removes_only_matching_terminal_rows(registry):
    # scenario 94
    for pid, subscription in (("match", "X"), ("other", "Y"), ("live-match", "X")):
        cause = TriggerOccurrenceCause(occurrence_id=f"occ-{pid}", subscription_id=subscription)
        await registry.register_process(
            ext(pid, provenance=ProcessProvenance(originator=HostOriginator(), caused_by=cause))
        )
    await finish(registry, "match")
    await finish(registry, "other")
    only_x = ProcessListFilter(status=ProcessStatusFilter.ANY, caused_by_subscription_id="X")

    assert await registry.prune_terminal_processes(NEVER, filter=only_x) == report(1, 1)

    assert ids(await registry.list_processes(ANY)) == ["live-match", "other"]


async def test_prune_with_a_status_filter_removes_only_that_terminal_state(registry):
    await registry.register_process(ext("completed"))
    await registry.register_process(ext("failed"))
    await finish(registry, "completed")
    await finish(registry, "failed", failure("boom", "it broke"))
    only_failed = ProcessListFilter(status=ProcessStatusFilter.FAILED)

    assert await registry.prune_terminal_processes(NEVER, filter=only_failed) == report(1, 1)

    assert ids(await registry.list_processes(ANY)) == ["completed"]


async def test_prune_up_to_a_change_cursor_spares_rows_changed_after_it(registry, clock):
    # scenario 94
    await registry.register_process(ext("first"))
    await registry.register_process(ext("second"))
    await finish(registry, "first")
    acknowledged = await feed_end(registry)  # the cursor read right after the first completion
    clock.advance(10)
    await finish(registry, "second")

    pruned = await registry.prune_terminal_processes(NEVER, up_to_change_seq=acknowledged)

    assert pruned == report(1, 1)
    assert await registry.get_process("first") is None
    assert await registry.get_process("second") is not None
    assert await registry.prune_terminal_processes(NEVER) == report(1, 1)


async def test_prune_up_to_a_cursor_spares_a_terminal_row_touched_again_later(registry, clock):
    await registry.register_process(ext("p"))
    await finish(registry, "p")
    acknowledged = await feed_end(registry)
    clock.advance(10)
    # non-terminal events are still accepted on terminal rows (semantics §4.4 step 9)
    await registry.append_event("p", ProcessEventAppendRequest.new("process.waiting", {}))

    assert await registry.prune_terminal_processes(NEVER, up_to_change_seq=acknowledged) == report(
        0, 0
    )
    assert await registry.get_process("p") is not None
