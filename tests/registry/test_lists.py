"""Listing processes and following the change feed (semantics §3.17, §5.16, §5.19, §5.22;
scenarios A11-A12 and G82, G88 through the registry).

Covers `list_processes` with status, waiting, definition and the enriched (07-08) filters,
always in process-id order; `list_non_terminal` as the worklist; and
`processes_changed_since`: every row mutation moves the row to the end of the feed, a row
appears once at its latest change, limit and cursor rules, idempotent re-reads, and terminal
transitions that are never missed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from lashtui.clock import ManualClock
from lashtui.model import (
    AbandonedOutput,
    AbandonEvidence,
    AbandonRequest,
    AbandonWriter,
    CancelledOutput,
    ExternalRef,
    ProcessEventAppendRequest,
    ProcessIdentity,
    ProcessListFilter,
    ProcessProvenance,
    ProcessRecord,
    ProcessStarted,
    SessionNodeCause,
    SessionOriginator,
    TriggerOccurrenceCause,
    failure,
)
from lashtui.registry import ProcessRegistry
from tests.builders import ext, ob, own, rr
from tests.registry.rows import (
    ANY,
    claim,
    feed_end,
    finish,
    ids,
    park,
    scope,
    success,
)


async def listed(registry: ProcessRegistry, filter_json: object) -> list[str]:
    return ids(await registry.list_processes(ProcessListFilter.decode(filter_json)))


async def running_waiting_done(registry: ProcessRegistry, clock) -> None:
    """Scenario 82's rows, registered out of id order."""
    await registry.register_process(ext("waiting"))
    await registry.register_process(ext("running"))
    await registry.register_process(ext("done"))
    await park(registry, "waiting", clock.now_ms())
    await finish(registry, "done")


# --- list_processes -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filter_json", "expected"),
    [
        ({"status": "any"}, ["done", "running", "waiting"]),
        ({"status": "running"}, ["running", "waiting"]),
        ({}, ["running", "waiting"]),
        ({"status": "completed"}, ["done"]),
        ({"status": "failed"}, []),
        ({"status": "any", "waiting": True}, ["waiting"]),
        ({"status": "running", "waiting": False}, ["running"]),
        ({"status": "completed", "waiting": False}, ["done"]),
    ],
)
async def test_list_filters_by_status_and_waiting_in_id_order(
    registry, clock, filter_json, expected
):
    # scenarios 82 and 11
    await running_waiting_done(registry, clock)
    assert await listed(registry, filter_json) == expected


async def test_the_default_filter_lists_only_running_rows(registry, clock):
    await running_waiting_done(registry, clock)
    assert ids(await registry.list_processes(ProcessListFilter())) == ["running", "waiting"]


async def test_waiting_follows_the_wait_being_set_and_cleared(registry, clock):
    # scenario 11
    await registry.register_process(ext("p"))
    assert await listed(registry, {"waiting": True}) == []
    assert await listed(registry, {"waiting": False}) == ["p"]

    await park(registry, "p", clock.now_ms())
    assert await listed(registry, {"waiting": True}) == ["p"]
    assert await listed(registry, {"waiting": False}) == []

    await registry.clear_process_wait("p")
    assert await listed(registry, {"waiting": True}) == []


async def test_finishing_a_waiting_row_takes_it_out_of_the_waiting_list(registry, clock):
    # semantics §4.4 step 9: a terminal clears the wait
    await registry.register_process(ext("p"))
    await park(registry, "p", clock.now_ms())

    await finish(registry, "p")

    assert await listed(registry, {"status": "any", "waiting": True}) == []
    assert await listed(registry, {"status": "completed", "waiting": False}) == ["p"]


async def test_each_terminal_state_is_its_own_status(registry):
    for pid in ("a-completed", "b-failed", "c-cancelled", "d-abandoned", "e-running"):
        await registry.register_process(ob(pid))
    await finish(registry, "a-completed", success(1))
    await finish(registry, "b-failed", failure("boom", "it broke"))
    await finish(registry, "c-cancelled", CancelledOutput(message="stop"))
    evidence = AbandonEvidence(writer=AbandonWriter.SWEEP, owner=own("dead-owner"), epoch_ms=999)
    await finish(registry, "d-abandoned", AbandonedOutput(evidence=evidence))

    assert await listed(registry, {"status": "completed"}) == ["a-completed"]
    assert await listed(registry, {"status": "failed"}) == ["b-failed"]
    assert await listed(registry, {"status": "cancelled"}) == ["c-cancelled"]
    assert await listed(registry, {"status": "abandoned"}) == ["d-abandoned"]
    assert await listed(registry, {"status": "running"}) == ["e-running"]


async def test_definition_filter_matches_the_identity_definition_exactly(registry):
    # scenario 12
    wanted = {"name": "nightly", "v": 2}
    for pid, definition in (("match", wanted), ("other", {"name": "nightly", "v": 3})):
        identity = ProcessIdentity(kind="lashlang", definition=definition)
        await registry.register_process(rr(pid, identity=identity))
        await finish(registry, pid)
    await registry.register_process(
        rr("running-match", identity=ProcessIdentity(kind="lashlang", definition=wanted))
    )

    assert await listed(registry, {"definition": wanted, "status": "completed"}) == ["match"]
    assert await listed(registry, {"definition": wanted, "status": "any"}) == [
        "match",
        "running-match",
    ]


FRAME_SCOPE = scope("filter-session", "filter-frame")


async def enriched_rows(registry: ProcessRegistry, clock: ManualClock) -> int:
    """Scenario 88: a target and decoys that each differ in one enriched field. Returns the
    target's creation time."""
    cause = TriggerOccurrenceCause(occurrence_id="occ-target", subscription_id="sub-target")
    target = ProcessProvenance(originator=SessionOriginator(scope=FRAME_SCOPE), caused_by=cause)
    identity = ProcessIdentity(kind="filter-kind", label="target-label")

    async def register(pid: str, **changes: object) -> None:
        kw: dict[str, object] = {"provenance": target, "identity": identity}
        kw.update(changes)
        await registry.register_process(ext(pid, **kw))

    await register("decoy-early")  # created one ms before the target
    clock.advance(1)
    created = clock.now_ms()
    await register("target")
    root = ProcessProvenance(originator=SessionOriginator(scope=scope("filter-session")))
    await register("decoy-root-originator", provenance=root.model_copy(update={"caused_by": cause}))
    await register(
        "decoy-host", provenance=ProcessProvenance.host().model_copy(update={"caused_by": cause})
    )
    await register("decoy-kind", identity=identity.model_copy(update={"kind": "other-kind"}))
    await register("decoy-label", identity=identity.model_copy(update={"label": "other-label"}))
    await register(
        "decoy-occurrence",
        provenance=target.model_copy(
            update={"caused_by": cause.model_copy(update={"occurrence_id": "occ-other"})}
        ),
    )
    await register(
        "decoy-subscription",
        provenance=target.model_copy(
            update={"caused_by": cause.model_copy(update={"subscription_id": "sub-other"})}
        ),
    )
    await register(
        "decoy-node-cause",
        provenance=target.model_copy(
            update={"caused_by": SessionNodeCause(session_id="filter-session", node_id="n")}
        ),
    )
    clock.advance(1)
    await register("decoy-late")  # created one ms after the target
    return created


async def test_enriched_filters_each_select_only_their_target(registry, clock):
    # scenario 88
    created = await enriched_rows(registry, clock)
    everyone = ids(await registry.list_processes(ANY))
    assert len(everyone) == 10

    def everyone_but(*decoys: str) -> list[str]:
        return [pid for pid in everyone if pid not in decoys]

    by_originator = await listed(registry, {"originator_scope_id": FRAME_SCOPE.id()})
    assert "target" in by_originator
    assert "decoy-root-originator" not in by_originator and "decoy-host" not in by_originator

    assert await listed(registry, {"identity_kind": "filter-kind"}) == everyone_but("decoy-kind")
    assert await listed(registry, {"identity_label": "target-label"}) == everyone_but("decoy-label")
    assert await listed(registry, {"caused_by_occurrence_id": "occ-target"}) == everyone_but(
        "decoy-occurrence", "decoy-node-cause"
    )
    assert await listed(registry, {"caused_by_subscription_id": "sub-target"}) == everyone_but(
        "decoy-subscription", "decoy-node-cause"
    )
    window = {"created_at_start_ms": created, "created_at_end_ms": created + 1}
    assert "decoy-early" not in await listed(registry, window)
    assert "decoy-late" not in await listed(registry, window)

    all_of_them = {
        "originator_scope_id": FRAME_SCOPE.id(),
        "identity_kind": "filter-kind",
        "identity_label": "target-label",
        "caused_by_occurrence_id": "occ-target",
        "caused_by_subscription_id": "sub-target",
        **window,
    }
    assert await listed(registry, all_of_them) == ["target"]


async def test_created_at_window_is_start_inclusive_and_end_exclusive(registry, clock):
    # scenario 88
    created = await enriched_rows(registry, clock)
    in_window = await listed(
        registry, {"created_at_start_ms": created, "created_at_end_ms": created + 1}
    )
    assert "target" in in_window
    assert await listed(
        registry, {"created_at_start_ms": created + 1, "created_at_end_ms": created + 2}
    ) == ["decoy-late"]
    assert await listed(registry, {"created_at_end_ms": created}) == ["decoy-early"]


# --- list_non_terminal --------------------------------------------------------------------------


async def test_non_terminal_lists_running_and_waiting_rows_in_id_order(registry, clock):
    for pid in ("c", "a", "d", "b"):
        await registry.register_process(ext(pid))
    await park(registry, "d", clock.now_ms())
    await finish(registry, "b")

    assert ids(await registry.list_non_terminal()) == ["a", "c", "d"]


async def test_non_terminal_is_empty_when_everything_has_finished(registry):
    await registry.register_process(ext("p"))
    await finish(registry, "p")
    assert await registry.list_non_terminal() == []


# --- the change feed ----------------------------------------------------------------------------


async def test_the_feed_lists_rows_in_change_order_not_id_order(registry):
    for pid in ("c", "a", "b"):
        await registry.register_process(ext(pid))

    records, cursor = await registry.processes_changed_since(0, 100)

    assert ids(records) == ["c", "a", "b"]
    assert cursor > 0
    assert records == [await registry.get_process(pid) for pid in ("c", "a", "b")]


async def test_a_changed_row_appears_once_at_its_latest_change(registry, clock):
    for pid in ("c", "a", "b"):
        await registry.register_process(ext(pid))
    clock.advance(10)
    changed = await registry.set_external_ref("c", ExternalRef(backend="k8s", id="job"))

    records, _ = await registry.processes_changed_since(0, 100)

    assert ids(records) == ["a", "b", "c"]
    assert records[-1] == changed


async def _first_started(registry, clock):
    lease = await claim(registry, "p")
    return lambda: registry.record_first_started(
        "p", ProcessStarted(owner=own("worker"), started_at_ms=clock.now_ms()), lease
    )


async def _leased_terminal(registry, clock):
    lease = await claim(registry, "p")
    return lambda: registry.complete_process_with_lease(lease, success())


async def _cleared_wait(registry, clock):
    await park(registry, "p", clock.now_ms())
    return lambda: registry.clear_process_wait("p")


def simple(make: Callable[[ProcessRegistry, ManualClock], Awaitable[object]]):
    """A mutation that needs no preparation beyond the row itself."""

    async def setup(registry, clock):
        return lambda: make(registry, clock)

    return setup


MUTATIONS = {
    "external ref": simple(
        lambda r, c: r.set_external_ref("p", ExternalRef(backend="k8s", id="job"))
    ),
    "event append": simple(
        lambda r, c: r.append_event("p", ProcessEventAppendRequest.new("process.waiting", {}))
    ),
    "first started": _first_started,
    "abandon request": simple(
        lambda r, c: r.request_process_abandon(
            "p", AbandonRequest(requested_by="operator", requested_at_ms=c.now_ms())
        )
    ),
    "wait set": simple(lambda r, c: park(r, "p", c.now_ms())),
    "wait cleared": _cleared_wait,
    "leased terminal": _leased_terminal,
    "session delete clears wake target": simple(lambda r, c: r.delete_session_process_state("s1")),
}


@pytest.mark.parametrize("setup", MUTATIONS.values(), ids=MUTATIONS.keys())
async def test_every_row_mutation_moves_the_row_forward_in_the_feed(registry, clock, setup):
    await registry.register_process(ob("p", wake_target=scope("s1")))
    await registry.register_process(ext("bystander"))
    mutate = await setup(registry, clock)
    cursor = await feed_end(registry)
    clock.advance(10)

    await mutate()

    records, next_cursor = await registry.processes_changed_since(cursor, 100)
    assert ids(records) == ["p"]
    assert next_cursor > cursor
    assert records[0] == await registry.get_process("p")
    assert records[0].updated_at_ms == clock.now_ms()


async def test_registering_and_completing_externally_owned_rows_appear_in_the_feed(registry):
    cursor = await feed_end(registry)
    await registry.register_process(ext("new"))
    records, after_register = await registry.processes_changed_since(cursor, 100)
    assert ids(records) == ["new"]

    completed = await finish(registry, "new")
    records, after_terminal = await registry.processes_changed_since(after_register, 100)
    assert records == [completed]
    assert after_terminal > after_register


async def test_limit_pages_the_feed_and_each_page_resumes_after_the_last(registry):
    for pid in ("c", "a", "b", "e", "d"):
        await registry.register_process(ext(pid))

    first, cursor1 = await registry.processes_changed_since(0, 2)
    second, cursor2 = await registry.processes_changed_since(cursor1, 2)
    third, cursor3 = await registry.processes_changed_since(cursor2, 2)
    empty, cursor4 = await registry.processes_changed_since(cursor3, 2)

    assert [ids(first), ids(second), ids(third)] == [["c", "a"], ["b", "e"], ["d"]]
    assert 0 < cursor1 < cursor2 < cursor3
    assert (empty, cursor4) == ([], cursor3)


async def test_limit_zero_returns_the_callers_cursor(registry):
    await registry.register_process(ext("p"))
    assert await registry.processes_changed_since(0, 0) == ([], 0)
    assert await registry.processes_changed_since(7, 0) == ([], 7)


async def test_an_empty_page_returns_the_callers_cursor_even_past_the_end(registry):
    assert await registry.processes_changed_since(0, 10) == ([], 0)
    await registry.register_process(ext("p"))
    end = await feed_end(registry)
    assert await registry.processes_changed_since(end, 10) == ([], end)
    assert await registry.processes_changed_since(end + 100, 10) == ([], end + 100)


async def test_rereading_from_the_same_cursor_gives_the_same_page(registry, clock):
    for pid in ("a", "b", "c"):
        await registry.register_process(ext(pid))
    _, cursor = await registry.processes_changed_since(0, 1)

    first = await registry.processes_changed_since(cursor, 10)
    second = await registry.processes_changed_since(cursor, 10)

    assert first == second
    assert ids(first[0]) == ["b", "c"]


async def test_no_op_repeats_do_not_appear_in_the_feed(registry, clock):
    await registry.register_process(ext("p"))
    ref = ExternalRef(backend="k8s", id="job")
    await registry.set_external_ref("p", ref)
    await finish(registry, "p")
    cursor = await feed_end(registry)
    clock.advance(10)

    await registry.register_process(ext("p"))
    await registry.set_external_ref("p", ref)
    await finish(registry, "p")  # identical terminal replay

    assert await registry.processes_changed_since(cursor, 100) == ([], cursor)


async def test_terminal_transitions_are_never_missed_by_a_paging_reader(registry):
    pids = [f"p{n:02d}" for n in range(20)]
    for pid in pids:
        await registry.register_process(ext(pid))
    cursor = await feed_end(registry)

    await asyncio.gather(*(finish(registry, pid, success(pid)) for pid in pids))

    seen: list[ProcessRecord] = []
    while True:
        page, cursor = await registry.processes_changed_since(cursor, 3)
        if not page:
            break
        seen.extend(page)
    assert sorted(ids(seen)) == pids
    assert all(record.status.is_terminal() for record in seen)
    assert {record.id: record.status.await_output for record in seen} == {
        pid: success(pid) for pid in pids
    }
