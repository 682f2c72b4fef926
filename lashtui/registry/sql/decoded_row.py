"""A stored `processes` row read back as its record (`decode_record`, `decode_row`), and the
stand-in for a row that does not decode (`undecodable_record`), with the checks every read
makes: the status column agrees with the record (`checked`), and the id is the column's
(`keyed`).

The read path shows a stand-in and the write path (row.py `load_record`) refuses the row in
one sentence (`refuse_undecodable`); both decode through here, so they agree on which rows
do not decode and why.
"""

from __future__ import annotations

import re

from pydantic import ValidationError

from lashtui.errors import LashError, StoreError, UndecodableProcess
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
from lashtui.registry.sql.blob_id import BLOB_ID_WORDS, NULL_ID_WORDS, null_shown, shown_id
from lashtui.registry.sql.dialect import MAX_STORED_BYTES
from lashtui.registry.sql.fetch import Row
from lashtui.registry.sql.long_id import CUT_ID_WORDS, as_read, past_read
from lashtui.state import repeated_key, repeated_words
from lashtui.untrusted import clipped


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
    if row[1] is None or type(row[1]) is int:  # (blob_id.py: a NULL id, by its rowid)
        return undecodable_record((None, _null_named(row), *row[2:]), NULL_ID_WORDS)
    try:
        return checked(keyed(decode_record(row[0]), row[1]), row[6])
    except DECODE_ERRORS as error:
        return stand_in(row, error)


def _null_named(row: Row) -> str:
    """A NULL id's row's name: read in its record's place (fetch.py `NULL_ROW_COLUMNS`,
    `row_columns`: `NULL##4` where a text row is `NULL#4`), else told from its rowid."""
    return row[0] if isinstance(row[0], str) and row[0] else null_shown(row[1])


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
