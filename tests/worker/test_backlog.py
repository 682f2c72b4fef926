"""A worker drains a backlog of free rerunnable rows by batch claims (batch.py
`_claim_batches`, `claim_processes_for_run`), and two workers draining the same backlog
split it without claiming each other's rows: every row runs once, and no claim is spent
on a row another worker took or ended (before, each worker tried every row its worklist
listed: most came back Busy or already terminal, each a write for nothing)."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter

from lashtui.clock import ManualClock
from lashtui.model import (
    ProcessListFilter,
    ProcessStatusFilter,
    RecoveryDisposition,
)
from lashtui.registry import ProcessRegistry, open_registry
from lashtui.worker import ProcessContext, ProcessWorker
from lashtui.worker.runtime import START_SLOTS, RunEnd, StartSlot, Verdict
from tests.builders import own
from tests.worker.support import Counting, make_worker, register, worker_on


async def test_a_backlog_is_claimed_in_batches_and_each_row_runs_once(
    registry: ProcessRegistry, worker: ProcessWorker
) -> None:
    quick = Counting()
    worker.engines.register("echo", quick)
    for n in range(40):
        await register(registry, f"p{n:02}")
    await register(registry, "ob", disposition=RecoveryDisposition.OWNER_BOUND)  # one-row path
    spawned = await worker.drive_pending_processes()
    assert len(spawned) == 2  # the owner_bound row's task, and the batches' settling
    await worker.idle()
    assert quick.calls == 41
    assert worker.stats.verdicts == Counter({Verdict.RAN: 41})
    assert worker.stats.runs == Counter({RunEnd.COMPLETED: 41})
    records = await registry.list_processes(ProcessListFilter(status=ProcessStatusFilter.ANY))
    assert all(record.is_terminal() for record in records)
    for record in records:
        assert await registry.get_process_lease(record.id) is None


async def test_a_pass_returns_a_task_per_row_it_drives_and_one_for_the_batch_claim(
    registry: ProcessRegistry, worker: ProcessWorker
) -> None:
    # What README's From Python says a pass returns: `recover:<id>` with the row's verdict
    # for each row it drives itself, one `batches-settled` (None) for the rows the batch
    # claim takes, and gathering them waits for every run the pass set going.
    quick = Counting()
    worker.engines.register("echo", quick)
    for n in range(5):
        await register(registry, f"p{n}")
    await register(registry, "ob", disposition=RecoveryDisposition.OWNER_BOUND)
    spawned = await worker.drive_pending_processes()
    async with asyncio.timeout(10):
        results = await asyncio.gather(*spawned)
    assert dict(zip((t.get_name() for t in spawned), results, strict=True)) == {
        "recover:ob": Verdict.RAN,
        "batches-settled": None,
    }
    records = await registry.list_processes(ProcessListFilter(status=ProcessStatusFilter.ANY))
    assert len(records) == 6 and all(record.is_terminal() for record in records)
    assert quick.calls == 6


async def test_two_workers_split_a_backlog_without_claiming_each_others_rows(
    registry: ProcessRegistry, registry_target: str, clock: ManualClock
) -> None:
    runs: Counter[str] = Counter()

    async def count(ctx: ProcessContext, payload: object) -> object:
        runs[ctx.process_id] += 1
        return None

    for n in range(120):
        await register(registry, f"p{n:03}")
    async with (
        open_registry(registry_target, clock=clock) as other,
        worker_on(registry, clock) as first,
    ):
        second = make_worker(other, clock, owner=own("second-worker"))
        try:
            for worker in (first, second):
                worker.engines.register("echo", count)
            # Both at once: driven one after the other, the first could claim all 120 before
            # the second began (PostgreSQL's pipelined claims did, in a CI run).
            await asyncio.gather(first.drive_pending_processes(), second.drive_pending_processes())
            await first.idle()
            await second.idle()
        finally:
            await second.stop()
        verdicts = first.stats.verdicts + second.stats.verdicts
    assert sorted(runs) == [f"p{n:03}" for n in range(120)]
    assert set(runs.values()) == {1}
    # Every verdict is a run: no claim was spent on a row the other had taken or ended.
    assert verdicts == Counter({Verdict.RAN: 120})
    assert first.stats.verdicts[Verdict.RAN] and second.stats.verdicts[Verdict.RAN]


async def test_a_batch_claim_waits_a_turn_for_the_slots_runs_are_giving_back(
    worker: ProcessWorker,
) -> None:
    # Every start slot held by the runs of the last batch, which give them back as their
    # handlers start: half in their first step, half a turn of the loop later (a run whose
    # first step awaited something). The first one back wakes the claim; it must fill up
    # with all of them, not take the half free at that moment (PostgreSQL's drains split
    # their batches that way: runtime.py `free_start_slots`).
    rt = worker._rt
    held = [rt.start_slot() for _ in range(START_SLOTS)]
    for slot in held:
        await slot.__aenter__()

    async def run_starts(n: int, slot: StartSlot) -> None:
        for _ in range(n % 2):
            await asyncio.sleep(0)
        slot.release()

    claim = asyncio.create_task(rt.free_start_slots(START_SLOTS))
    await asyncio.sleep(0)  # the claim now waits for a slot
    runs = [asyncio.create_task(run_starts(n, slot)) for n, slot in enumerate(held)]
    slots = await claim
    await asyncio.gather(*runs)
    assert len(slots) == START_SLOTS
    for slot in slots:
        slot.release()


async def test_a_batch_claim_cancelled_during_its_turn_keeps_no_slot(
    worker: ProcessWorker,
) -> None:
    # The worker stopping cancels its backlog loop, possibly while its claim lets the
    # turn pass holding the first slot: the slot goes back, or the worker would start its
    # next run with one place fewer.
    rt = worker._rt
    claim = asyncio.create_task(rt.free_start_slots(START_SLOTS))
    await asyncio.sleep(0)  # the claim holds its first slot and lets the turn pass
    claim.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await claim
    assert claim.cancelled()
    assert len(await rt.free_start_slots(START_SLOTS)) == START_SLOTS
