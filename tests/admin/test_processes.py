"""The `Processes` facade: lenses, transfer, snapshot, prune, signals and cancel through the
one API the command line and the dashboard use (scenarios G, H, I, J; api.md §6)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import pytest
from pydantic import JsonValue

from lashtui.admin import Processes, abandon_outlook
from lashtui.clock import ManualClock
from lashtui.errors import (
    AwaitTimeout,
    InvalidRequest,
    LashError,
    ProcessConflict,
    UnknownProcess,
)
from lashtui.model import (
    Engine,
    External,
    ObservedProcess,
    ProcessEventType,
    ProcessExecutionEnvSpec,
    ProcessHandleDescriptor,
    ProcessListFilter,
    ProcessStartGrant,
    ProcessStartRequest,
    ProcessStatusFilter,
    RecoveryDisposition,
    SessionOriginator,
    SessionScope,
    SuccessOutput,
)
from lashtui.registry import ProcessRegistry, open_registry
from lashtui.worker import ProcessContext, ProcessWorker
from lashtui.worker.runtime import RunEnd
from tests.builders import own

S1 = SessionScope(session_id="s1")
S1F = SessionScope(session_id="s1", agent_frame_id="f")
S2 = SessionScope(session_id="s2")
ANY = ProcessListFilter(status=ProcessStatusFilter.ANY)


def external(
    pid: str,
    *,
    originator: SessionScope | None = None,
    grant: SessionScope | None = None,
    wake: SessionScope | None = None,
) -> ProcessStartRequest:
    fields: dict[str, object] = {}
    if originator is not None:
        fields["originator"] = SessionOriginator(scope=originator)
    if grant is not None:
        fields["grant"] = ProcessStartGrant(
            session_scope=grant, descriptor=ProcessHandleDescriptor(label=pid)
        )
    if wake is not None:
        fields["wake_target"] = wake
    return ProcessStartRequest.external(pid, {"label": pid}, **fields)


def steps(pid: str, payload: list[object], *signals: str) -> ProcessStartRequest:
    return ProcessStartRequest(
        id=pid,
        input=Engine(kind="steps", payload={"steps": payload}),
        disposition=RecoveryDisposition.RERUNNABLE,
        event_types=[
            ProcessEventType.plain(f"signal.{name}", {"type": "string"}) for name in signals
        ],
    )


def own_worker(
    registry: ProcessRegistry, clock: ManualClock, kind: str, handler: Callable[..., Awaitable[Any]]
) -> tuple[ProcessWorker, Processes]:
    """A worker running `handler` as engine `kind`, never `running()` (a start through the
    facade runs its row on it all the same), and the facade on it."""
    worker = ProcessWorker(registry, clock=clock)
    worker.engines.register(kind, handler)
    return worker, Processes(registry, worker=worker, clock=clock)


def run_of(
    pid: str,
    kind: str,
    payload: JsonValue,
    disposition: RecoveryDisposition = RecoveryDisposition.RERUNNABLE,
) -> ProcessStartRequest:
    engine = Engine(kind=kind, payload=payload)
    return ProcessStartRequest(id=pid, input=engine, disposition=disposition)


def ids(observed: Sequence[ObservedProcess]) -> list[str]:
    return [o.process_id for o in observed]


async def test_start_registers_grants_and_is_idempotent(processes: Processes) -> None:
    first = await processes.start(external("p", grant=S1))
    again = await processes.start(external("p", grant=S1))
    assert again == first
    assert ids(await processes.list_granted_to(S1)) == ["p"]


async def test_a_steps_start_without_an_env_captures_the_default_env(processes: Processes) -> None:
    record = await processes.start(steps("s", [{"finish": 1}]))
    assert record.env_ref is not None and record.env_ref.startswith("process-env:sha256:")


async def test_a_refused_start_writes_neither_its_env_nor_its_grant(
    processes: Processes, registry: ProcessRegistry
) -> None:
    await processes.start(external("p"))
    # Same id, another input: the registration conflicts, and the steps env this start
    # would capture and the grant it would make go with it (one transaction).
    clash = steps("p", [{"finish": 1}]).model_copy(
        update={"grant": ProcessStartGrant(session_scope=S2)}
    )
    env_ref = ProcessExecutionEnvSpec().stable_ref()
    with pytest.raises(ProcessConflict, match="registration hash conflict"):
        await processes.start(clash)
    assert await processes.list_granted_to(S2) == []
    with pytest.raises(UnknownProcess, match="unknown process execution env"):
        await registry.get_process_execution_env(env_ref)


async def test_lenses_security_versus_lineage(processes: Processes) -> None:  # scenarios 83-84
    await processes.start(external("root", originator=S1, grant=S1))
    await processes.start(external("frame", originator=S1F, grant=S1F))
    await processes.start(external("hosted", grant=S1))
    assert ids(await processes.list_granted_to(S1)) == ["hosted", "root"]
    assert ids(await processes.list_granted_to(S1F)) == ["frame"]
    assert ids(await processes.list_originated_by(S1)) == ["frame", "root"]
    assert ids(await processes.list_originated_by(S1F)) == ["frame"]
    await processes.transfer(S1, S2, ["root"])
    assert ids(await processes.list_originated_by(S1)) == ["frame", "root"]
    assert ids(await processes.list_granted_to(S1)) == ["hosted"]
    assert ids(await processes.list_granted_to(S2)) == ["root"]


async def test_transfer_of_an_ungranted_id_moves_nothing(processes: Processes) -> None:  # 79
    await processes.start(external("a", grant=S1))
    await processes.start(external("b"))
    with pytest.raises(
        LashError, match=re.escape("process handle `b` is not granted to session `s1`")
    ):
        await processes.transfer(S1, S2, ["a", "b"])
    assert ids(await processes.list_granted_to(S1)) == ["a"]


async def test_get_observes_the_lease_holder(
    processes: Processes, registry: ProcessRegistry
) -> None:
    await processes.start(external("p"))
    assert (observed := await processes.get("p")) is not None
    assert (
        observed.lease_holder is None
        and observed.label == "p"
        and observed.graph_key == "process:p"
    )
    await processes.request_abandon("p", "operator", "host retired")
    lease = (await registry.claim_process_lease("p", own("holder"), 5_000)).acquired()
    assert lease is not None
    observed = await processes.get("p")
    assert observed is not None and observed.lease_holder == own("holder")
    assert observed.lease_expires_at_ms == lease.expires_at_epoch_ms
    assert (
        observed.abandon_request is not None and observed.abandon_request.reason == "host retired"
    )
    assert await processes.get("missing") is None


async def test_snapshot_includes_grants_and_wake_targets(
    processes: Processes, clock: ManualClock
) -> None:  # 87
    visible = SessionScope(session_id="visible")
    frame = SessionScope(session_id="visible", agent_frame_id="frame-a")
    await processes.start(external("granted", grant=visible))
    clock.advance(1)
    await processes.start(external("woken", wake=frame))
    clock.advance(1)
    await processes.start(external("lineage-only", originator=frame))
    snapshot = await processes.session_snapshot("visible")
    assert [item.handle.process_id for item in snapshot] == ["woken", "granted"]
    assert snapshot[0].handle.descriptor.kind == "external"


async def test_prune_through_the_facade(processes: Processes, clock: ManualClock) -> None:
    await processes.start(external("old"))
    await processes.registry.complete_process("old", SuccessOutput(value=1))
    await processes.start(external("live"))
    clock.advance(10)
    report = await processes.prune(clock.now_ms())
    assert (report.pruned_processes, report.pruned_events) == (1, 1)
    assert ids(await processes.list(ANY)) == ["live"]


async def test_cancel_and_signal_refuse_terminal_rows_and_append_nothing(
    processes: Processes,
) -> None:
    await processes.start(external("done"))
    await processes.registry.complete_process("done", SuccessOutput(value=1))
    before = await processes.events("done")
    for act in (processes.cancel("done"), processes.signal("done", "go", "1", None)):
        with pytest.raises(ProcessConflict, match=re.escape("process `done` is already terminal")):
            await act
    assert await processes.events("done") == before


async def test_unknown_ids_and_bad_signal_names(processes: Processes) -> None:  # 102
    with pytest.raises(UnknownProcess, match=re.escape("unknown process `missing`")):
        await processes.cancel("missing")
    with pytest.raises(UnknownProcess, match=re.escape("unknown process `missing`")):
        await processes.signal("missing", "go", "1", None)
    with pytest.raises(UnknownProcess, match=re.escape("unknown process `missing`")):
        await processes.events("missing")
    await processes.start(external("p"))
    with pytest.raises(InvalidRequest, match=re.escape("got `a.b`")):
        await processes.signal("p", "a.b", "1", None)


async def test_cancel_all_cancels_only_running_rows(processes: Processes) -> None:  # 104
    for pid in ("a", "b", "done"):
        await processes.start(external(pid))
    await processes.registry.complete_process("done", SuccessOutput(value=1))
    summaries = await processes.cancel_all()
    assert [(s.process_id, s.status.value) for s in summaries] == [
        ("a", "running"),
        ("b", "running"),
    ]
    assert [e.event_type for e in await processes.events("done")] == ["process.completed"]


async def test_cancel_ends_a_waiting_process(live: Processes) -> None:  # 101
    await live.start(steps("w", [{"wait_signal": "approve"}], "approve"))
    async with asyncio.timeout(5):
        await live.awaiter.await_event("w", "process.waiting", 0)
    summary = await live.cancel("w")
    # The summary is the row read after the request commits: the live worker may already
    # have ended it by then (seen on PostgreSQL once its cancel path took fewer round
    # trips); the events below say the request came first either way.
    assert summary.status.value in ("running", "cancelled")
    async with asyncio.timeout(3):
        output = await live.await_output("w")
    assert output.type == "cancelled"
    types = [e.event_type for e in await live.events("w")]
    assert (
        types.index("process.waiting")
        < types.index("process.cancel_requested")
        < types.index("process.cancelled")
    )


async def test_signal_resumes_a_waiting_process(live: Processes) -> None:  # I 96
    # After `ready` the run waits again, for `go`: the conflicting `ready` below then meets
    # a running row, where it once raced the run's end (and met "already terminal").
    plan: list[object] = [{"wait_signal": "ready"}, {"wait_signal": "go"}]
    await live.start(steps("w", plan, "ready", "go"))
    async with asyncio.timeout(5):
        await live.awaiter.await_event("w", "process.waiting", 0)
    assert ids(await live.list(ProcessListFilter(waiting=True))) == ["w"]
    with pytest.raises(LashError, match=re.escape("emitted undeclared event type `signal.nope`")):
        await live.signal("w", "nope", "1", "x")
    with pytest.raises(LashError, match=re.escape("invalid `signal.ready` payload")):
        await live.signal("w", "ready", "1", {"not": "a string"})
    assert (await live.get("w")).wait is not None  # type: ignore[union-attr]
    first = await live.signal("w", "ready", "1", "done")
    assert (await live.signal("w", "ready", "1", "done")).sequence == first.sequence  # 98
    with pytest.raises(LashError, match="conflicts with an existing event"):
        await live.signal("w", "ready", "1", "other")
    await live.signal("w", "go", "1", "done")
    assert await live.await_output("w", timeout=3) == SuccessOutput(value="done")


async def test_await_output_timeout_is_one_sentence(processes: Processes) -> None:
    await processes.start(external("slow"))
    with pytest.raises(AwaitTimeout, match=re.escape("process `slow` did not finish within 0.05s")):
        await processes.await_output("slow", timeout=0.05)


async def test_an_await_timeout_is_caught_as_itself_and_as_a_timeout_error(
    processes: Processes,
) -> None:
    # A caller tells running out of time from every other refusal: by lashtui's own class,
    # or by the builtin TimeoutError that asyncio.timeout raises, while `except LashError`
    # still catches it with the rest.
    await processes.start(external("slow"))
    for caught in (AwaitTimeout, TimeoutError, LashError):
        with pytest.raises(caught) as info:
            await processes.await_output("slow", timeout=0.01)
        assert type(info.value) is AwaitTimeout
        assert str(info.value) == "process `slow` did not finish within 0.01s"
    with pytest.raises(UnknownProcess) as unknown:  # not a timeout, whatever the timeout
        await processes.await_output("nope", timeout=0.01)
    assert not isinstance(unknown.value, TimeoutError)
    assert (await processes.get("slow")).terminal is False  # type: ignore[union-attr]


async def test_a_zero_timeout_still_says_ended_or_unknown(
    processes: Processes, registry: ProcessRegistry
) -> None:
    # Only a process still running is out of time: on PostgreSQL a zero deadline cancelled
    # the first read, and a finished or unknown process "did not finish within 0s".
    await processes.start(external("done-1"))
    await registry.complete_process("done-1", SuccessOutput(value=1))
    await processes.start(external("live-1"))
    assert await processes.await_output("done-1", timeout=0) == SuccessOutput(value=1)
    with pytest.raises(UnknownProcess, match=re.escape("unknown process `nope`")):
        await processes.await_output("nope", timeout=0)
    with pytest.raises(AwaitTimeout, match=re.escape("process `live-1` did not finish within 0s")):
        await processes.await_output("live-1", timeout=0)
    # NaN is no number of seconds: it ended every wait at once, "within nans".
    with pytest.raises(InvalidRequest, match=re.escape("`timeout` of Processes.await_output")):
        await processes.await_output("live-1", timeout=float("nan"))


async def test_abandon_outlook_says_when_a_request_cannot_apply(processes: Processes) -> None:
    await processes.start(steps("rerun", [{"finish": 1}]))
    await processes.start(external("ext"))
    rerun = await processes.request_abandon("rerun", "operator")
    assert rerun.abandon_request is not None
    assert abandon_outlook(rerun).startswith("not applicable: rerunnable rows are re-run")
    assert abandon_outlook(await processes.request_abandon("ext", "operator")).startswith(
        "will abandon"
    )
    with pytest.raises(UnknownProcess):
        await processes.request_abandon("missing", "operator")


async def test_changes_since_observes_changed_rows(processes: Processes) -> None:
    await processes.start(external("a"))
    changed, cursor = await processes.changes_since(0, 10)
    assert ids(changed) == ["a"] and cursor > 0
    assert await processes.changes_since(cursor, 10) == ([], cursor)


async def test_external_rows_are_listed_as_running(processes: Processes) -> None:
    await processes.start(ProcessStartRequest.external("e", External(metadata=None).metadata))
    assert ids(await processes.list()) == ["e"]


async def test_a_start_through_a_worker_is_claimed_in_the_start_and_runs(
    live: Processes,
) -> None:
    # The row comes back already started by this worker: its claim was the start's own
    # transaction (`start_process_for_run`), not a second one after it.
    record = await live.start(steps("s", [{"finish": 7}]))
    assert live.worker is not None
    assert record.first_started is not None and record.first_started.owner == live.worker.owner
    done = await live.worker.await_terminal("s")
    assert done.model_dump(mode="json") == {"type": "success", "value": 7}


PLAN: list[object] = [
    {"emit": {"type": "x.t", "payload": 1}},
    {"wait_signal": "approve"},
    {"finish": 42},
]


def plan_start(pid: str, **fields: object) -> ProcessStartRequest:
    return ProcessStartRequest.model_validate(
        {
            "id": pid,
            "input": Engine(kind="steps", payload={"steps": PLAN}),
            "disposition": RecoveryDisposition.OWNER_BOUND,
            **fields,
        }
    )


async def test_a_steps_start_declaring_no_types_runs_its_emits_and_waits(live: Processes) -> None:
    # It failed « emitted undeclared event type `x.t` » where `lashtui start` ran it: the
    # command line declared the plan's types itself; now start does, for every caller.
    await live.start(plan_start("steps1"))
    async with asyncio.timeout(10):  # a guard: a failed run never waits
        await live.awaiter.await_event("steps1", "process.waiting", 0)
    await live.signal("steps1", "approve", "1", "yes")
    assert await live.await_output("steps1", timeout=10) == SuccessOutput(value=42)
    assert "x.t" in [e.event_type for e in await live.events("steps1")]


async def test_a_steps_start_from_python_is_the_command_lines_start(
    processes: Processes,
) -> None:
    # The same declarations in the same order: one registration hash, so the two starts
    # of one id are one process, not a conflict.
    from lashtui.cli import build_parser
    from lashtui.command.action import start_request

    argv = ["start", "steps1", "--engine", "steps", "--disposition", "owner_bound"]
    args = build_parser().parse_args([*argv, "--payload", json.dumps({"steps": PLAN})])
    first = await processes.start(start_request(args))
    assert await processes.start(plan_start("steps1")) == first


async def test_a_steps_start_declaring_its_own_types_must_declare_the_plans(
    processes: Processes,
) -> None:
    # It chose its types (the signal's schema): one the plan uses and it lacks is named at
    # the start, not found by the run; nothing is written.
    approve = ProcessEventType.plain("signal.approve", {"type": "string"})
    with pytest.raises(InvalidRequest, match=re.escape("declares event types, but not `x.t`")):
        await processes.start(plan_start("steps1", event_types=[approve]))
    assert await processes.get("steps1") is None
    x_t = ProcessEventType.plain("x.t")
    record = await processes.start(plan_start("steps1", event_types=[approve, x_t]))
    assert [t.name for t in record.event_types][:2] == ["signal.approve", "x.t"]


async def test_a_start_whose_commit_lands_as_its_worker_stops_is_not_run(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    # stop() cancels the runs in flight; a start through the worker that was committing
    # meanwhile must not spawn its run after that, and gives its lease back as they do.
    worker = ProcessWorker(registry, clock=clock)
    processes = Processes(registry, worker=worker, clock=clock)
    start = asyncio.ensure_future(processes.start(steps("s", [{"finish": 1}])))
    await asyncio.sleep(0)  # the start is now waiting for its commit
    stopping = asyncio.ensure_future(worker.stop())
    record = await start
    await stopping
    await worker.idle()  # without the check, the run spawned after the stop ends here
    assert record.first_started is not None  # it was claimed in its start ...
    assert not worker.stats.runs  # ... and never run
    stored = await registry.get_process("s")
    assert stored is not None and not stored.is_terminal()
    assert await registry.get_process_lease("s") is None  # free for the next worker


@pytest.mark.parametrize(
    "disposition", [RecoveryDisposition.OWNER_BOUND, RecoveryDisposition.RERUNNABLE]
)
async def test_a_start_whose_caller_is_cancelled_while_it_commits_still_runs(
    registry: ProcessRegistry, clock: ManualClock, disposition: RecoveryDisposition
) -> None:
    # `asyncio.wait_for(processes.start(...), t)` cancels the caller at any point of the
    # start, and its transaction commits on the registry's thread anyway. Cancelled there,
    # the start left its row claimed (an owner_bound row's first start recorded) with no
    # run: the row sat "silent, not dead", its handler never having run. Each cancel point
    # is tried, from before the start began (nothing written) to after it returned.
    ran: list[str] = []

    async def note(ctx: ProcessContext, payload: JsonValue) -> JsonValue:
        ran.append(ctx.process_id)
        return payload

    worker, processes = own_worker(registry, clock, "note", note)
    try:
        for point in range(12):
            pid = f"p{point}"
            start = asyncio.ensure_future(processes.start(run_of(pid, "note", point, disposition)))
            for _ in range(point):
                await asyncio.sleep(0)
            start.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await start
            await worker.idle()
            stored = await registry.get_process(pid)
            if stored is None:
                continue  # cancelled before it began: nothing was written
            assert stored.is_terminal(), f"{pid} left running after a cancelled start"
            assert pid in ran
            assert await registry.get_process_lease(pid) is None
    finally:
        await worker.stop()
    assert ran, "no start got as far as its commit"


async def test_closing_the_registry_stops_the_runs_its_worker_has_in_flight(
    registry_target: str, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A start through the facade runs its row on the worker even without `running()`.
    Closing the registry under that run stops it first, says so once, and gives its lease
    back. It ran on against the closed store, every write of its failing ("... is closed"),
    and kept its lease until the TTL."""
    parked = asyncio.Event()

    async def park(ctx: ProcessContext, payload: JsonValue) -> None:
        parked.set()
        await asyncio.Event().wait()

    with caplog.at_level(logging.WARNING, logger="lashtui.worker"):
        async with open_registry(registry_target, clock=clock) as registry:
            worker, processes = own_worker(registry, clock, "park", park)
            await processes.start(run_of("d1", "park", None))
            async with asyncio.timeout(5):
                await parked.wait()

    assert worker.in_flight == []
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == [
        "the registry is closing with 1 run of this worker in flight (d1): stopping them "
        "first; they write no terminal and release their leases"
    ]
    async with open_registry(registry_target, clock=clock) as reopened:
        row = await reopened.get_process("d1")
        assert row is not None and not row.is_terminal()
        assert await reopened.get_process_lease("d1") is None  # the next worker may run it


async def test_closing_the_registry_after_awaiting_a_run_says_nothing_of_it(
    registry_target: str, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    """The README's program without `running()`: start, await the output, leave the
    registry's block. The run had written its terminal, and `await_output` returned it, but
    its task had not yet ended (its write's result not yet taken, or its done callbacks
    not yet run), so closing warned that it stopped a run in flight that "writes no
    terminal" (every time in a script, under a second here). Tried several times: the two
    states come and go with thread timing."""

    async def echo(ctx: ProcessContext, payload: JsonValue) -> JsonValue:
        return payload

    with caplog.at_level(logging.WARNING, logger="lashtui.worker"):
        for attempt in range(8):
            async with open_registry(registry_target, clock=clock) as registry:
                worker, processes = own_worker(registry, clock, "echo", echo)
                await processes.start(run_of(f"d{attempt}", "echo", attempt))
                output = await processes.await_output(f"d{attempt}", timeout=10)
                assert output == SuccessOutput(value=attempt)
            assert worker.stats.runs == Counter({RunEnd.COMPLETED: 1})
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


async def test_starts_beyond_the_free_start_slots_still_each_run_once(live: Processes) -> None:
    # More starts at once than the worker has start slots: those that find none free are
    # plain starts the worker then claims as before; every row ends, each once.
    count = 40
    starts = [live.start(steps(f"s{n:02d}", [{"finish": n}])) for n in range(count)]
    records = await asyncio.gather(*starts)
    assert live.worker is not None
    fused = sum(record.first_started is not None for record in records)
    assert 0 < fused < count
    for n in range(count):
        done = await live.worker.await_terminal(f"s{n:02d}")
        assert done.model_dump(mode="json") == {"type": "success", "value": n}
    # A run counts itself after its terminal is stored and its lease keeper has closed, so
    # a terminal can be visible a moment before its run is counted (CI saw 33 of 40).
    await live.worker.idle()
    assert live.worker.stats.runs == Counter({RunEnd.COMPLETED: count})
