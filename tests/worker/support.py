"""Steps the worker suites share: registering runnable rows, faking the lease and
first-started history a crashed or live peer would have left, host writes (signal, cancel),
handlers that block until told, and guarded waits on outcomes.

Host writes go through `worker.registry`, the same real store wrapped by the worker's change
hub (what the facade will do), so awaiters wake on the tick instead of a backoff poll. The
awaiter suite covers writes that bypass the hub.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from pydantic import JsonValue

from lashtui.clock import ManualClock
from lashtui.model import (
    AbandonRequest,
    Engine,
    LeaseOwnerIdentity,
    LeaseTimings,
    ProcessAwaitOutput,
    ProcessEvent,
    ProcessEventAppendRequest,
    ProcessEventType,
    ProcessExecutionEnvSpec,
    ProcessLease,
    ProcessRecord,
    ProcessRegistration,
    ProcessStarted,
    RecoveryDisposition,
    process_signal_event_type,
    process_signal_replay_key,
)
from lashtui.registry import ProcessRegistry
from lashtui.worker import ProcessContext, ProcessWorker, Verdict
from lashtui.worker.observer import WorkerObserver
from tests.builders import local, registration

TIMINGS = LeaseTimings(ttl_ms=300, renew_interval_ms=100)
LIVE_TTL_MS = 60_000
PAST_TTL_MS = 1_000  # advance the ManualClock this far to lapse any lease taken with TIMINGS
GUARD_S = 5.0  # only a guard: every outcome below arrives in milliseconds
DEAD_START = "not-the-current-process-start"
HOST = "requested by host"


def worker_owner(name: str = "worker") -> LeaseOwnerIdentity:
    """A live local_process identity on host-a: it can prove a same-host holder dead."""
    return local(name)


def dead_holder(name: str = "holder") -> LeaseOwnerIdentity:
    """Same host and boot as `worker_owner`, this pid, a start time that is not ours."""
    return local(name, start=DEAD_START)


def make_worker(
    registry: ProcessRegistry,
    clock: ManualClock,
    owner: LeaseOwnerIdentity | None = None,
    **kw: Any,
) -> ProcessWorker:
    return ProcessWorker(
        registry, owner=owner or worker_owner(), timings=TIMINGS, clock=clock, **kw
    )


@contextlib.asynccontextmanager
async def worker_on(
    registry: ProcessRegistry, clock: ManualClock, **kw: Any
) -> AsyncIterator[ProcessWorker]:
    worker = make_worker(registry, clock, **kw)
    try:
        yield worker
    finally:
        await worker.stop()


OB = RecoveryDisposition.OWNER_BOUND
RR = RecoveryDisposition.RERUNNABLE


# --- rows ------------------------------------------------------------------------------- ----


async def env_ref(registry: ProcessRegistry) -> str:
    return await registry.put_process_execution_env(ProcessExecutionEnvSpec())


def engine_row(
    process_id: str,
    ref: str,
    kind: str = "echo",
    payload: JsonValue = None,
    disposition: RecoveryDisposition = RecoveryDisposition.RERUNNABLE,
    event_types: list[ProcessEventType] | None = None,
) -> ProcessRegistration:
    return registration(
        process_id,
        Engine(kind=kind, payload=payload),
        disposition,
        env_ref=ref,
        event_types=event_types,
    )


async def register(
    registry: ProcessRegistry,
    pid: str = "p",
    kind: str = "echo",
    payload: JsonValue = None,
    disposition: RecoveryDisposition = RecoveryDisposition.RERUNNABLE,
) -> None:
    """An engine row with the default env, registered."""
    ref = await env_ref(registry)
    await registry.register_process(engine_row(pid, ref, kind, payload, disposition))


def signal_type(name: str, schema: dict[str, JsonValue] | None = None) -> ProcessEventType:
    return ProcessEventType.plain(process_signal_event_type(name), schema)


def steps_row(
    process_id: str,
    ref: str,
    steps: list[JsonValue],
    signals: dict[str, dict[str, JsonValue] | None] | None = None,
    extra_types: list[ProcessEventType] | None = None,
    disposition: RecoveryDisposition = RecoveryDisposition.RERUNNABLE,
) -> ProcessRegistration:
    declared = [signal_type(name, schema) for name, schema in (signals or {}).items()]
    return engine_row(
        process_id,
        ref,
        kind="steps",
        payload={"steps": steps},
        disposition=disposition,
        event_types=declared + (extra_types or []),
    )


async def claim(
    registry: ProcessRegistry, process_id: str, owner: LeaseOwnerIdentity, ttl_ms: int
) -> ProcessLease:
    lease = (await registry.claim_process_lease(process_id, owner, ttl_ms)).acquired()
    assert lease is not None, f"setup: could not claim {process_id}"
    return lease


async def started_by(
    registry: ProcessRegistry,
    clock: ManualClock,
    process_id: str,
    owner: LeaseOwnerIdentity,
    *,
    holder: LeaseOwnerIdentity | None = None,
    lease: str = "lapsed",
) -> ProcessLease:
    """Leave `process_id` as a run that `owner` started would: first_started = owner, and
    the lease of `holder` (default `owner`) either "live", "lapsed" (expired, never
    released: a silent owner) or "released" (a graceful stop)."""
    ttl = LIVE_TTL_MS if lease == "live" else TIMINGS.ttl_ms
    held = await claim(registry, process_id, holder or owner, ttl)
    started = ProcessStarted(owner=owner, started_at_ms=clock.now_ms())
    await registry.record_first_started(process_id, started, held)
    if lease == "released":
        await registry.release_process_lease(held)
    elif lease == "lapsed":
        clock.advance(PAST_TTL_MS)
    return held


async def request_abandon(registry: ProcessRegistry, clock: ManualClock, pid: str) -> None:
    request = AbandonRequest(requested_by="operator", requested_at_ms=clock.now_ms())
    await registry.request_process_abandon(pid, request)


# --- host writes ------------------------------------------------------------------------- ---


async def send_signal(
    registry: ProcessRegistry, pid: str, name: str, signal_id: str, payload: JsonValue
) -> ProcessEvent:
    request = ProcessEventAppendRequest.new(
        process_signal_event_type(name), payload, process_signal_replay_key(pid, name, signal_id)
    )
    return (await registry.append_event(pid, request)).event


async def cancel(registry: ProcessRegistry, pid: str, reason: str = HOST) -> ProcessEvent:
    result = await registry.append_event(
        pid, ProcessEventAppendRequest.cancel_requested(pid, reason)
    )
    return result.event


# --- reading outcomes -------------------------------------------------------------------- ---


async def record(registry: ProcessRegistry, pid: str) -> ProcessRecord:
    found = await registry.get_process(pid)
    assert found is not None, f"{pid} is gone"
    return found


async def event_types(registry: ProcessRegistry, pid: str) -> list[str]:
    return [event.event_type for event in await registry.events_after(pid, 0)]


async def terminal(worker: ProcessWorker, pid: str, guard_s: float = GUARD_S) -> ProcessAwaitOutput:
    async with asyncio.timeout(guard_s):
        return await worker.await_terminal(pid)


async def next_event(
    worker: ProcessWorker, pid: str, event_type: str, after: int = 0
) -> ProcessEvent:
    async with asyncio.timeout(GUARD_S):
        return await worker.await_event(pid, event_type, after)


async def sweep(worker: ProcessWorker) -> dict[str, Verdict | None]:
    """One drive, awaited to the end: the verdict of each row it spawned a task for."""
    async with asyncio.timeout(GUARD_S):
        tasks = await worker.drive_pending_processes()
        verdicts = await asyncio.gather(*tasks)
    return {
        task.get_name().removeprefix("recover:"): v for task, v in zip(tasks, verdicts, strict=True)
    }


async def idle(worker: ProcessWorker) -> None:
    async with asyncio.timeout(GUARD_S):
        await worker.idle()


# --- handlers ---------------------------------------------------------------------------- ---


class Blocking:
    """An engine handler that parks until `release` is set, counting its calls and the
    cancellations it saw; returns `result`."""

    def __init__(self, result: JsonValue = "done") -> None:
        self.result = result
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.calls = 0
        self.cancellations = 0
        self.contexts: list[ProcessContext] = []

    async def __call__(self, ctx: ProcessContext, payload: JsonValue) -> JsonValue:
        self.calls += 1
        self.contexts.append(ctx)
        self.started.set()
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancellations += 1
            raise
        return self.result

    async def wait_started(self) -> None:
        async with asyncio.timeout(GUARD_S):
            await self.started.wait()


class Stubborn:
    """An engine handler that swallows every cancellation until `done` is set (so no stop
    can end it), counting them, then returns."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.done = asyncio.Event()
        self.cancellations = 0

    async def __call__(self, ctx: ProcessContext, payload: JsonValue) -> JsonValue:
        self.started.set()
        while not self.done.is_set():
            try:
                await self.done.wait()
            except asyncio.CancelledError:
                self.cancellations += 1
        return "too late"


class Watching(WorkerObserver):
    """What a worker tells (`add_observer`): the rows whose leases it renewed, in order, and
    `ended`, set once a run has ended (its lease released or left)."""

    def __init__(self) -> None:
        self.renewed: list[str] = []
        self.ended = asyncio.Event()

    def lease_renewed(self, process_id: str, seconds: float) -> None:
        self.renewed.append(process_id)

    def run_ended(self, record: ProcessRecord, outcome: str, duration_s: float) -> None:
        self.ended.set()

    async def wait_ended(self) -> None:
        async with asyncio.timeout(GUARD_S):
            await self.ended.wait()


class Counting:
    """An engine handler that returns at once, counting its calls."""

    def __init__(self, result: Callable[[ProcessContext, JsonValue], Awaitable[Any]] | None = None):
        self.calls = 0
        self._result = result

    async def __call__(self, ctx: ProcessContext, payload: JsonValue) -> Any:
        self.calls += 1
        if self._result is not None:
            return await self._result(ctx, payload)
        return {"echo": payload}
