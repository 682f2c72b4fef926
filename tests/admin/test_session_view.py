"""A session's view of processes: only what its grants reach, with visibility checked
before acting (semantics §10, §11.2, §13; scenarios 86, 99, 103)."""

from __future__ import annotations

import re

import pytest

from lashtui.admin import Processes
from lashtui.errors import ProcessConflict
from lashtui.model import (
    ProcessEventType,
    ProcessHandleDescriptor,
    ProcessStartGrant,
    ProcessStartRequest,
    SessionScope,
    SuccessOutput,
)

ROOT = SessionScope(session_id="root")
FRAME = SessionScope(session_id="root", agent_frame_id="f")
OTHER = SessionScope(session_id="other")
NOT_VISIBLE = "process handle `{}` is not live or visible in this session"


def external(pid: str, *grants: SessionScope) -> ProcessStartRequest:
    fields: dict[str, object] = {"event_types": [ProcessEventType.plain("signal.go")]}
    if grants:
        descriptor = ProcessHandleDescriptor(label=pid)
        fields["grant"] = ProcessStartGrant(session_scope=grants[0], descriptor=descriptor)
    return ProcessStartRequest.external(pid, {"label": pid}, **fields)


async def grant(processes: Processes, scope: SessionScope, pid: str) -> None:
    await processes.registry.grant_handle(scope, pid, ProcessHandleDescriptor(label=pid))


async def test_the_view_covers_root_and_frame_grants(processes: Processes) -> None:
    await processes.start(external("in-root", ROOT))
    await processes.start(external("in-frame", FRAME))
    await processes.start(external("elsewhere", OTHER))
    await processes.start(external("done", ROOT))
    await processes.registry.complete_process("done", SuccessOutput(value=1))
    view = processes.for_session(FRAME)
    assert [p.process_id for p in await view.list_all()] == ["done", "in-frame", "in-root"]
    assert [p.process_id for p in await view.list()] == ["in-frame", "in-root"]
    assert await view.get("elsewhere") is None
    only_root = processes.for_session(ROOT)
    assert [p.process_id for p in await only_root.list()] == ["in-root"]


async def test_cancel_without_a_grant_is_refused_and_appends_nothing(
    processes: Processes,
) -> None:  # 103
    await processes.start(external("p", OTHER))
    with pytest.raises(ProcessConflict, match=re.escape(NOT_VISIBLE.format("p"))):
        await processes.for_session(ROOT).cancel("p")
    assert await processes.events("p") == []
    summary = await processes.for_session(OTHER).cancel("p")
    assert summary.status.value == "running"


async def test_signal_needs_a_live_grant(processes: Processes) -> None:  # 99
    await processes.start(external("p", ROOT))
    await processes.start(external("hidden", OTHER))
    view = processes.for_session(ROOT)
    with pytest.raises(ProcessConflict, match=re.escape(NOT_VISIBLE.format("hidden"))):
        await view.signal("hidden", "go", "1", None)
    await view.signal("p", "go", "1", None)
    await processes.registry.complete_process("p", SuccessOutput(value=1))
    with pytest.raises(ProcessConflict, match=re.escape(NOT_VISIBLE.format("p"))):
        await view.signal("p", "go", "2", None)


async def test_session_abandon_requests_name_the_session(processes: Processes) -> None:
    await processes.start(external("p", ROOT))
    observed = await processes.for_session(FRAME).request_abandon("p", "closing")
    assert observed.abandon_request is not None
    assert observed.abandon_request.requested_by == "session:root"


async def test_cancel_unreferenced(processes: Processes) -> None:  # 86
    for pid in ("keep", "sole", "shared"):
        await processes.start(external(pid, ROOT))
    await grant(processes, OTHER, "shared")
    cancelled = await processes.for_session(ROOT).cancel_unreferenced(["keep"])
    assert cancelled == ["sole"]
    registry = processes.registry
    assert [g.process_id for g, _ in await registry.list_handle_grants(ROOT)] == ["keep"]
    assert await registry.handle_grants_for_process("sole") == []
    assert [g.session_id for g in await registry.handle_grants_for_process("shared")] == ["other"]
    for pid, expected in (("sole", ["process.cancel_requested"]), ("shared", []), ("keep", [])):
        assert [e.event_type for e in await processes.events(pid)] == expected
    sole = await processes.events("sole")
    assert sole[0].payload == {"reason": "requested by host"}
