"""Lease owner identities held to the registry's limits (lashtui.model.limit): a claim whose
owner id or incarnation id is past 512 characters, or whose liveness names a host, boot or
start past 256, is refused in one sentence with nothing written, on both stores; a worker
is refused at construction when its owner id leaves no room for its recovery attempts'
suffix. Before, any length was stored. And the read path copes with what another program
stored past them: the lease reads back whole up to the ceiling on plain text (the views clip
it: tests/tui)."""

from __future__ import annotations

import json

import pytest

from lashtui.errors import InvalidRequest
from lashtui.model import LeaseOwnerIdentity, LocalProcessLiveness, ProcessStarted
from lashtui.registry import ProcessRegistry
from lashtui.worker import ProcessWorker
from lashtui.worker.identity import RECOVERY_SUFFIX_CHARS, attempt_identity
from tests.builders import ob, rr
from tests.raw import raw_connection

TTL_MS = 60_000


def identity(
    owner_id: str = "w", incarnation_id: str = "w:1", host: str = "h", boot: str = "b"
) -> LeaseOwnerIdentity:
    liveness = LocalProcessLiveness(host_id=host, boot_id=boot, pid=42, process_start="7")
    return LeaseOwnerIdentity(owner_id=owner_id, incarnation_id=incarnation_id, liveness=liveness)


REFUSED = [
    (
        "owner id",
        identity(owner_id="o" * 513),
        "a lease owner id may be at most 512 characters; this one has 513",
    ),
    (
        "incarnation id",
        identity(incarnation_id="i" * 600),
        "a lease owner's incarnation id may be at most 512 characters; this one has 600",
    ),
    (
        "host id",
        identity(host="h" * 257),
        "a lease owner's host id may be at most 256 characters; this one has 257",
    ),
    (
        "boot id",
        identity(boot="b" * 300),
        "a lease owner's boot id may be at most 256 characters; this one has 300",
    ),
]


@pytest.mark.parametrize(("name", "owner", "sentence"), REFUSED, ids=[r[0] for r in REFUSED])
async def test_a_claim_past_the_limits_is_one_sentence_and_writes_nothing(
    registry: ProcessRegistry, name: str, owner: LeaseOwnerIdentity, sentence: str
) -> None:
    await registry.register_process(ob("p"))
    with pytest.raises(InvalidRequest) as refused:
        await registry.claim_process_lease("p", owner, TTL_MS)
    assert str(refused.value) == sentence
    with pytest.raises(InvalidRequest, match=r"^a lease owner"):
        started = ProcessStarted(owner=owner, started_at_ms=1)
        await registry.claim_process_for_run("p", owner, TTL_MS, started)
    assert await registry.get_process_lease("p") is None
    # A batch claim checks every owner before its transaction: refused whole, nothing written.
    await registry.register_process(rr("q"))
    fine = identity(owner_id="fine")
    with pytest.raises(InvalidRequest) as batch:
        await registry.claim_processes_for_run([fine, owner], TTL_MS, started)
    assert str(batch.value) == sentence
    assert await registry.get_process_lease("q") is None
    # At the limit is accepted.
    fits = identity(owner_id="o" * 512, incarnation_id="i" * 512, host="h" * 256)
    claimed = await registry.claim_process_lease("p", fits, TTL_MS)
    assert claimed.acquired() is not None


async def test_a_reclaim_past_the_limits_is_refused(registry: ProcessRegistry) -> None:
    await registry.register_process(ob("p"))
    held = (await registry.claim_process_lease("p", identity(), TTL_MS)).acquired()
    assert held is not None
    with pytest.raises(InvalidRequest, match=r"^a lease owner id may be at most 512"):
        await registry.reclaim_process_lease("p", identity("x" * 513), held, TTL_MS)
    lease = await registry.get_process_lease("p")
    assert lease is not None and lease.owner.owner_id == "w"


async def test_a_worker_leaves_room_for_its_recovery_attempts(
    registry: ProcessRegistry,
) -> None:
    most = 512 - RECOVERY_SUFFIX_CHARS
    with pytest.raises(InvalidRequest, match=f"^a lease owner id may be at most {most} "):
        ProcessWorker(registry, owner=identity(owner_id="w" * (most + 1)))
    worker = ProcessWorker(registry, owner=identity(owner_id="w" * most))
    attempt = attempt_identity(worker.owner)
    assert len(attempt.owner_id) == 512
    attempt.check_limits()


async def test_an_over_long_owner_another_program_stored_reads_back_whole(
    registry: ProcessRegistry, registry_target: str
) -> None:
    """Up to the ceiling on plain text (4,096 characters: past it a name is read cut and
    the lease is a stand-in, tests/registry/test_stored_text.py)."""
    await registry.register_process(ob("p"))
    assert (await registry.claim_process_lease("p", identity(), TTL_MS)).acquired()
    long_owner, long_host = "o" * 4_096, "h" * 5_000
    liveness = json.loads(identity(host=long_host).liveness.model_dump_json())
    with raw_connection(registry_target) as conn:
        conn.execute(
            "UPDATE process_leases SET lease_owner_id = ?, lease_owner_incarnation_id = ?, "
            "lease_owner_liveness_json = ? WHERE process_id = 'p'",
            (long_owner, "i" * 4_000, json.dumps(liveness)),
        )
    lease = await registry.get_process_lease("p")
    assert lease is not None and lease.owner.owner_id == long_owner
    assert isinstance(lease.owner.liveness, LocalProcessLiveness)
    assert lease.owner.liveness.host_id == long_host
    (leased,) = await registry.list_leased_processes()
    assert leased.id == "p"
