"""The append-only event log and the terminals written through it (semantics §4.3-§4.6,
§5.9-§5.11, §5.17-§5.18).

`append_to` is lash's append algorithm, step for step, inside the caller's IMMEDIATE
transaction: replay lookup first (so an identical replay succeeds even on a terminal row, and
repairs a status projection a crash left behind), then the declared-type, replay-key, schema
and selector checks, and only then the insert and the row update. Any failure raises before
the first write, so the transaction rolls back to nothing.

An event read back is event_row.py's (its columns, its stand-in), and the reads of a log
are log_read.py's; `first_after`, `count_through` and `ack_wake` stay here with the
store's other calls into this module.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from lashtui.errors import EventLogFull, InvalidRequest, LeaseLost, ProcessConflict, StoreError
from lashtui.model import (
    CANCEL_REQUESTED,
    ProcessAwaitOutput,
    ProcessEvent,
    ProcessEventAppendRequest,
    ProcessEventAppendResult,
    ProcessEventType,
    ProcessLease,
    ProcessRecord,
    ProcessStatus,
    RecoveryDisposition,
    SystemTime,
)
from lashtui.model.event import event_invocation, event_payload_hash
from lashtui.model.materialization import materialize, wake_delivery
from lashtui.registry.sql.decoded_row import DECODE_ERRORS, undecodable_reason
from lashtui.registry.sql.dialect import Dialect, Tx, dialect
from lashtui.registry.sql.event_json import NO_SEMANTICS, event_json, value_json
from lashtui.registry.sql.event_row import decode_event
from lashtui.registry.sql.fetch import Statement, read_ahead
from lashtui.registry.sql.json_edit import save_changes
from lashtui.registry.sql.lease import release_if_current
from lashtui.registry.sql.log_read import LAST_SEQUENCE, first_of_type, in_log
from lashtui.registry.sql.row import RecordCache, require_exists, require_record
from lashtui.registry.sql.stored_text import read_text


@dataclass(frozen=True)
class Replay:
    """An append's payload hash, and what is already stored under its replay key: looked
    up once per transaction, by whichever step needs it first."""

    payload_hash: str
    # (payload_hash, event_json) under the key, if any (the JSON None past the ceiling)
    stored: tuple[str, str | None] | None

    @classmethod
    def lookup(
        cls, conn: Tx, process_id: str, request: ProcessEventAppendRequest
    ) -> Replay:
        payload_hash = event_payload_hash(request.event_type, request.payload)
        stored = None
        if request.replay_key:
            stored = conn.execute(replay_lookup(conn), (process_id, request.replay_key)).fetchone()
        return cls(payload_hash, stored)

    @property
    def identical(self) -> bool:
        return self.stored is not None and self.stored[0] == self.payload_hash

    def event(self, process_id: str, key: str) -> ProcessEvent | None:
        """The event already stored under `key`, if its payload is the same; a conflict if
        not."""
        if self.stored is None:
            return None
        if not self.identical:
            raise ProcessConflict(
                f"process `{process_id}` event replay key `{key}` conflicts with an existing "
                "event"
            )
        try:
            return decode_event(self.stored[1])
        except DECODE_ERRORS as error:  # another program's event, or one past the ceiling
            raise StoreError(
                f"process `{process_id}` event under replay key `{key}` could not be decoded "
                f"({undecodable_reason(error)})"
            ) from None


def _result(
    record: ProcessRecord, event: ProcessEvent, request: ProcessEventAppendRequest
) -> ProcessEventAppendResult:
    delivery = wake_delivery(
        process_id=record.id,
        sequence=event.sequence,
        event_type=event.event_type,
        wake=event.semantics.wake,
        invocation=event.invocation,
        target=request.wake_target_scope or record.wake_target,
        caused_by=record.provenance.caused_by,
        created_at_ms=event.occurred_at_ms,
    )
    return ProcessEventAppendResult(event=event, wake_delivery=delivery)


def _project_terminal(
    conn: Tx, record: ProcessRecord, output: ProcessAwaitOutput, at_ms: int, key: str | None
) -> ProcessRecord:
    """The record made terminal (its wait cleared), saved."""
    status = ProcessStatus.terminal(output)
    return save_changes(conn, record, at_ms, key, status=status, wait=None)


def append_to(
    conn: Tx,
    record: ProcessRecord,
    request: ProcessEventAppendRequest,
    now: int,
    replay: Replay | None = None,
    row_key: str | None = None,
) -> tuple[ProcessEvent, ProcessRecord]:
    """The event appended (or the identical one already stored under its replay key) and
    the record after it. `row_key` is the row's key when it is not the record's id (an id that
    is not UTF-8: decoded_row.py `stored_id`); the event's JSON names the record's id."""
    pid = record.id
    row_key = row_key or pid
    request.check_limits()  # (its size: `Replay.lookup`'s payload hash)
    replay = replay or Replay.lookup(conn, row_key, request)
    payload_hash = replay.payload_hash
    key = request.replay_key
    if key:
        stored = replay.event(pid, key)
        if stored is not None:
            terminal = stored.semantics.terminal
            if terminal is not None and not record.is_terminal():
                record = _project_terminal(
                    conn, record, terminal.await_output, stored.occurred_at_ms, row_key
                )
            return stored, record

    declared = declared_type(record, request)
    sequence = next_sequence(conn, row_key, pid)
    event, text = _new_event_json(record, request, declared, sequence, now)
    semantics = event.semantics
    if semantics.terminal is not None and record.is_terminal():
        raise ProcessConflict(f"process `{pid}` is already terminal")

    conn.execute(
        INSERT_EVENT,
        (row_key, sequence, request.event_type, payload_hash, key or None, now, text),
    )
    if isinstance(conn, RecordCache):
        conn.note_sequence(row_key, sequence)
    if semantics.terminal is not None:
        record = _project_terminal(conn, record, semantics.terminal.await_output, now, row_key)
    else:
        record = save_changes(conn, record, now, row_key)
    return event, record


def _new_event_json(
    record: ProcessRecord,
    request: ProcessEventAppendRequest,
    declared: ProcessEventType,
    sequence: int,
    now: int,
) -> tuple[ProcessEvent, str]:
    """`new_event` and its JSON. An event whose type declares neither a terminal nor a wake
    (its semantics are `{}` whatever the payload) is built as JSON first and read back
    (event_json.py says why); any other is built as models, then serialised."""
    spec = declared.semantics
    if spec.terminal is not None or spec.wake is not None:
        event = new_event(record, request, declared, sequence, now)
        return event, event.model_dump_json()
    payload = value_json(request.payload)
    text = event_json(
        record.id, sequence, request.event_type, payload, request.replay_key, NO_SEMANTICS, now
    )
    return ProcessEvent.model_validate_json(text), text


def declared_type(record: ProcessRecord, request: ProcessEventAppendRequest) -> ProcessEventType:
    """The record's declaration of the request's event type, once the request is checked
    against it (declared, a replay key where one is required, the payload's schema)."""
    pid = record.id
    declared = record.event_type(request.event_type)
    if declared is None:
        raise InvalidRequest(
            f"process `{pid}` emitted undeclared event type `{request.event_type}`"
        )
    if (declared.is_terminal() or declared.name == CANCEL_REQUESTED) and not request.replay_key:
        raise InvalidRequest(
            f"process `{pid}` event `{declared.name}` requires a deterministic replay key"
        )
    problem = declared.payload_schema.validate_value(request.payload)
    if problem is not None:
        raise InvalidRequest(f"invalid `{declared.name}` payload: {problem}")
    return declared


def new_event(
    record: ProcessRecord,
    request: ProcessEventAppendRequest,
    declared: ProcessEventType,
    sequence: int,
    now: int,
) -> ProcessEvent:
    """The event `request` appends as the record's `sequence`-th, materialised."""
    pid = record.id
    return ProcessEvent(
        process_id=pid,
        sequence=sequence,
        event_type=request.event_type,
        payload=request.payload,
        invocation=event_invocation(pid, sequence, request.event_type, request.replay_key),
        semantics=materialize(declared, pid, sequence, request.payload),
        occurred_at=SystemTime.from_ms(now),
    )


def replay_lookup(conn: Tx) -> str:
    """The event stored under a replay key: its payload hash and JSON (`stored_json`)."""
    return _replay_lookup(dialect(conn))


@functools.cache
def _replay_lookup(sql: Dialect) -> str:
    return (
        # (The hash under the ceiling on plain text, stored_text.py: a cut one matches no
        # payload's, so the append is refused as a conflict naming the process and key.)
        f"SELECT {read_text('payload_hash')}, {sql.stored_json('event_json')} "
        "FROM process_events "
        "WHERE process_id = ? AND idempotency_key = ?"
    )

def last_sequence(conn: Tx) -> str:
    """The read of a process's last sequence (semantics §4.3: the next is one more): the
    largest whole one. SQLite keeps whatever another program stores in the column, and a
    text or a blob sorts above every number, so `MAX` over them all was that text, the
    next sequence `'x' + 1` = 1, and the insert failed on the key: a worker retried its
    terminal for as long as its lease lasted. No read of the log returns such an event
    (log_read.py `page_rows`; `events_left_out` counts them), so the writes number the log
    the reads show. (SQLite still answers from the key's last entries, not a walk.)"""
    return _last_sequence(dialect(conn))


@functools.cache
def _last_sequence(sql: Dialect) -> str:
    return (
        "SELECT MAX(sequence) FROM process_events WHERE process_id = ?"
        f"{sql.whole_only('sequence')}"
    )


def next_sequence(conn: Tx, row_key: str, process_id: str | None = None) -> int:
    """The sequence the next event of the row keyed `row_key` takes: one past its last
    whole one (`last_sequence`), 1 for a log with none above 0 (sequences start at 1; a
    number below that is another program's, and left where it is). `EventLogFull` when the
    last is the largest a registry stores: nothing can follow it. `process_id` is the
    record's id, for the sentence, when it is not the row's key."""
    (last,) = conn.execute(last_sequence(conn), (row_key,)).fetchone()
    if last is None or last < 1:
        return 1
    if last >= LAST_SEQUENCE:
        raise EventLogFull.at(process_id or row_key, last)
    return int(last) + 1


INSERT_EVENT = (
    "INSERT INTO process_events (process_id, sequence, event_type, payload_hash, "
    "idempotency_key, occurred_at_ms, event_json) VALUES (?, ?, ?, ?, ?, ?, ?)"
)


def append(
    conn: Tx, process_id: str, request: ProcessEventAppendRequest, now: int
) -> ProcessEventAppendResult:
    event, record = append_to(conn, require_record(conn, process_id), request, now)
    return _result(record, event, request)


def complete(
    conn: Tx, process_id: str, output: ProcessAwaitOutput, now: int
) -> ProcessRecord:
    """Unleased completion closes only externally-owned rows (port decision 2, ADR 0027):
    every other row has a lease-fenced single writer."""
    record = require_record(conn, process_id)
    if record.disposition is not RecoveryDisposition.EXTERNALLY_OWNED:
        raise ProcessConflict(
            f"process `{process_id}` cannot be completed with external-owner authority: "
            "only externally-owned rows may be completed by an external owner; a lash-executed "
            "row has a lease-fenced single writer"
        )
    request = ProcessEventAppendRequest.terminal(process_id, output)
    return append_to(conn, record, request, now)[1]


def complete_with_lease(
    conn: Tx, lease: ProcessLease, output: ProcessAwaitOutput, now: int
) -> ProcessRecord:
    """Fence check, terminal and release as one transaction (semantics §5.11). Only an
    identical replay skips the fence: any other write from a lease that is not current is a
    lost lease, whatever else it would conflict with. The release is the fence check (one
    statement): made before the append, and undone with it if the append fails."""
    pid = lease.process_id
    request = ProcessEventAppendRequest.terminal(pid, output)
    # On PostgreSQL the replay lookup and the next sequence travel with the row's read
    # (which locks the row first): one round trip for the three (fetch.py `read_ahead`).
    ahead: list[Statement] = [(last_sequence(conn), (pid,))]
    if request.replay_key:
        ahead.insert(0, (replay_lookup(conn), (pid, request.replay_key)))
    read_ahead(conn, *ahead)
    record = require_record(conn, pid)
    replay = Replay.lookup(conn, pid, request)
    if not replay.identical and not release_if_current(conn, lease, now):
        raise LeaseLost.for_process(pid)
    return append_to(conn, record, request, now, replay)[1]


def first_after(
    conn: Tx, process_id: str, event_type: str, after: int
) -> ProcessEvent | None:
    # A point read: the existence check after a miss needs no snapshot shared with the miss.
    found = first_of_type(conn, process_id, event_type, after)
    if found is None:
        require_exists(conn, process_id)
    return found


def count_through(conn: Tx, process_id: str, event_type: str, sequence: int) -> int:
    require_exists(conn, process_id)
    row = conn.execute(
        "SELECT count(*) FROM process_events WHERE process_id = ? AND event_type = ? "
        f"AND sequence <= ?{in_log(conn, 'sequence')}",
        (process_id, event_type, sequence),
    ).fetchone()
    return int(row[0])


def ack_wake(conn: Tx, process_id: str, sequence: int) -> None:
    require_exists(conn, process_id)
    conn.execute(
        dialect(conn).insert_or_ignore(
            "INTO process_wake_acks (process_id, sequence) VALUES (?, ?)"
        ),
        (process_id, sequence),
    )
