"""`lashtui demo`: a registry that shows everything the system does, and keeps moving.

Seeded once (reused on the next run): sessions and frames as originators and grantees;
steps processes that sleep, emit, wait on signals and finish or fail; externally-owned
placeholders; owner_bound work; a pending abandon request whose owner lives on another
host; a "silent, not dead" row; terminal rows of every kind, including each abandon writer.
Then the embedded worker runs it, and a trickle of new processes arrives every few seconds,
some of which wait for a signal the demo sends a little later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import signal as os_signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TextIO

from pydantic import JsonValue

from lashtui.admin import Processes
from lashtui.clock import SystemClock
from lashtui.errors import LashError
from lashtui.model import (
    AbandonedOutput,
    AbandonEvidence,
    AbandonWriter,
    Engine,
    ExternalRef,
    LeaseOwnerIdentity,
    LeaseTimings,
    LocalProcessLiveness,
    ObservedProcess,
    ProcessHandleDescriptor,
    ProcessIdentity,
    ProcessListFilter,
    ProcessStarted,
    ProcessStartGrant,
    ProcessStartRequest,
    ProcessStatusFilter,
    RecoveryDisposition,
    SessionOriginator,
    SessionScope,
    SuccessOutput,
)
from lashtui.registry import open_registry
from lashtui.worker import ProcessWorker, declared_event_types

# A child of the worker's logger: the dashboard's Health view keeps its warnings as the
# engine's problems (tui/worker_problems.py), and a headless demo prints them.
log = logging.getLogger("lashtui.worker.demo")

DEMO_TIMINGS = LeaseTimings(ttl_ms=6_000, renew_interval_ms=2_000)

ALICE = SessionScope(session_id="alice")
ALICE_PLANNER = SessionScope(session_id="alice", agent_frame_id="planner")
ALICE_CODER = SessionScope(session_id="alice", agent_frame_id="coder")
BOB = SessionScope(session_id="bob")
CI = SessionScope(session_id="ci-bot")


def steps(
    pid: str,
    plan: list[JsonValue],
    disposition: RecoveryDisposition = RecoveryDisposition.RERUNNABLE,
    *,
    label: str,
    originator: SessionScope | None = None,
    grant: SessionScope | None = None,
) -> ProcessStartRequest:
    payload: JsonValue = {"steps": plan}
    fields: dict[str, object] = {
        "id": pid,
        "input": Engine(kind="steps", payload=payload),
        "disposition": disposition,
        "identity": ProcessIdentity(kind="steps", label=label),
        "event_types": declared_event_types(payload),
    }
    if originator is not None:
        fields["originator"] = SessionOriginator(scope=originator)
        fields["wake_target"] = originator
    if grant is not None:
        descriptor = ProcessHandleDescriptor(kind="steps", label=label)
        fields["grant"] = ProcessStartGrant(session_scope=grant, descriptor=descriptor)
    return ProcessStartRequest.model_validate(fields)


def progress(n: int, every_ms: int, event: str = "progress.tick") -> JsonValue:
    return {
        "loop": n,
        "steps": [{"sleep_ms": every_ms}, {"emit": {"type": event, "payload": {"of": n}}}],
    }


def far_owner(name: str, host: str) -> LeaseOwnerIdentity:
    """A worker on another machine: alive as far as anyone here can tell."""
    liveness = LocalProcessLiveness(
        host_id=host, boot_id=f"{host}-boot", pid=4242, process_start="1"
    )
    return LeaseOwnerIdentity(owner_id=name, incarnation_id=f"{name}:1", liveness=liveness)


SEED: list[ProcessStartRequest] = [
    steps(
        "report-weekly",
        [progress(6, 900), {"finish": {"rows": 1200}}],
        label="weekly report",
        originator=ALICE_PLANNER,
        grant=ALICE,
    ),
    steps(
        "deploy-approval",
        [
            {"emit": {"type": "deploy.planned", "payload": {"version": "2.4.0"}}},
            {"wait_signal": "approve"},
            {"sleep_ms": 800},
            {"finish": "deployed"},
        ],
        RecoveryDisposition.OWNER_BOUND,
        label="deploy 2.4.0",
        originator=BOB,
        grant=BOB,
    ),
    steps(
        "crawl-docs",
        [progress(400, 1_500, "crawl.page"), {"finish": "crawled"}],
        label="crawl the docs site",
        originator=ALICE_CODER,
        grant=ALICE_CODER,
    ),
    steps(
        "flaky-sync",
        [
            {"sleep_ms": 1_200},
            {"fail": {"code": "upstream_timeout", "message": "upstream did not answer in 30s"}},
        ],
        label="sync inventory",
        originator=CI,
        grant=CI,
    ),
    steps(
        "index-rebuild",
        [progress(3, 300), {"finish": True}],
        label="rebuild search index",
        grant=CI,
    ),
    steps(
        "review-wait",
        [{"wait_signal": "review"}, {"finish": "merged"}],
        label="await review",
        originator=ALICE_CODER,
        grant=ALICE,
    ),
    steps("cleanup-tmp", [{"wait_signal": "go"}], label="clean /tmp", grant=BOB),
    ProcessStartRequest.external(
        "nightly-import",
        {"label": "nightly import"},
        grant=ProcessStartGrant(
            session_scope=CI, descriptor=ProcessHandleDescriptor(label="nightly import")
        ),
    ),
    ProcessStartRequest.external("ledger-close", {"label": "close the ledger"}),
    ProcessStartRequest.external("old-backfill", {"label": "backfill 2019"}),
    ProcessStartRequest.external(
        "vendor-audit", {"label": "vendor audit"}, originator=SessionOriginator(scope=BOB)
    ),
]


async def _seed_owner_bound(
    processes: Processes, pid: str, label: str, owner: LeaseOwnerIdentity, ttl_ms: int
) -> None:
    """An owner_bound row some other worker claimed and started. Started on the registry,
    not through the facade: the facade would have this worker drive it at once, and under
    load its claim could land before the other worker's."""
    registry = processes.registry
    await registry.start_process(
        steps(pid, [{"wait_signal": "never"}], RecoveryDisposition.OWNER_BOUND, label=label)
    )
    lease = (await registry.claim_process_lease(pid, owner, ttl_ms)).acquired()
    assert lease is not None
    started = ProcessStarted(owner=owner, started_at_ms=processes.clock.now_ms())
    await registry.record_first_started(pid, started, lease)


async def _abandoned_by(processes: Processes, pid: str, label: str, writer: AbandonWriter) -> None:
    owner = far_owner(f"worker-{pid}", "host-gone")
    await _seed_owner_bound(processes, pid, label, owner, 60_000)
    lease = await processes.registry.get_process_lease(pid)
    assert lease is not None
    evidence = AbandonEvidence(writer=writer, owner=owner, epoch_ms=processes.clock.now_ms())
    await processes.registry.complete_process_with_lease(lease, AbandonedOutput(evidence=evidence))


async def seed(processes: Processes) -> None:
    registry = processes.registry
    for request in SEED:
        await processes.start(request)
    await registry.set_external_ref(
        "nightly-import", ExternalRef(backend="airflow", id="dag/nightly/2231")
    )
    await registry.complete_process("ledger-close", SuccessOutput(value={"balanced": True}))
    await processes.request_abandon(
        "old-backfill", "operator:dana", "superseded by the 2020 backfill"
    )
    await processes.cancel("cleanup-tmp", "not needed any more")
    # Owned elsewhere, alive as far as we can tell: the request waits for the lease to lapse.
    await _seed_owner_bound(
        processes, "payroll-run", "payroll run", far_owner("worker-7", "host-b"), 600_000
    )
    await processes.request_abandon("payroll-run", "operator:dana", "host-b is being retired")
    # Silent, not dead: started elsewhere, lease lapsed, nobody asked to abandon it.
    await _seed_owner_bound(
        processes, "etl-orders", "orders ETL", far_owner("worker-9", "host-c"), 1_000
    )
    await _abandoned_by(processes, "resize-images", "resize images", AbandonWriter.OWNER_DRAIN)
    await _abandoned_by(processes, "video-encode", "encode video", AbandonWriter.SWEEP)


async def trickle(processes: Processes, rng: random.Random, stop: asyncio.Event) -> None:
    """New work every few seconds; a third of it waits for a signal the demo sends later.
    A start the registry refuses (its write lock held past the store's wait by another
    program, a full disk, a file made read-only meanwhile) is said as a warning and the
    trickle goes on: the demo's dashboard is the operator's, and must not die of it."""
    n = 0
    pending: set[asyncio.Task[None]] = set()
    while not stop.is_set():
        n += 1
        pid = f"thumb-{n:04d}-{rng.randrange(16**4):04x}"
        try:
            await _start_next(processes, rng, pid, n, pending)
        except LashError as error:
            log.warning("demo: new process %s not started: %s", pid, error)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(rng.uniform(2, 5)):
                await stop.wait()


async def _start_next(
    processes: Processes, rng: random.Random, pid: str, n: int, pending: set[asyncio.Task[None]]
) -> None:
    if n % 3 == 0:
        plan: list[JsonValue] = [
            {"wait_signal": "ok"},
            {"sleep_ms": 500},
            {"finish": "signalled"},
        ]
        await processes.start(steps(pid, plan, label="thumbnail (needs ok)", grant=ALICE))
        later = asyncio.create_task(_send_ok(processes, pid, rng.uniform(3, 8)))
        pending.add(later)
        later.add_done_callback(pending.discard)
    else:
        ending: JsonValue = (
            {"finish": {"thumb": pid}}
            if rng.random() < 0.8
            else {"fail": {"code": "decode_error", "message": "corrupt JPEG header"}}
        )
        plan = [progress(rng.randint(2, 5), rng.randint(200, 700), "thumb.step"), ending]
        await processes.start(steps(pid, plan, label="thumbnail", originator=ALICE_CODER))


async def _send_ok(processes: Processes, pid: str, after_s: float) -> None:
    await asyncio.sleep(after_s)
    with contextlib.suppress(LashError):
        await processes.signal(pid, "ok", "demo", {"by": "demo"})


async def seeded(processes: Processes) -> bool:
    """Seed an empty registry only; anything else is reused as it is."""
    records, _ = await processes.registry.processes_changed_since(0, 1)
    return bool(records)


def _print_seed(processes: list[ObservedProcess], db: str, fresh: bool, out: TextIO) -> None:
    print(f"demo registry {db} ({'seeded' if fresh else 'reused'}):", file=out)
    for process in processes:
        state = "waiting" if process.wait is not None else process.lifecycle.value
        line = f"{process.process_id:<18} {state:<10} {process.disposition.value:<17}"
        print(f"  {line} {process.label}", file=out)
    print(
        "the embedded worker is running it; new work arrives every few seconds (Ctrl+C to stop)",
        file=out,
    )


@dataclass
class Demo:
    """An open demo registry: its facade (with the worker attached), whether it was just
    seeded, and the trickle of new work, which runs until `stop` is set."""

    processes: Processes
    worker: ProcessWorker
    fresh: bool
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def feed(self) -> None:
        await trickle(self.processes, random.Random(7), self.stop)


@contextlib.asynccontextmanager
async def open_demo(db: str) -> AsyncIterator[Demo]:
    """Open (and seed, once) the demo registry at `db`; on leaving, stop the trickle and
    the worker's runs before the registry closes. Starts made while seeding drive the
    worker too. No owner drain: leaving releases leases, so owner_bound work this worker
    started shows up as "silent, not dead" next time, as it would in life."""
    clock = SystemClock()
    async with open_registry(db, clock=clock) as registry:
        worker = ProcessWorker(registry, timings=DEMO_TIMINGS, clock=clock)
        demo = Demo(Processes(registry, worker=worker, clock=clock), worker, fresh=False)
        try:
            demo.fresh = not await seeded(demo.processes)
            if demo.fresh:
                await seed(demo.processes)
            yield demo
        finally:
            demo.stop.set()
            await worker.stop()


async def run_demo(
    db: str,
    *,
    until: Callable[[Processes], Awaitable[None]] | None = None,
    out: TextIO = sys.stdout,
) -> int:
    """The demo without a dashboard: print what it holds, then run the worker and the
    trickle until SIGINT/SIGTERM or `until`."""
    async with open_demo(db) as demo:
        loop = asyncio.get_running_loop()
        for signum in (os_signal.SIGINT, os_signal.SIGTERM):
            loop.add_signal_handler(signum, demo.stop.set)
        everything = await demo.processes.list(ProcessListFilter(status=ProcessStatusFilter.ANY))
        _print_seed(everything, db, demo.fresh, out)
        async with demo.worker.running():
            feeder = asyncio.create_task(demo.feed())
            try:
                await (until(demo.processes) if until is not None else demo.stop.wait())
            finally:
                demo.stop.set()
                await asyncio.gather(feeder, return_exceptions=True)
    return 0
