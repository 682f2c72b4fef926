"""Fenced process leases and the terminal writes they guard.

Covers scenarios.md group C (38-45) and semantics §6 in full: claim (incl. same-incarnation
re-entry and expiry at equality), reclaim from a provably dead holder (§6.3), renew (§6.4),
token-matched release that keeps the fence (§6.5), `get_process_lease` as a raw fact, and
fencing tokens that never decrease. Also the terminal writes of §5.10-§5.11 with the port
decisions of api.md: `complete_process_with_lease` needs the current lease and releases it,
while unleased `complete_process` closes only externally-owned rows. Two registry handles on
one file check that the fencing holds across connections.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from lashtui.clock import ManualClock
from lashtui.errors import LeaseLost, ProcessConflict, UnknownProcess
from lashtui.model import (
    AbandonRequest,
    FailureOutput,
    LeaseOwnerIdentity,
    LocalProcessLiveness,
    ProcessLease,
    ProcessRecord,
    SuccessOutput,
)
from lashtui.registry import ProcessRegistry, open_registry
from tests.builders import ext, local, ob, own, rr

DEAD_START = "not-the-current-process-start"
LIVE = 60_000


def lease_lost(pid: str = "p") -> str:
    return f"process lease for `{pid}` is missing or expired"


EXTERNAL_OWNER_REFUSAL = (
    "process `{pid}` cannot be completed with external-owner authority: only externally-owned "
    "rows may be completed by an external owner; a lash-executed row has a lease-fenced single "
    "writer"
)


async def claim(
    registry: ProcessRegistry, owner: LeaseOwnerIdentity, ttl_ms: int = LIVE, pid: str = "p"
) -> ProcessLease:
    """Claim and insist on Acquired."""
    outcome = await registry.claim_process_lease(pid, owner, ttl_ms)
    lease = outcome.acquired()
    assert lease is not None, f"expected Acquired, got Busy held by {outcome.holder}"
    return lease


async def claim_busy(
    registry: ProcessRegistry, owner: LeaseOwnerIdentity, ttl_ms: int = LIVE, pid: str = "p"
) -> ProcessLease:
    """Claim and insist on Busy; returns the holder."""
    outcome = await registry.claim_process_lease(pid, owner, ttl_ms)
    assert outcome.acquired() is None, "expected Busy, got Acquired"
    assert outcome.holder is not None
    return outcome.holder


async def reclaim(
    registry: ProcessRegistry,
    claimant: LeaseOwnerIdentity,
    observed: ProcessLease,
    ttl_ms: int = LIVE,
    pid: str = "p",
) -> tuple[ProcessLease | None, ProcessLease | None]:
    """(acquired, busy holder) of a reclaim."""
    outcome = await registry.reclaim_process_lease(pid, claimant, observed, ttl_ms)
    return outcome.acquired(), outcome.holder


def fabricated(pid: str = "p", owner: LeaseOwnerIdentity | None = None, **kw: Any) -> ProcessLease:
    """A lease nobody was ever granted."""
    fields: dict[str, Any] = {
        "process_id": pid,
        "owner": owner or own("ghost"),
        "lease_token": "never-issued",
        "fencing_token": 1,
        "claimed_at_epoch_ms": 0,
        "expires_at_epoch_ms": 2**62,
    }
    fields.update(kw)
    return ProcessLease.model_validate(fields)


async def events_of(registry: ProcessRegistry, pid: str = "p") -> list[str]:
    return [event.event_type for event in await registry.events_after(pid, 0)]


async def record_of(registry: ProcessRegistry, pid: str = "p") -> ProcessRecord:
    record = await registry.get_process(pid)
    assert record is not None
    return record


# --- claim (§6.2) --------------------------------------------------------------------------


async def test_first_claim_acquires_fence_one(
    registry: ProcessRegistry, clock: ManualClock
) -> None:  # scenario 38
    await registry.register_process(rr("p"))
    lease = await claim(registry, own("a"), 60_000)
    assert lease.process_id == "p"
    assert lease.owner == own("a")
    assert lease.fencing_token == 1
    assert lease.schema_version == 2
    assert lease.claimed_at_epoch_ms == clock.now_ms()
    assert lease.expires_at_epoch_ms == clock.now_ms() + 60_000
    assert lease.lease_token


async def test_claim_while_another_holds_a_live_lease_is_busy(
    registry: ProcessRegistry, clock: ManualClock
) -> None:  # scenario 39
    await registry.register_process(rr("p"))
    a = await claim(registry, own("a"))
    clock.advance(LIVE - 1)
    holder = await claim_busy(registry, own("b"))
    assert holder.lease_token == a.lease_token
    assert holder == a
    assert await registry.get_process_lease("p") == a


async def test_same_incarnation_reclaim_extends_without_a_new_token(
    registry: ProcessRegistry, clock: ManualClock
) -> None:  # scenario 40
    await registry.register_process(rr("p"))
    first = await claim(registry, own("a"), 60_000)
    clock.advance(1_000)
    again = await claim(registry, own("a"), 120_000)
    assert again.lease_token == first.lease_token
    assert again.fencing_token == first.fencing_token
    assert again.claimed_at_epoch_ms == first.claimed_at_epoch_ms
    assert again.expires_at_epoch_ms == clock.now_ms() + 120_000
    assert again.expires_at_epoch_ms >= first.expires_at_epoch_ms
    assert await registry.get_process_lease("p") == again


async def test_same_owner_with_another_incarnation_is_busy(registry: ProcessRegistry) -> None:
    await registry.register_process(rr("p"))
    a = await claim(registry, own("a"))
    holder = await claim_busy(registry, LeaseOwnerIdentity.opaque("a", "a:next-boot"))
    assert holder == a


async def test_claim_after_expiry_takes_over_with_the_next_fence(
    registry: ProcessRegistry,
) -> None:  # scenario 41
    await registry.register_process(rr("p"))
    a = await claim(registry, own("a"), 0)
    b = await claim(registry, own("b"), 60_000)
    assert b.fencing_token == 2
    assert b.owner == own("b")
    assert b.lease_token != a.lease_token
    with pytest.raises(LeaseLost, match=re.escape(lease_lost())):
        await registry.renew_process_lease(a, 60_000)
    assert await registry.get_process_lease("p") == b


async def test_a_lease_expiring_exactly_now_is_expired(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    await registry.register_process(rr("p"))
    a = await claim(registry, own("a"), 20)
    clock.advance(19)
    await claim_busy(registry, own("b"))
    clock.advance(1)  # expires_at == now
    with pytest.raises(LeaseLost, match=re.escape(lease_lost())):
        await registry.renew_process_lease(a, 60_000)
    b = await claim(registry, own("b"))
    assert b.fencing_token == 2


async def test_same_incarnation_over_its_own_expired_lease_gets_a_new_fence(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    await registry.register_process(rr("p"))
    first = await claim(registry, own("a"), 10)
    clock.advance(10)
    again = await claim(registry, own("a"), LIVE)
    assert again.fencing_token == first.fencing_token + 1
    assert again.lease_token != first.lease_token
    assert again.claimed_at_epoch_ms == clock.now_ms()


async def test_claim_on_unknown_process_fails(registry: ProcessRegistry) -> None:
    with pytest.raises(UnknownProcess, match=re.escape("unknown process `missing`")):
        await registry.claim_process_lease("missing", own("a"), LIVE)
    assert await registry.get_process_lease("missing") is None


# --- renew (§6.4) --------------------------------------------------------------------------


async def test_renewed_lease_survives_past_its_original_ttl(
    registry: ProcessRegistry, clock: ManualClock
) -> None:  # scenario 42
    await registry.register_process(rr("p"))
    lease = await claim(registry, own("a"), 20)
    renewed = await registry.renew_process_lease(lease, 60_000)
    assert renewed.expires_at_epoch_ms == clock.now_ms() + 60_000
    assert renewed.model_copy(update={"expires_at_epoch_ms": 0}) == lease.model_copy(
        update={"expires_at_epoch_ms": 0}
    )
    clock.advance(30)
    again = await registry.renew_process_lease(renewed, 60_000)
    assert again.expires_at_epoch_ms == clock.now_ms() + 60_000
    assert await registry.get_process_lease("p") == again
    await claim_busy(registry, own("b"))


async def test_unrenewed_lease_lapses(registry: ProcessRegistry, clock: ManualClock) -> None:
    await registry.register_process(rr("p"))
    lease = await claim(registry, own("a"), 20)
    clock.advance(30)
    with pytest.raises(LeaseLost, match=re.escape(lease_lost())):
        await registry.renew_process_lease(lease, 60_000)


@pytest.mark.parametrize(
    "tamper",
    [
        {"lease_token": "someone-elses-token"},
        {"fencing_token": 7},
        {"owner": LeaseOwnerIdentity.opaque("a", "a:other-incarnation")},
    ],
    ids=["token", "fence", "incarnation"],
)
async def test_renew_requires_the_same_token_incarnation_and_fence(
    registry: ProcessRegistry, tamper: dict[str, Any]
) -> None:
    await registry.register_process(rr("p"))
    lease = await claim(registry, own("a"))
    with pytest.raises(LeaseLost, match=re.escape(lease_lost())):
        await registry.renew_process_lease(lease.model_copy(update=tamper), LIVE)
    assert await registry.get_process_lease("p") == lease


async def test_renew_after_release_or_without_any_claim_fails(registry: ProcessRegistry) -> None:
    await registry.register_process(rr("p"))
    with pytest.raises(LeaseLost, match=re.escape(lease_lost())):
        await registry.renew_process_lease(fabricated(), LIVE)
    lease = await claim(registry, own("a"))
    await registry.release_process_lease(lease)
    with pytest.raises(LeaseLost, match=re.escape(lease_lost())):
        await registry.renew_process_lease(lease, LIVE)


# --- release (§6.5) ------------------------------------------------------------------------


async def test_release_frees_the_lease_and_keeps_the_fence(
    registry: ProcessRegistry,
) -> None:  # scenario 43
    await registry.register_process(rr("p"))
    a = await claim(registry, own("a"))
    await registry.release_process_lease(a)
    assert await registry.get_process_lease("p") is None
    await registry.release_process_lease(a)  # idempotent
    b = await claim(registry, own("b"))
    assert b.fencing_token > a.fencing_token
    assert b.fencing_token == 2


async def test_stale_release_cannot_free_a_newer_lease(
    registry: ProcessRegistry,
) -> None:  # scenario 44
    await registry.register_process(rr("p"))
    a = await claim(registry, own("a"), 0)
    b = await claim(registry, own("b"), LIVE)
    await registry.release_process_lease(a)
    assert await registry.get_process_lease("p") == b
    holder = await claim_busy(registry, own("c"))
    assert holder.lease_token == b.lease_token
    renewed = await registry.renew_process_lease(b, LIVE)
    assert renewed.lease_token == b.lease_token


async def test_release_does_not_check_expiry(registry: ProcessRegistry, clock: ManualClock) -> None:
    await registry.register_process(rr("p"))
    a = await claim(registry, own("a"), 10)
    clock.advance(100)
    await registry.release_process_lease(a)
    assert await registry.get_process_lease("p") is None
    assert (await claim(registry, own("b"))).fencing_token == 2


# --- get_process_lease (§6.1) --------------------------------------------------------------


async def test_get_process_lease_reports_raw_facts(
    registry: ProcessRegistry, clock: ManualClock
) -> None:  # scenario 45
    await registry.register_process(rr("p"))
    assert await registry.get_process_lease("p") is None
    lease = await claim(registry, own("a"), 0)
    stored = await registry.get_process_lease("p")
    assert stored == lease
    assert stored is not None
    assert stored.expires_at_epoch_ms == clock.now_ms()  # already expired, still reported
    clock.advance(5_000)
    assert await registry.get_process_lease("p") == lease
    await registry.release_process_lease(lease)
    assert await registry.get_process_lease("p") is None
    assert await registry.get_process_lease("never-registered") is None


# --- reclaim (§6.3) ------------------------------------------------------------------------


async def test_reclaim_without_a_lease_acts_as_a_claim(registry: ProcessRegistry) -> None:
    await registry.register_process(rr("p"))
    acquired, busy = await reclaim(registry, own("b"), fabricated())
    assert busy is None and acquired is not None
    assert acquired.fencing_token == 1
    assert acquired.owner == own("b")
    assert await registry.get_process_lease("p") == acquired


async def test_reclaim_after_release_bumps_the_retained_fence(
    registry: ProcessRegistry,
) -> None:
    await registry.register_process(rr("p"))
    a = await claim(registry, own("a"))
    await registry.release_process_lease(a)
    acquired, _ = await reclaim(registry, own("b"), a)
    assert acquired is not None and acquired.fencing_token == 2


async def test_reclaim_of_an_expired_lease_takes_it_with_the_next_fence(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    await registry.register_process(rr("p"))
    a = await claim(registry, own("a"), 100)
    clock.advance(100)
    acquired, busy = await reclaim(registry, own("b"), fabricated())  # observation irrelevant
    assert busy is None and acquired is not None
    assert acquired.fencing_token == a.fencing_token + 1
    assert acquired.owner == own("b")


async def test_reclaim_from_a_provably_dead_holder_before_its_ttl(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    await registry.register_process(rr("p"))
    dead = await claim(registry, local("a", "host-a", DEAD_START))
    await claim_busy(registry, local("b", "host-a"))  # a plain claim never takes it early
    acquired, busy = await reclaim(registry, local("b", "host-a"), dead)
    assert busy is None and acquired is not None
    assert acquired.fencing_token == dead.fencing_token + 1
    assert acquired.owner == local("b", "host-a")
    assert acquired.claimed_at_epoch_ms == clock.now_ms()
    assert acquired.expires_at_epoch_ms == clock.now_ms() + LIVE
    assert await registry.get_process_lease("p") == acquired
    with pytest.raises(LeaseLost, match=re.escape(lease_lost())):
        await registry.renew_process_lease(dead, LIVE)


@pytest.mark.parametrize(
    ("holder", "claimant"),
    [
        (local("a", "host-a"), local("b", "host-a")),  # holder is this live process
        (local("a", "host-b", DEAD_START), local("b", "host-a")),  # other host
        (own("a"), local("b", "host-a")),  # opaque holder
        (local("a", "host-a", DEAD_START), own("b")),  # opaque claimant
        (local("a", "host-a", DEAD_START, boot="boot-x"), local("b", "host-a", boot="boot-y")),
    ],
    ids=["alive", "other-host", "opaque-holder", "opaque-claimant", "other-boot"],
)
async def test_reclaim_of_a_live_holder_not_provably_dead_is_busy(
    registry: ProcessRegistry, holder: LeaseOwnerIdentity, claimant: LeaseOwnerIdentity
) -> None:
    await registry.register_process(rr("p"))
    current = await claim(registry, holder)
    acquired, busy = await reclaim(registry, claimant, current)
    assert acquired is None
    assert busy == current
    assert await registry.get_process_lease("p") == current


@pytest.mark.parametrize(
    "stale",
    [
        {"lease_token": "an-older-token"},
        {"fencing_token": 99},
        {"owner": local("a", "host-a", DEAD_START).model_copy(update={"incarnation_id": "old"})},
        {"process_id": "other"},
    ],
    ids=["token", "fence", "incarnation", "process"],
)
async def test_reclaim_with_a_stale_observation_is_busy(
    registry: ProcessRegistry, stale: dict[str, Any]
) -> None:
    await registry.register_process(rr("p"))
    await registry.register_process(rr("other"))
    current = await claim(registry, local("a", "host-a", DEAD_START))
    acquired, busy = await reclaim(registry, local("b", "host-a"), current.model_copy(update=stale))
    assert acquired is None
    assert busy == current
    assert await registry.get_process_lease("p") == current


async def test_a_stale_observation_cannot_clear_a_newer_lease(
    registry: ProcessRegistry,
) -> None:
    await registry.register_process(rr("p"))
    first = await claim(registry, local("a", "host-a", DEAD_START))
    second, _ = await reclaim(registry, local("b", "host-a", DEAD_START), first)
    assert second is not None
    # a second reclaimer still holding the first observation loses, even though b is "dead" too
    acquired, busy = await reclaim(registry, local("c", "host-a"), first)
    assert acquired is None and busy == second


# --- fencing tokens never decrease -----------------------------------------------------------


async def test_fencing_tokens_strictly_increase_across_every_takeover(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    await registry.register_process(rr("p"))
    fences = [(await claim(registry, own("a"), 10)).fencing_token]
    clock.advance(10)
    b = await claim(registry, own("b"), LIVE)  # over an expired lease
    fences.append(b.fencing_token)
    fences.append((await claim(registry, own("b"), LIVE)).fencing_token)  # re-entry: same
    await registry.release_process_lease(b)
    dead = await claim(registry, local("c", "host-a", DEAD_START))  # after release
    fences.append(dead.fencing_token)
    taken, _ = await reclaim(registry, local("d", "host-a"), dead)  # early reclaim
    assert taken is not None
    fences.append(taken.fencing_token)
    await registry.complete_process_with_lease(taken, SuccessOutput(value=1))
    fences.append((await claim(registry, own("e"))).fencing_token)  # after leased completion
    assert fences == [1, 2, 2, 3, 4, 5]


# --- complete_process_with_lease (§5.11) -----------------------------------------------------


async def test_leased_completion_appends_the_terminal_and_releases_the_lease(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    await registry.register_process(rr("p"))
    lease = await claim(registry, own("a"))
    now = clock.advance(500)
    output = SuccessOutput(value={"rows": 3})
    record = await registry.complete_process_with_lease(lease, output)
    assert record.status.state == "completed"
    assert record.status.await_output == output
    assert record.updated_at_ms == now
    assert await record_of(registry) == record
    [event] = await registry.events_after("p", 0)
    assert event.event_type == "process.completed"
    assert event.payload == {"await_output": {"type": "success", "value": {"rows": 3}}}
    assert event.replay_key == "process:p:terminal:process.completed"
    assert await registry.get_process_lease("p") is None
    assert (await claim(registry, own("b"))).fencing_token == 2  # fence retained


async def assert_leased_completion_refused(
    registry: ProcessRegistry, lease: ProcessLease, pid: str = "p"
) -> None:
    """Refused with the lease error; no event, the row still running and untouched."""
    before = await record_of(registry, pid)
    with pytest.raises(LeaseLost, match=re.escape(lease_lost(pid))):
        await registry.complete_process_with_lease(lease, SuccessOutput(value="late"))
    assert await events_of(registry, pid) == []
    assert await record_of(registry, pid) == before


async def test_leased_completion_with_a_superseded_lease_is_refused(
    registry: ProcessRegistry,
) -> None:
    await registry.register_process(rr("p"))
    stale = await claim(registry, own("a"), 0)
    current = await claim(registry, own("b"))
    await assert_leased_completion_refused(registry, stale)
    assert await registry.get_process_lease("p") == current


async def test_leased_completion_with_an_expired_lease_is_refused(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    await registry.register_process(ob("p"))
    lease = await claim(registry, own("a"), 1_000)
    clock.advance(1_000)
    await assert_leased_completion_refused(registry, lease)


@pytest.mark.parametrize(
    "forge",
    [
        {"owner": own("mallory")},
        {"lease_token": "forged"},
        {"fencing_token": 2},
    ],
    ids=["owner", "token", "fence"],
)
async def test_leased_completion_with_a_foreign_lease_is_refused(
    registry: ProcessRegistry, forge: dict[str, Any]
) -> None:
    await registry.register_process(rr("p"))
    lease = await claim(registry, own("a"))
    await assert_leased_completion_refused(registry, lease.model_copy(update=forge))
    assert await registry.get_process_lease("p") == lease


async def test_leased_completion_by_another_incarnation_of_the_holder_is_refused(
    registry: ProcessRegistry,
) -> None:
    """Same owner id and token, another incarnation: a restarted holder is not the one that
    claimed (the fence checks all three, as one statement's condition)."""
    await registry.register_process(rr("p"))
    lease = await claim(registry, own("a"))
    reborn = LeaseOwnerIdentity.opaque("a", "a:next-incarnation")
    await assert_leased_completion_refused(registry, lease.model_copy(update={"owner": reborn}))
    assert await registry.get_process_lease("p") == lease


async def test_leased_completion_after_release_is_refused(registry: ProcessRegistry) -> None:
    await registry.register_process(rr("p"))
    lease = await claim(registry, own("a"))
    await registry.release_process_lease(lease)
    await assert_leased_completion_refused(registry, lease)


async def test_identical_leased_completion_replays_after_the_lease_was_cleared(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    await registry.register_process(rr("p"))
    lease = await claim(registry, own("a"))
    output = FailureOutput.model_validate(
        {"class": "execution", "code": "boom", "message": "it broke"}
    )
    done = await registry.complete_process_with_lease(lease, output)
    clock.advance(10_000)
    again = await registry.complete_process_with_lease(lease, output)
    assert again == done
    assert await events_of(registry) == ["process.failed"]


async def test_stale_lease_with_a_different_output_gets_the_lease_error(
    registry: ProcessRegistry,
) -> None:
    # §5.11: only an identical replay bypasses the lease check; anything else from a writer
    # whose lease is gone is refused as "missing or expired", with nothing appended.
    await registry.register_process(rr("p"))
    lease = await claim(registry, own("a"))
    done = await registry.complete_process_with_lease(lease, SuccessOutput(value="first"))
    with pytest.raises(LeaseLost, match=re.escape(lease_lost())):
        await registry.complete_process_with_lease(lease, SuccessOutput(value="second"))
    assert await events_of(registry) == ["process.completed"]
    assert await record_of(registry) == done


async def test_leased_completion_of_another_terminal_type_is_already_terminal(
    registry: ProcessRegistry,
) -> None:
    await registry.register_process(rr("p"))
    await registry.complete_process_with_lease(
        await claim(registry, own("a")), SuccessOutput(value=1)
    )
    second = await claim(registry, own("b"))
    with pytest.raises(ProcessConflict, match=re.escape("process `p` is already terminal")):
        await registry.complete_process_with_lease(
            second,
            FailureOutput.model_validate({"class": "execution", "code": "x", "message": "late"}),
        )
    assert await events_of(registry) == ["process.completed"]
    assert await registry.get_process_lease("p") == second  # the refused write released nothing


async def test_leased_completion_of_an_unknown_process_fails(registry: ProcessRegistry) -> None:
    with pytest.raises(UnknownProcess, match=re.escape("unknown process `missing`")):
        await registry.complete_process_with_lease(fabricated("missing"), SuccessOutput(value=1))


# --- unleased complete_process (§5.10, api.md port decision 2) ---------------------------------


async def test_unleased_completion_closes_an_externally_owned_row(
    registry: ProcessRegistry,
) -> None:
    await registry.register_process(ext("p"))
    record = await registry.complete_process("p", SuccessOutput(value="imported"))
    assert record.status.state == "completed"
    assert await events_of(registry) == ["process.completed"]


@pytest.mark.parametrize("make", [ob, rr], ids=["owner_bound", "rerunnable"])
async def test_unleased_completion_of_a_lash_executed_row_is_refused(
    registry: ProcessRegistry, clock: ManualClock, make: Any
) -> None:
    await registry.register_process(make("p"))
    lease = await claim(registry, own("a"))  # even while someone holds the lease
    before = await record_of(registry)
    clock.advance(1_000)
    with pytest.raises(ProcessConflict, match=re.escape(EXTERNAL_OWNER_REFUSAL.format(pid="p"))):
        await registry.complete_process("p", SuccessOutput(value=1))
    assert await events_of(registry) == []
    assert await record_of(registry) == before
    assert await registry.get_process_lease("p") == lease


# --- two handles on one file -----------------------------------------------------------------


async def test_fencing_holds_across_two_registry_handles(
    registry: ProcessRegistry, registry_target: str, clock: ManualClock
) -> None:
    async with open_registry(registry_target, clock=clock) as other:
        await registry.register_process(rr("p"))
        dead = await claim(registry, local("a", "host-a", DEAD_START))
        assert await claim_busy(other, own("b")) == dead
        assert await other.get_process_lease("p") == dead

        taken, busy = await reclaim(other, local("b", "host-a"), dead)
        assert busy is None and taken is not None
        assert taken.fencing_token == dead.fencing_token + 1

        with pytest.raises(LeaseLost, match=re.escape(lease_lost())):
            await registry.renew_process_lease(dead, LIVE)
        with pytest.raises(LeaseLost, match=re.escape(lease_lost())):
            await registry.complete_process_with_lease(dead, SuccessOutput(value="stale"))
        assert await registry.get_process_lease("p") == taken
        assert await events_of(registry) == []


async def test_get_process_leases_reads_held_leases_in_one_call(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    for pid in ("a", "b", "c"):
        await registry.register_process(ext(pid))
    held = (await registry.claim_process_lease("a", own("x"), 0)).acquired()  # expired: a raw fact
    live = (await registry.claim_process_lease("b", own("y"), 60_000)).acquired()
    released = (await registry.claim_process_lease("c", own("z"), 60_000)).acquired()
    assert held and live and released
    await registry.release_process_lease(released)
    leases = await registry.get_process_leases(["a", "b", "c", "unknown"])
    assert leases == {"a": held, "b": live}
    assert await registry.get_process_leases([]) == {}


async def test_work_items_list_running_rows_with_their_held_leases(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    await registry.register_process(ob("b-bound"))
    await registry.register_process(ext("a-ext"))
    await registry.register_process(ext("c-done"))
    await registry.complete_process("c-done", SuccessOutput(value=1))
    await registry.request_process_abandon(
        "a-ext", AbandonRequest(requested_by="op", requested_at_ms=1)
    )
    lease = (await registry.claim_process_lease("b-bound", own("x"), 1_000)).acquired()
    items = await registry.list_work_items()
    assert [(i.process_id, i.disposition.value, i.abandon_requested, i.lease) for i in items] == [
        ("a-ext", "externally_owned", True, None),
        ("b-bound", "owner_bound", False, lease),
    ]


async def test_a_workers_liveness_is_encoded_once_for_all_its_leases(
    registry: ProcessRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A worker's attempt identities share its liveness (a frozen model): its JSON is made
    # at its first lease, not at every claim (claim.py `_liveness_json`), and every lease
    # row still stores it whole.
    owner = local("w")
    encoded: list[object] = []
    dump = LocalProcessLiveness.model_dump_json

    def counted(self: LocalProcessLiveness, *args: Any, **kwargs: Any) -> str:
        encoded.append(self)
        return dump(self, *args, **kwargs)

    monkeypatch.setattr(LocalProcessLiveness, "model_dump_json", counted)
    for pid in ("p1", "p2", "p3"):
        await registry.register_process(rr(pid))
        attempt = owner.attempt(f":recovery:{pid}", f"{pid}:incarnation", reserve=64)
        lease = (await registry.claim_process_lease(pid, attempt, LIVE)).acquired()
        assert lease is not None
        assert await registry.get_process_lease(pid) == lease
        assert lease.owner.liveness == owner.liveness
    assert len(encoded) <= 1
