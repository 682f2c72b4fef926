"""Issue 17 item 4: a terminal process runs again under `<id>~rerun-<n>`, with the same
input, disposition, identity, provenance, event types and grants, and both rows show the
link; a live, unknown or undecodable row is refused in one sentence. Both backends."""

from __future__ import annotations

import asyncio

import pytest

from lashtui.admin import Processes
from lashtui.model import (
    FailureOutput,
    ProcessHandleDescriptor,
    SessionScope,
    SuccessOutput,
    ToolFailureClass,
)
from lashtui.model.audit import AuditQuery
from lashtui.model.rerun import RERUN_OF
from lashtui.registry import ProcessRegistry
from tests.admin.test_processes import external, steps
from tests.raw import raw_connection

S1 = SessionScope(session_id="s1")
S2 = SessionScope(session_id="s2", agent_frame_id="f")


async def failed(processes: Processes, pid: str, **fields: object) -> None:
    await processes.start(external(pid, **fields))  # type: ignore[arg-type]
    output = FailureOutput(class_=ToolFailureClass.INTERNAL, code="boom", message="it broke")
    await processes.registry.complete_process(pid, output)


async def test_a_failed_row_runs_again_with_its_registration_and_grants(
    processes: Processes, registry: ProcessRegistry
) -> None:
    await failed(processes, "imp", originator=S1, grant=S1, wake=S1)
    await registry.grant_handle(S2, "imp", ProcessHandleDescriptor(label="second"))
    outcome = await processes.actions.rerun("imp", operator="dana@h")
    assert outcome.outcome == "done"
    assert outcome.sentence == (
        "re-run as `imp~rerun-1` by dana@h; 2 grant(s) copied; "
        "externally owned: its owner must run it"
    )
    assert outcome.started is not None and outcome.started.process_id == "imp~rerun-1"
    assert outcome.started.lifecycle.value == "running"
    old = await registry.get_process("imp")
    new = await registry.get_process("imp~rerun-1")
    assert old is not None and new is not None
    for field in ("input", "disposition", "identity", "provenance", "wake_target", "env_ref"):
        assert getattr(new, field) == getattr(old, field), field
    assert [t.name for t in new.event_types] == [t.name for t in old.event_types] + [RERUN_OF]
    assert await registry.handle_grant_scopes("imp~rerun-1") == [
        (scope_id, grant.model_copy(update={"process_id": "imp~rerun-1"}))
        for scope_id, grant in await registry.handle_grant_scopes("imp")
    ]
    # Both sides of the link; the old row was not written.
    link = await processes.rerun_link("imp~rerun-1")
    assert link is not None and (link.rerun_of, link.by) == ("imp", "dana@h")
    assert [r.process_id for r in await processes.reruns("imp")] == ["imp~rerun-1"]
    assert old.updated_at_ms == (await processes.events("imp"))[-1].occurred_at_ms


async def test_each_rerun_takes_the_next_number_and_a_rerun_reruns_too(
    processes: Processes, registry: ProcessRegistry
) -> None:
    await failed(processes, "x")
    first = await processes.actions.rerun("x", operator="a")
    second = await processes.actions.rerun("x", operator="b")
    assert [first.sentence.split("`")[1], second.sentence.split("`")[1]] == [
        "x~rerun-1",
        "x~rerun-2",
    ]
    await registry.complete_process("x~rerun-1", SuccessOutput(value=1))
    nested = await processes.actions.rerun("x~rerun-1", operator="c")
    assert nested.outcome == "done" and "`x~rerun-1~rerun-1`" in nested.sentence
    # The nested re-run is in x's id range but re-runs x~rerun-1, not x.
    assert [r.process_id for r in await processes.reruns("x")] == ["x~rerun-1", "x~rerun-2"]
    assert [r.process_id for r in await processes.reruns("x~rerun-1")] == ["x~rerun-1~rerun-1"]
    assert await processes.rerun_link("x") is None


async def test_live_unknown_and_too_long_rows_are_refused_and_nothing_is_written(
    processes: Processes, registry: ProcessRegistry
) -> None:
    await processes.start(external("run"))
    live = await processes.actions.rerun("run", operator="dana")
    assert (live.outcome, live.sentence) == (
        "refused",
        "process `run` is running: only a terminal process can be run again",
    )
    unknown = await processes.actions.rerun("nope", operator="dana")
    assert (unknown.outcome, unknown.sentence) == ("refused", "unknown process `nope`")
    long_id = "l" * 505
    await failed(processes, long_id)
    too_long = await processes.actions.rerun(long_id, operator="dana")
    assert too_long.outcome == "refused"
    assert "would pass the 512-character id limit" in too_long.sentence
    assert (await registry.process_census()).total() == 2  # nothing was started


async def test_two_operators_at_once_start_one_rerun_and_each_says_what_happened(
    processes: Processes, registry: ProcessRegistry
) -> None:
    await failed(processes, "x")
    outcomes = await asyncio.gather(
        processes.actions.rerun("x", operator="ann"),
        processes.actions.rerun("x", operator="bob"),
    )
    kinds = sorted(o.outcome for o in outcomes)
    reruns = await processes.reruns("x")
    # Either both chose x~rerun-1 (one is told the other's re-run stands), or the second
    # chose after the first committed (two re-runs, each its own): never one id twice.
    if kinds == ["done", "unchanged"]:
        assert len(reruns) == 1
        unchanged = next(o for o in outcomes if o.outcome == "unchanged")
        assert unchanged.sentence.startswith(f"already re-run as `x~rerun-1` by {reruns[0].by} ")
    else:
        assert kinds == ["done", "done"] and len(reruns) == 2


async def test_a_raced_rerun_is_unchanged_and_names_who_made_it(
    processes: Processes, registry: ProcessRegistry
) -> None:
    await failed(processes, "x")
    await registry.rerun_process("x", "x~rerun-1", "ann")
    # As if bob had chosen x~rerun-1 before ann's commit: the store refuses the id.
    from lashtui.admin.rerun import _raced
    from lashtui.errors import ProcessConflict

    raced = await _raced(processes, "x", "x~rerun-1", ProcessConflict("exists"))
    assert raced.outcome == "unchanged"
    assert raced.sentence == (
        "already re-run as `x~rerun-1` by ann just now, while this re-run was being made; "
        "nothing more was started"
    )
    with pytest.raises(ProcessConflict, match="process `x~rerun-1` already exists"):
        await registry.rerun_process("x", "x~rerun-1", "bob")


async def test_the_embedded_worker_runs_the_rerun_to_completion(live: Processes) -> None:
    await live.start(steps("job", [{"finish": "ok"}]))
    assert await live.await_output("job", timeout=5) == SuccessOutput(value="ok")
    outcome = await live.actions.rerun("job", operator="dana")
    assert outcome.outcome == "done"
    assert outcome.sentence.endswith("it had no grants to copy; the next worker runs it")
    assert await live.await_output("job~rerun-1", timeout=5) == SuccessOutput(value="ok")
    events = [e.event_type for e in await live.events("job~rerun-1")]
    assert events[0] == RERUN_OF and events[-1] == "process.completed"


async def test_an_undecodable_row_is_refused_before_and_after_it_is_ended(
    processes: Processes, registry: ProcessRegistry, registry_target: str
) -> None:
    """A row whose record does not decode has no input to copy: refused, naming why. Ended
    with end-undecodable (recorded in the audit trail), it is a failed row whose input and
    disposition are still the stand-in's placeholders: it was run again as an externally
    owned copy of them, which nobody owns; it is refused, naming why."""
    await failed(processes, "bad")
    with raw_connection(registry_target) as conn:
        conn.execute(
            "UPDATE processes SET record_json = ? WHERE process_id = 'bad'",
            ('{"id": "bad", "disposition": "sometimes"}',),
        )
    refused = await processes.actions.rerun("bad", operator="dana")
    assert refused.outcome == "refused"
    assert refused.sentence.startswith(
        "process `bad` cannot be run again: its stored record cannot be decoded ("
    )
    assert (await registry.process_census()).total() == 1
    await processes.end_undecodable("bad", "dana", "garbage")
    page = await registry.operator_actions(AuditQuery())
    assert [(e.operator, e.action, e.process_id, e.outcome) for e in page.entries] == [
        ("dana", "end-undecodable", "bad", "done")
    ]
    assert page.entries[0].detail == {"reason": "garbage"}
    again = await processes.actions.rerun("bad", operator="dana")
    assert (again.outcome, again.sentence) == (
        "refused",
        "process `bad` cannot be run again: its record could not be decoded when it was "
        "ended (end-undecodable), so its input is unknown",
    )
    assert await registry.get_process("bad~rerun-1") is None
    shown = await processes.get("bad")
    assert shown is not None and shown.disposition_text() == "unknown"


async def test_a_row_whose_env_is_gone_is_refused_naming_it(
    live: Processes, registry: ProcessRegistry, registry_target: str
) -> None:
    record = await live.start(steps("job", [{"finish": 1}]))
    assert await live.await_output("job", timeout=5) == SuccessOutput(value=1)
    with raw_connection(registry_target) as conn:
        conn.execute("DELETE FROM process_execution_envs")
    refused = await live.actions.rerun("job", operator="dana")
    assert (refused.outcome, refused.sentence) == (
        "refused",
        f"process `job` cannot be run again: its execution env `{record.env_ref}` is no "
        "longer in the registry",
    )
    assert await registry.get_process("job~rerun-1") is None
