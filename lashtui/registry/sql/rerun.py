"""Run a terminal process again: one transaction that starts its copy under a new id and
records which process it re-runs (lashtui's extension; issue 17 item 4).

lash's shapes have no field for "this row re-runs that one", so the link is an event: the
copy declares one more event type, `lashtui.rerun_of`, and its log holds one such event,
`{"rerun_of": <old id>, "by": <operator>}`, under a replay key of its own. The old row is
never written: it is terminal, and although semantics §4.4 accepts non-terminal events on
terminal rows, only types the row declares, and the old row does not declare ours. Its
"re-run as" side is found by reading: the copy's id is `<old>~rerun-<n>`, so the copies of
a row are a range of the primary key (see `lashtui.admin.rerun`).

Everything happens in one write transaction, which both stores serialise: the copy's row,
its grants (copied as stored, descriptor and all), and the link event. Two operators who
pick the same new id cannot both create it: the second finds the row there and is told so.
"""

from __future__ import annotations

from lashtui.errors import ProcessConflict, UnknownProcess
from lashtui.model import ProcessEventAppendRequest, ProcessEventType, ProcessRecord, limit
from lashtui.model.input import needs_execution_env
from lashtui.model.rerun import RERUN_OF, RERUN_OF_TYPE, rerun_replay_key
from lashtui.registry.sql.dialect import Tx
from lashtui.registry.sql.event import append_to
from lashtui.registry.sql.process import register
from lashtui.registry.sql.row import require_record


def rerun(conn: Tx, process_id: str, new_id: str, operator: str, now: int) -> ProcessRecord:
    """Start `new_id` as a copy of terminal `process_id` (same input, disposition, identity,
    provenance, wake target, env and grants; its event types plus `lashtui.rerun_of`), and
    append the link event. Refused, with nothing written: an unknown or undecodable row, a
    row that is not terminal, a new id that exists, an env no longer stored."""
    limit.check_text("a process id", new_id, limit.MAX_ID_CHARS)
    limit.check_text("an operator", operator, limit.MAX_NAME_CHARS)
    old = require_record(conn, process_id)  # refuses an undecodable row in one sentence
    if not old.is_terminal():
        raise ProcessConflict(
            f"process `{process_id}` is {old.status.state.value}: only a terminal process "
            "can be run again"
        )
    if conn.execute("SELECT 1 FROM processes WHERE process_id = ?", (new_id,)).fetchone():
        raise ProcessConflict(f"process `{new_id}` already exists")
    if needs_execution_env(old.input) and old.env_ref is not None:
        # The table itself, not the connection's cache of envs (process.get_env): the copy
        # must name an env that any worker, in any OS process, can read.
        stored = conn.execute(
            "SELECT 1 FROM process_execution_envs WHERE env_ref = ?", (old.env_ref,)
        ).fetchone()
        if stored is None:
            raise UnknownProcess(
                f"process `{process_id}` cannot be run again: its execution env "
                f"`{old.env_ref}` is no longer in the registry"
            )
    registration = old.registration().model_copy(
        update={"id": new_id, "event_types": _with_rerun_type(old)}
    )
    record = register(conn, registration, now)
    conn.execute(
        "INSERT INTO process_handle_grants (session_id, scope_id, process_id, descriptor_json) "
        "SELECT session_id, scope_id, ?, descriptor_json FROM process_handle_grants "
        "WHERE process_id = ?",
        (new_id, process_id),
    )
    link = ProcessEventAppendRequest.new(
        RERUN_OF, {"rerun_of": process_id, "by": operator}, rerun_replay_key(new_id)
    )
    _, record = append_to(conn, record, link, now)
    return record


def _with_rerun_type(old: ProcessRecord) -> list[ProcessEventType]:
    if old.event_type(RERUN_OF) is not None:  # a re-run of a re-run declares it already
        return list(old.event_types)
    return [*old.event_types, RERUN_OF_TYPE]
