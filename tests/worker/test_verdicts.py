"""The recovery sweep's verdict for each kind of row (semantics §8, ADR 0019).

One test per row of the §8 table, the externally-owned step before it, the rule that a live
lease of a holder not provably dead is never taken, and port decision 4: the sweep decides
from the row as it is after claiming, not from the worklist it listed. The peers whose
history a row carries (a crashed owner, a silent one, a live one) are written through the
real registry exactly as their runs would have left it.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from lashtui.clock import ManualClock
from lashtui.errors import LeaseLost
from lashtui.model import (
    AbandonedOutput,
    AbandonWriter,
    LeaseOwnerIdentity,
    ProcessLifecycleStatus,
    ProcessRecord,
    ProcessWorkItem,
    RecoveryDisposition,
    SuccessOutput,
)
from lashtui.registry import ProcessRegistry
from lashtui.worker import ProcessContext, ProcessWorker
from lashtui.worker.runtime import Verdict
from tests.builders import ext, local, own
from tests.raw import raw_connection, store_record_json
from tests.worker.support import (
    LIVE_TTL_MS,
    OB,
    RR,
    Counting,
    claim,
    dead_holder,
    engine_row,
    env_ref,
    event_types,
    make_worker,
    record,
    request_abandon,
    started_by,
    sweep,
    terminal,
)


@pytest.fixture
def echo(worker: ProcessWorker) -> Counting:
    handler = Counting()
    worker.engines.register("echo", handler)
    return handler


async def register_engine(
    registry: ProcessRegistry, pid: str, disposition: RecoveryDisposition, payload: Any = None
) -> ProcessRecord:
    return await registry.register_process(
        engine_row(pid, await env_ref(registry), payload=payload, disposition=disposition)
    )


def lifecycle(row: ProcessRecord) -> ProcessLifecycleStatus:
    return row.status.state


# --- rows the sweep runs ------------------------------------------------------------------ ---


async def test_rerunnable_row_is_run_to_completion_and_its_lease_released(
    registry: ProcessRegistry, worker: ProcessWorker, echo: Counting
) -> None:
    await register_engine(registry, "p", RR, payload={"n": 1})

    await sweep(worker)

    assert await terminal(worker, "p") == SuccessOutput(value={"echo": {"n": 1}})
    assert echo.calls == 1
    assert await registry.get_process_lease("p") is None
    assert (await event_types(registry, "p")) == ["process.completed"]


async def test_rerunnable_row_with_an_abandon_request_is_rerun_not_abandoned(
    registry: ProcessRegistry, clock: ManualClock, worker: ProcessWorker, echo: Counting
) -> None:
    await register_engine(registry, "p", RR)
    await started_by(registry, clock, "p", own("crashed"), lease="lapsed")
    await request_abandon(registry, clock, "p")

    await sweep(worker)

    output = await terminal(worker, "p")
    assert isinstance(output, SuccessOutput), output
    assert echo.calls == 1
    # The request stays recorded (lash fidelity, port decision 7); first-started keeps the
    # original starter: a re-run is not a first start.
    row = await record(registry, "p")
    assert row.abandon_request is not None
    assert row.first_started is not None and row.first_started.owner == own("crashed")


@pytest.mark.parametrize("with_request", [False, True], ids=["plain", "abandon-requested"])
async def test_unstarted_owner_bound_row_runs_and_records_the_workers_configured_owner(
    registry: ProcessRegistry,
    clock: ManualClock,
    worker: ProcessWorker,
    with_request: bool,
) -> None:
    seen: dict[str, Any] = {}

    async def handler(ctx: ProcessContext, payload: Any) -> str:
        seen["lease"] = await ctx.registry.get_process_lease(ctx.process_id)
        return "ran"

    worker.engines.register("echo", handler)
    await register_engine(registry, "p", OB)
    if with_request:
        await request_abandon(registry, clock, "p")

    await sweep(worker)

    assert await terminal(worker, "p") == SuccessOutput(value="ran")
    row = await record(registry, "p")
    assert row.first_started is not None
    assert row.first_started.owner == worker.owner
    # ...not the per-attempt identity the run's lease was claimed under (semantics §7.2).
    attempt = seen["lease"].owner
    assert attempt != worker.owner
    assert attempt.owner_id.startswith(f"{worker.owner.owner_id}:recovery:")
    assert attempt.liveness == worker.owner.liveness


async def test_rerunnable_row_of_a_silent_owner_is_rerun_once_its_lease_lapses(
    registry: ProcessRegistry, clock: ManualClock, worker: ProcessWorker, echo: Counting
) -> None:
    await register_engine(registry, "p", RR)
    await started_by(registry, clock, "p", own("silent"), lease="lapsed")

    await sweep(worker)

    assert isinstance(await terminal(worker, "p"), SuccessOutput)
    assert echo.calls == 1


@pytest.mark.parametrize("disposition", [RR, OB], ids=["rerunnable", "owner_bound-unstarted"])
async def test_work_a_dead_holder_never_started_is_taken_over_before_its_ttl(
    registry: ProcessRegistry,
    worker: ProcessWorker,
    echo: Counting,
    disposition: RecoveryDisposition,
) -> None:
    await register_engine(registry, "p", disposition)
    stale = await claim(registry, "p", dead_holder(), LIVE_TTL_MS)

    await sweep(worker)  # the clock has not moved: the holder's lease is still live

    assert isinstance(await terminal(worker, "p"), SuccessOutput)
    assert echo.calls == 1
    with pytest.raises(LeaseLost):
        await registry.renew_process_lease(stale, LIVE_TTL_MS)


async def test_a_dead_holders_row_whose_log_is_full_is_not_run(
    registry: ProcessRegistry, registry_target: str, worker: ProcessWorker, echo: Counting
) -> None:
    """A rerunnable row taken from a holder proved dead, its event log ending at 2^63-1
    (stored by another program): the taking was the plain claim, so the worker ran the
    handler and only then found its terminal refused. Now the same attempt claims it to
    run, finds the log full and does not run it; the lease is given back."""
    await register_engine(registry, "p", RR)
    await claim(registry, "p", dead_holder(), LIVE_TTL_MS)
    with raw_connection(registry_target) as conn:
        conn.execute(
            "INSERT INTO process_events (process_id, sequence, event_type, payload_hash, "
            "idempotency_key, occurred_at_ms, event_json) VALUES ('p', ?, 'note', 'h', NULL, "
            "1, '{}')",
            (2**63 - 1,),
        )

    assert await sweep(worker) == {"p": Verdict.NOT_RUN_LOG_FULL}
    assert echo.calls == 0
    row = await registry.get_process("p")
    assert row is not None and row.first_started is None
    assert await registry.get_process_lease("p") is None


# --- started owner_bound rows: only death proof or a request ends them -------------------- ---


@pytest.mark.parametrize("with_request", [False, True], ids=["plain", "abandon-requested"])
async def test_started_owner_bound_row_of_a_dead_holder_is_abandoned_by_the_sweep(
    registry: ProcessRegistry,
    clock: ManualClock,
    worker: ProcessWorker,
    echo: Counting,
    with_request: bool,
) -> None:
    await register_engine(registry, "p", OB)
    holder = dead_holder()
    stale = await started_by(registry, clock, "p", holder, lease="live")
    if with_request:  # death evidence wins over the request
        await request_abandon(registry, clock, "p")

    await sweep(worker)

    output = await terminal(worker, "p")
    assert isinstance(output, AbandonedOutput), output
    assert output.evidence.writer is AbandonWriter.SWEEP
    assert output.evidence.owner == holder
    assert output.evidence.epoch_ms == clock.now_ms()
    assert echo.calls == 0
    assert await registry.get_process_lease("p") is None
    # The revenant is fenced: its lease is gone, and the terminal is absorbing.
    with pytest.raises(LeaseLost):
        await registry.renew_process_lease(stale, LIVE_TTL_MS)


async def test_started_owner_bound_row_with_lapsed_lease_and_request_is_reconciled(
    registry: ProcessRegistry, clock: ManualClock, worker: ProcessWorker, echo: Counting
) -> None:
    await register_engine(registry, "p", OB)
    await started_by(registry, clock, "p", own("silent"), lease="lapsed")
    await request_abandon(registry, clock, "p")

    await sweep(worker)

    output = await terminal(worker, "p")
    assert isinstance(output, AbandonedOutput), output
    assert output.evidence.writer is AbandonWriter.RECONCILED_REQUEST
    assert output.evidence.owner == own("silent")  # first_started.owner, the lapsed owner
    assert echo.calls == 0
    assert await registry.get_process_lease("p") is None


async def test_started_owner_bound_row_with_lapsed_lease_and_no_request_stays_running(
    registry: ProcessRegistry, clock: ManualClock, worker: ProcessWorker, echo: Counting
) -> None:
    await register_engine(registry, "p", OB)
    await started_by(registry, clock, "p", own("silent"), lease="lapsed")
    before = await record(registry, "p")

    await sweep(worker)
    clock.advance(24 * 3600 * 1000)  # elapsed time alone never terminalizes
    await sweep(worker)

    row = await record(registry, "p")
    assert lifecycle(row) is ProcessLifecycleStatus.RUNNING
    assert row.updated_at_ms == before.updated_at_ms
    assert (await event_types(registry, "p")) == []
    assert echo.calls == 0
    assert await registry.get_process_lease("p") is None  # the sweep released what it took
    # ...and an operator request afterwards is reconciled by the next pass.
    await request_abandon(registry, clock, "p")
    await sweep(worker)
    output = await terminal(worker, "p")
    assert isinstance(output, AbandonedOutput)
    assert output.evidence.writer is AbandonWriter.RECONCILED_REQUEST


async def _rr(registry: ProcessRegistry, clock: ManualClock, holder: LeaseOwnerIdentity) -> None:
    await register_engine(registry, "p", RR)
    await claim(registry, "p", holder, LIVE_TTL_MS)


async def _ob_unstarted(
    registry: ProcessRegistry, clock: ManualClock, holder: LeaseOwnerIdentity
) -> None:
    await register_engine(registry, "p", OB)
    await claim(registry, "p", holder, LIVE_TTL_MS)


async def _ob_started_requested(
    registry: ProcessRegistry, clock: ManualClock, holder: LeaseOwnerIdentity
) -> None:
    await register_engine(registry, "p", OB)
    await started_by(registry, clock, "p", holder, lease="live")
    await request_abandon(registry, clock, "p")


Setup = Callable[[ProcessRegistry, ManualClock, LeaseOwnerIdentity], Awaitable[None]]


@pytest.mark.parametrize(
    "setup",
    [_rr, _ob_unstarted, _ob_started_requested],
    ids=["rerunnable", "owner_bound-unstarted", "owner_bound-started-requested"],
)
@pytest.mark.parametrize(
    "holder", [own("peer"), local("alive-peer")], ids=["opaque-peer", "same-host-live-peer"]
)
async def test_a_live_lease_of_a_holder_not_provably_dead_is_left_alone(
    registry: ProcessRegistry,
    clock: ManualClock,
    worker: ProcessWorker,
    echo: Counting,
    setup: Setup,
    holder: LeaseOwnerIdentity,
) -> None:
    await setup(registry, clock, holder)
    before = await registry.get_process_lease("p")

    await sweep(worker)

    row = await record(registry, "p")
    assert lifecycle(row) is ProcessLifecycleStatus.RUNNING
    assert echo.calls == 0
    assert await registry.get_process_lease("p") == before
    assert (await event_types(registry, "p")) == []


# --- externally-owned rows ----------------------------------------------------------------- ---


async def test_externally_owned_row_without_request_is_never_claimed(
    registry: ProcessRegistry, worker: ProcessWorker
) -> None:
    await registry.register_process(ext("x"))

    await sweep(worker)
    await sweep(worker)

    row = await record(registry, "x")
    assert lifecycle(row) is ProcessLifecycleStatus.RUNNING
    assert row.first_started is None
    assert await registry.get_process_lease("x") is None
    # No lease row was ever created: the first claim anyone makes gets fencing token 1.
    assert (await claim(registry, "x", own("probe"), LIVE_TTL_MS)).fencing_token == 1


async def test_externally_owned_row_with_request_is_abandoned_without_an_owner(
    registry: ProcessRegistry, clock: ManualClock, worker: ProcessWorker
) -> None:
    await registry.register_process(ext("x"))
    await request_abandon(registry, clock, "x")

    await sweep(worker)

    output = await terminal(worker, "x")
    assert isinstance(output, AbandonedOutput), output
    assert output.evidence.writer is AbandonWriter.RECONCILED_REQUEST
    assert output.evidence.owner is None
    assert (await record(registry, "x")).first_started is None  # lash never ran it
    assert await registry.get_process_lease("x") is None


async def test_externally_owned_row_with_request_under_a_live_lease_waits(
    registry: ProcessRegistry, clock: ManualClock, worker: ProcessWorker
) -> None:
    await registry.register_process(ext("x"))
    await request_abandon(registry, clock, "x")
    await claim(registry, "x", own("reconciler"), LIVE_TTL_MS)

    await sweep(worker)

    assert lifecycle(await record(registry, "x")) is ProcessLifecycleStatus.RUNNING


# --- an abandon the registry refuses ------------------------------------------------------ ---


def undeclare_abandoned(target: str, pid: str) -> None:
    """Store the row's record without `process.abandoned` among its event types, as another
    program may write it: the registry then refuses the sweep's terminal (semantics §4.4)."""
    with raw_connection(target) as conn:
        text = conn.execute(
            "SELECT record_json FROM processes WHERE process_id = ?", (pid,)
        ).fetchone()[0]
    stored = json.loads(text)
    stored["event_types"] = [
        t for t in stored["event_types"] if t["name"] != "process.abandoned"
    ]
    store_record_json(target, pid, json.dumps(stored, separators=(",", ":")))


async def _ob_requested_lapsed(registry: ProcessRegistry, clock: ManualClock) -> str:
    await register_engine(registry, "p", OB)
    await started_by(registry, clock, "p", own("silent"), lease="lapsed")
    await request_abandon(registry, clock, "p")
    return "p"


async def _ob_dead_holder(registry: ProcessRegistry, clock: ManualClock) -> str:
    await register_engine(registry, "p", OB)
    await started_by(registry, clock, "p", dead_holder(), lease="live")
    return "p"


async def _ext_requested(registry: ProcessRegistry, clock: ManualClock) -> str:
    await registry.register_process(ext("p"))
    await request_abandon(registry, clock, "p")
    return "p"


@pytest.mark.parametrize(
    "setup",
    [_ob_requested_lapsed, _ob_dead_holder, _ext_requested],
    ids=["owner_bound-requested", "owner_bound-dead-holder", "externally_owned-requested"],
)
async def test_an_abandon_the_registry_refuses_is_not_reported_as_done(
    registry: ProcessRegistry,
    registry_target: str,
    clock: ManualClock,
    worker: ProcessWorker,
    caplog: pytest.LogCaptureFixture,
    setup: Callable[[ProcessRegistry, ManualClock], Awaitable[str]],
) -> None:
    """The sweep decides to abandon, the fenced completion is refused: the verdict says the
    row was left running, the lease it took is released at once, and the next drive tries
    again. It said `abandoned_reconciled` (or `abandoned_by_sweep`) of a row that stayed
    running, in the log and the metric, every drive, and held the lease for its TTL."""
    pid = await setup(registry, clock)
    undeclare_abandoned(registry_target, pid)

    assert await sweep(worker) == {pid: Verdict.ABANDON_REFUSED}

    assert lifecycle(await record(registry, pid)) is ProcessLifecycleStatus.RUNNING
    assert await registry.get_process_lease(pid) is None
    assert "could not abandon p" in caplog.text
    assert "process.abandoned" in caplog.text
    assert worker.stats.verdicts[Verdict.ABANDONED_RECONCILED] == 0
    assert worker.stats.verdicts[Verdict.ABANDONED_BY_SWEEP] == 0
    # The next drive decides again (a dead holder's evidence went with its lease: the row
    # is then left running, as any silent one), and never says it abandoned the row.
    again = (await sweep(worker))[pid]
    assert again in (Verdict.ABANDON_REFUSED, Verdict.LEFT_RUNNING), again
    assert lifecycle(await record(registry, pid)) is ProcessLifecycleStatus.RUNNING


# --- port decision 4: decide from the row as it is after claiming ------------------------ ---


class WritesAfterListing:
    """The real registry with one real write slipped in after the worklist is read and
    before the per-row claim: what a peer or an operator does in that window."""

    def __init__(self, inner: ProcessRegistry, write: Callable[[], Awaitable[None]]) -> None:
        self._inner = inner
        self._write: Callable[[], Awaitable[None]] | None = write

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def list_work_items(self) -> list[ProcessWorkItem]:
        return await self._then_write(await self._inner.list_work_items())

    async def list_drive_work_items(
        self, now_ms: int, claimant: LeaseOwnerIdentity | None = None
    ) -> list[ProcessWorkItem]:
        return await self._then_write(await self._inner.list_drive_work_items(now_ms, claimant))

    async def _then_write(self, rows: list[ProcessWorkItem]) -> list[ProcessWorkItem]:
        write, self._write = self._write, None
        if write is not None:
            await write()
        return rows


def racing_worker(
    registry: ProcessRegistry, clock: ManualClock, write: Callable[[], Awaitable[None]]
) -> tuple[ProcessWorker, Counting]:
    worker = make_worker(WritesAfterListing(registry, write), clock)  # type: ignore[arg-type]
    echo = Counting()
    worker.engines.register("echo", echo)
    return worker, echo


async def test_rerunnable_row_that_completed_after_listing_is_not_run_again(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    await register_engine(registry, "p", RR)

    async def peer_completes() -> None:
        lease = await claim(registry, "p", own("peer"), LIVE_TTL_MS)
        await registry.complete_process_with_lease(lease, SuccessOutput(value="peer"))

    worker, echo = racing_worker(registry, clock, peer_completes)
    await sweep(worker)

    assert echo.calls == 0
    assert await terminal(worker, "p") == SuccessOutput(value="peer")
    assert await registry.get_process_lease("p") is None


async def test_external_row_closed_by_its_owner_after_listing_is_not_abandoned(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    await registry.register_process(ext("x"))
    await request_abandon(registry, clock, "x")

    async def owner_completes() -> None:
        await registry.complete_process("x", SuccessOutput(value="imported"))

    worker, _ = racing_worker(registry, clock, owner_completes)
    await sweep(worker)

    assert await terminal(worker, "x") == SuccessOutput(value="imported")
    assert (await event_types(registry, "x")) == ["process.completed"]
    assert await registry.get_process_lease("x") is None


async def test_abandon_request_recorded_after_listing_is_reconciled_in_the_same_pass(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    await register_engine(registry, "p", OB)
    await started_by(registry, clock, "p", own("silent"), lease="lapsed")

    async def operator_requests() -> None:
        await request_abandon(registry, clock, "p")

    worker, echo = racing_worker(registry, clock, operator_requests)
    await sweep(worker)

    output = await terminal(worker, "p")
    assert isinstance(output, AbandonedOutput), output
    assert output.evidence.writer is AbandonWriter.RECONCILED_REQUEST
    assert output.evidence.owner == own("silent")
    assert echo.calls == 0


async def test_owner_bound_row_started_by_a_peer_after_listing_is_not_run_a_second_time(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    await register_engine(registry, "p", OB)

    async def peer_starts_then_goes_silent() -> None:
        await started_by(registry, clock, "p", own("peer"), lease="lapsed")

    worker, echo = racing_worker(registry, clock, peer_starts_then_goes_silent)
    await sweep(worker)

    assert echo.calls == 0
    row = await record(registry, "p")
    assert lifecycle(row) is ProcessLifecycleStatus.RUNNING
    assert row.first_started is not None and row.first_started.owner == own("peer")
    assert await registry.get_process_lease("p") is None
    await worker.stop()


class DriveSpy:
    """The registry, noting for each drive listing the claimant it was asked for and the
    rows it gave."""

    def __init__(self, inner: ProcessRegistry) -> None:
        self._inner = inner
        self.asked: list[tuple[LeaseOwnerIdentity | None, list[str]]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def list_drive_work_items(
        self, now_ms: int, claimant: LeaseOwnerIdentity | None = None
    ) -> list[ProcessWorkItem]:
        items = await self._inner.list_drive_work_items(now_ms, claimant)
        self.asked.append((claimant, [item.process_id for item in items]))
        return items


async def test_a_drive_reads_only_the_leased_rows_the_worker_could_take(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    # The worker asks for its drive as the claimant: the row a live peer holds is not even
    # read (its claim could only be refused), the one a gone holder on this host left is,
    # and is recovered as before.
    await register_engine(registry, "held", RR)
    await claim(registry, "held", own("peer"), LIVE_TTL_MS)
    await register_engine(registry, "gone", RR)
    await claim(registry, "gone", dead_holder(), LIVE_TTL_MS)
    spy = DriveSpy(registry)
    worker = make_worker(spy, clock)  # type: ignore[arg-type]
    echo = Counting()
    worker.engines.register("echo", echo)

    assert list(await sweep(worker)) == ["gone"]
    assert spy.asked == [(worker.owner, ["gone"])]
    assert echo.calls == 1
    lease = await registry.get_process_lease("held")
    assert lease is not None and lease.owner == own("peer")
