"""Running one claimed row under its lease (semantics §7.4-§7.5).

Three tasks cooperate for the length of a run: the handler; the lease keeper, which renews
every `renew_interval` and cancels the handler the moment a renewal is refused; and the
cancel watcher, which cancels the handler when a `process.cancel_requested` event exists
(one appended before the run started counts too). A run that lost its lease writes nothing
and releases nothing: someone else is the single writer now. A run stopped by its worker
shutting down writes no terminal and releases its lease, so a peer can take the row.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from lashtui.errors import LashError, LeaseLost
from lashtui.model import (
    CANCEL_REQUESTED,
    CancelledOutput,
    ProcessLease,
    ProcessRecord,
    ProcessStarted,
    RecoveryDisposition,
    failure,
)
from lashtui.worker.context import ProcessContext
from lashtui.worker.engine import ProcessOutput, dispatch
from lashtui.worker.runtime import RunEnd, StartSlot, WorkerRuntime, log

RECOVERY_FAILED = "process_recovery_failed"
PROCESS_FAILED = "process_failed"


class RunRefused(Exception):
    """A run could not start (semantics §7.4 steps a-e); it ends as a recovery failure."""


@dataclass
class _RunState:
    lease: ProcessLease
    lease_lost: bool = False
    cancel_reason: str | None = None


async def _prepare(rt: WorkerRuntime, record: ProcessRecord, state: _RunState) -> None:
    """Checks before any side effect, then the lease-fenced first-started fact."""
    pid = record.id
    if not pid.strip():
        raise RunRefused(
            "missing_process_execution_id: process execution requires a non-empty persisted "
            "process id"
        )
    if record.disposition is RecoveryDisposition.EXTERNALLY_OWNED:
        raise RunRefused(f"process `{pid}` is externally-owned and must not be executed by lash")
    started = ProcessStarted(owner=rt.owner, started_at_ms=rt.clock.now_ms())
    await rt.registry.record_first_started(pid, started, state.lease)  # LeaseLost propagates
    if record.env_ref is not None:
        try:
            await rt.registry.get_process_execution_env(record.env_ref)
        except LashError:
            raise RunRefused(f"process `{pid}` is missing a captured execution env") from None


async def _execute(
    rt: WorkerRuntime,
    record: ProcessRecord,
    ctx: ProcessContext,
    state: _RunState,
    slot: StartSlot | None,
) -> ProcessOutput:
    try:
        await _prepare(rt, record, state)
    except RunRefused as refused:
        return failure(RECOVERY_FAILED, str(refused))
    finally:
        if slot is not None:
            slot.release()
    return await dispatch(record, ctx, rt.engines, rt.tools, rt.session_runner)


async def _keep_lease(
    rt: WorkerRuntime, state: _RunState, handler: asyncio.Task[ProcessOutput]
) -> None:
    interval = rt.timings.renew_interval_ms / 1000
    while True:
        await asyncio.sleep(interval)
        try:
            state.lease = await rt.registry.renew_process_lease(state.lease, rt.timings.ttl_ms)
        except LeaseLost:
            log.warning("lost the lease of %s; cancelling its run", state.lease.process_id)
            state.lease_lost = True
            handler.cancel()
            return
        except LashError as error:  # e.g. the file is locked for a moment: retry next time
            log.warning("could not renew the lease of %s: %s", state.lease.process_id, error)


async def _watch_cancel(
    rt: WorkerRuntime, ctx: ProcessContext, state: _RunState, handler: asyncio.Task[ProcessOutput]
) -> None:
    event = await rt.awaiter.await_event(ctx.process_id, CANCEL_REQUESTED, 0)
    payload = event.payload
    reason = payload.get("reason") if isinstance(payload, dict) else None
    state.cancel_reason = str(reason) if reason is not None else "cancel requested"
    ctx.cancelled.set()
    handler.cancel()


def _raised(task: asyncio.Task[ProcessOutput], kind: type[BaseException]) -> bool:
    return not task.cancelled() and isinstance(task.exception(), kind)


def _output_of(handler: asyncio.Task[ProcessOutput], state: _RunState) -> ProcessOutput:
    """The handler's result: its own output, a failure for what it raised, or `cancelled`
    when a cancel request stopped it."""
    if handler.cancelled():
        return CancelledOutput(message=f"process was cancelled: {state.cancel_reason}")
    error = handler.exception()
    if error is not None:
        return failure(PROCESS_FAILED, str(error) or type(error).__name__)
    return handler.result()


async def run_and_complete(
    rt: WorkerRuntime, record: ProcessRecord, lease: ProcessLease, slot: StartSlot | None = None
) -> RunEnd:
    """Run a claimed row to its terminal; `slot` is released once the handler starts."""
    state = _RunState(lease=lease)
    ctx = ProcessContext(record, rt.registry, rt.awaiter, rt.clock)
    handler = asyncio.create_task(_execute(rt, record, ctx, state, slot))
    helpers: list[asyncio.Task[None]] = []
    end = RunEnd.STOPPED
    try:
        # The handler's first step runs before the keeper and the watcher would have had
        # their first, so a handler that is done by then (a quick engine whose registry
        # writes never had to wait) needs neither: they would only be made and cancelled.
        await asyncio.sleep(0)
        if not handler.done():
            helpers = [  # the keeper, then the cancel watcher
                asyncio.create_task(_keep_lease(rt, state, handler)),
                asyncio.create_task(_watch_cancel(rt, ctx, state, handler)),
            ]
            await asyncio.wait([handler])
            # The keeper renews until the terminal is committed: that write may queue
            # behind other work on the connection for longer than what is left of the
            # lease.
            helpers[1].cancel()
        if state.lease_lost or _raised(handler, LeaseLost):
            end = RunEnd.LEASE_LOST
            return end
        if handler.cancelled() and state.cancel_reason is None:
            return end  # cancelled from outside the run: treat as a stop
        try:
            await rt.registry.complete_process_with_lease(state.lease, _output_of(handler, state))
        except LeaseLost:
            log.warning("lost the lease of %s before its terminal write", record.id)
            end = RunEnd.LEASE_LOST
            return end
        end = RunEnd.COMPLETED
        return end
    finally:
        handler.cancel()
        for helper in helpers:
            helper.cancel()
        await asyncio.gather(handler, *helpers, return_exceptions=True)
        if end is RunEnd.STOPPED:
            with contextlib.suppress(LashError):
                await rt.registry.release_process_lease(state.lease)
        rt.stats.runs[end] += 1
