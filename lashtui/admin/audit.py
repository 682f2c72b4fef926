"""Recording operator actions in lashtui's audit table, and reading the audit trail
(issue 17 item 8; the sources are described in lashtui.model.audit).

`Processes.actions` records every target an action changed (outcome `done` or
`requested`) right after making it, in a transaction of its own: who (the operator), when
(the facade's clock), what (the action, its target and what it named), and the outcome
with its sentence. A target left `unchanged` or `refused` is not recorded: those outcomes
promise that nothing was written, and the audit trail holds what changed the registry.
It is a second transaction, not part of the action's: an action whose process
is killed between the two is done but not recorded, and a recording that fails says so in
the outcome's sentence rather than hiding that the action itself happened.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import JsonValue

from lashtui.errors import LashError
from lashtui.model.audit import AuditAction, AuditPage, AuditQuery, OperatorAction
from lashtui.model.outcome import Outcome, ProcessActionOutcome

if TYPE_CHECKING:
    from lashtui.admin.processes import Processes

# The outcomes that wrote something, and so are recorded.
CHANGED: tuple[Outcome, ...] = ("done", "requested")


async def record(
    processes: Processes,
    action: AuditAction,
    operator: str,
    outcomes: Sequence[ProcessActionOutcome],
    detail: dict[str, JsonValue] | None = None,
) -> list[ProcessActionOutcome]:
    """Record one row per outcome that changed something; the outcomes, each of those
    told if the recording failed."""
    now = processes.clock.now_ms()
    rows = [
        entry(now, operator, action, o.process_id, o.outcome, o.sentence, _detail(o, detail))
        for o in outcomes
        if o.outcome in CHANGED
    ]
    problem = await write(processes, rows) if rows else None
    if problem is None:
        return list(outcomes)
    return [
        o.model_copy(update={"sentence": f"{o.sentence}; {problem}"}) if o.outcome in CHANGED else o
        for o in outcomes
    ]


def _detail(
    outcome: ProcessActionOutcome, detail: dict[str, JsonValue] | None
) -> dict[str, JsonValue] | None:
    if outcome.started is not None:  # a re-run names what it started
        return {**(detail or {}), "rerun_as": outcome.started.process_id}
    return detail


def entry(
    at_ms: int,
    operator: str,
    action: AuditAction,
    process_id: str | None,
    outcome: Outcome,
    sentence: str,
    detail: dict[str, JsonValue] | None = None,
) -> OperatorAction:
    if detail is not None:  # what the action did not name (no reason given) is left out
        detail = {key: value for key, value in detail.items() if value is not None} or None
    return OperatorAction(
        source="recorded",
        id="",  # the table gives it
        at_ms=at_ms,
        operator=operator,
        action=action,
        process_id=process_id,
        outcome=outcome,
        sentence=sentence,
        detail=detail,
    )


async def write(processes: Processes, rows: list[OperatorAction]) -> str | None:
    """Write the rows; None, or one sentence saying they were not recorded and why."""
    try:
        await processes.registry.record_operator_actions(rows)
    except LashError as error:
        return f"not recorded in the audit trail: {error}"
    return None


async def page(processes: Processes, query: AuditQuery) -> AuditPage:
    return await processes.registry.operator_actions(query)
