"""Running one claimed row under its lease (semantics §7.4-§7.5).

The handler runs in the run's own task, watched by a lease keeper, which renews every
`renew_interval` and stops the handler the moment a renewal is refused, and a cancel watcher,
which stops it when a `process.cancel_requested` event exists (one appended before the run
started counts too). Both are `RunGuard`s (guard.py), and they stop the handler by cancelling
this task, as `asyncio.timeout` does, telling their cancellation apart from anyone else's by
`Task.uncancel`. A run that lost its lease writes nothing and releases nothing: someone else
is the single writer now. A run stopped by its worker shutting down (its task cancelled from
outside) writes no terminal and releases its lease, so a peer can take the row; a release
the registry does not take (out of reach, or not within `HURRIED_RELEASE_S` of a hurried
stop) leaves the lease to lapse, recorded for the stop's report (shutdown.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from lashtui.errors import (
    EventLogFull,
    InvalidRequest,
    LashError,
    LeaseLost,
    ProcessConflict,
    StoreError,
)
from lashtui.model import (
    CancelledOutput,
    ProcessLease,
    ProcessRecord,
    ProcessRunClaim,
    ProcessStarted,
    RecoveryDisposition,
    failure,
)
from lashtui.worker.awaiter import BACKOFF_CAP_S, BACKOFF_START_S
from lashtui.worker.context import ProcessContext
from lashtui.worker.engine import PROCESS_FAILED, ProcessOutput, dispatch
from lashtui.worker.guard import RunGuard, RunState, lost
from lashtui.worker.runtime import HURRIED_RELEASE_S, RunEnd, StartSlot, WorkerRuntime, log

RECOVERY_FAILED = "process_recovery_failed"
# What a run that nobody cancelled fails with when its handler lets a CancelledError out.
ESCAPED_CANCEL = (
    "the handler raised CancelledError though nothing cancelled its run (no cancel request, "
    "worker stop or lost lease); a task it awaited may have been cancelled"
)


class RunRefused(Exception):
    """A run could not start (semantics §7.4 steps a-e); it ends as a recovery failure."""


async def _prepare(
    rt: WorkerRuntime, record: ProcessRecord, state: RunState, claimed: ProcessRunClaim | None
) -> None:
    """Checks before any side effect, then the lease-fenced first-started fact (which a
    claim to run has recorded already, in its own transaction)."""
    pid = record.id
    if not pid.strip():
        raise RunRefused(
            "missing_process_execution_id: process execution requires a non-empty persisted "
            "process id"
        )
    if record.disposition is RecoveryDisposition.EXTERNALLY_OWNED:
        raise RunRefused(f"process `{pid}` is externally-owned and must not be executed by lash")
    if claimed is None or not claimed.started:
        started = ProcessStarted(owner=rt.owner, started_at_ms=rt.clock.now_ms())
        await rt.registry.record_first_started(pid, started, state.lease)  # LeaseLost raises
    if record.env_ref is not None:
        try:
            await rt.registry.get_process_execution_env(record.env_ref)
        except LashError:
            raise RunRefused(f"process `{pid}` is missing a captured execution env") from None


async def _execute(
    rt: WorkerRuntime, guard: RunGuard, slot: StartSlot | None, claimed: ProcessRunClaim | None
) -> ProcessOutput:
    ctx = guard.ctx
    record = ctx.record
    try:
        await _prepare(rt, record, guard.state, claimed)
    except RunRefused as refused:
        return failure(RECOVERY_FAILED, str(refused))
    finally:
        if slot is not None:
            slot.release()
    if await guard.watch_cancel(claimed):
        raise asyncio.CancelledError  # as if the watcher had stopped the handler
    return await dispatch(record, ctx, rt.engines, rt.tools, rt.session_runner)


async def _handle(
    rt: WorkerRuntime, guard: RunGuard, slot: StartSlot | None, claimed: ProcessRunClaim | None
) -> ProcessOutput | None:
    """The handler's output: its own, a failure for what it raised, or `cancelled` when a
    cancel request stopped it; None when the run must end without a terminal (its lease
    lost). A cancellation from outside the run (the worker stopping) propagates; one that
    only the handler raised, with this task not being cancelled, is a failure like any
    other exception."""
    state, task = guard.state, guard.task
    output: ProcessOutput | None
    outside = False
    guard.handler_running = True
    try:
        output = await _execute(rt, guard, slot, claimed)
    except asyncio.CancelledError:
        if guard.fired or state.cancel_reason is not None:
            output = CancelledOutput(message=f"process was cancelled: {state.cancel_reason}")
        elif task.cancelling():
            output, outside = None, True
        else:
            # Nobody cancelled this task: the handler let a CancelledError of its own escape
            # (a sub-task it awaited was cancelled). Taken for a stop, the run released its
            # lease without a terminal and a rerunnable row ran again at once, forever.
            output = failure(PROCESS_FAILED, ESCAPED_CANCEL)
    except LeaseLost:
        output = None
    except Exception as error:  # a handler's crash is its run's failure
        output = failure(PROCESS_FAILED, str(error) or type(error).__name__)
    finally:
        guard.handler_running = False
        guard.stop_watching()
    if guard.fired:
        task.uncancel()  # ours, whether the handler let it through or swallowed it
    if outside or task.cancelling():
        raise asyncio.CancelledError  # someone else's: a stop, not a cancel request
    return None if state.lease_lost else output


async def _complete(
    rt: WorkerRuntime, guard: RunGuard, output: ProcessOutput
) -> ProcessOutput | _EndedElsewhere | _NotWritten | None:
    """Write `output` as the terminal under the run's lease; what was written, or None when
    the lease was lost first (said here, or by the keeper).

    A registry that cannot take the write for a while (a SQLite file another process holds
    locked, a PostgreSQL connection lost) is tried again, backing off, for as long as the
    lease is ours, which the keeper goes on renewing meanwhile: the handler's work is done,
    and taken for a stop, the run threw it away (a rerunnable row ran again, an owner_bound
    one stayed running, silent). An output the registry refuses to store (over the 1 MiB an
    event payload may hold, a NaN, a lone surrogate, a NUL) is the handler's failure, written
    instead: taken for a stop, a rerunnable row ran again and again, each run
    refused. A row some other write has ended meanwhile is ENDED_ELSEWHERE; one whose log
    can take no event (`EventLogFull`) is NOT_WRITTEN."""
    pid, state = guard.ctx.process_id, guard.state
    delay, tries, refused = BACKOFF_START_S, 0, False
    while True:
        try:
            await rt.registry.complete_process_with_lease(state.lease, output)
            break
        except LeaseLost:
            if not state.lease_lost:  # the keeper tells its own loss
                lost(
                    rt, state, pid, "when the registry refused its terminal write: the lease "
                    "is no longer this worker's (another worker took it, or it was released)",
                )  # fmt: skip
            return None
        except InvalidRequest as error:
            if refused:
                raise  # the failure written instead was refused too: not the handler's doing
            output, refused = failure(PROCESS_FAILED, str(error)), True
            continue
        except ProcessConflict as error:
            await _ended_elsewhere(rt, state.lease, error)
            return ENDED_ELSEWHERE
        except EventLogFull as error:
            # No later try can be taken either: retried, it held the row (and a `--once`
            # pass) for as long as its lease lasted, renewing it. A pass fails with the
            # sentence; the run ends as a stop does, its lease released.
            rt.registry_failed("writing a terminal", error)
            rt.unwritable.add(pid)  # (not claimed again by this worker)
            log.warning(
                "the terminal of %s was not written: %s; this worker claims it no more", pid,
                error,
                extra={"fields": {"event": "terminal_refused", "process_id": pid,
                                  "error": str(error)}},
            )  # fmt: skip
            return NOT_WRITTEN
        except LashError as error:
            tries += 1
            rt.registry_failed("writing a terminal", error)
            if state.lease_lost:
                return None
            if not state.lease.is_live_at(rt.clock.now_ms()):
                lost(
                    rt, state, pid,
                    f"while the registry could not take its terminal write ({tries} "
                    f"tries; the last: {error})",
                )  # fmt: skip
                return None
            if tries == 1:
                log.warning(
                    "could not write the terminal of %s: %s; trying again while its lease "
                    "lasts", pid, error,
                    extra={"fields": {"event": "terminal_retrying", "process_id": pid,
                                      "error": str(error)}},
                )  # fmt: skip
        await asyncio.sleep(delay)
        delay = min(delay * 2, BACKOFF_CAP_S)
    if tries:
        log.info(
            "wrote the terminal of %s after %d failed tries", pid, tries,
            extra={"fields": {"event": "terminal_written", "process_id": pid, "tries": tries}},
        )  # fmt: skip
    return output


class _EndedElsewhere:
    """What `_complete` returns for a row another write ended while the run held it."""


ENDED_ELSEWHERE = _EndedElsewhere()


class _NotWritten:
    """What `_complete` returns when the registry can never take the run's terminal (its
    event log is full: `EventLogFull`): the run ends as a stopped one, its lease released."""


NOT_WRITTEN = _NotWritten()


async def _ended_elsewhere(rt: WorkerRuntime, lease: ProcessLease, error: ProcessConflict) -> None:
    """The registry refused the run's terminal because the row is terminal already: most
    often its handler appended a terminal event itself (`ctx.append_event("process.
    completed", ...)`, a type every process declares), which the registry takes and
    materializes. Nothing will change that: taken for an outage, the run retried the write
    and renewed its lease on the ended row until its worker stopped. Say so and give the
    lease back."""
    pid = lease.process_id
    log.warning(
        "the terminal of %s was not written: %s; the terminal already written stands",
        pid, error,
        extra={"fields": {"event": "terminal_refused", "process_id": pid, "error": str(error)}},
    )  # fmt: skip
    with contextlib.suppress(LashError):  # a lease not released lapses: nobody runs the row
        await rt.registry.release_process_lease(lease)


class ReleaseHurried(StoreError):
    """The registry did not take a stopped run's release within `HURRIED_RELEASE_S` of a
    hurried stop: the lease is left to lapse."""


async def _release(rt: WorkerRuntime, lease: ProcessLease) -> None:
    """Release `lease`, waiting at most `HURRIED_RELEASE_S` once the stop is hurried
    (ReleaseHurried then): the operator's second signal stops at once."""
    release = asyncio.ensure_future(rt.registry.release_process_lease(lease))
    hurried = asyncio.ensure_future(rt.hurried.wait())
    try:
        await asyncio.wait({release, hurried}, return_when=asyncio.FIRST_COMPLETED)
        if not release.done():
            await asyncio.wait({release}, timeout=HURRIED_RELEASE_S)
    finally:
        hurried.cancel()
        given_up = not release.done()
        if given_up:
            release.cancel()
    if given_up:
        raise ReleaseHurried(
            f"the stop was hurried and the registry had not taken the release within "
            f"{HURRIED_RELEASE_S:.3g}s"
        )
    release.result()  # its error, if any


async def _give_back(rt: WorkerRuntime, state: RunState, pid: str) -> RunEnd:
    """Release a stopped run's lease: STOPPED. LEASE_LOST when the release is refused
    because the lease is no longer the run's, or cannot be made and the lease has lapsed
    meanwhile (an outage outlasting the TTL): those runs lost their lease, and counted as
    stopped, no lost lease was told (`lashtui_worker_leases_lost_total` stayed 0)."""
    try:
        await _release(rt, state.lease)
    except LeaseLost:
        why = "before its stopped run could release it"
    except LashError as error:
        rt.registry_failed("releasing a lease", error)
        if state.lease.is_live_at(rt.clock.now_ms()):
            rt.unreleased[pid] = str(error)  # the stop's report says so (shutdown.py)
            rt.stats.stopped_unreleased += 1
            return RunEnd.STOPPED
        why = f"while the registry could not be reached to release it ({error})"
        rt.unreleased[pid] = f"its lease lapsed first ({error})"
    else:
        return RunEnd.STOPPED
    if not state.lease_lost:  # the keeper tells its own loss
        lost(rt, state, pid, why)
    return RunEnd.LEASE_LOST


async def run_and_complete(
    rt: WorkerRuntime,
    record: ProcessRecord,
    lease: ProcessLease,
    slot: StartSlot | None = None,
    claimed: ProcessRunClaim | None = None,
) -> RunEnd:
    """Run a claimed row to its terminal; `slot` is released once the handler starts.
    `claimed` is what a claim to run found, when the lease came from one."""
    task = asyncio.current_task()
    assert task is not None
    ctx = ProcessContext(
        record, rt.registry, rt.awaiter, rt.clock,
        on_park=lambda parked: rt.park(record.id, parked),
    )  # fmt: skip
    guard = RunGuard(rt, ctx, RunState(lease=lease), task)
    end = RunEnd.STOPPED
    written: str | None = None  # the terminal state written, for the observer
    began = time.monotonic()
    rt.observer.run_started(record)
    rt.running.add(record.id)
    try:
        guard.keep_lease()
        try:
            output = await _handle(rt, guard, slot, claimed)
        finally:
            ctx.end()  # what the handler left running writes nothing more through it
        if output is None or guard.state.lease_lost:
            if not guard.state.lease_lost:  # the keeper tells its own loss
                lost(
                    rt, guard.state, record.id, "when the registry refused a write the run "
                    "made under it: the lease is no longer this worker's (another worker "
                    "took it, or it was released)",
                )  # fmt: skip
            end = RunEnd.LEASE_LOST
            return end
        rt.finishing.add(record.id)
        stored = await _complete(rt, guard, output)
        if stored is None:
            end = RunEnd.LEASE_LOST
            return end
        if isinstance(stored, _NotWritten):
            return end  # STOPPED: its lease released below
        end = RunEnd.COMPLETED
        if not isinstance(stored, _EndedElsewhere):
            written = stored.terminal_state().value
        return end
    finally:
        await guard.close()
        if end is RunEnd.STOPPED:
            end = await _give_back(rt, guard.state, record.id)
        rt.finishing.discard(record.id)
        rt.parked.discard(record.id)
        rt.running.discard(record.id)
        rt.stats.runs[end] += 1
        if end is RunEnd.LEASE_LOST:
            why = guard.state.lost_why or "while it ran"
            rt.stats.lease_lost(record.id, why, guard.state.lapsed)
        rt.observer.run_ended(record, written or end.value, time.monotonic() - began)
