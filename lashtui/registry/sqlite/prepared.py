"""A leased completion prepared before its write transaction (issue 19).

With several worker processes on one file, SQLite's single write lock is what they queue
for, and a completion held it while lashtui built the terminal in Python inside it: the
payload hash, the declared type's checks, the materialised terminal, the event's JSON and
the record's touched copy and status JSON (lash's append algorithm, event.py `append_to`).
Here all of that is built before BEGIN, from what the worker's connection already holds:
the record's JSON as it last committed it (its record cache) and the last event sequence it
appended to the row (a guess). Inside the transaction only SQL runs: one statement checks
that the guess holds (the stored JSON is exactly the text the record was built from, the
log ends where assumed, nothing is stored under the terminal's replay key), then the
fenced release, the event's insert and the record's JSON edit, exactly today's statements
with today's values. When a precondition does not hold (another connection appended or
changed the row, the cache no longer has it, an identical replay) the transaction runs
today's path instead, unchanged: `event.complete_with_lease`.
"""

from __future__ import annotations

from dataclasses import dataclass

from lashtui.errors import LeaseLost
from lashtui.model import (
    ProcessAwaitOutput,
    ProcessEventAppendRequest,
    ProcessLease,
    ProcessRecord,
    ProcessStatus,
)
from lashtui.model.event import event_payload_hash
from lashtui.model.wire import WireModel
from lashtui.registry.sql import event
from lashtui.registry.sql.dialect import Tx
from lashtui.registry.sql.lease import release_if_current
from lashtui.registry.sql.row import JsonEdit, RecordCache, apply_edit, touch


@dataclass(frozen=True)
class PreparedCompletion:
    held: str  # the record's JSON, as this connection last committed it
    sequence: int  # the terminal event's sequence, if the log ends where assumed
    event_type: str
    payload_hash: str
    key: str
    event_json: str
    edit: JsonEdit  # the record made terminal


def prepare_completion(
    cache: RecordCache, lease: ProcessLease, output: ProcessAwaitOutput, now: int
) -> PreparedCompletion | None:
    """The completion built from `cache` (on the loop's thread, outside any transaction);
    None when the cache does not hold the row, or building it fails (today's path then
    reports the failure from inside the transaction, as before)."""
    pid = lease.process_id
    held = cache.records.get(pid)
    if held is None:
        return None
    text, record = held
    if record.is_terminal() or record.id != pid:
        return None
    try:
        request = ProcessEventAppendRequest.terminal(pid, output)
        request.check_limits()
        payload_hash = event_payload_hash(request.event_type, request.payload)
        declared = event.declared_type(record, request)
        sequence = cache.sequences.get(pid, 0) + 1
        appended = event.new_event(record, request, declared, sequence, now)
        event_json = appended.model_dump_json()
    except Exception:  # today's path raises it again, inside the transaction as before
        return None
    terminal = appended.semantics.terminal
    if terminal is None or request.replay_key is None:
        return None
    status = ProcessStatus.terminal(terminal.await_output)
    changes: dict[str, WireModel | None] = {"status": status, "wait": None}
    edit = JsonEdit.of(touch(record, now, **changes), changes)
    return PreparedCompletion(
        text, sequence, request.event_type, payload_hash, request.replay_key, event_json, edit
    )


def complete_prepared(
    conn: Tx,
    prepared: PreparedCompletion,
    lease: ProcessLease,
    output: ProcessAwaitOutput,
    now: int,
) -> ProcessRecord:
    """`event.complete_with_lease`, with only SQL inside the transaction when `prepared`
    still holds (see the module docstring)."""
    pid = lease.process_id
    found = conn.execute(
        "SELECT (SELECT record_json = ? FROM processes WHERE process_id = ?), "
        "(SELECT COALESCE(MAX(sequence), 0) FROM process_events WHERE process_id = ?), "
        "EXISTS (SELECT 1 FROM process_events WHERE process_id = ? AND idempotency_key = ?)",
        (prepared.held, pid, pid, pid, prepared.key),
    ).fetchone()
    if tuple(found) != (1, prepared.sequence - 1, 0):
        return event.complete_with_lease(conn, lease, output, now)
    # From here, as today: the row is the record the completion was built from, no event
    # replays it, so the fence check decides (made first, undone with the rest on failure).
    if not release_if_current(conn, lease, now):
        raise LeaseLost.for_process(pid)
    conn.execute(
        event.INSERT_EVENT,
        (pid, prepared.sequence, prepared.event_type, prepared.payload_hash, prepared.key, now,
         prepared.event_json),
    )
    if isinstance(conn, RecordCache):
        conn.note_sequence(pid, prepared.sequence)
    apply_edit(conn, prepared.edit)
    return prepared.edit.record
