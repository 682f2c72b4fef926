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


async def drain_owner_bound_work(rt: WorkerRuntime) -> DrainReport:
    report = DrainReport()
    for record in await rt.registry.list_non_terminal():
        started = record.first_started
        if record.disposition is not RecoveryDisposition.OWNER_BOUND or started is None:
            continue
        if started.owner != rt.owner:
            continue
        lease, _, _ = await claim_for_recovery(
            rt, record.id, attempt_identity(rt.owner), reclaim_dead=False
        )
        if lease is None:
            report.deferred.append(record.id)
            continue
        fresh = await rt.registry.get_process(record.id)
        if fresh is None or fresh.is_terminal():
            await release_quietly(rt, lease)
            report.deferred.append(record.id)
            continue
        output = abandoned(AbandonWriter.OWNER_DRAIN, started.owner, rt.clock.now_ms())
        if await abandon_under_lease(rt, lease, output):
            report.abandoned.append(record.id)
        else:
            report.deferred.append(record.id)
    return report
