"""The outcome an operator's act makes for one target (`outcome`), and the refusals every act
on a row shares: an id with no row (`refused_unknown`) and a row whose state is only a
stand-in's placeholder (`not_acted_on`).

The acts (admin/action.py, signal.py, transfer.py, rerun.py) build every
`ProcessActionOutcome` here, so each reports the target's row as observed after it acted,
in one shape.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lashtui.errors import UndecodableProcess, UnknownProcess
from lashtui.model import ObservedProcess, ProcessRecord
from lashtui.model.outcome import Outcome, ProcessAction, ProcessActionOutcome
from lashtui.registry.sql.blob_id import is_blob_row, refuse_blob

if TYPE_CHECKING:
    from lashtui.admin.processes import Processes


async def outcome(
    processes: Processes,
    process_id: str,
    action: ProcessAction,
    kind: Outcome,
    sentence: str,
    observed: ObservedProcess | bool | None = True,
    **extra: Any,
) -> ProcessActionOutcome:
    """The outcome, with the row as observed now (`observed=True`: read it here), or as
    the caller just observed it, or None when the caller knows there is no row."""
    if observed is True:
        observed = await processes.get(process_id)
    return ProcessActionOutcome(
        process_id=process_id,
        action=action,
        outcome=kind,
        sentence=sentence,
        process=observed or None,
        **extra,
    )


def not_acted_on(record: ProcessRecord, process_id: str) -> str | None:
    """Why no cancel, signal or abandon request can apply to this row, whatever state its
    stand-in shows, or None: the state of a row whose id is not text (blob_id.py) or whose
    status column holds no state is a placeholder, so "already terminal" (or "already
    cancelled") would be made up. A blob's or a NULL's row: the registry's one sentence
    (nothing here can name it). A text id's row in no state raises the refusal every write
    gives it (`UndecodableProcess`: `end-undecodable` ends it), as it did when its record
    said it was live."""
    if is_blob_row(record.undecodable):
        return refuse_blob(process_id)
    if record.no_state:
        raise UndecodableProcess.refusing(process_id, record.undecodable or "no state")
    return None


async def refused_unknown(
    processes: Processes, process_id: str, action: ProcessAction
) -> ProcessActionOutcome:
    """The refusal of an act on an id with no row (never stored, pruned, or gone since)."""
    sentence = str(UnknownProcess.process(process_id))
    return await outcome(processes, process_id, action, "refused", sentence)
