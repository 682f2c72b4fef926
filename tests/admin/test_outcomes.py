"""Issue 16: every action reports per target what happened (done, requested, unchanged,
refused, with one sentence), records who did it, and refuses at entry a scope whose id would
name another scope or a `steps` plan that cannot run."""

from __future__ import annotations

import getpass
import re

import pytest
from pydantic import JsonValue

from lashtui.admin import Processes, abandon_outlook, default_operator, resolve_operator
from lashtui.clock import ManualClock
from lashtui.errors import InvalidRequest, UnknownProcess
from lashtui.model import (
    CANCEL_REQUESTED,
    Engine,
    ProcessEventType,
    ProcessHandleDescriptor,
    ProcessRecord,
    ProcessStartGrant,
    ProcessStartRequest,
    RecoveryDisposition,
    SessionOriginator,
    SessionScope,
    SuccessOutput,
)
from lashtui.registry import ProcessRegistry
from lashtui.worker.steps import parse_plan
from tests.admin.test_processes import external, steps
from tests.builders import ob, rr, started
from tests.registry.rows import LEASE_TTL_MS, claim, park

V = SessionScope(session_id="v")
VF = SessionScope(session_id="v", agent_frame_id="f")
COLLIDING = SessionScope(session_id="v/frame:f")  # same scope id as VF


async def cancel_reasons(processes: Processes, pid: str) -> list[object]:
    return [
        e.payload.get("reason") if isinstance(e.payload, dict) else None
        for e in await processes.events(pid)
        if e.event_type == CANCEL_REQUESTED
    ]


# --- item 6: every result is what happened ---------------------------------------------------


async def test_cancel_of_an_externally_owned_row_is_requested_not_done(
    processes: Processes,
) -> None:
    await processes.start(external("ext"))
    outcome = await processes.actions.cancel("ext", operator="dana@h")
    assert outcome.outcome == "requested"
    assert outcome.sentence == (
        "cancel requested by dana@h; externally owned: its owner must end it"
    )
    assert outcome.process is not None and outcome.process.lifecycle.value == "running"


async def test_cancel_all_reports_each_running_row_read_by_id_not_by_record(
    processes: Processes,
) -> None:
    """Every running row, in id order, each with its outcome; ended rows are
    left out. The ids come from the census (the status index), never a list of every
    running record, which on a big registry took seconds and a gigabyte."""
    for pid in ("b", "a", "done"):
        await processes.start(external(pid))
    await processes.registry.complete_process("done", SuccessOutput(value=1))

    async def no_records() -> list[ProcessRecord]:
        raise AssertionError("cancel all read every running record")

    processes.registry.list_non_terminal = no_records  # type: ignore[method-assign]
    outcomes = await processes.actions.cancel_all("stale", operator="dana@h")
    assert [(o.process_id, o.outcome) for o in outcomes] == [("a", "requested"), ("b", "requested")]
    assert await cancel_reasons(processes, "a") == ["requested by dana@h: stale"]
    assert [s.process_id for s in await processes.cancel_all()] == ["a", "b"]
    assert await cancel_reasons(processes, "done") == []


async def test_a_second_cancel_is_unchanged_and_names_the_first(
    processes: Processes, clock: ManualClock
) -> None:
    await processes.start(external("ext"))
    await processes.actions.cancel("ext", "deploy broke", operator="dana@h")
    clock.advance(5 * 60_000)
    again = await processes.actions.cancel("ext", "me too", operator="eve@h")
    assert again.outcome == "unchanged"
    assert again.sentence.startswith(
        "a cancel was already requested 5m ago (requested by dana@h: deploy broke); "
    )
    assert await cancel_reasons(processes, "ext") == ["requested by dana@h: deploy broke"]


async def test_cancel_of_a_cancelled_row_is_unchanged_and_of_a_completed_row_refused(
    processes: Processes, registry: ProcessRegistry
) -> None:
    await processes.start(external("gone"))
    await processes.actions.cancel("gone")
    from lashtui.model import CancelledOutput

    await registry.complete_process("gone", CancelledOutput(message="by its owner"))
    assert (await processes.actions.cancel("gone")).outcome == "unchanged"
    assert (await processes.actions.cancel("gone")).sentence == "already cancelled"
    await processes.start(external("done"))
    await registry.complete_process("done", SuccessOutput(value=1))
    refused = await processes.actions.cancel("done")
    assert (refused.outcome, refused.sentence) == ("refused", "process `done` is already terminal")


async def test_a_second_abandon_request_is_unchanged_and_keeps_the_first(
    processes: Processes, clock: ManualClock
) -> None:
    await processes.start(external("ext"))
    first = await processes.actions.request_abandon("ext", "dana@h", "host retired")
    assert first.outcome == "requested"
    assert first.sentence.startswith("abandon requested by dana@h; will abandon")
    clock.advance(5 * 60_000)
    second = await processes.actions.request_abandon("ext", "eve@h", "another reason")
    assert second.outcome == "unchanged"
    assert second.sentence.startswith("already requested by dana@h 5m ago (host retired); ")
    assert second.process is not None and second.process.abandon_request is not None
    assert second.process.abandon_request.reason == "host retired"


async def test_abandon_of_a_terminal_row_is_refused_with_lash_words(
    processes: Processes, registry: ProcessRegistry
) -> None:
    await processes.start(external("done"))
    await registry.complete_process("done", SuccessOutput(value=1))
    refused = await processes.actions.request_abandon("done", "dana@h")
    assert refused.outcome == "refused"
    assert refused.sentence == "terminal process `done` cannot accept an abandon request"


async def test_signal_resend_is_unchanged_and_unknown_is_refused(processes: Processes) -> None:
    await processes.start(steps("w", [{"wait_signal": "go"}], "go"))
    sent = await processes.actions.signal("w", "go", "id-1", "x")
    assert sent.outcome == "done" and sent.event is not None
    assert sent.sentence.startswith("signal.go stored as event ")
    again = await processes.actions.signal("w", "go", "id-1", "x")
    assert again.outcome == "unchanged" and again.event == sent.event
    assert len(await processes.events("w")) == 1
    unknown = await processes.actions.signal("nope", "go", "id-1", "x")
    assert (unknown.outcome, unknown.sentence) == ("refused", "unknown process `nope`")


async def test_transfer_reports_each_id_and_an_already_moved_grant_is_unchanged(
    processes: Processes,
) -> None:
    await processes.start(external("a", grant=V))
    await processes.start(external("b", grant=VF))
    outcomes = await processes.actions.transfer(V, VF, ["a", "b"])
    assert [(o.process_id, o.outcome) for o in outcomes] == [("a", "done"), ("b", "unchanged")]
    assert outcomes[0].sentence == "grant moved from session:v to session:v/frame:f"
    assert outcomes[1].sentence == "the grant is already in session:v/frame:f"


async def test_prune_says_when_it_pruned_nothing_and_refuses_a_cutoff_out_of_range(
    processes: Processes, clock: ManualClock
) -> None:
    nothing = await processes.actions.prune(clock.now_ms())
    assert (nothing.outcome, nothing.pruned_processes) == ("unchanged", 0)
    for cutoff in (-1, 2**70):
        with pytest.raises(InvalidRequest, match=re.escape(f"got `{cutoff}`")):
            await processes.actions.prune(cutoff)


# --- item 7: who did it ---------------------------------------------------------------------


async def test_cancel_records_the_operator_and_defaults_to_lash_words(
    processes: Processes,
) -> None:
    await processes.start(external("a"))
    await processes.start(external("b"))
    await processes.actions.cancel("a")
    await processes.actions.cancel("b", "why not", operator="dana@host-a")
    assert await cancel_reasons(processes, "a") == ["requested by host"]
    assert await cancel_reasons(processes, "b") == ["requested by dana@host-a: why not"]


@pytest.mark.parametrize("bad", ["", "dana smith", "x\x1b[2J", "[b]x", "a" * 129])
async def test_a_bad_operator_name_is_refused_in_one_sentence_and_writes_nothing(
    processes: Processes, bad: str
) -> None:
    await processes.start(external("p"))
    if bad == "[b]x":  # markup is printable: shown literally, so it is a fine name
        assert (await processes.actions.cancel("p", operator=bad)).outcome == "requested"
        return
    actions = processes.actions
    for act in (actions.cancel("p", operator=bad), actions.request_abandon("p", bad)):
        with pytest.raises(InvalidRequest) as refused:
            await act
        assert len(str(refused.value).splitlines()) == 1
        assert "printable characters" in str(refused.value)
    assert await processes.events("p") == []
    assert (await processes.get("p")).abandon_request is None  # type: ignore[union-attr]


def test_operator_resolution_order_and_a_container_without_a_user(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = {"LASHTUI_OPERATOR": "ops-bot"}
    assert resolve_operator("dana", environ=env) == "dana"
    assert resolve_operator(None, environ=env) == "ops-bot"
    with pytest.raises(InvalidRequest, match=re.escape("$LASHTUI_OPERATOR must be")):
        resolve_operator(None, environ={"LASHTUI_OPERATOR": "two words"})
    with pytest.raises(InvalidRequest, match=re.escape("--as must be")):
        resolve_operator("two words", environ={})

    def no_user() -> str:
        raise KeyError("getpwuid(): uid not found: 4242")

    monkeypatch.setattr(getpass, "getuser", no_user)
    fallback = resolve_operator(None, environ={})
    assert re.fullmatch(r"uid\d+@\S+", fallback), fallback
    assert default_operator({"USER": "ada"}).startswith("ada@")


# --- item 3: scopes cannot collide ----------------------------------------------------------


async def test_a_colliding_session_cannot_see_or_cancel_the_frames_processes(
    processes: Processes,
) -> None:
    await processes.start(external("secret", grant=VF))
    with pytest.raises(InvalidRequest, match=re.escape("session id `v/frame:f` contains `/`")):
        processes.for_session(COLLIDING)
    with pytest.raises(InvalidRequest, match=re.escape("session id `v/frame:f`")):
        await processes.list_granted_to(COLLIDING)
    with pytest.raises(InvalidRequest, match=re.escape("session id `v/frame:f`")):
        await processes.list_originated_by(COLLIDING)
    assert await processes.events("secret") == []


async def test_grants_originators_and_transfers_to_a_colliding_scope_are_refused(
    processes: Processes,
) -> None:
    grant = ProcessStartGrant(session_scope=COLLIDING, descriptor=ProcessHandleDescriptor())
    for request in (
        ProcessStartRequest.external("g", None, grant=grant),
        ProcessStartRequest.external("o", None, originator=SessionOriginator(scope=COLLIDING)),
        ProcessStartRequest.external("w", None, wake_target=COLLIDING),
    ):
        with pytest.raises(InvalidRequest, match=re.escape("session id `v/frame:f`")):
            await processes.start(request)
        assert await processes.get(request.id) is None
    await processes.start(external("p", grant=V))
    with pytest.raises(InvalidRequest, match=re.escape("session id `v/frame:f`")):
        await processes.actions.transfer(V, COLLIDING, ["p"])
    assert [o.process_id for o in await processes.list_granted_to(V)] == ["p"]


# --- item 9: a steps payload that is not a plan is refused at start --------------------------


@pytest.mark.parametrize(
    ("payload", "needle"),
    [
        ({"step": []}, 'a steps plan is {"steps": [...]}'),
        ({"steps": "go"}, "is a list of steps"),
        ({"steps": [{"dance": 1}]}, "step 1 has `dance`"),
        ({"steps": [{"finish": 1, "fail": {}}]}, "step 1 has finish and fail"),
        ({"steps": [{"sleep_ms": -5}]}, "step 1: sleep_ms is a number of milliseconds >= 0"),
        ({"steps": [{"wait_signal": "a.b"}]}, "got `a.b`"),
        ({"steps": [{"loop": 2, "steps": [{"emit": "x"}]}]}, "step 1.1: emit is"),
        ({"steps": [{"loop": -1, "steps": []}]}, "loop is a whole number of rounds"),
    ],
)
async def test_a_steps_payload_that_is_not_a_plan_is_refused_at_start(
    processes: Processes, payload: object, needle: str
) -> None:
    request = ProcessStartRequest(
        id="bad",
        input=Engine(kind="steps", payload=payload),  # type: ignore[arg-type]
        disposition=RecoveryDisposition.RERUNNABLE,
    )
    with pytest.raises(InvalidRequest) as refused:
        await processes.start(request)
    assert needle in str(refused.value) and len(str(refused.value).splitlines()) == 1
    with pytest.raises(UnknownProcess):
        await processes.events("bad")


async def test_deeply_nested_loops_are_refused_not_recursed(processes: Processes) -> None:
    plan: JsonValue = {"finish": 1}
    for _ in range(40):
        plan = {"loop": 1, "steps": [plan]}
    # Each loop is two JSON levels, so through the facade the payload's depth limit (64)
    # refuses it first; the plan parser's own guard still holds for a stored plan.
    with pytest.raises(InvalidRequest, match="may nest at most 64 levels"):
        await processes.start(steps("deep", [plan]))
    with pytest.raises(InvalidRequest, match="loops nest at most 32 deep"):
        parse_plan({"steps": [plan]})
    assert await processes.get("deep") is None


async def test_the_cancel_request_a_worker_acts_on_names_who_asked(processes: Processes) -> None:
    await processes.start(external("p"))
    assert await processes.cancel_request("p") is None
    await processes.actions.cancel("p", "stale", operator="dana@h")
    await processes.actions.cancel("p", operator="eve@h")  # unchanged: the first request stands
    request = await processes.cancel_request("p")
    assert request is not None and request.payload == {"reason": "requested by dana@h: stale"}


async def test_a_signal_says_what_receives_it_by_who_runs_the_waiting_row(
    processes: Processes, registry: ProcessRegistry, clock: ManualClock
) -> None:
    """A signal to a row parked on a wait for it said "the wait on it resumes", whoever ran
    the row: of a started owner_bound row whose owner's lease had lapsed nothing resumes
    (no worker may run it). The sentence now goes by the lease; a cancel's says the sweep
    ends such a row only once it proves the owner dead (it said "or the sweep ends it")."""
    ready = [ProcessEventType.plain("signal.ready")]
    for pid, registration in (("held", ob), ("lapsed", ob), ("rerun", rr)):
        await registry.register_process(registration(pid, event_types=ready))
        await park(registry, pid, clock.now_ms())
    lease = await claim(registry, "lapsed", "w-dead")
    await registry.record_first_started("lapsed", started("w-dead"), lease)
    clock.advance(LEASE_TTL_MS + 1)  # its lease lapses
    lease = await claim(registry, "held", "w-live")
    await registry.record_first_started("held", started("w-live"), lease)

    said = {
        pid: (await processes.actions.signal(pid, "ready", f"{pid}-1", None)).sentence
        for pid in ("held", "lapsed", "rerun")
    }
    assert said["held"].endswith("; the run waiting on it resumes (w-live holds it)")
    assert said["lapsed"].endswith(
        "; no worker is running it (its owner's lease has lapsed): its wait resumes only if "
        "its owner is alive; else request an abandon"
    )
    assert said["rerun"].endswith(
        "; no worker is running it now: the next one to claim it runs it to its wait, which "
        "receives it"
    )
    cancel = await processes.actions.cancel("lapsed", operator="dana")
    assert cancel.outcome == "requested" and cancel.sentence.endswith(
        "only its owner (if alive) ends it, or the sweep once it proves the owner dead; or "
        "request an abandon"
    )


async def test_a_released_lease_is_not_said_to_have_lapsed(
    processes: Processes, registry: ProcessRegistry, clock: ManualClock
) -> None:
    """An orderly stop that does not drain releases a started owner_bound row's lease long
    before it would lapse: what the signal, cancel and abandon sentences say of it is that
    its owner holds no lease (they said its lease "has lapsed", an expiry that never came)."""
    ready = [ProcessEventType.plain("signal.ready")]
    await registry.register_process(ob("let-go", event_types=ready))
    await park(registry, "let-go", clock.now_ms())
    lease = await claim(registry, "let-go", "w-stopped")
    await registry.record_first_started("let-go", started("w-stopped"), lease)
    await registry.release_process_lease(lease)

    signalled = (await processes.actions.signal("let-go", "ready", "r-1", None)).sentence
    assert signalled.endswith(
        "; no worker is running it (its owner holds no lease): its wait resumes only if "
        "its owner is alive; else request an abandon"
    )
    cancel = await processes.actions.cancel("let-go", operator="dana")
    assert "its owner holds no lease, so no worker is running it" in cancel.sentence
    requested = await processes.request_abandon("let-go", "operator")
    outlook = abandon_outlook(requested, clock.now_ms())
    assert outlook == "will abandon at the next sweep: the owner holds no lease"
    assert "lapse" not in signalled + cancel.sentence + outlook


async def test_a_signal_the_process_does_not_declare_is_refused_naming_those_it_does(
    processes: Processes, registry: ProcessRegistry
) -> None:
    """The registry refuses it in lash's words, "process `w` emitted undeclared event type
    `signal.nosuch`", which blamed the process for what the operator sent (the facade's
    own `signal` keeps them: api.md)."""
    await processes.start(steps("w", [{"wait_signal": "go"}], "go"))
    refused = await processes.actions.signal("w", "nosuch", "id-1", None)
    assert (refused.outcome, refused.sentence) == (
        "refused",
        "process `w` declares no signal `nosuch`, so nothing was sent (its signals are go)",
    )
    assert await processes.events("w") == []


async def test_a_signal_to_a_process_that_declares_none_says_so_once(
    processes: Processes,
) -> None:
    """"declares no signal `go`, so nothing was sent (it declares no signal)" said the same
    thing twice and left out that no other name would do either."""
    await processes.start(external("x"))
    refused = await processes.actions.signal("x", "go", "id-1", None)
    assert (refused.outcome, refused.sentence) == (
        "refused",
        "process `x` declares no signal `go`, so nothing was sent (it declares none)",
    )
