"""The operator's two attention lists (lashtui extensions): who holds a lease, soonest to
lapse first; and which live rows are asked to be abandoned or may be silent but not dead.

A released lease is no holder; a lapsed one still is (it is a raw fact, lapsed or not). An
abandon candidate is any live row with a pending request, or a started owner_bound row; with
`lapsed_at_ms`, only those of the latter whose lease has lapsed by then.
"""

from __future__ import annotations

import pytest

from lashtui.clock import ManualClock
from lashtui.errors import InvalidRequest
from lashtui.model import AbandonRequest, ProcessStarted
from lashtui.registry import ProcessRegistry
from tests.builders import ext, ob, own, rr
from tests.registry.rows import claim, finish, ids


async def test_leased_processes_soonest_expiry_first(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    for pid in ("a", "b", "c", "d", "free", "released"):
        await registry.register_process(ob(pid))
    await registry.claim_process_lease("c", own("w"), 5_000)
    await registry.claim_process_lease("a", own("w"), 9_000)
    await registry.claim_process_lease("d", own("w"), 1_000)
    await registry.claim_process_lease("b", own("w"), 5_000)  # the same expiry as c: by id
    held = (await registry.claim_process_lease("released", own("w"), 100)).acquired()
    assert held is not None
    await registry.release_process_lease(held)

    assert ids(await registry.list_leased_processes()) == ["d", "b", "c", "a"]
    assert ids(await registry.list_leased_processes(limit=2)) == ["d", "b"]
    assert await registry.list_leased_processes(limit=0) == []

    # A lapsed lease is still held until someone releases or takes it.
    clock.advance(6_000)
    assert ids(await registry.list_leased_processes()) == ["d", "b", "c", "a"]
    await registry.claim_process_lease("d", own("other"), 10_000)
    assert ids(await registry.list_leased_processes()) == ["b", "c", "a", "d"]


async def test_a_leased_completion_leaves_the_lease_list(registry: ProcessRegistry) -> None:
    await registry.register_process(ob("p"))
    lease = await claim(registry, "p")
    assert ids(await registry.list_leased_processes()) == ["p"]
    await finish(registry, "p", lease=lease)
    assert await registry.list_leased_processes() == []


async def start(registry: ProcessRegistry, pid: str, now_ms: int, ttl_ms: int = 5_000) -> None:
    """Claim the row's lease and record that its owner started it."""
    lease = (await registry.claim_process_lease(pid, own("w"), ttl_ms)).acquired()
    assert lease is not None
    await registry.record_first_started(
        pid, ProcessStarted(owner=own("w"), started_at_ms=now_ms), lease
    )


async def test_abandon_candidates(registry: ProcessRegistry, clock: ManualClock) -> None:
    now = clock.now_ms()
    await registry.register_process(ob("ob-started"))
    await registry.register_process(ob("ob-unstarted"))
    await registry.register_process(ob("ob-finished"))
    await registry.register_process(rr("rr-started"))
    await registry.register_process(ext("ext-requested"))
    await registry.register_process(rr("rr-requested"))
    await start(registry, "ob-started", now)
    await start(registry, "rr-started", now)
    await start(registry, "ob-finished", now)
    await finish(registry, "ob-finished", lease=await registry.get_process_lease("ob-finished"))
    request = AbandonRequest(requested_by="operator", requested_at_ms=now)
    await registry.request_process_abandon("ext-requested", request)
    await registry.request_process_abandon("rr-requested", request)

    assert ids(await registry.list_abandon_candidates()) == [
        "ext-requested",
        "ob-started",
        "rr-requested",
    ]
    assert ids(await registry.list_abandon_candidates(limit=1)) == ["ext-requested"]


async def test_abandon_candidates_lapsed_by_a_time(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    now = clock.now_ms()
    for pid in ("alive", "lapsed", "released", "requested"):
        await registry.register_process(ob(pid))
        await start(registry, pid, now, ttl_ms=10_000 if pid == "alive" else 1_000)
    await registry.release_process_lease(await registry.get_process_lease("released"))  # type: ignore[arg-type]
    request = AbandonRequest(requested_by="operator", requested_at_ms=now)
    await registry.request_process_abandon("requested", request)

    # At `now` only the released lease is gone; a request is listed whatever its lease.
    assert ids(await registry.list_abandon_candidates(lapsed_at_ms=now)) == [
        "released",
        "requested",
    ]
    # An expiry equal to the time has lapsed.
    assert ids(await registry.list_abandon_candidates(lapsed_at_ms=now + 1_000)) == [
        "lapsed",
        "released",
        "requested",
    ]
    assert ids(await registry.list_abandon_candidates(lapsed_at_ms=now + 10_000)) == [
        "alive",
        "lapsed",
        "released",
        "requested",
    ]
    # The limit is spent on lapsed rows only, so live owners never crowd them out.
    assert ids(await registry.list_abandon_candidates(1, lapsed_at_ms=now)) == ["released"]


@pytest.mark.parametrize("limit", [-1, True, 2.5])
async def test_list_limits_are_whole_and_not_negative(
    registry: ProcessRegistry, limit: object
) -> None:
    with pytest.raises(InvalidRequest, match=r"limit must be a whole number >= 0"):
        await registry.list_leased_processes(limit)  # type: ignore[arg-type]
    with pytest.raises(InvalidRequest, match=r"limit must be a whole number >= 0"):
        await registry.list_abandon_candidates(limit)  # type: ignore[arg-type]
