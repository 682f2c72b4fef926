"""`claim_process_for_run` (lashtui/registry/sql/run.py): a claim, the fresh row, the
first-started fact and the first cancel request, in one transaction. Each part must do
exactly what its own call does: the claim as `claim_process_lease`, first-started only for a
row a worker runs and only once, and nothing at all when the lease is not acquired."""

from __future__ import annotations

import json

import pytest

from lashtui.errors import InvalidRequest, UnknownProcess
from lashtui.model import (
    Engine,
    External,
    LeaseOwnerIdentity,
    ProcessEventAppendRequest,
    ProcessRecord,
    ProcessStartRequest,
    RecoveryDisposition,
    SuccessOutput,
)
from lashtui.registry import ProcessRegistry
from tests.builders import ext, ob, own, rr, started
from tests.raw import raw_connection

LIVE = 60_000


async def test_a_runnable_row_is_claimed_read_and_marked_started(
    registry: ProcessRegistry,
) -> None:
    await registry.register_process(ob("p"))
    claimed = await registry.claim_process_for_run("p", own("w:attempt"), LIVE, started("w"))
    lease = claimed.outcome.acquired()
    assert lease is not None and lease.owner == own("w:attempt")
    assert await registry.get_process_lease("p") == lease
    assert claimed.started and claimed.cancel_requested is None
    assert claimed.record is not None
    assert claimed.record.first_started == started("w")
    assert await registry.get_process("p") == claimed.record


async def test_a_cancel_requested_before_the_claim_comes_back_with_it(
    registry: ProcessRegistry,
) -> None:
    await registry.register_process(rr("p"))
    request = ProcessEventAppendRequest.cancel_requested("p", "no longer needed")
    appended = (await registry.append_event("p", request)).event
    claimed = await registry.claim_process_for_run("p", own("w"), LIVE, started("w"))
    assert claimed.started
    assert claimed.cancel_requested == appended


async def test_a_held_row_is_busy_and_nothing_is_written(registry: ProcessRegistry) -> None:
    await registry.register_process(ob("p"))
    holder = (await registry.claim_process_lease("p", own("other"), LIVE)).acquired()
    before = await registry.get_process("p")
    claimed = await registry.claim_process_for_run("p", own("w"), LIVE, started("w"))
    assert claimed.outcome.is_busy and claimed.outcome.holder == holder
    assert claimed.record is None and not claimed.started
    assert await registry.get_process("p") == before  # no first-started, no change


async def test_first_started_is_never_overwritten(registry: ProcessRegistry) -> None:
    await registry.register_process(rr("p"))
    first = await registry.claim_process_for_run("p", own("w1"), LIVE, started("w1", 1))
    lease = first.outcome.acquired()
    assert lease is not None
    await registry.release_process_lease(lease)
    again = await registry.claim_process_for_run("p", own("w2"), LIVE, started("w2", 2))
    assert again.started  # a rerunnable row runs again...
    assert again.record is not None
    assert again.record.first_started == started("w1", 1)  # ...as its first start was


async def test_a_started_owner_bound_row_is_claimed_but_not_to_run(
    registry: ProcessRegistry,
) -> None:
    await registry.register_process(ob("p"))
    first = await registry.claim_process_for_run("p", own("w1"), LIVE, started("w1"))
    assert first.outcome.acquired() is not None
    await registry.release_process_lease(first.outcome.acquired())  # type: ignore[arg-type]
    again = await registry.claim_process_for_run("p", own("w2"), LIVE, started("w2"))
    assert again.outcome.acquired() is not None  # the sweep decides what to do with it
    assert not again.started and again.cancel_requested is None
    assert again.record is not None and again.record.first_started == started("w1")


@pytest.mark.parametrize("kind", ["terminal", "externally owned"])
async def test_a_row_no_worker_runs_is_not_marked_started(
    registry: ProcessRegistry, kind: str
) -> None:
    if kind == "terminal":
        await registry.register_process(rr("p"))
        lease = (await registry.claim_process_lease("p", own("w0"), LIVE)).acquired()
        assert lease is not None
        await registry.complete_process_with_lease(lease, SuccessOutput(value=1))
    else:
        await registry.register_process(ext("p"))
    claimed = await registry.claim_process_for_run("p", own("w"), LIVE, started("w"))
    assert not claimed.started
    assert claimed.record is not None and claimed.record.first_started is None


async def test_an_unknown_row_is_refused(registry: ProcessRegistry) -> None:
    with pytest.raises(UnknownProcess, match="unknown process `nope`"):
        await registry.claim_process_for_run("nope", own("w"), LIVE, started("w"))


# --- start_process_for_run: a start and the claim of the row it makes, one transaction


def start_request(pid: str, disposition: str = "rerunnable") -> ProcessStartRequest:
    return ProcessStartRequest(
        id=pid,
        input=Engine(kind="echo", payload={}),
        disposition=RecoveryDisposition(disposition),
    )


@pytest.mark.parametrize("disposition", ["rerunnable", "owner_bound"])
async def test_a_new_row_is_started_and_claimed_with_its_first_start_in_the_insert(
    registry: ProcessRegistry, registry_target: str, disposition: str
) -> None:
    record, claimed = await registry.start_process_for_run(
        start_request("p", disposition), own("w:attempt"), LIVE, started("w")
    )
    assert claimed is not None and claimed.started and claimed.cancel_requested is None
    lease = claimed.outcome.acquired()
    assert lease is not None and lease.owner == own("w:attempt") and lease.fencing_token == 1
    assert await registry.get_process_lease("p") == lease
    assert record == claimed.record and record.first_started == started("w")
    assert await registry.get_process("p") == record
    # Written once, as inserted: the stored JSON is the record's own, not an edit of it.
    with raw_connection(registry_target) as conn:
        [(text, updated)] = conn.execute(
            "SELECT record_json, updated_at_ms FROM processes WHERE process_id = 'p'"
        ).fetchall()
    assert json.loads(text) == json.loads(record.model_dump_json())
    assert updated == record.created_at_ms


async def test_a_started_record_is_built_once_not_copied_to_add_its_start(
    registry: ProcessRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first-started fact goes into the new record as it is built (`ProcessRecord.new`):
    # a copy made to add it was ~1% of P1's instructions (benchmarks.p1_budget).
    copies: list[object] = []
    copy = ProcessRecord.model_copy

    def counted(self: ProcessRecord, *args: object, **kwargs: object) -> ProcessRecord:
        copies.append(kwargs.get("update"))
        return copy(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ProcessRecord, "model_copy", counted)
    record, claimed = await registry.start_process_for_run(
        start_request("p"), own("w:attempt"), LIVE, started("w")
    )
    assert claimed is not None and claimed.started
    assert record.first_started == started("w") and copies == []


async def test_a_replayed_start_claims_nothing(registry: ProcessRegistry) -> None:
    first = await registry.start_process(start_request("p"))
    record, claimed = await registry.start_process_for_run(
        start_request("p"), own("w:attempt"), LIVE, started("w")
    )
    assert claimed is None and record == first and record.first_started is None
    assert await registry.get_process_lease("p") is None


async def test_a_row_no_worker_runs_is_started_not_claimed(registry: ProcessRegistry) -> None:
    request = ProcessStartRequest(
        id="p", input=External(), disposition=RecoveryDisposition.EXTERNALLY_OWNED
    )
    record, claimed = await registry.start_process_for_run(
        request, own("w:attempt"), LIVE, started("w")
    )
    assert claimed is None and record.first_started is None
    assert await registry.get_process("p") == record
    assert await registry.get_process_lease("p") is None


async def test_a_start_for_run_by_an_owner_past_the_limits_writes_nothing(
    registry: ProcessRegistry,
) -> None:
    owner = LeaseOwnerIdentity.opaque("o" * 513, "w:1")
    with pytest.raises(InvalidRequest, match=r"^a lease owner id may be at most 512"):
        await registry.start_process_for_run(start_request("p"), owner, LIVE, started("w"))
    assert await registry.get_process("p") is None
