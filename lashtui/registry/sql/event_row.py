"""An event as a row of the log: the columns every read of events takes, and the event they
hold, or its stand-in when it does not decode (another program wrote it, or it is past the
ceiling), so one bad event never hides a process's timeline.

Apart from the appends (event.py) because every reader of events needs it and none of the
writing: the pages of a log (log_read.py), a claim's cancel lookup, the audit trail.
"""

from __future__ import annotations

import functools

from lashtui.model import ProcessEvent, SystemTime
from lashtui.model.event import event_invocation
from lashtui.registry.sql.decoded_row import DECODE_ERRORS, undecodable_reason
from lashtui.registry.sql.dialect import MAX_STORED_BYTES, Dialect, Tx, dialect
from lashtui.registry.sql.row import Row
from lashtui.registry.sql.stored_text import as_read, read_text
from lashtui.untrusted import clipped

# Why an event left unread (dialect.py `stored_json`) is a stand-in, or refused.
EVENT_TOO_LARGE = (
    f"the event is over {MAX_STORED_BYTES >> 20} MiB of JSON, more than any reader takes"
)


def decode_event(text: str | None) -> ProcessEvent:
    if text is None:
        raise ValueError(EVENT_TOO_LARGE)
    return ProcessEvent.model_validate_json(text)


# The reads of the log read each event's columns with its JSON, and an event that does not
# decode (another program wrote it: see decoded_row.py) is a stand-in built from them, payload null
# and `undecodable` saying why, so one bad event never hides a process's timeline.
EVENT_COLUMNS = "event_json, process_id, sequence, event_type, occurred_at_ms"


def event_columns(conn: Tx, alias: str = "") -> list[str]:
    """`EVENT_COLUMNS` (each with `alias`, as `e.`) as every read of events takes them: the
    event's JSON NULL when it is past `MAX_STORED_BYTES` (dialect.py `stored_json`;
    `event_row` makes it a stand-in)."""
    return list(event_columns_in(dialect(conn), alias))


@functools.cache
def event_columns_in(sql: Dialect, alias: str) -> tuple[str, ...]:
    """(The event type column, which only a stand-in shows, under the ceiling on plain
    text: stored_text.py. One of 200 MB cost `events` 440 MB, read whole and never shown.)"""
    json_column, process_id, sequence, event_type, occurred_at_ms = (
        f"{alias}{column}" for column in EVENT_COLUMNS.split(", ")
    )
    return (
        sql.stored_json(json_column), process_id, sequence, read_text(event_type), occurred_at_ms
    )


def event_row(row: Row) -> ProcessEvent:
    """The event a row of the log holds, or a stand-in saying why it does not decode. The
    row's sequence column is the event's place in the log, which every page reads on from:
    an event whose JSON names another sequence (another program wrote one without the
    other: a JSON saying -1 under a row of 1 made `lashtui events` read the same page for
    ever) does not decode, as a record whose status column disagrees (decoded_row.py
    `StatusMismatch`): which of the two is true is not known."""
    sequence = row[2]
    try:
        event = decode_event(row[0])
        if event.sequence != sequence and type(sequence) is int:
            raise ValueError(f"its JSON says sequence {event.sequence}, its row {sequence}")
    except DECODE_ERRORS as error:
        _, process_id, _, event_type, occurred_at_ms = row
        event_type = as_read(event_type)  # (cut past the ceiling: shown as such)
        # (Numbers the reads did not test are read as 0 when they are no whole number: a
        # time so read is marked unknown, and the reason says what the column holds.)
        sequence = sequence if type(sequence) is int else 0
        reason = undecodable_reason(error)
        time_unknown = type(occurred_at_ms) is not int
        if time_unknown:
            held = clipped(repr(occurred_at_ms), 40)
            reason = f"{reason}; its time column holds {held}, which is no whole number"
        return ProcessEvent(
            process_id=str(process_id),
            sequence=sequence,
            event_type=str(event_type),
            payload=None,
            invocation=event_invocation(str(process_id), sequence, str(event_type), None),
            occurred_at=SystemTime.from_ms(0 if time_unknown else occurred_at_ms),
            time_unknown=time_unknown,
        ).marked_undecodable(reason)
    if event.process_id != row[1] and isinstance(row[1], str):
        # The row's key, as for records (decoded_row.py `keyed`): an id that is not UTF-8.
        return event.model_copy(update={"process_id": row[1]})
    return event
