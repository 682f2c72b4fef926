"""Reading and writing the `processes` row: record JSON plus its projected columns.

Every save takes a fresh `change_seq` in the same transaction (SQLite: from the clock row;
PostgreSQL: from the transaction's id, read below a bound, postgres/change_feed.py), which is
what makes the change feed exact: a reader that saw sequence N has seen every save <= N.

A connection that is a `RecordCache` (the SQLite store's are) keeps the records it last
decoded or saved, with their JSON text, and skips decoding a row whose text is still exactly
that (the database compares the two, so the text only comes back when it differs): a worker
reads back each record it wrote a moment before, and decoding one costs 30-300 us, the GC's
share included. Comparing the text itself, not a
version column, means nothing else that writes the file has to keep any promise for this
to be right.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from pydantic import ValidationError

from lashtui.errors import (
    InvalidRequest,
    LashError,
    StoreError,
    UndecodableProcess,
    UnknownProcess,
)
from lashtui.model import (
    AbandonedOutput,
    AbandonEvidence,
    AbandonWriter,
    CancelledOutput,
    External,
    FailureOutput,
    HostOriginator,
    ProcessAwaitOutput,
    ProcessIdentity,
    ProcessLifecycleStatus,
    ProcessProvenance,
    ProcessRecord,
    ProcessStatus,
    RecoveryDisposition,
    SessionOriginator,
    SuccessOutput,
    ToolFailureClass,
    default_process_event_types,
    originator_from_scope_id,
)
from lashtui.model.record import UNDECODABLE_KIND
from lashtui.model.wire import WireModel
from lashtui.registry.sql.backlog_mark import CARRY_MARK, carries, mark
from lashtui.registry.sql.blob_id import (
    BLOB_ID_WORDS,
    NULL_ID_WORDS,
    NULL_SHOWN,
    not_text,
    refuse_blob,
    shown_id,
)
from lashtui.registry.sql.dialect import MAX_STORED_BYTES, Dialect, Tx, dialect
from lashtui.registry.sql.fetch import (
    Row,
    check_stored_size,
    fetch_rows,
    row_columns,
    unstorable_parameter,
)
from lashtui.registry.sql.long_id import CUT_ID_WORDS, as_read, is_cut, past_read, refuse_cut
from lashtui.registry.sql.record_cache import RecordCache
from lashtui.state import repeated_key, repeated_words
from lashtui.untrusted import clipped

__all__ = [
    "RecordCache",
    "Row",
    "fetch_rows",
    "row_columns",
    "unstorable_parameter",
]

def decode_error(error: ValidationError) -> StoreError:
    """A stored row that does not decode, as one sentence naming the field."""
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "row"
    return StoreError(f"failed to decode process registry row: {where}: {first['msg']}")


# Why a row whose record was left unread (`stored_json`) is a stand-in, or refused.
TOO_LARGE = f"its record is over {MAX_STORED_BYTES >> 20} MiB of JSON, more than any reader takes"


def decode_record(text: str | None) -> ProcessRecord:
    """A stored record's JSON as its record; None is one left unread (`stored_json`). One
    that names twice a key some reader reads in SQL (`wait`, `disposition`, ...) does not
    decode (lashtui/state.py `repeated_key` says why and how cheaply it looks): SQLite would
    act on the first, the models on the last."""
    if text is None:
        raise ValueError(TOO_LARGE)
    record = ProcessRecord.from_stored_json(text)
    repeated = repeated_key(text, record.model_fields_set)
    if repeated is not None:
        raise ValueError(repeated_words(repeated))
    return record


# --- rows the read path cannot decode ----------------------------------------------------
#
# A row written by an older build or another program may not decode: JSON nested past what
# pydantic-core parses (254 levels), text that is not JSON, a record that fails validation,
# invalid UTF-8 or lone surrogates. One such row must never take the registry from its
# operators, so every read that returns records reads the row's columns with its JSON
# (`row_columns`) and turns a row that fails into a stand-in built from the columns
# (`undecodable_record`): a valid record marked `undecodable`, shown in every list, that
# nothing runs. Writes never save a stand-in: they load strictly and refuse the row in one
# sentence that says how to end it (`end_undecodable`).

# What decoding a row may raise: pydantic's ValidationError (a ValueError, as are the
# UnicodeErrors of text with lone surrogates, and `StatusMismatch`) and, for JSON nested
# past the interpreter's stack, RecursionError.
DECODE_ERRORS = (ValueError, RecursionError)


class StatusMismatch(ValueError):
    """The row's `status` column disagrees with its record: another program changed one
    without the other. The lists filter and count by the column and show the record, so
    such a row was listed under `--status completed` as running, and left out of
    `--status running`; which of the two is true is not known. So it reads as a row that
    does not decode, writes refuse it and `end_undecodable` ends it.

    `state` is the state its stand-in takes: the column's, as every filter and count has
    it, when the column names another state; the record's when the column holds no state
    at all (`'zombie'`, a blob): no filter but `any` lists such a row, and it was shown as
    its record has it, as if nothing were wrong, while no worker or sweep would touch it
    and `check` did not count it (an abandon request on it went unreported). The census
    counts it apart (`ProcessCensus.no_state`) and `check` names it. `no_state` says which
    (it marks the stand-in: `ProcessRecord.no_state`)."""

    def __init__(self, why: str, state: str, *, no_state: bool = False) -> None:
        super().__init__(why)
        self.state = state
        self.no_state = no_state


_STATES = frozenset(state.value for state in ProcessLifecycleStatus)


def checked(record: ProcessRecord, column: object) -> ProcessRecord:
    """`record`, if its row's status column (`column`) agrees with it (`StatusMismatch`).
    On every write's read: the state, a str enum, is compared as the str it is."""
    state = record.status.state
    if state == column:
        return record
    if column in _STATES:
        raise StatusMismatch(f"its status column says {column}, its record {state.value}", column)
    why = f"{no_state_words(column)}; its record says {state.value}"
    raise StatusMismatch(why, state.value, no_state=True)


def no_state_words(column: object) -> str:
    """What a stand-in's reason says of a status column that holds no state: the value as
    Python writes it (quoted, a blob as bytes: an empty one still shows)."""
    return f"its status column holds {clipped(repr(column), 40)}, which is no state"



def undecodable_reason(error: BaseException) -> str:
    """Why a row did not decode, in a few words (the first of pydantic's errors)."""
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        text = f"{where}: {first['msg']}" if where else str(first["msg"])
    elif isinstance(error, RecursionError):
        text = "its JSON nests too deeply to read"
    else:
        text = str(error) or type(error).__name__
    return text if len(text) <= 160 else f"{text[:157]}..."


def _originator(scope_id: object) -> HostOriginator | SessionOriginator:
    try:
        return originator_from_scope_id(str(scope_id))
    except (LashError, ValueError):
        return HostOriginator()


def _stand_in_status(status: object, reason: str, at_ms: int) -> ProcessStatus:
    """The status the column says, with an output that says the record is unreadable."""
    message = f"{UNDECODABLE_WORDS} ({reason})"
    output: ProcessAwaitOutput
    if status == "completed":
        output = SuccessOutput(value=None)
    elif status == "cancelled":
        output = CancelledOutput(message=message)
    elif status == "abandoned":
        writer = AbandonWriter.RECONCILED_REQUEST
        output = AbandonedOutput(evidence=AbandonEvidence(writer=writer, epoch_ms=at_ms))
    elif status == "running":
        return ProcessStatus.running()
    else:
        internal = ToolFailureClass.INTERNAL
        output = FailureOutput(class_=internal, code=UNDECODABLE_CODE, message=message)
    return ProcessStatus.terminal(output)


UNDECODABLE_CODE = "process_record_undecodable"
# What a stand-in's output says (then why, in brackets); the Errors view's group of rows
# whose outcome contradicts their status column says it too (sql/error.py `_unlike`).
UNDECODABLE_WORDS = "record could not be decoded"


def undecodable_record(
    row: Row, reason: str, state: str | None = None, *, no_state: bool = False
) -> ProcessRecord:
    """The stand-in for a row that does not decode (see above): id, hash, originator, times
    and status from the SQL columns (the state `state` instead when given:
    `StatusMismatch.state`); kind `undecodable`, the label saying why; externally owned and
    without a lease request, so no worker or sweep ever claims it. Marked `no_state` when
    its status column holds no state (`no_state` given, or found here)."""
    _, process_id, registration_hash, scope_id, created, updated, status = row[:7]
    if state is None and status not in _STATES:  # (the record, unread, cannot say either)
        reason = f"{reason}; {no_state_words(status)}"
        no_state = True
    status = status if state is None else state
    return ProcessRecord(
        id=str(process_id),
        registration_hash=str(as_read(registration_hash)),  # (as read: long_id.py)
        input=External(),
        disposition=RecoveryDisposition.EXTERNALLY_OWNED,
        identity=ProcessIdentity(kind=UNDECODABLE_KIND, label=f"undecodable: {reason}"),
        event_types=default_process_event_types(),
        provenance=ProcessProvenance(originator=_originator(as_read(scope_id))),
        created_at_ms=int(created),
        updated_at_ms=int(updated),
        status=_stand_in_status(status, reason, int(updated)),
        no_state=no_state,
    ).marked_undecodable(reason)


def decode_row(row: Row) -> ProcessRecord:
    """A row read with `row_columns` as its record, or its stand-in if it does not decode,
    was too large to read, or its id was (long_id.py: its record is not read)."""
    if past_read(row[1]):
        return undecodable_record((None, as_read(row[1]), *row[2:]), CUT_ID_WORDS)
    if isinstance(row[1], bytes):  # (blob_id.py; its record, whatever it says, unread)
        return undecodable_record((None, shown_id(row[1]), *row[2:]), BLOB_ID_WORDS)
    if row[1] is None:  # (blob_id.py: a NULL id, its record unread as a blob's is)
        return undecodable_record((None, NULL_SHOWN, *row[2:]), NULL_ID_WORDS)
    try:
        return checked(keyed(decode_record(row[0]), row[1]), row[6])
    except DECODE_ERRORS as error:
        return stand_in(row, error)


def stand_in(row: Row, error: BaseException) -> ProcessRecord:
    """The stand-in of a row whose decoding raised `error` (one of `DECODE_ERRORS`)."""
    if isinstance(error, StatusMismatch):
        return undecodable_record(
            row, undecodable_reason(error), error.state, no_state=error.no_state
        )
    return undecodable_record(row, undecodable_reason(error))


# --- ids that are not UTF-8 --------------------------------------------------------------
#
# SQLite lets another program store any bytes as a row's `process_id`. Read, such an id is a
# str holding lone surrogates (`fetch_rows`), and the SQLite store binds it back as those
# bytes (sqlite/raw_text.py), so the row can be looked up, ended and pruned by it. JSON that
# pydantic reads cannot hold a lone surrogate, so when lashtui itself rewrites such a row
# (`process.end_undecodable`) its record and event JSON hold the id as `stored_id` makes it
# (each surrogate as the text `\udcff`, what `lashtui.untrusted.visible` shows), and the
# reads take the id from the column whenever the JSON says otherwise (`keyed`): the column is
# the row's key, and every statement is keyed by it.


def stored_id(process_id: str) -> str:
    """`process_id` as the JSON of a row lashtui rewrites may hold it: itself when UTF-8 can
    encode it, else with each lone surrogate written out as its `\\uXXXX` escape text."""
    if process_id.isascii():
        return process_id
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", process_id)


_SURROGATE = re.compile("[\ud800-\udfff]")


def keyed(record: ProcessRecord, column_id: object) -> ProcessRecord:
    """The record with the id its row is keyed by (see above); itself when they agree."""
    if record.id == column_id or not isinstance(column_id, str):
        return record
    return record.model_copy(update={"id": column_id})


def refuse_undecodable(process_id: str, reason: str) -> StoreError:
    return UndecodableProcess.refusing(process_id, reason)


@functools.cache
def _load_sql(sql: Dialect) -> str:
    """`load_record`'s read: the JSON (unless the connection holds that very text, or it is
    past the ceiling: `stored_json`), whether it is past the ceiling, and the status column
    (`checked`). Made once per dialect: every write's first read is this one."""
    return (
        f"SELECT CASE WHEN record_json = ? THEN NULL ELSE {sql.stored_json('record_json')} "
        f"END, {sql.too_large('record_json')}, status "
        f"FROM processes WHERE process_id = ?{sql.row_lock}"
    )


def load_record(conn: Tx, process_id: str, *, lenient: bool = False) -> ProcessRecord | None:
    """The row's record; None if there is no such row. A row that does not decode is its
    stand-in when `lenient` (reads), else refused (`refuse_undecodable`: writes). Only the
    JSON is read first: this is every write's read, and the columns a stand-in needs are
    fetched only for a row that fails."""
    if is_cut(process_id):  # (reads take a cut id's row by `process.get`)
        raise refuse_cut(process_id)
    held = conn.cached(process_id) if isinstance(conn, RecordCache) else None
    # The JSON only comes back when the row has moved on from the version held.
    rows = fetch_rows(conn, _load_sql(dialect(conn)), (held[0] if held else None, process_id))
    if not rows:
        if not lenient and not_text(conn, process_id):  # a write's (blob_id.py)
            raise InvalidRequest(refuse_blob(process_id))
        return None
    text, large, status = rows[0]
    try:
        if text is None and held is not None and not large:
            return checked(held[1], status)
        return checked(_decoded(conn, process_id, None if large else text), status)
    except DECODE_ERRORS as error:
        if not lenient:
            raise refuse_undecodable(process_id, undecodable_reason(error)) from None
        columns = f"SELECT {row_columns(conn)} FROM processes p WHERE p.process_id = ?"
        return stand_in(fetch_rows(conn, columns, (process_id,))[0], error)


def decoded_record(conn: Tx, process_id: str, text: str | None) -> ProcessRecord:
    """The record of a row whose JSON the caller has read in this transaction, as
    `load_record` reads it for a write: the connection's own record when it holds this
    very text, else decoded (refused if it does not decode, or was too large to read and
    so is None: `refuse_undecodable`)."""
    held = conn.cached(process_id) if isinstance(conn, RecordCache) else None
    if held is not None and held[0] == text:
        return held[1]
    try:
        return _decoded(conn, process_id, text)
    except DECODE_ERRORS as error:
        raise refuse_undecodable(process_id, undecodable_reason(error)) from None


def _decoded(conn: Tx, process_id: str, text: str | None) -> ProcessRecord:
    record = keyed(decode_record(text), process_id)
    if isinstance(conn, RecordCache) and text is not None:  # (None never decodes)
        conn.remember(process_id, text, record)
    return record


def require_record(conn: Tx, process_id: str) -> ProcessRecord:
    record = load_record(conn, process_id)
    if record is None:
        raise UnknownProcess.process(process_id)
    return record


def to_run(record: ProcessRecord) -> bool:
    """Whether a worker holding the lease runs this row and may record that it started
    (§8: a rerunnable row always, any other only if it never started; §7.4 a-c: never an
    externally-owned row or a blank id, which the worker fails before any side effect)."""
    if record.is_terminal() or not record.id.strip():
        return False
    if record.disposition is RecoveryDisposition.EXTERNALLY_OWNED:
        return False
    return record.runs_on_recovery()


def require_exists(conn: Tx, process_id: str) -> None:
    """The existence check, without decoding the row."""
    if is_cut(process_id):
        raise refuse_cut(process_id)
    row = conn.execute(
        f"SELECT 1 FROM processes WHERE process_id = ?{dialect(conn).row_lock}", (process_id,)
    ).fetchone()
    if row is None:
        if not_text(conn, process_id):  # (blob_id.py)
            raise InvalidRequest(refuse_blob(process_id))
        raise UnknownProcess.process(process_id)


def next_change_seq(conn: Tx) -> int:
    """The next change sequence. On SQLite a transaction's first takes it from the clock
    row; the rest are counted here and the row takes the last one at COMMIT
    (`RecordCache.save_clock`), one statement instead of one per save: a group commit saves
    three times per process in P1. On PostgreSQL the store's connection sets the first at
    BEGIN, from the transaction's id, and no clock row is written (postgres/change_feed.py)."""
    if isinstance(conn, RecordCache) and conn.last_seq is not None:
        conn.last_seq += 1
        conn.seq_unsaved = True
        return conn.last_seq
    row = conn.execute(
        "UPDATE process_change_clock SET current_seq = current_seq + 1 "
        "WHERE singleton = 1 RETURNING current_seq"
    ).fetchone()
    seq = int(row[0])
    if isinstance(conn, RecordCache):
        conn.last_seq = seq
    return seq


def _stage(conn: Tx, record: ProcessRecord, text: str, key: str | None = None) -> None:
    """Into the cache under the row's key, with that id (`keyed`)."""
    if isinstance(conn, RecordCache):
        conn.staged[key or record.id] = (text, keyed(record, key or record.id))


def sort_label(record: ProcessRecord) -> str:
    """The `sort_label` column's value (order.py `label_key`): its JSON expression, as
    Python reads the record (the identity's label, else its kind, else '')."""
    return record.identity.label or record.identity.kind or ""


def insert_record(conn: Tx, record: ProcessRecord) -> None:
    text = record.stored_json()
    check_stored_size(text, f"process `{record.id}`'s record")
    values: tuple[object, ...] = (
        record.id,
        record.registration_hash,
        record.originator_scope_id(),
        record.created_at_ms,
        record.updated_at_ms,
        change_seq := next_change_seq(conn),
        record.status.state.value,
        text,
    )
    columns = _INSERT_COLUMNS
    # A registry an older lashtui made has no `sort_label` or `backlog_seq` until `lashtui
    # index` adds them (SQLite); a connection that found them says so.
    if getattr(conn, "sort_label", False):
        columns, values = f"{columns}, sort_label", (*values, sort_label(record))
    if getattr(conn, "backlog_seq", False):
        columns = f"{columns}, backlog_seq"
        values = (*values, mark(record.disposition.value, text, change_seq))
    marks = ", ".join("?" * len(values))
    conn.execute(f"INSERT INTO processes ({columns}) VALUES ({marks})", values)
    _stage(conn, record, text)


_INSERT_COLUMNS = (
    "process_id, registration_hash, owner_scope_id, created_at_ms, updated_at_ms, "
    "change_seq, status, record_json"
)


def save_record(conn: Tx, record: ProcessRecord, key: str | None = None) -> None:
    """The whole record saved over the row keyed `key` (default: its id; another only for a
    row whose id is not UTF-8, see `stored_id`)."""
    # The record's own serialisation, so a row lash wrote keeps lash's field order.
    change_seq, text = next_change_seq(conn), record.model_dump_json()
    check_stored_size(text, f"process `{record.id}`'s record")
    key = key or record.id
    if not record.is_terminal():
        # A running row was running before (status only ever moves running -> terminal), so
        # leave the column out: SQLite then skips the two indexes on it, which is most of
        # the cost they add to a save (measured: 142 -> 85 us).
        marked, values = _backlog_mark(conn, record, text, change_seq)
        conn.execute(
            f"UPDATE processes SET updated_at_ms = ?, change_seq = ?, {marked}record_json = ? "
            "WHERE process_id = ?",
            (record.updated_at_ms, change_seq, *values, text, key),
        )
    else:
        conn.execute(
            "UPDATE processes SET updated_at_ms = ?, change_seq = ?, status = ?, "
            "record_json = ? WHERE process_id = ?",
            (
                record.updated_at_ms,
                change_seq,
                record.status.state.value,
                text,
                key,
            ),
        )
    _stage(conn, record, text, key)


def _backlog_mark(
    conn: Tx, record: ProcessRecord, text: str, change_seq: int
) -> tuple[str, tuple[object, ...]]:
    """The `backlog_seq` assignment (and its value) of a running row's save of `text`,
    where the connection's registry has the column (sql/backlog_mark.py): its mark for a
    rerunnable record, and none for another, which has no mark to keep (leaving the
    column out leaves the drive's index of unmarked rows alone)."""
    if not getattr(conn, "backlog_seq", False):
        return "", ()
    if record.disposition is not RecoveryDisposition.RERUNNABLE:
        return "", ()
    return "backlog_seq = ?, ", (mark(record.disposition.value, text, change_seq),)


def save_changes(
    conn: Tx,
    record: ProcessRecord,
    now_ms: int,
    key: str | None = None,
    **changes: WireModel | None,
) -> ProcessRecord:
    """`touch(record, now_ms, **changes)`, saved by editing the stored JSON in place: each
    changed top-level field set (or removed, for None) and `updated_at_ms` bumped, which
    costs a fraction of encoding the whole record again (what an append, a first-started
    fact or a terminal does). A changed `status` is projected to its column too. A store
    whose dialect cannot edit JSON in place saves the whole record instead, as does a
    change that removes a field the record has (`removes_a_field`). `key` as for
    `save_record`."""
    removes = removes_a_field(record, changes)
    record = touch(record, now_ms, **changes)
    if removes or not dialect(conn).edits_json_in_place:
        save_record(conn, record, key)
        return record
    apply_edit(conn, JsonEdit.of(record, changes), key)
    return record


def removes_a_field(record: ProcessRecord, changes: dict[str, WireModel | None]) -> bool:
    """Whether `changes` remove a field `record` holds (a terminal's `wait`). Such a change
    is saved as a whole record: SQLite 3.40's `json_remove` matches a key as it is
    written, so another program's `"w\u0061it"`, which JSON and the models read as `wait`,
    would stay in the stored JSON of a row that then reads as ended and still waiting
    (tests/registry/test_facts.py). Rare enough (a row that ends while waiting) that the
    whole record's encoding costs little."""
    return any(value is None and getattr(record, name) is not None
               for name, value in changes.items())


@dataclass(frozen=True)
class JsonEdit:
    """`save_changes`'s statement for a record already touched, made before its
    transaction: the values encoded and the SQL built, so that the transaction only runs
    it (see sql/prepared.py). Its bound values leave ?2 (the change sequence) and ?3
    (the key) to `apply_edit`."""

    record: ProcessRecord
    sql: str
    values: tuple[object, ...]  # ?1, then ?4 on
    # The same statement carrying the row's `backlog_seq` mark to its new sequence, for a
    # registry with the column, or None where the record is not rerunnable, the edit may
    # take it out of the backlog or ends the row (sql/backlog_mark.py): a rerunnable row's
    # appended event or wait would otherwise move it into the drive's index.
    marked_sql: str | None = None

    @classmethod
    def of(
        cls,
        record: ProcessRecord,
        changes: dict[str, WireModel | None],
        held: str | None = None,
        encoded: dict[str, str] | None = None,
    ) -> JsonEdit:
        """`held`: the stored JSON the edit will apply to, where the caller's transaction
        checks it is exactly that text (sql/prepared.py). A field to remove whose quoted
        name the text does not hold is left out of the statement: `json_remove` would
        change nothing (SQLite 3.40 matches a key as it is written) but still parse and
        render the whole ~1.3 kB record, ~50,000 instructions inside the write lock, for
        the `wait` every completion clears and nearly no row has. `json_set` renders the
        same tree either way, so the bytes are the same
        (tests/registry/test_prepared_completion.py). A field the record holds under a
        spelling with escapes never gets here: `removes_a_field`. `encoded`: a change's
        JSON where the caller has it already (a terminal's status, prepared.py)."""
        values: list[object] = [record.updated_at_ms, None, None]
        paths = ["'$.updated_at_ms', ?1"]
        stored = "record_json"
        for name, value in changes.items():
            if value is None:
                if held is None or f'"{name}"' in held:
                    stored = f"json_remove({stored}, '$.{name}')"
                continue
            text = encoded.get(name) if encoded else None
            values.append(value.model_dump_json() if text is None else text)
            paths.append(f"'$.{name}', json(?{len(values)})")
        status = ""
        if "status" in changes:
            values.append(record.status.state.value)
            status = f"status = ?{len(values)}, "
        sql = (
            f"UPDATE processes SET updated_at_ms = ?1, change_seq = ?2, {status}"
            f"record_json = json_set({stored}, {', '.join(paths)}) "
            "WHERE process_id = ?3 RETURNING record_json"
        )
        marked = None
        # (The identity test first: an append to a row that is not rerunnable, P2's, pays
        # one comparison for the mark.)
        rerunnable = record.disposition is RecoveryDisposition.RERUNNABLE
        if rerunnable and not status and carries(record.disposition.value, changes):
            marked = sql.replace("?2, ", f"?2, {_CARRY_AT_2}", 1)  # after change_seq's
        return cls(record, sql, (values[0], *values[3:]), marked)


_CARRY_AT_2 = CARRY_MARK.format(seq="?2")


def apply_edit(conn: Tx, edit: JsonEdit, key: str | None = None) -> None:
    """Run `edit` on the row keyed `key` (default: the record's id) and stage its result."""
    key = key or edit.record.id
    values = (edit.values[0], next_change_seq(conn), key, *edit.values[1:])
    sql = edit.sql
    if edit.marked_sql is not None and getattr(conn, "backlog_seq", False):
        sql = edit.marked_sql
    row = conn.execute(sql, values).fetchone()
    _stage(conn, edit.record, row[0], key)


def save_same_changes(
    conn: Tx, records: list[ProcessRecord], now_ms: int, **changes: WireModel
) -> list[ProcessRecord]:
    """`save_changes` of the same `changes` to each of `records` (each row keyed by its
    record's id), in that order, each with its own change sequence, in one statement: a
    batch claim's first-started facts (sql/run.py). Each of them was a statement of its own
    inside SQLite's write lock, which every other worker process waits for. The values set
    are `save_changes`'s, row by row (a store that cannot edit JSON in place writes each
    whole record, as `save_record` does)."""
    if len(records) < 2:
        return [save_changes(conn, record, now_ms, None, **changes) for record in records]
    touched = [touch(record, now_ms, **changes) for record in records]
    if not dialect(conn).edits_json_in_place:
        return _save_whole_records(conn, touched)
    shared = [value.model_dump_json() for value in changes.values()]
    paths = ", ".join(f"'$.{name}', json(?{n})" for n, name in enumerate(changes, 1))
    # The shared values are ?1..?k; each row's (key, change sequence, updated_at_ms) follow
    # as plain `?`s, which SQLite numbers from k + 1 on.
    rows = ", ".join(["(?, ?, ?)"] * len(touched))
    values: list[object] = list(shared)
    for record in touched:
        values += [record.id, next_change_seq(conn), record.updated_at_ms]
    # A batch claim's rows keep their marks (backlog_mark.py `CARRY_MARK`): they stay out
    # of the drive's indexes while they run.
    marked = ""
    if getattr(conn, "backlog_seq", False) and all(
        carries(record.disposition.value, changes) for record in touched
    ):
        marked = CARRY_MARK.format(seq="v.column2")
    # (fetch_rows: an id another program stored as bytes that are not UTF-8 comes back
    # as `keyed` made it; the statement's re-run then sets the same values again.)
    texts: dict[str, str] = dict(
        fetch_rows(
            conn,
            "UPDATE processes SET updated_at_ms = v.column3, change_seq = v.column2, "
            f"{marked}"
            f"record_json = json_set(record_json, '$.updated_at_ms', v.column3, {paths}) "
            f"FROM (VALUES {rows}) AS v WHERE processes.process_id = v.column1 "
            "RETURNING process_id, record_json",
            values,
        )
    )
    for record in touched:
        _stage(conn, record, texts[record.id])
    return touched


def _save_whole_records(conn: Tx, records: list[ProcessRecord]) -> list[ProcessRecord]:
    """`save_record` of each of `records`, in one statement: on a store that encodes whole
    records (PostgreSQL), a batch claim's first-started facts. (Its status column is set
    too, where `save_record` leaves a running row's alone: SQLite's reason, its status
    indexes, is not this store's, and one statement serves running and terminal rows.)
    With the batch's leases in one statement too (claim.py `save_new_leases`), a batch of
    n rows sends 2n - 2 statements fewer: with batches of 16, a PostgreSQL drain worker ran
    ~4% fewer instructions a row (benchmarks/p3_budget.py's method), the server 11% fewer
    statements."""
    texts = [record.model_dump_json() for record in records]
    # Each row's mark as its insert would make it (backlog_mark.py), where every record is
    # rerunnable; otherwise the column is left out (a mark left behind is only stale).
    marks = getattr(conn, "backlog_seq", False) and all(
        record.disposition is RecoveryDisposition.RERUNNABLE for record in records
    )
    values: list[object] = []
    for record, text in zip(records, texts, strict=True):
        seq = next_change_seq(conn)
        values += [record.id, seq, record.updated_at_ms, record.status.state.value, text]
        if marks:
            values.append(mark(record.disposition.value, text, seq))
    set_mark, mark_column, mark_value = ("", "", "")
    if marks:
        set_mark, mark_column, mark_value = (
            "backlog_seq = v.mark, ", ", mark", ", CAST(? AS BIGINT)"
        )
    rows = ", ".join(
        [f"(?, CAST(? AS BIGINT), CAST(? AS BIGINT), ?, ?{mark_value})"] * len(records)
    )
    conn.execute(
        f"UPDATE processes SET updated_at_ms = v.updated, change_seq = v.seq, {set_mark}"
        f"status = v.status, record_json = v.record FROM (VALUES {rows}) "
        f"AS v(id, seq, updated, status, record{mark_column}) "
        "WHERE processes.process_id = v.id",
        values,
    )
    for record, text in zip(records, texts, strict=True):
        _stage(conn, record, text)
    return records


def touch(record: ProcessRecord, now_ms: int, **changes: object) -> ProcessRecord:
    """The record with `changes` applied and `updated_at_ms` bumped (never backwards)."""
    return record.model_copy(update={**changes, "updated_at_ms": max(now_ms, record.updated_at_ms)})
