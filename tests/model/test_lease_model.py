"""Lease owner identities, liveness and lease timings (scenarios 15-17)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from lashtui.errors import InvalidRequest
from lashtui.model import (
    LeaseOwnerIdentity,
    LeaseTimings,
    LocalProcessLiveness,
    ProcessLease,
    ProcessLeaseClaimOutcome,
    limit,
)
from lashtui.model.lease import read_process_start
from tests.builders import local, own

WRONG_START = "not-the-current-process-start"


def test_same_incarnation() -> None:  # scenario 15
    assert own("owner").same_incarnation(own("owner"))
    assert not own("owner").same_incarnation(LeaseOwnerIdentity.opaque("owner", "incarnation-b"))
    a = LeaseOwnerIdentity.opaque("owner", "i")
    b = local("owner").model_copy(update={"incarnation_id": "i"})
    assert a.same_incarnation(b)  # liveness is not compared


def test_liveness_rules() -> None:  # scenario 16
    dead = local("holder", "host-a", WRONG_START, boot="boot-a")
    assert dead.is_definitely_dead_for_claimant(local("claimant", "host-a", boot="boot-a"))
    assert not dead.is_definitely_dead_for_claimant(local("claimant", "host-b", boot="boot-a"))
    assert not dead.is_definitely_dead_for_claimant(local("claimant", "host-a", boot="boot-b"))
    assert not dead.is_definitely_dead_for_claimant(own("claimant"))
    assert not own("holder").is_definitely_dead_for_claimant(local("claimant", boot="boot-a"))
    alive = local("holder", "host-a", boot="boot-a")
    assert not alive.is_definitely_dead_for_claimant(local("claimant", "host-a", boot="boot-a"))


def test_a_process_that_exited_is_provably_dead() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    start = read_process_start(child.pid)
    child.wait()
    assert start is not None
    holder = LeaseOwnerIdentity(
        owner_id="gone",
        incarnation_id="gone:1",
        liveness=LocalProcessLiveness(host_id="h", boot_id="b", pid=child.pid, process_start=start),
    )
    assert holder.is_definitely_dead_for_claimant(local("claimant", "h", boot="b"))


def test_local_process_reads_this_process() -> None:
    me = LeaseOwnerIdentity.local_process("w-1", "inc-1", "host-a")
    assert isinstance(me.liveness, LocalProcessLiveness)
    assert me.liveness.pid == os.getpid()
    assert me.liveness.process_start == read_process_start(os.getpid())


def test_liveness_defaults_to_opaque_when_missing() -> None:
    owner = LeaseOwnerIdentity.model_validate({"owner_id": "w", "incarnation_id": "i"})
    assert owner.liveness.kind == "opaque"


def test_lease_timings() -> None:  # scenario 17
    assert LeaseTimings() == LeaseTimings(ttl_ms=30_000, renew_interval_ms=10_000)
    LeaseTimings(ttl_ms=30_000, renew_interval_ms=10_000)
    assert LeaseTimings.from_ttl(60).renew_interval_ms == 20
    ratio = (
        "lease ttl (29s) must be at least 3x the renew interval (10s) so an owner can miss "
        "renewals without losing a live lease"
    )
    with pytest.raises(InvalidRequest, match=re.escape(ratio)):
        LeaseTimings(ttl_ms=29_000, renew_interval_ms=10_000)
    with pytest.raises(InvalidRequest, match="lease ttl must be at least 1ms"):
        LeaseTimings(ttl_ms=0, renew_interval_ms=1_000)
    with pytest.raises(InvalidRequest, match="lease renew interval must be at least 1ms"):
        LeaseTimings(ttl_ms=30_000, renew_interval_ms=0.5)  # type: ignore[arg-type]
    with pytest.raises(InvalidRequest, match="lease renew interval must be at least 1ms"):
        LeaseTimings.from_ttl(2)


def test_claim_outcome_wire_shape() -> None:
    lease = ProcessLease(
        process_id="p",
        owner=own("a"),
        lease_token="t",
        fencing_token=1,
        claimed_at_epoch_ms=1,
        expires_at_epoch_ms=2,
    )
    acquired = ProcessLeaseClaimOutcome.acquired_lease(lease)
    busy = ProcessLeaseClaimOutcome.busy(lease)
    assert acquired.acquired() == lease and not acquired.is_busy
    assert busy.acquired() is None and busy.holder == lease
    assert acquired.model_dump(mode="json") == {"acquired": lease.model_dump(mode="json")}
    assert ProcessLeaseClaimOutcome.model_validate(busy.model_dump(mode="json")) == busy
    assert lease.model_dump(mode="json")["schema_version"] == 2


def test_an_owner_that_passed_its_limits_is_not_taken_for_another_that_does_not() -> None:
    # Passing identities are remembered by object (model/lease.py `_CHECKED`): a new one
    # that reuses a freed one's memory, and so its id(), is checked afresh.
    for n in range(200):
        fine = LeaseOwnerIdentity.opaque(f"owner-{n}", f"owner-{n}:1")
        fine.check_limits()
        fine.check_limits()  # remembered: passes again without the checks
        del fine
        too_long = LeaseOwnerIdentity.opaque("o" * (limit.MAX_ID_CHARS + 1), "i")
        with pytest.raises(InvalidRequest, match=r"^a lease owner id may be at most"):
            too_long.check_limits()


def test_an_attempt_identity_is_checked_through_its_owner() -> None:
    # A worker makes one attempt identity per claim (worker/identity.py); it is within the
    # limits once its owner passes them with room for the suffix, and is remembered so.
    from lashtui.model.lease import _checked
    from lashtui.worker.identity import RECOVERY_SUFFIX_CHARS, attempt_identity

    owner = local("o" * (limit.MAX_ID_CHARS - RECOVERY_SUFFIX_CHARS))
    attempt = attempt_identity(owner)
    assert attempt.owner_id.startswith(owner.owner_id + ":recovery:")
    assert len(attempt.owner_id) == limit.MAX_ID_CHARS and attempt.liveness is owner.liveness
    assert _checked(attempt, 0) and _checked(owner, RECOVERY_SUFFIX_CHARS)
    attempt.check_limits()  # what the store's claim runs: passes

    # An owner without that room is refused, even one already checked without the reserve.
    crowded = local("o" * (limit.MAX_ID_CHARS - RECOVERY_SUFFIX_CHARS + 1))
    crowded.check_limits()
    assert not _checked(crowded, RECOVERY_SUFFIX_CHARS)
    with pytest.raises(InvalidRequest, match=r"^a lease owner id may be at most"):
        attempt_identity(crowded)
    # And a suffix past the reserve it was checked for.
    with pytest.raises(InvalidRequest, match=r"suffix or incarnation id is too long"):
        owner.attempt("x" * (RECOVERY_SUFFIX_CHARS + 1), "i", reserve=RECOVERY_SUFFIX_CHARS)


def test_an_attempt_identity_takes_one_read_of_randomness(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Its suffix and its incarnation id: 16 random bytes each, in hex, distinct, from one
    # `os.urandom` (a system call a claim, P1 and P3 each make one a process or row).
    from lashtui.worker import identity

    reads: list[int] = []
    urandom = os.urandom

    def counted(size: int) -> bytes:
        reads.append(size)
        return urandom(size)

    monkeypatch.setattr(os, "urandom", counted)
    owner = local("w")
    first, second = identity.attempt_identity(owner), identity.attempt_identity(owner)
    assert reads == [32, 32]
    for attempt in (first, second):
        suffix = attempt.owner_id.removeprefix("w:recovery:")
        assert len(suffix) == 32 and len(attempt.incarnation_id) == 32
        assert int(suffix, 16) >= 0 and int(attempt.incarnation_id, 16) >= 0
        assert suffix != attempt.incarnation_id
    assert first.owner_id != second.owner_id and first.incarnation_id != second.incarnation_id
