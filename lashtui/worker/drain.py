"""Owner drain: a worker that is going away abandons the owner_bound work it started
(semantics §9).

Only rows whose `first_started.owner` is exactly this worker's identity; never unstarted
rows (anyone may still run them) nor other dispositions. It claims plainly and defers on
Busy: it never reclaims, so it can never race a run that is still alive.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lashtui.model import AbandonWriter, RecoveryDisposition
from lashtui.worker.identity import attempt_identity
from lashtui.worker.runtime import WorkerRuntime
from lashtui.worker.sweep import abandon_under_lease, abandoned, claim_for_recovery, release_quietly


@dataclass(frozen=True)
class DrainReport:
    abandoned: list[str] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)


# Candidate ids read a page at a time (`list_started_by`), never every running record.
DRAIN_PAGE = 500


async def drain_owner_bound_work(rt: WorkerRuntime) -> DrainReport:
    report = DrainReport()
    after: str | None = None
    while ids := await rt.registry.list_started_by(
        rt.owner.owner_id, after_id=after, limit=DRAIN_PAGE
    ):
        after = ids[-1]
        for process_id in ids:
            await _drain_one(rt, process_id, report)
    return report


async def _drain_one(rt: WorkerRuntime, process_id: str, report: DrainReport) -> None:
    """Abandon one candidate if it is still running owner_bound work this very identity
    started; defer it when its claim is refused or it ended meanwhile."""
    record = await rt.registry.get_process(process_id)
    if record is None or record.is_terminal():
        return
    started = record.first_started
    if record.disposition is not RecoveryDisposition.OWNER_BOUND or started is None:
        return
    if started.owner != rt.owner:
        return
    lease, _, _ = await claim_for_recovery(
        rt, record.id, attempt_identity(rt.owner), reclaim_dead=False
    )
    if lease is None:
        report.deferred.append(record.id)
        return
    fresh = await rt.registry.get_process(record.id)
    if fresh is None or fresh.is_terminal():
        await release_quietly(rt, lease)
        report.deferred.append(record.id)
        return
    output = abandoned(AbandonWriter.OWNER_DRAIN, started.owner, rt.clock.now_ms())
    if await abandon_under_lease(rt, lease, output) is None:
        report.abandoned.append(record.id)
    else:
        report.deferred.append(record.id)
