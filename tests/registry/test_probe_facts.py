"""`probe_facts`, what `lashtui check` judges, on both stores: counted from one snapshot of
real rows in each state that matters (a lapsed lease, a live one, a silent-not-dead row, an
abandon request, a failure inside and one outside the window)."""

from __future__ import annotations

import json

from lashtui.clock import ManualClock
from lashtui.model import AbandonRequest, FailureOutput, ProcessStarted
from lashtui.model.limit import MAX_ID_CHARS
from lashtui.registry import ProcessRegistry
from tests.builders import ext, ob, own, rr
from tests.raw import raw_connection, store_record_json
from tests.registry.rows import caught_up, finish

MINUTE = 60_000


def failure() -> FailureOutput:
    return FailureOutput.model_validate({"class": "execution", "code": "boom", "message": "m"})


async def start(registry: ProcessRegistry, pid: str, now_ms: int, ttl_ms: int) -> None:
    lease = (await registry.claim_process_lease(pid, own("w"), ttl_ms)).acquired()
    assert lease is not None
    await registry.record_first_started(
        pid, ProcessStarted(owner=own("w"), started_at_ms=now_ms), lease
    )


async def test_probe_facts_count_each_state(registry: ProcessRegistry, clock: ManualClock) -> None:
    t0 = clock.now_ms()
    await registry.register_process(ext("failed-long-ago"))
    await finish(registry, "failed-long-ago", failure())
    await registry.register_process(ext("ext-requested"))
    await registry.request_process_abandon(
        "ext-requested", AbandonRequest(requested_by="dana", requested_at_ms=t0)
    )
    clock.advance(20 * MINUTE)
    now = clock.now_ms()
    for pid in ("ob-silent", "ob-live", "ob-requested"):
        await registry.register_process(ob(pid))
    await registry.register_process(rr("rr-lapsed"))
    await registry.register_process(ext("failed-now"))
    await registry.register_process(ext("done"))
    await start(registry, "ob-silent", now, 5_000)
    await start(registry, "ob-requested", now, 5_000)
    await registry.request_process_abandon(
        "ob-requested", AbandonRequest(requested_by="dana", requested_at_ms=now)
    )
    lapsing = (await registry.claim_process_lease("rr-lapsed", own("w"), 5_000)).acquired()
    assert lapsing is not None
    await start(registry, "ob-live", now, 60_000)
    await finish(registry, "failed-now", failure())
    await finish(registry, "done")
    clock.advance(10_000)

    facts = await registry.probe_facts(clock.now_ms(), clock.now_ms() - 15 * MINUTE)

    assert facts.live == 5  # ext-requested, ob-silent, ob-live, ob-requested, rr-lapsed
    assert (facts.held_leases, facts.lapsed_leases) == (4, 3)
    assert facts.newest_claim_ms == now
    assert facts.newest_expiry_ms == now + 60_000
    # ob-requested lapsed too, but has a request: it is on its way to the sweep.
    assert facts.silent_not_dead == 1
    assert (facts.abandon_requests, facts.oldest_abandon_request_ms) == (2, t0)
    assert facts.failed_since == 1  # failed-long-ago is outside the 15 minutes


async def test_probe_facts_of_an_empty_registry(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    facts = await registry.probe_facts(clock.now_ms(), 0)
    assert facts.model_dump() == {
        "now_ms": clock.now_ms(),
        "live": 0,
        "held_leases": 0,
        "lapsed_leases": 0,
        "newest_claim_ms": None,
        "newest_expiry_ms": None,
        "future_leases": 0,
        "unread_leases": 0,
        "silent_not_dead": 0,
        "abandon_requests": 0,
        "oldest_abandon_request_ms": None,
        "failed_since_ms": 0,
        "failed_since": 0,
        "unknown_state": 0,
        "unknown_state_first": None,
        "long_ids": 0,
        "long_ids_first": None,
    }


async def test_rows_of_unknown_state_are_counted_and_the_first_named(
    registry: ProcessRegistry, registry_target: str, clock: ManualClock
) -> None:
    """Rows another program left in no state: a status column that names none (any row),
    a live row whose record says it ended, a live row whose record is not JSON. Each reads
    as undecodable, which no worker or sweep touches: `check` said OK over them, and
    nothing said that an abandon request on one would never be honoured."""
    for pid in ("a-fine", "b-zombie", "c-ended", "d-not-json", "e-done", "f-fine"):
        await registry.register_process(ext(pid))
    await finish(registry, "c-ended")
    await finish(registry, "e-done")
    await registry.request_process_abandon(
        "b-zombie", AbandonRequest(requested_by="dana", requested_at_ms=clock.now_ms())
    )
    facts = await registry.probe_facts(clock.now_ms(), 0)
    assert (facts.unknown_state, facts.unknown_state_first) == (0, None)
    with raw_connection(registry_target) as conn:
        conn.execute("UPDATE processes SET status = 'zombie' WHERE process_id = 'b-zombie'")
        conn.execute("UPDATE processes SET status = 'running' WHERE process_id = 'c-ended'")
    assert (await registry.probe_facts(clock.now_ms(), 0)).unknown_state == 2
    store_record_json(registry_target, "d-not-json", "not json")
    facts = await registry.probe_facts(clock.now_ms(), 0)
    assert (facts.unknown_state, facts.unknown_state_first) == (3, "b-zombie")
    assert facts.live == 4  # a-fine, c-ended, d-not-json, f-fine: by their column
    with raw_connection(registry_target) as conn:
        # A terminal column is not weighed against its record (the many terminal rows are
        # never read here); such a row lists as undecodable in the column's state.
        conn.execute("UPDATE processes SET status = 'completed' WHERE process_id = 'b-zombie'")
        conn.execute("UPDATE processes SET status = '' WHERE process_id = 'f-fine'")
    facts = await registry.probe_facts(clock.now_ms(), 0)
    assert (facts.unknown_state, facts.unknown_state_first) == (3, "c-ended")


async def test_a_live_record_another_encoder_spaced_is_of_known_state(
    registry: ProcessRegistry, registry_target: str, clock: ManualClock
) -> None:
    """Another program stores records with whitespace between JSON's tokens (Python's
    `json.dumps` default: `"state": "running"`). Every reader decodes such a row as
    running, so `check` must not count it as of unknown state: on PostgreSQL it did (the
    count looked for the compact text only), and `check` warned, naming a row whose
    `show` said nothing wrong. A spaced record that says another state still counts."""
    ended = {"state": "cancelled", "await_output": {"type": "cancelled", "message": "m"}}
    for pid, indent, status in (
        ("a-spaced", None, None),
        ("b-tabbed", "\t", None),
        ("c-ended-spaced", None, ended),
    ):
        row = await registry.register_process(ext(pid))
        stored = row.model_dump(mode="json", by_alias=True)
        if status is not None:
            stored["status"] = status
        text = json.dumps(stored, indent=indent)
        assert '"state":"' not in text
        store_record_json(registry_target, pid, text)
    for pid in ("a-spaced", "b-tabbed"):
        read = await registry.get_process(pid)
        assert read is not None and read.undecodable is None

    facts = await registry.probe_facts(clock.now_ms(), 0)

    assert (facts.unknown_state, facts.unknown_state_first) == (1, "c-ended-spaced")


async def test_ids_past_the_write_limit_are_counted_and_the_first_named_by_its_start(
    registry: ProcessRegistry, registry_target: str, clock: ManualClock
) -> None:
    """Only another program stores an id past `MAX_ID_CHARS`; every read takes it whole.
    The facts count such rows and name the first by its first 64 characters, cut in SQL."""
    for pid in ("a", "b", "c"):
        await registry.register_process(ext(pid))
    # 512 characters (not past it), 513, and 600 characters of 2 bytes each
    renamed = {"a": "x" * MAX_ID_CHARS, "b": "b" * (MAX_ID_CHARS + 1), "c": "c" + "é" * 599}
    with raw_connection(registry_target) as conn:
        for pid, stored in renamed.items():
            conn.execute("UPDATE processes SET process_id = ? WHERE process_id = ?", (stored, pid))
    facts = await registry.probe_facts(clock.now_ms(), 0)
    assert (facts.long_ids, facts.long_ids_first) == (2, "b" * 64)


async def test_change_cursor_follows_the_feed(
    registry: ProcessRegistry, registry_target: str
) -> None:
    before = await caught_up(registry, registry_target)
    await registry.register_process(ext("a"))
    after = await caught_up(registry, registry_target)
    assert after > before
    changed, cursor = await registry.processes_changed_since(before, 10)
    assert [r.id for r in changed] == ["a"] and cursor == after
