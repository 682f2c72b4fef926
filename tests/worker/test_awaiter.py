"""Awaiting a process's end or one of its events (semantics §12; scenarios 35-36).

A write through the worker's registry ticks its change hub and wakes awaiters at once; a
write by another registry handle on the same file (another OS process, in real life) ticks
nothing and is still seen by the backoff poll. Unknown and pruned ids fail with « unknown
process ».
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from lashtui.clock import ManualClock
from lashtui.errors import UnknownProcess
from lashtui.model import (
    FailureOutput,
    ProcessEvent,
    ProcessEventAppendRequest,
    ProcessEventType,
    SuccessOutput,
    ToolFailureClass,
)
from lashtui.registry import ProcessRegistry, open_registry
from lashtui.worker import ProcessWorker
from tests.builders import ext
from tests.worker.support import GUARD_S, record, worker_on

PING = "signal.ping"
NEVER = 2**63 - 1


@pytest.fixture
async def worker(registry: ProcessRegistry, clock: ManualClock) -> AsyncIterator[ProcessWorker]:
    async with worker_on(registry, clock) as running:
        yield running


async def ping(registry: ProcessRegistry, n: int, pid: str = "p") -> ProcessEvent:
    request = ProcessEventAppendRequest.new(PING, {"n": n}, f"process:{pid}:signal.ping:{n}")
    return (await registry.append_event(pid, request)).event


async def still_pending(task: asyncio.Task[object], window_s: float = 0.15) -> bool:
    """True if `task` has not finished after `window_s` (this checks a non-event, so it
    needs a window; it is not a wait for an outcome)."""
    done, _ = await asyncio.wait({task}, timeout=window_s)
    return not done


async def test_await_terminal_of_a_terminal_row_returns_its_output_at_once(
    registry: ProcessRegistry, worker: ProcessWorker
) -> None:
    await registry.register_process(ext("p"))
    await registry.complete_process("p", SuccessOutput(value=7))

    async with asyncio.timeout(0.5):
        assert await worker.await_terminal("p") == SuccessOutput(value=7)


async def test_a_pending_await_terminal_resolves_promptly_with_the_recorded_output(
    registry: ProcessRegistry, worker: ProcessWorker
) -> None:
    await registry.register_process(ext("p"))
    waiter = asyncio.create_task(worker.await_terminal("p"))
    assert await still_pending(waiter, 0.05)
    output = FailureOutput(
        class_=ToolFailureClass.EXTERNAL, code="import_failed", message="bad row 7", raw={"row": 7}
    )

    await worker.registry.complete_process("p", output)

    async with asyncio.timeout(2.0):
        resolved = await waiter
    assert resolved == output
    assert resolved == (await record(registry, "p")).status.await_output


async def test_a_write_by_another_registry_handle_is_seen_by_the_backoff_poll(
    registry: ProcessRegistry, registry_target: str, clock: ManualClock, worker: ProcessWorker
) -> None:
    await registry.register_process(ext("p"))
    waiter = asyncio.create_task(worker.await_terminal("p"))
    assert await still_pending(waiter, 0.05)
    ticks = worker.hub.version("p")

    async with open_registry(registry_target, clock=clock) as other:
        await other.complete_process("p", SuccessOutput(value="from elsewhere"))

    async with asyncio.timeout(2.0):
        assert await waiter == SuccessOutput(value="from elsewhere")
    assert worker.hub.version("p") == ticks  # no hub tick: the poll found it


async def test_a_pending_await_event_also_sees_another_handles_append(
    registry: ProcessRegistry, registry_target: str, clock: ManualClock, worker: ProcessWorker
) -> None:
    await registry.register_process(ext("p", event_types=[ProcessEventType.plain(PING)]))
    waiter = asyncio.create_task(worker.await_event("p", PING, 0))

    async with open_registry(registry_target, clock=clock) as other:
        sent = await ping(other, 1)

    async with asyncio.timeout(2.0):
        assert (await waiter).sequence == sent.sequence


async def test_await_event_returns_the_first_match_strictly_after_the_cursor(
    registry: ProcessRegistry, worker: ProcessWorker
) -> None:
    await registry.register_process(ext("p", event_types=[ProcessEventType.plain(PING)]))
    await ping(registry, 1)
    await ping(registry, 2)

    async with asyncio.timeout(0.5):
        event = await worker.await_event("p", PING, 1)
    assert (event.sequence, event.payload) == (2, {"n": 2})

    waiter = asyncio.create_task(worker.await_event("p", PING, 2))
    assert await still_pending(waiter)  # events at or before the cursor never resolve it
    await worker.registry.append_event("p", ProcessEventAppendRequest.new("process.resumed", {}))
    assert await still_pending(waiter, 0.05)  # nor does an event of another type
    await ping(worker.registry, 3)

    async with asyncio.timeout(GUARD_S):
        resolved = await waiter
    assert (resolved.sequence, resolved.event_type, resolved.payload) == (4, PING, {"n": 3})


async def test_awaiting_an_unknown_process_fails(worker: ProcessWorker) -> None:
    async with asyncio.timeout(GUARD_S):
        with pytest.raises(UnknownProcess, match="unknown process `missing`"):
            await worker.await_terminal("missing")
        with pytest.raises(UnknownProcess, match="unknown process `missing`"):
            await worker.await_event("missing", PING, 0)


async def test_awaiting_a_pruned_process_fails_as_unknown(
    registry: ProcessRegistry, worker: ProcessWorker
) -> None:
    await registry.register_process(ext("p"))
    await registry.complete_process("p", SuccessOutput(value=True))
    report = await registry.prune_terminal_processes(NEVER)
    assert report.pruned_processes == 1

    async with asyncio.timeout(GUARD_S):
        with pytest.raises(UnknownProcess, match="unknown process `p`"):
            await worker.await_terminal("p")
