"""Stopping a worker well: stop claiming, let the runs in flight finish within a grace
period, stop the rest, then (if asked) drain (semantics §9's intended order).

The grace is for runs that work. A run parked on a signal (`wait_signal`) is not working,
and its signal may never come: it is stopped at once, as the grace's end stops runs (no
terminal, lease released), and so is a run that parks during the grace; they are reported
`parked` (`ProcessWorker.hand_back_parked`). A stop used to wait the whole grace (30 s) for
such a run, then stop it all the same.

A run stopped here writes no terminal and releases its lease (run.py), so another worker may
take the row at once: a rerunnable row is simply run again, an unstarted one runs for the
first time. A started owner_bound row cannot be run again by anyone. Without a drain it
stays `running` with no lease, so no sweep finds a holder to prove dead: it is "silent, not
dead" until an operator requests its abandon (semantics §17's recipe). With `drain=True`,
the owner drain abandons it now (`writer: owner_drain`): semantics §9 makes that the host's
choice, never implied by stopping, since it writes a terminal that cannot be taken back.

`hurry` is the operator's second signal: it ends the grace period at once, and the drain is
skipped, or cut short if it has begun (it is more work, and whoever hurries wants the worker
gone); the stopped runs' leases are still released, each waited for at most
`HURRIED_RELEASE_S` (a registry that cannot be reached held the exit for 20 s and more).

A lease the registry did not take back (it could not be reached, or not in time) is left to
lapse, and the report says which and why: it said "released" of every stopped run's lease.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from lashtui.errors import LashError
from lashtui.worker.runtime import log
from lashtui.worker.worker import ProcessWorker


@dataclass
class ShutdownReport:
    """What the stop did: which runs finished within the grace period, which were stopped
    (leases released), what the drain abandoned, and whether it was hurried."""

    finished: list[str] = field(default_factory=list)
    stopped: list[str] = field(default_factory=list)  # their leases released
    # Of the runs stopped (released or not), those parked on a signal when stopped: the
    # grace was not waited out for them.
    parked: list[str] = field(default_factory=list)
    # Stopped, their leases not released (left to lapse), with why.
    unreleased: dict[str, str] = field(default_factory=dict)
    # Cancelled but still running when the stop gave up on them (ProcessWorker.stop): their
    # handlers swallowed the cancellation; their leases are left to lapse, not released.
    left: list[str] = field(default_factory=list)
    drained: list[str] | None = None  # None: no drain was run
    hurried: bool = False


async def shut_down(
    worker: ProcessWorker, *, grace_s: float, hurry: asyncio.Event, drain: bool, why: str
) -> ShutdownReport:
    """Stop `worker` well (see the module docstring); `why` names what asked (a signal)."""
    worker.stop_claiming()
    worker.hurried_by(hurry)
    in_flight = worker.in_flight
    _say(
        "stopping (%s): claiming nothing more; %d in flight, %.3gs to finish",
        why, len(in_flight), grace_s,
        event="stopping", why=why, in_flight=len(in_flight), grace_s=grace_s,
    )  # fmt: skip
    # It ends once the runs have, whether they finish or are stopped below, or once the
    # stop gives up on those that will not end.
    idle = asyncio.create_task(worker.idle(), name="lashtui-worker-idle")
    # The runs parked on a signal are stopped at once (the module docstring).
    parked: list[str] = []
    handing = asyncio.create_task(worker.hand_back_parked(parked), name="lashtui-hand-back")
    try:
        await _within_grace(idle, grace_s, hurry)
    finally:
        handing.cancel()
        await asyncio.gather(handing, return_exceptions=True)
    report = ShutdownReport(hurried=hurry.is_set(), parked=parked)
    running = worker.in_flight
    report.finished = [pid for pid in in_flight if pid not in running and pid not in parked]
    stopping = running + [pid for pid in parked if pid not in running]
    # Each stopped run releases its lease on the way out; the stop waits for that a bounded
    # time (STOP_GRACE_S) and leaves behind a run whose handler swallows its cancellation.
    report.left = await worker.stop()
    report.hurried = hurry.is_set()  # (perhaps while the stop waited for the releases)
    unreleased = worker.unreleased
    report.unreleased = {pid: unreleased[pid] for pid in stopping if pid in unreleased}
    report.stopped = [
        pid for pid in stopping if pid not in report.left and pid not in unreleased
    ]
    await idle
    if drain and not report.hurried:
        report.drained = await _drain(worker, hurry)
        report.hurried = hurry.is_set()
    _told(report)
    return report


async def _drain(worker: ProcessWorker, hurry: asyncio.Event) -> list[str] | None:
    """The owner drain, cut short by `hurry`: a row it had claimed but not yet abandoned
    keeps that claim's lease until the lease lapses (the TTL), and stays running."""
    draining = asyncio.create_task(worker.drain_owner_bound_work(), name="lashtui-worker-drain")
    hurried = asyncio.create_task(hurry.wait(), name="lashtui-worker-hurry")
    try:
        await asyncio.wait({draining, hurried}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (draining, hurried):
            task.cancel()
        await asyncio.gather(draining, hurried, return_exceptions=True)
    if draining.cancelled():
        return None
    error = draining.exception()
    if isinstance(error, LashError):  # the registry could not serve: say so, and exit
        log.warning("owner drain failed: %s", error)
        return None
    if error is not None:
        raise error
    return draining.result().abandoned


async def _within_grace(idle: asyncio.Task[None], grace_s: float, hurry: asyncio.Event) -> None:
    """Until `idle` is done, the grace period is over, or `hurry` is set."""
    hurried = asyncio.create_task(hurry.wait(), name="lashtui-worker-hurry")
    try:
        await asyncio.wait({idle, hurried}, timeout=grace_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        hurried.cancel()
        await asyncio.gather(hurried, return_exceptions=True)


def _told(report: ShutdownReport) -> None:
    drained = "not run" if report.drained is None else f"abandoned {len(report.drained)}"
    parked = ""
    if report.parked:
        parked = (
            f" ({len(report.parked)} of them parked on a signal, stopped at once: "
            f"{', '.join(report.parked)})"
        )
    left = f", {len(report.left)} left running (leases to lapse)" if report.left else ""
    unreleased = ""
    if report.unreleased:
        whys = "; ".join(f"{pid}: {why}" for pid, why in report.unreleased.items())
        unreleased = (
            f", {len(report.unreleased)} stopped with their leases not released (left to "
            f"lapse within the TTL: {whys})"
        )
    _say(
        "stopped: %d finished, %d stopped with their leases released%s%s%s; owner drain %s",
        len(report.finished), len(report.stopped), unreleased, left, parked, drained,
        event="stopped", finished=report.finished, stopped=report.stopped,
        unreleased=report.unreleased, left=report.left, parked=report.parked,
        drained=report.drained, hurried=report.hurried,
    )  # fmt: skip
    if report.drained:
        log.info("drained: abandoned %s", ", ".join(report.drained))


def _say(message: str, *args: object, **fields: object) -> None:
    log.info(message, *args, extra={"fields": fields})
