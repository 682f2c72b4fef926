"""What a worker tells its observers (lashtui/worker/observer.py) and its log lines
(logline.py): each run's start and end with its outcome, each verdict, each claim won or
lost, each renewal and each lost lease, on both stores."""

from __future__ import annotations

import asyncio
import logging

import pytest

from lashtui.clock import ManualClock
from lashtui.model import ProcessRecord
from lashtui.registry import ProcessRegistry
from lashtui.worker import ProcessWorker, Verdict
from lashtui.worker.observer import ClaimResult, WorkerObserver
from tests.builders import local
from tests.worker.support import (
    GUARD_S,
    OB,
    PAST_TTL_MS,
    Blocking,
    Counting,
    dead_holder,
    idle,
    register,
    started_by,
    sweep,
)


class Recorder(WorkerObserver):
    def __init__(self) -> None:
        self.moments: list[tuple[object, ...]] = []
        self.renewed = asyncio.Event()

    def run_started(self, record: ProcessRecord) -> None:
        self.moments.append(("started", record.id, record.identity.kind))

    def run_ended(self, record: ProcessRecord, outcome: str, duration_s: float) -> None:
        assert duration_s >= 0
        self.moments.append(("ended", record.id, outcome))

    def verdict(self, process_id: str, verdict: Verdict) -> None:
        self.moments.append(("verdict", process_id, verdict))

    def claimed(self, process_id: str, result: ClaimResult) -> None:
        self.moments.append(("claimed", process_id, result))

    def lease_renewed(self, process_id: str, seconds: float) -> None:
        self.moments.append(("renewed", process_id))
        self.renewed.set()

    def lease_lost(self, process_id: str, why: str) -> None:
        self.moments.append(("lost", process_id))


@pytest.fixture
def seen(worker: ProcessWorker) -> Recorder:
    recorder = Recorder()
    worker.add_observer(recorder)
    return recorder


async def test_a_run_is_told_from_claim_to_end_with_its_outcome(
    registry: ProcessRegistry, worker: ProcessWorker, seen: Recorder
) -> None:
    worker.engines.register("echo", Counting())

    async def boom(ctx: object, payload: object) -> None:
        raise RuntimeError("boom")

    worker.engines.register("bad", boom)
    await register(registry, "ok")
    await register(registry, "ko", kind="bad")

    await sweep(worker)

    for pid, kind, outcome in (("ok", "echo", "completed"), ("ko", "bad", "failed")):
        told = [m for m in seen.moments if m[1] == pid]
        assert told == [
            ("claimed", pid, ClaimResult.WON),
            ("started", pid, kind),
            ("ended", pid, outcome),
            ("verdict", pid, Verdict.RAN),
        ]


async def test_a_stopped_run_and_a_lost_lease_are_told_as_such(
    registry: ProcessRegistry, clock: ManualClock, worker: ProcessWorker, seen: Recorder
) -> None:
    handler = Blocking()
    worker.engines.register("echo", handler)
    await register(registry, "lost")
    await worker.drive_pending_processes()
    await handler.wait_started()
    clock.advance(PAST_TTL_MS)  # its next renewal is refused
    await idle(worker)
    assert ("lost", "lost") in seen.moments
    assert ("ended", "lost", "lease_lost") in seen.moments

    other = Blocking()
    worker.engines.register("other", other)
    await register(registry, "stopped", kind="other")
    await worker.drive_pending_processes()
    await other.wait_started()
    await worker.stop()
    assert ("ended", "stopped", "stopped") in seen.moments


async def test_a_renewal_is_timed(
    registry: ProcessRegistry, worker: ProcessWorker, seen: Recorder
) -> None:
    handler = Blocking()
    worker.engines.register("echo", handler)
    await register(registry)
    await worker.drive_pending_processes()
    await handler.wait_started()
    async with asyncio.timeout(GUARD_S):  # it renews every 100 ms (support.TIMINGS)
        await seen.renewed.wait()
    assert ("renewed", "p") in seen.moments
    handler.release.set()
    await idle(worker)


async def test_a_sweep_verdict_and_a_claim_won_and_lost_are_told(
    registry: ProcessRegistry, clock: ManualClock, worker: ProcessWorker, seen: Recorder
) -> None:
    await register(registry, "dead", disposition=OB)
    await started_by(registry, clock, "dead", dead_holder(), lease="live")  # its holder died
    await sweep(worker)
    assert ("claimed", "dead", ClaimResult.ABANDONED) in seen.moments
    assert ("verdict", "dead", Verdict.ABANDONED_BY_SWEEP) in seen.moments

    # Started by this worker but held by a live peer: the drain's plain claim loses.
    await register(registry, "held", disposition=OB)
    await started_by(registry, clock, "held", worker.owner, holder=local("peer"), lease="live")
    report = await worker.drain_owner_bound_work()
    assert report.deferred == ["held"]
    assert ("claimed", "held", ClaimResult.LOST) in seen.moments


async def test_a_claim_given_back_unused_is_told_released_not_won(
    registry: ProcessRegistry, clock: ManualClock, worker: ProcessWorker, seen: Recorder
) -> None:
    """A started owner_bound row whose owner went silent (its lease lapsed, nothing proves
    it dead) is claimed by every drive and released at once (semantics §8, `left_running`):
    that claim was told `won`, as a claim that ran something is, though nothing ran."""
    await register(registry, "silent", disposition=OB)
    await started_by(registry, clock, "silent", local("gone-quiet"))  # its lease lapsed
    for _ in range(2):
        assert await sweep(worker) == {"silent": Verdict.LEFT_RUNNING}
    told = [m for m in seen.moments if m[0] == "claimed"]
    assert told == [("claimed", "silent", ClaimResult.RELEASED)] * 2


async def test_the_log_lines_say_what_ran_and_how_it_ended(
    registry: ProcessRegistry, worker: ProcessWorker, caplog: pytest.LogCaptureFixture
) -> None:
    worker.engines.register("echo", Counting())
    await register(registry, "job\x1b[2J")
    with caplog.at_level(logging.DEBUG, logger="lashtui.worker"):
        await sweep(worker)

    lines = [(r.levelname, r.getMessage(), getattr(r, "fields", None)) for r in caplog.records]
    assert lines[0] == (
        "INFO",
        "run started: job\x1b[2J (kind echo)",
        {"event": "run_started", "process_id": "job\x1b[2J", "kind": "echo"},
    )
    level, message, fields = lines[1]
    assert (level, message.rsplit(" after ", 1)[0]) == (
        "INFO", "run ended: job\x1b[2J (kind echo) completed"
    )  # fmt: skip
    assert fields is not None and fields["outcome"] == "completed"
    assert fields["duration_s"] >= 0
    assert lines[2][:2] == (
        "DEBUG", "sweep verdict: job\x1b[2J ran (this worker claimed it and ran it)"
    )


def test_every_verdict_is_told_in_words() -> None:
    """A verdict's log line says what it means beside its name ("ob1 abandoned_by_sweep"
    said neither why nor by whom)."""
    from lashtui.worker.logline import VERDICT_WORDS
    from lashtui.worker.runtime import Verdict

    assert set(VERDICT_WORDS) == set(Verdict)
