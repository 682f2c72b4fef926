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

Most completions end a row that declares the core terminal types (the shared objects
`CORE_EVENT_TYPES`: the payload schema takes anything, the terminal output is the payload's
`/await_output`). Their event is built by `_core_completion` from the output's own JSON, in
lash's field order, with the same limits checked, where the models' way (a request, its
payload validated, a declared type's checks, an event with its invocation, the terminal
materialised and validated again, then serialised) took ~90 us of a completion's ~100 us of
Python. tests/registry/test_prepared_completion.py requires its bytes to be the models',
over generated outputs and ids; any other row is built the models' way, as before.

Both stores build completions here: SQLite runs `complete_prepared`, PostgreSQL sends the
prepared values to one server-side function (postgres/complete.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import JsonValue

from lashtui.errors import LeaseLost
from lashtui.model import (
    ProcessAwaitOutput,
    ProcessEventAppendRequest,
    ProcessLease,
    ProcessRecord,
    ProcessStatus,
    limit,
)
from lashtui.model.event import CORE_EVENT_TYPES, event_payload_hash
from lashtui.model.wire import WireModel
from lashtui.registry.sql import event
from lashtui.registry.sql.dialect import Tx
from lashtui.registry.sql.event_json import event_json
from lashtui.registry.sql.json_edit import JsonEdit, apply_edit
from lashtui.registry.sql.lease import release_if_current
from lashtui.registry.sql.row import RecordCache, touch


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
    if record.is_terminal() or record.id != pid or record.wait is not None:
        return None  # (a waiting row's terminal is saved whole: json_edit.py `removes_a_field`)
    try:
        event_type = output.terminal_state().event_type()
        if record.event_type(event_type) is _CORE_TERMINALS.get(event_type) and now >= 0:
            return _core_completion(text, record, cache, output, event_type, now)
        return _modelled_completion(text, record, cache, output, now)
    except Exception:  # today's path raises it again, inside the transaction as before
        return None


def _modelled_completion(
    text: str, record: ProcessRecord, cache: RecordCache, output: ProcessAwaitOutput, now: int
) -> PreparedCompletion | None:
    pid = record.id
    request = ProcessEventAppendRequest.terminal(pid, output)
    request.check_limits()
    payload_hash = event_payload_hash(request.event_type, request.payload)
    declared = event.declared_type(record, request)
    sequence = cache.sequences.get(pid, 0) + 1
    appended = event.new_event(record, request, declared, sequence, now)
    event_json = appended.model_dump_json()
    terminal = appended.semantics.terminal
    if terminal is None or request.replay_key is None:
        return None
    return _prepared(text, record, sequence, request.event_type, payload_hash,
                     request.replay_key, event_json, terminal.await_output, now)


# The core terminal types by event type: a row that declares one of these very objects
# takes `_core_completion`.
_CORE_TERMINALS = {t.name: t for t in CORE_EVENT_TYPES if t.is_terminal()}
def _core_completion(
    text: str,
    record: ProcessRecord,
    cache: RecordCache,
    output: ProcessAwaitOutput,
    event_type: str,
    now: int,
) -> PreparedCompletion:
    """`_modelled_completion` for a core terminal type, without the models: the same
    limits (the replay key's length, the payload's depth and size, which
    `event_payload_hash` measures), the same hash, and the event's JSON as `ProcessEvent`
    writes it, the output's JSON in both places the event holds it."""
    pid = record.id
    key = f"process:{pid}:terminal:{event_type}"
    limit.check_text("a replay key", key, limit.MAX_KEY_CHARS)
    out = output.model_dump_json()
    payload: JsonValue = {"await_output": output.model_dump(mode="json")}
    if not _shallow_ascii(out):
        limit.check_depth("an event payload", payload)
    payload_hash = event_payload_hash(event_type, payload)
    sequence = cache.sequences.get(pid, 0) + 1
    state = output.terminal_state().value
    semantics = f'{{"terminal":{{"state":"{state}","await_output":{out}}}}}'
    built = event_json(pid, sequence, event_type, f'{{"await_output":{out}}}', key, semantics, now)
    return _prepared(text, record, sequence, event_type, payload_hash, key, built, output,
                     now, out=out)


def _shallow_ascii(out: str) -> bool:
    """Whether an output's JSON is too shallow to need `check_depth` walking its payload
    (each level is at least one bracket, and the payload adds one) and holds only ASCII,
    so no key in it needs `check_depth`'s test (a lone surrogate in a key reaches the
    JSON as U+FFFD). Nearly every output is; the walk was ~5% of a completion's Python."""
    return out.isascii() and out.count("{") + out.count("[") < limit.MAX_JSON_DEPTH


def _prepared(
    text: str,
    record: ProcessRecord,
    sequence: int,
    event_type: str,
    payload_hash: str,
    key: str,
    event_json: str,
    output: ProcessAwaitOutput,
    now: int,
    out: str | None = None,
) -> PreparedCompletion:
    """The completion, its record made terminal. `out`: the output's JSON, where the
    caller has it (`_core_completion`): the status is then built from the output the
    models have validated already, and its JSON from `out`, not encoded again."""
    encoded: dict[str, str] | None = None
    if out is None:
        status = ProcessStatus.terminal(output)
    else:
        state = output.terminal_state().lifecycle()
        status = ProcessStatus.model_construct(state=state, await_output=output)
        encoded = {"status": f'{{"state":"{state.value}","await_output":{out}}}'}
    changes: dict[str, WireModel | None] = {"status": status, "wait": None}
    edit = JsonEdit.of(touch(record, now, **changes), changes, held=text, encoded=encoded)
    return PreparedCompletion(text, sequence, event_type, payload_hash, key, event_json, edit)


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
