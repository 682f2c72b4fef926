"""Transferring grants: moving each process's handle grant from one session scope to another,
all or none, as lash's SQLite store does (scenario 79).

Every id's verdict is read before anything moves (`transfer_verdict`), so one refused id
leaves every grant where it was, and each of the others says why it did not move.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lashtui.admin.target_outcome import outcome
from lashtui.errors import InvalidRequest, ProcessConflict, UnknownProcess
from lashtui.model import SessionScope
from lashtui.model.outcome import Outcome, ProcessActionOutcome
from lashtui.registry import ProcessRegistry

if TYPE_CHECKING:
    from lashtui.admin.processes import Processes


async def transfer(
    processes: Processes,
    from_scope: SessionScope,
    to_scope: SessionScope,
    process_ids: list[str],
) -> list[ProcessActionOutcome]:
    """Move each process's grant from `from_scope` to `to_scope` (descriptor kept), all
    or none, as lash's SQLite store does (scenario 79): if any id is refused, none
    moves, and each of the others says so. An id whose grant is already in `to_scope`
    (and not in `from_scope`) is unchanged and does not stop the rest. Neither scope
    may be one whose id names another scope."""
    from_scope, to_scope = from_scope.checked(), to_scope.checked()
    registry = processes.registry
    verdicts = {
        pid: await transfer_verdict(registry, from_scope, to_scope, pid) for pid in process_ids
    }
    refused = [pid for pid, (kind, _) in verdicts.items() if kind == "refused"]
    moving = [pid for pid, (kind, _) in verdicts.items() if kind == "done"]
    if refused:
        held = (
            f"not moved: a transfer moves all its grants or none, and `{refused[0]}` "
            "was refused"
        )
        verdicts.update({pid: ("unchanged", held) for pid in moving})
    elif moving:
        try:
            await registry.transfer_handle_grants(from_scope, to_scope, moving)
        except (UnknownProcess, ProcessConflict, InvalidRequest) as error:
            verdicts.update({pid: ("refused", str(error)) for pid in moving})
    return [
        await outcome(processes, pid, "transfer", kind, sentence)
        for pid, (kind, sentence) in verdicts.items()
    ]


async def transfer_verdict(
    registry: ProcessRegistry, from_scope: SessionScope, to_scope: SessionScope, process_id: str
) -> tuple[Outcome, str]:
    """What moving this one grant would do, read before anything is moved."""
    if await registry.get_process(process_id) is None:
        return "refused", str(UnknownProcess.process(process_id))
    granted = await registry.has_handle_grant(from_scope, process_id)
    if from_scope.id() != to_scope.id() and granted:
        return "done", f"grant moved from {from_scope.id()} to {to_scope.id()}"
    if await registry.has_handle_grant(to_scope, process_id):
        return "unchanged", f"the grant is already in {to_scope.id()}"
    return "refused", (
        f"process handle `{process_id}` is not granted to session `{from_scope.session_id}`"
    )
