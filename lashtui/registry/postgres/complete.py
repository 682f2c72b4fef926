"""A leased completion on PostgreSQL as one call to a server-side function (issue 20 item 3:
"a transaction is one round trip where it can be").

The completion is built before its transaction, as the SQLite store builds one
(sql/prepared.py `prepare_completion`: the terminal event's JSON, its hash and replay
key, the record made terminal), from the record the handle's connections last committed or
read (tx.py `SharedCache`) and the last event sequence they appended to the row.
Inside the transaction one statement runs `lashtui_complete` (schema.py `COMPLETE_DDL`):
it locks the row, checks that what the completion was built from still holds, then makes
the fenced release, the event's insert and the record's save with the shared path's
statements and values. Where the shared path (event.py `complete_with_lease`) sends six
statements in two round trips before COMMIT, this sends one, with the BEGIN and the COMMIT:
the transaction is one round trip.

When the preparation no longer holds (another handle changed the row, the cache does not
hold it, an identical replay is stored) the function writes nothing and the shared path
runs instead, unchanged, in a transaction of its own; when the lease is not current it
writes nothing and the completion is a lost lease, as on the shared path (an identical
replay, the one case that skips the fence there, is never prepared here: it fails the
replay check). The function's answer is read once the transaction has committed
(`CompletionOutcome`), so a completion is one round trip.
"""

from __future__ import annotations

import functools

from lashtui.errors import LeaseLost
from lashtui.model import ProcessAwaitOutput, ProcessLease, ProcessRecord
from lashtui.registry.postgres.schema import COMPLETE_FUNCTION
from lashtui.registry.sql.dialect import Cursor, Tx
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
) -> CompletionOutcome:
    """`event.complete_with_lease` in one statement while `prepared` holds (see the module
    docstring), whose outcome is read once the transaction has committed
    (`CompletionOutcome`). The lease comes first: a group commit sorts its writes by it."""
    pid = lease.process_id
    record = prepared.edit.record
    text = record.model_dump_json()  # what the shared path's save writes (row.py)
    offset = conn.take_seq_offset()  # type: ignore[attr-defined]
    cursor = conn.execute(
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
    )
    outcome = CompletionOutcome(pid, prepared, text, cursor)
    conn.after_commit(functools.partial(outcome.read, conn))  # type: ignore[attr-defined]
    return outcome


class CompletionOutcome:
    """What the function answered, read after COMMIT: when it wrote nothing (a lease not
    current, a preparation that no longer holds) nothing else the transaction wrote
    depends on it, so the completion needs no round trip of its own before COMMIT and is
    one round trip. A lost lease is then raised to its caller alone (the shared path raised
    it inside the transaction, rolling back a group it shared, whose writes then ran
    again one by one), and a stale preparation runs the shared path in a transaction of
    its own (`stale`: the store's caller does), where it ran in the same one: the first
    wrote nothing, so that is the shared path run once, as before."""

    def __init__(
        self, process_id: str, prepared: PreparedCompletion, text: str, cursor: Cursor
    ) -> None:
        self._process_id = process_id
        self._prepared = prepared
        self._text = text
        self._cursor: Cursor | None = cursor
        self._code: int | None = None

    def read(self, conn: Tx) -> None:
        """After COMMIT, on the transaction's thread, before its saves enter the cache."""
        assert self._cursor is not None
        self._code = int(self._cursor.fetchone()[0])
        self._cursor = None
        if self._code == WRITTEN and isinstance(conn, RecordCache):
            conn.note_sequence(self._process_id, self._prepared.sequence)
            conn.staged[self._process_id] = (self._text, self._prepared.edit.record)

    @property
    def stale(self) -> bool:
        """Whether nothing was written because the preparation no longer held."""
        return self._code == STALE

    def result(self) -> ProcessRecord:
        """The terminal record (or LeaseLost), once `stale` is False."""
        assert self._code is not None and self._code != STALE, "read once committed"
        if self._code == LOST:
            raise LeaseLost.for_process(self._process_id)
        return self._prepared.edit.record
