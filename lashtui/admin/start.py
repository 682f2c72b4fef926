"""What `Processes.start` checks and completes before anything is written (api.md §6).

Beyond the models' own checks: no scope whose id would name another scope, no `steps`
payload that is not a plan, and a steps row that declares the event types its plan emits
and waits on, as the command line's `start` and the demo declare them, so that a start from
Python runs the same plan to the same end.
"""

from __future__ import annotations

from pydantic import JsonValue

from lashtui.errors import InvalidRequest
from lashtui.model import (
    Engine,
    ProcessStartRequest,
    SessionOriginator,
    default_process_event_types,
    limit,
)
from lashtui.worker.steps import declared_event_types, parse_plan


def check_start_request(request: ProcessStartRequest) -> ProcessStartRequest:
    """What `start` refuses before anything is written, beyond the model's own checks: a
    scope whose id would name another scope (originator, wake target, grant), and a `steps`
    payload that is not a plan (the steps engine's own parser says what is wrong). Returns
    the request to start: a steps request with the event types its plan needs
    (`with_plan_event_types`)."""
    originator = request.originator
    if isinstance(originator, SessionOriginator):
        originator.scope.checked()
    if request.wake_target is not None:
        request.wake_target.checked()
    if request.grant is not None:
        request.grant.session_scope.checked()
    if isinstance(request.input, Engine) and request.input.kind == "steps":
        # The limits first: a plan nested past them is refused for its depth, not read.
        limit.check_depth("an engine payload", request.input.payload)
        parse_plan(request.input.payload)
        return with_plan_event_types(request, request.input.payload)
    return request


_CORE_NAMES = frozenset(t.name for t in default_process_event_types())


def with_plan_event_types(request: ProcessStartRequest, plan: JsonValue) -> ProcessStartRequest:
    """A steps plan emits and waits on event types, which a row must declare or its run
    fails at that step (« emitted undeclared event type »). A request that declares none of
    its own gets the ones the plan needs, any payload, as `lashtui start` and the demo give
    them: in the same order, so the same start from Python and from the command line has
    the same registration hash. A request that declares its own has chosen its types (a
    signal's payload schema): one the plan needs and it lacks is refused here, naming it,
    rather than found by the run."""
    needed = declared_event_types(plan)
    declared = {t.name for t in request.event_types}
    if not declared - _CORE_NAMES:
        if not needed:
            return request
        names = {t.name for t in needed}
        rest = [t for t in request.event_types if t.name not in names]
        return request.model_copy(update={"event_types": [*needed, *rest]})
    for event_type in needed:
        if event_type.name not in declared:
            raise InvalidRequest(
                f"process `{request.id}` declares event types, but not `{event_type.name}`, "
                "which its steps plan uses; declare it too, or declare none and start "
                "declares every type the plan uses"
            )
    return request
