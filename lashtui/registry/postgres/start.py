"""A start through a worker's facade on PostgreSQL as one call to a server-side function
(issue 20 item 3: "a transaction is one round trip where it can be"), as the leased
completion is one (complete.py).

The shared path (sql/run.py `start_for_run`) builds the row inside its transaction: the
registration prepared and hashed, the existence read (whose result, read in the
transaction, is a pipeline sync of its own), the record made and encoded, the row's insert,
the lease made and inserted: five statements. Here all of it is built before the
transaction (`prepare_start`, on the loop's thread, from the same calls with the same
values: the store's `now`, the caller's owner and first-started fact), and one statement
runs `lashtui_start` (schema.py `START_DDL`): the same existence read, then for a new id
the row's and the lease's inserts with the shared path's statements and values, or, for a
stored id, nothing written and the stored row's hash and record returned, from which the
shared path's own replay-or-conflict step (sql/process.py `replayed`) decides: the stored
record for an identical replay, `ProcessConflict` with its message for another hash, an
undecodable stored record refused. That answer is read once the transaction has committed
(`StartOutcome`): nothing the transaction writes depends on it, so a start sends its BEGIN,
the call and its COMMIT together and is one round trip, where the shared path's existence
read was a round trip of its own before COMMIT's.

Only the common start is prepared: a row a worker would run (`to_run`), without a grant to
make and with its execution env (every engine or tool row has one, the default at least)
already known to the handle's connections (committed or read: content-addressed, never
changed or removed), so that the shared path would not write it either. Anything else, and
anything that raises while it is built (a limit, a bad ttl), takes the shared path,
unchanged, which then raises inside the transaction as before.
"""

from __future__ import annotations

import functools
from collections.abc import Container
from dataclasses import dataclass

from lashtui.errors import LashError
from lashtui.model import (
    LeaseOwnerIdentity,
    ProcessLease,
    ProcessLeaseClaimOutcome,
    ProcessRecord,
    ProcessRunClaim,
    ProcessStarted,
    ProcessStartRequest,
)
from lashtui.registry.postgres.schema import START_FUNCTION
from lashtui.registry.sql import claim
from lashtui.registry.sql import lease as leases
from lashtui.registry.sql.backlog_mark import plainly_backlog
from lashtui.registry.sql.dialect import POSTGRES, Cursor, Tx
from lashtui.registry.sql.process import checked_env_ref, replayed
from lashtui.registry.sql.row import RecordCache, runnable, sort_label
from lashtui.registry.sql.stored_text import read_text

# The function's answer for a stored id, as every read takes those columns: the hash under
# the ceiling on plain text (sql/stored_text.py), the record NULL past the ceiling on stored
# JSON (`stored_json`), so that a start of an id another program stored with a hash or a
# record of hundreds of MB never brings it to the client.
_CALL = (
    f"SELECT {read_text('stored_hash')}, {POSTGRES.stored_json('stored_record')} "
    f"FROM {START_FUNCTION}({', '.join('?' * 17)})"
)


@dataclass(frozen=True)
class PreparedStart:
    process_id: str  # (a group commit sorts its writes by it: group.py)
    registration_hash: str
    record: ProcessRecord  # the new row's, first-started in it
    text: str  # its stored JSON, as `insert_record` writes it
    lease: ProcessLease  # the new row's lease, the first fence


def prepare_start(
    known_envs: Container[str],
    request: ProcessStartRequest,
    owner: LeaseOwnerIdentity,
    ttl_ms: int,
    started: ProcessStarted,
    now: int,
) -> PreparedStart | None:
    """What `start_for_run` would write for a new row, built before the transaction (see
    the module docstring); None when the start is not the common one or building it
    raises. `owner`'s limits are checked by the caller, as for the shared path."""
    try:
        leases.check_ttl(ttl_ms)
        if request.grant is not None:
            return None
        spec = request.execution_env()
        env_ref = None
        if spec is not None:  # what `process.put_env` checks, then its key
            env_ref = checked_env_ref(spec)
            if env_ref not in known_envs:
                return None  # the shared path stores it
        prepared, registration_hash = request.into_registration(env_ref).prepare()
        if not runnable(prepared.id, prepared.disposition):  # (`to_run` of the new record)
            return None
        record = ProcessRecord.new(prepared, registration_hash, now, started)
        lease = claim.lease_for(record.id, owner, ttl_ms, now, 1, checked=True)
        return PreparedStart(record.id, registration_hash, record, record.stored_json(), lease)
    except Exception:  # the shared path raises it again, inside the transaction as before
        return None


def start_in_server(conn: Tx, prepared: PreparedStart) -> StartOutcome:
    """`run.start_for_run` in one statement (see the module docstring), whose answer is
    read once the transaction has committed (`StartOutcome`)."""
    record, lease = prepared.record, prepared.lease
    offset = conn.take_seq_offset()  # type: ignore[attr-defined]
    cursor = conn.execute(
        _CALL,
        (
            record.id,
            record.registration_hash,
            record.originator_scope_id(),
            record.created_at_ms,
            record.updated_at_ms,
            record.status.state.value,
            prepared.text,
            offset,
            *claim.lease_values(lease),
            sort_label(record),
            plainly_backlog(record.disposition.value, prepared.text),
        ),
    )
    outcome = StartOutcome(prepared, cursor)
    conn.after_commit(functools.partial(outcome.read, conn))  # type: ignore[attr-defined]
    return outcome


class StartOutcome:
    """What `start_in_server` answers, read from the function's row after COMMIT: nothing
    the transaction writes depends on it (for a stored id the function wrote nothing), so
    the start needs no round trip of its own before COMMIT (a read of the row in the
    transaction is a pipeline sync: tx.py), and one start is one round trip.

    The shared path's answers, with one difference where nothing is written: a replay or
    a conflict is decided after the commit, not inside it, so a conflicting start's
    transaction commits (having written nothing for it; its NOTIFY is quiet) where the
    shared path's rolls back, and a group it shares with other writes is not rolled back
    and run again write by write for it."""

    def __init__(self, prepared: PreparedStart, cursor: Cursor) -> None:
        self._prepared = prepared
        self._cursor: Cursor | None = cursor
        self._answer: tuple[ProcessRecord, ProcessRunClaim | None] | None = None
        self._error: LashError | None = None

    def read(self, conn: Tx) -> None:
        """After COMMIT, on the transaction's thread, before its saves enter the cache."""
        assert self._cursor is not None
        stored_hash, stored_json = self._cursor.fetchone()
        self._cursor = None
        prepared = self._prepared
        record = prepared.record
        if stored_hash is not None:  # the id was stored: nothing written, no claim
            try:
                stored = replayed(record.id, prepared.registration_hash, stored_hash, stored_json)
            except LashError as error:  # a conflict, an undecodable row: the caller's own
                self._error = error
                return
            self._answer = (stored, None)
            return
        if isinstance(conn, RecordCache):
            conn.staged[record.id] = (prepared.text, record)
        outcome = ProcessLeaseClaimOutcome.acquired_lease(prepared.lease)
        self._answer = (record, ProcessRunClaim(outcome, record, started=True))

    def result(self) -> tuple[ProcessRecord, ProcessRunClaim | None]:
        """The record and its claim, as `run.start_for_run` returns them (or raises)."""
        if self._error is not None:
            raise self._error
        assert self._answer is not None, "read once committed"
        return self._answer
