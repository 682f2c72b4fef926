"""The recovery sweep's decision for one row (semantics §8, ADR 0019).

Never claim over a live lease unless its holder is provably dead; re-read the row after
claiming and decide from the fresh row (port decision 4); write `abandoned` only under the
sweep's own fenced lease. Elapsed time alone never ends anything: a started owner_bound row
whose owner went silent stays running until death is proven or an operator asks.
"""

from __future__ import annotations

import contextlib

from lashtui.errors import EventLogFull, LashError, LeaseLost, StoreError, UndecodableProcess
from lashtui.model import (
    AbandonedOutput,
    AbandonEvidence,
    AbandonWriter,
    LeaseOwnerIdentity,
    ProcessLease,
    ProcessRunClaim,
    ProcessStarted,
    ProcessWorkItem,
    RecoveryDisposition,
)
from lashtui.registry.sql.blob_id import is_blob_row
from lashtui.registry.sql.long_id import CUT_ID_WORDS
from lashtui.worker.identity import attempt_identity
from lashtui.worker.observer import ClaimResult
from lashtui.worker.run import run_and_complete
from lashtui.worker.runtime import StartSlot, Verdict, WorkerRuntime, log


def abandoned(
    writer: AbandonWriter, owner: LeaseOwnerIdentity | None, epoch_ms: int
) -> AbandonedOutput:
    return AbandonedOutput(evidence=AbandonEvidence(writer=writer, owner=owner, epoch_ms=epoch_ms))


async def claim_for_recovery(
    rt: WorkerRuntime,
    process_id: str,
    attempt: LeaseOwnerIdentity,
    *,
    reclaim_dead: bool,
    to_run: bool = False,
) -> tuple[ProcessLease | None, ProcessLease | None, ProcessRunClaim | None]:
    """(our lease, the dead holder we took it from, what a claim to run found). No lease
    means: leave the row alone. `to_run` claims with `claim_process_for_run`, so a row the
    worker will run has its fresh record, first-started fact and cancel check from the
    claim's own transaction; a dead holder's lease is taken by the plain path, and then
    claimed to run by the same attempt. A claim
    refused is told here; one taken is told by what ends it (`ClaimResult`): the run
    (`_decide`), the abandon (`abandon_under_lease`) or the release (`release_quietly`)."""
    ttl = rt.timings.ttl_ms
    started = ProcessStarted(owner=rt.owner, started_at_ms=rt.clock.now_ms())
    try:
        claimed = None
        if to_run:
            claimed = await rt.registry.claim_process_for_run(process_id, attempt, ttl, started)
            outcome = claimed.outcome
        else:
            outcome = await rt.registry.claim_process_lease(process_id, attempt, ttl)
        lease = outcome.acquired()
        if lease is not None:
            return lease, None, claimed
        holder = outcome.holder
        if not reclaim_dead or holder is None:
            rt.observer.claimed(process_id, ClaimResult.LOST)
            return None, None, None
        if not holder.owner.is_definitely_dead_for_claimant(attempt):
            rt.observer.claimed(process_id, ClaimResult.LOST)
            return None, None, None
        taken = await rt.registry.reclaim_process_lease(process_id, attempt, holder, ttl)
        lease = taken.acquired()
        if lease is not None and to_run:
            # Taken from a dead holder, the row is claimed to run by the same attempt (the
            # lease extended, as a claim by its holder does), for what that claim finds: a
            # full event log above all, whose row was run, handler and all, and its
            # terminal refused. It stands for the fresh read and first-started write the
            # run made after the plain claim.
            claimed = await rt.registry.claim_process_for_run(process_id, attempt, ttl, started)
            lease = claimed.outcome.acquired()
        if lease is None:
            rt.observer.claimed(process_id, ClaimResult.LOST)
            return None, None, None
        return lease, holder, claimed
    except StoreError:
        # Undecodable: `recover` says so, once. Otherwise the registry could not serve (a
        # file locked past its busy timeout, a lost connection): no verdict on the row, and
        # the caller says so. Taken for Busy, `worker --once` on a locked file said "1 busy
        # (held by a live lease)" of a row no one held, and exited 0.
        raise
    except LashError as error:
        log.warning("could not claim %s for recovery: %s", process_id, error)
        return None, None, None


async def abandon_under_lease(
    rt: WorkerRuntime, lease: ProcessLease, output: AbandonedOutput
) -> Verdict | None:
    """Write `abandoned` through the fenced completion. None when it was written; else the
    verdict of a row left running: BUSY when the lease was lost (another holder has the
    row), ABANDON_REFUSED when the registry refused the terminal (a row another program
    wrote without `process.abandoned` among its event types, a lost connection), said in a
    warning, the lease then released so that the row is not held for its TTL by a worker
    that does nothing with it. Callers used to report the row abandoned either way: the
    log said `abandoned_reconciled (abandoned: its abandon request was honoured)` and the
    metric counted it, every drive, of a row that stayed running."""
    try:
        await rt.registry.complete_process_with_lease(lease, output)
    except LeaseLost as error:
        log.warning("could not abandon %s: %s", lease.process_id, error)
        rt.observer.claimed(lease.process_id, ClaimResult.LOST)
        return Verdict.BUSY
    except LashError as error:
        log.warning("could not abandon %s: %s", lease.process_id, error)
        await release_quietly(rt, lease)
        return Verdict.ABANDON_REFUSED
    rt.observer.claimed(lease.process_id, ClaimResult.ABANDONED)
    return None


async def release_quietly(rt: WorkerRuntime, lease: ProcessLease) -> None:
    """Give back a lease a claim took and nothing was run or written under (told as the
    claim's end, `ClaimResult.RELEASED`; a failed release is logged, its TTL the backstop)."""
    rt.observer.claimed(lease.process_id, ClaimResult.RELEASED)
    try:
        await rt.registry.release_process_lease(lease)
    except LashError as error:
        log.warning("could not release %s: %s", lease.process_id, error)


async def _reconcile_external(rt: WorkerRuntime, item: ProcessWorkItem) -> Verdict:
    """Externally-owned rows are only ever closed here, and only on an abandon request:
    there is no owner lease to wait out."""
    if not item.abandon_requested:
        return Verdict.UNTOUCHED
    pid = item.process_id
    lease, _, _ = await claim_for_recovery(
        rt, pid, attempt_identity(rt.owner), reclaim_dead=False
    )
    if lease is None:
        return Verdict.BUSY
    fresh = await rt.registry.get_process(pid)
    if fresh is None or fresh.is_terminal():
        await release_quietly(rt, lease)
        return Verdict.ALREADY_TERMINAL
    if fresh.undecodable is not None:
        await release_quietly(rt, lease)
        return _skip_undecodable(rt, pid, fresh.undecodable)
    now = rt.clock.now_ms()
    output = abandoned(AbandonWriter.RECONCILED_REQUEST, None, now)
    return await abandon_under_lease(rt, lease, output) or Verdict.ABANDONED_RECONCILED


async def recover(rt: WorkerRuntime, item: ProcessWorkItem, *, run: bool = True) -> Verdict:
    """One recovery attempt for one non-terminal row; `run=False` applies every verdict
    except running work (a sweep-only pass). A row whose record cannot be decoded is
    skipped, never ended: only an operator may end it (`Processes.end_undecodable`)."""
    try:
        verdict = await _recover(rt, item, run=run)
    except UndecodableProcess as error:
        verdict = Verdict.SKIPPED_UNDECODABLE
        rt.stats.verdicts[verdict] += 1
        log.warning("skipped %s: %s", item.process_id, error)
    rt.observer.verdict(item.process_id, verdict)
    return verdict


def undecodable_why(said: str | None) -> str:
    """Why a row is skipped, from its stand-in's reason (`ProcessRecord.undecodable`): an
    id's reason (a blob, a cut id) stands alone, for its record is never read; a record's
    (pydantic's) needs saying so. None (the stand-in could not be read): the plain words."""
    why = "its record could not be decoded"
    if said is None:
        return why
    return said if is_blob_row(said) or said.startswith(CUT_ID_WORDS) else f"{why} ({said})"


async def stand_in_why(rt: WorkerRuntime, process_id: str) -> str:
    """`undecodable_why` for a row known only to be undecodable (a work item, a batch claim
    that found it so): its stand-in is read for the reason, one read a row."""
    said = None
    with contextlib.suppress(LashError):  # (gone or unreadable since: the plain words)
        stand_in = await rt.registry.get_process(process_id)
        said = stand_in.undecodable if stand_in is not None else None
    return undecodable_why(said)


def _skip_undecodable(rt: WorkerRuntime, process_id: str, reason: str) -> Verdict:
    log.warning("skipped %s: %s", process_id, undecodable_why(reason))
    return Verdict.SKIPPED_UNDECODABLE


async def _skip_unread(rt: WorkerRuntime, process_id: str) -> Verdict:
    """Skip a row known only to be undecodable, logging its stand-in's reason: these said
    "its JSON cannot be read" or "its record could not be decoded (its record could not be
    decoded)" of any such row, though a row may be undecodable for its id (a blob, a cut
    id) or for what pydantic refused."""
    log.warning("skipped %s: %s", process_id, await stand_in_why(rt, process_id))
    return Verdict.SKIPPED_UNDECODABLE


async def _recover(rt: WorkerRuntime, item: ProcessWorkItem, *, run: bool = True) -> Verdict:
    if item.undecodable:
        verdict = await _skip_unread(rt, item.process_id)
        rt.stats.verdicts[verdict] += 1
        return verdict
    if item.disposition is RecoveryDisposition.EXTERNALLY_OWNED:
        verdict = await _reconcile_external(rt, item)
        rt.stats.verdicts[verdict] += 1
        return verdict
    async with rt.start_slot() as slot:
        taken = await _taken_meanwhile(rt, item.process_id) if slot.waited else None
        if taken is not None:
            rt.stats.verdicts[taken] += 1
            return taken
        lease, dead_holder, claimed = await claim_for_recovery(
            rt, item.process_id, attempt_identity(rt.owner), reclaim_dead=True, to_run=run
        )
        if lease is None:
            verdict = Verdict.BUSY
        else:
            verdict = await _decide(rt, lease, dead_holder, slot, run, claimed)
    rt.stats.verdicts[verdict] += 1
    return verdict


async def run_claimed(
    rt: WorkerRuntime, process_id: str, claimed: ProcessRunClaim | None, slot: StartSlot
) -> Verdict:
    """A row a batch claim took to run (`claim_processes_for_run`), decided and run as
    `recover` decides and runs a row it claimed itself; `slot` is held until the handler
    starts. None: the row was picked but its record does not decode (nothing was written)."""
    try:
        if claimed is None:
            verdict = await _skip_unread(rt, process_id)
        elif (lease := claimed.outcome.acquired()) is None:
            verdict = Verdict.BUSY  # (the batch picked it free in its own transaction)
        else:
            verdict = await _decide(rt, lease, None, slot, True, claimed)
    finally:
        slot.release()
    rt.stats.verdicts[verdict] += 1
    rt.observer.verdict(process_id, verdict)
    return verdict


async def _not_run_log_full(rt: WorkerRuntime, lease: ProcessLease, last: int) -> Verdict:
    """A row the claim to run found with a full event log (`ProcessRunClaim.log_full_at`):
    its run's terminal could never be written, so it is not run. It was run, its terminal
    refused (run.py `_complete`), and this worker claimed it no more; but every other
    worker, and this one restarted, claimed it and ran the handler again, side effects
    and all. A `--once` pass fails with the sentence, as a refused terminal failed it."""
    pid = lease.process_id
    error = EventLogFull.at(pid, last)
    rt.unwritable.add(pid)  # (before the release: until then no pick takes it again)
    rt.registry_failed("claiming a row to run", error)
    log.warning(
        "did not run %s: %s; this worker claims it no more", pid, error,
        extra={"fields": {"event": "run_refused", "process_id": pid, "error": str(error)}},
    )  # fmt: skip
    await release_quietly(rt, lease)
    return Verdict.NOT_RUN_LOG_FULL


async def _taken_meanwhile(rt: WorkerRuntime, process_id: str) -> Verdict | None:
    """Whether the row ended (ALREADY_TERMINAL) or another worker claimed it (BUSY) since
    it was listed; None when a claim should be tried. A read, where a claim that would
    only say Busy is a write, and a claim of a row that ended is two (the claim and its
    release): writers queue for the registry (on SQLite, every worker process on the
    file; on PostgreSQL, the whole fleet's writers). When several workers drain one
    backlog, most rows any one of them listed are ended by the others."""
    try:
        fresh = await rt.registry.get_work_item(process_id)
    except LashError:
        return None  # the claim decides, and reports
    if fresh is None:
        return Verdict.ALREADY_TERMINAL
    if fresh.lease is not None and fresh.lease.bars(rt.owner, rt.clock.now_ms()):
        return Verdict.BUSY
    return None


async def _decide(
    rt: WorkerRuntime,
    lease: ProcessLease,
    dead_holder: ProcessLease | None,
    slot: StartSlot,
    run: bool,
    claimed: ProcessRunClaim | None = None,
) -> Verdict:
    # The claim to run read the row in its own transaction; any other claim reads it now.
    if claimed is not None:
        fresh = claimed.record
    else:
        fresh = await rt.registry.get_process(lease.process_id)
    if fresh is None or fresh.is_terminal():
        await release_quietly(rt, lease)
        return Verdict.ALREADY_TERMINAL
    if fresh.undecodable is not None:
        await release_quietly(rt, lease)
        return _skip_undecodable(rt, lease.process_id, fresh.undecodable)
    if claimed is not None and claimed.log_full_at is not None:
        return await _not_run_log_full(rt, lease, claimed.log_full_at)
    # (A claim to run that recorded first-started has already judged the row runnable.)
    runnable = (claimed is not None and claimed.started) or fresh.runs_on_recovery()
    if runnable and not run:
        await release_quietly(rt, lease)
        return Verdict.DEFERRED
    if runnable:
        rt.observer.claimed(lease.process_id, ClaimResult.WON)
        await run_and_complete(rt, fresh, lease, slot, claimed)
        return Verdict.RAN
    now = rt.clock.now_ms()
    if dead_holder is not None:  # death evidence wins even over a pending request
        output = abandoned(AbandonWriter.SWEEP, dead_holder.owner, now)
        return await abandon_under_lease(rt, lease, output) or Verdict.ABANDONED_BY_SWEEP
    if fresh.abandon_request is not None:
        assert fresh.first_started is not None
        owner = fresh.first_started.owner
        output = abandoned(AbandonWriter.RECONCILED_REQUEST, owner, now)
        return await abandon_under_lease(rt, lease, output) or Verdict.ABANDONED_RECONCILED
    await release_quietly(rt, lease)
    return Verdict.LEFT_RUNNING
