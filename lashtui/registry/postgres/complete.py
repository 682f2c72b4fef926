"""A leased completion on PostgreSQL as one call to a server-side function (issue 20 item 3:
"a transaction is one round trip where it can be").

The completion is built before its transaction, as the SQLite store builds one
(sql/prepared.py `prepare_completion`: the terminal event's JSON, its hash and replay
key, the record made terminal), from the record the handle's connections last committed or
read (connection.py `SharedCache`) and the last event sequence they appended to the row.
Inside the transaction one statement runs `lashtui_complete` (schema.py `COMPLETE_DDL`):
it locks the row, checks that what the completion was built from still holds, then makes
the fenced release, the event's insert and the record's save with the shared path's
statements and values. Where the shared path (event.py `complete_with_lease`) sends six
statements in two round trips before COMMIT, this sends one in one.

When the preparation no longer holds (another handle changed the row, the cache does not
hold it, an identical replay is stored) the function writes nothing and the transaction
runs the shared path instead, unchanged; when the lease is not current it writes nothing
and the completion is a lost lease, as on the shared path (an identical replay, the one
case that skips the fence there, is never prepared here: it fails the replay check).
"""

from __future__ import annotations

from lashtui.errors import LeaseLost
from lashtui.model import ProcessAwaitOutput, ProcessLease, ProcessRecord
from lashtui.registry.postgres.schema import COMPLETE_FUNCTION
from lashtui.registry.sql import event
from lashtui.registry.sql.dialect import Tx
from lashtui.registry.sql.prepared import PreparedCompletion
from lashtui.registry.sql.row import RecordCache

WRITTEN, LOST, STALE = 0, 1, 2

_CALL = f"SELECT {COMPLETE_FUNCTION}({', '.join('?' * 16)})"


def complete_in_server(
    conn: Tx,
    lease: ProcessLease,
    prepared: PreparedCompletion,
    output: ProcessAwaitOutput,
    now: int,
) -> ProcessRecord:
    """`event.complete_with_lease` in one statement while `prepared` holds (see the module
    docstring). The lease comes first: a group commit sorts its writes by it."""
    pid = lease.process_id
    record = prepared.edit.record
    text = record.model_dump_json()  # what the shared path's save writes (row.py)
    offset = conn.take_seq_offset()  # type: ignore[attr-defined]
    outcome = conn.execute(
        _CALL,
        (
            pid,
            prepared.held,
            prepared.sequence,
            prepared.key,
            lease.lease_token,
            lease.owner.owner_id,
            lease.owner.incarnation_id,
            lease.fencing_token,
            now,
            prepared.event_type,
            prepared.payload_hash,
            prepared.event_json,
            record.updated_at_ms,
            record.status.state.value,
            text,
            offset,
        ),
    ).fetchone()[0]
    if outcome == LOST:
        raise LeaseLost.for_process(pid)
    if outcome != WRITTEN:
        return event.complete_with_lease(conn, lease, output, now)
    if isinstance(conn, RecordCache):
        conn.note_sequence(pid, prepared.sequence)
        conn.staged[pid] = (text, record)
    return record
