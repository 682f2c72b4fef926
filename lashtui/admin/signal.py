"""Sending a signal to a process (semantics §11.2): `signal` appends `signal.<name>` under the
replay key `process:<pid>:signal.<name>:<signal_id>`, so a resend is one event, and says
what the process does with it.

A signal the target cannot take is that target's refusal, in a sentence that blames what
the operator sent and not the process: a replay key too long for the target's id
(`key_too_long`, which the dashboard also uses before it asks) or a name the process does
not declare (`undeclared`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import JsonValue

from lashtui.admin.target_outcome import not_acted_on, outcome, refused_unknown
from lashtui.errors import EventLogFull, InvalidRequest, ProcessConflict, UnknownProcess
from lashtui.model import (
    ProcessEventAppendRequest,
    ProcessRecord,
    limit,
    process_signal_event_type,
    process_signal_replay_key,
)
from lashtui.model.event import SIGNAL_PREFIX
from lashtui.model.outcome import ProcessActionOutcome, signal_then
from lashtui.untrusted import SHOWN_CHARS, is_cut_id

if TYPE_CHECKING:
    from lashtui.admin.processes import Processes


# How much of an id too long to act on a refusal quotes (as registry/sql/long_id.py quotes
# a cut id): the id is on the line's start already, and whole in `--json`.
QUOTED_ID_CHARS = 64


async def signal(
    processes: Processes, process_id: str, signal_name: str, signal_id: str, payload: JsonValue
) -> ProcessActionOutcome:
    """Append `signal.<name>` under `process:<pid>:signal.<name>:<signal_id>`, so a resend
    with the same id and payload is one event (reported unchanged). The n-th wait on a
    name receives the n-th such signal. lash's signal event carries the caller's payload
    and no actor, so a signal records no operator."""
    event_type = process_signal_event_type(signal_name)
    key = process_signal_replay_key(process_id, signal_name, signal_id)
    # The key is made from the target's id, which another program may have stored far
    # longer than lashtui's 512: past the key's limit that is the target's refusal, with
    # its line (it escaped as the command's error, "a replay key may be at most 2,048
    # characters", a key the operator never gave). The spec fixes the key's form
    # (semantics §11.2: a resend must find the same key), so it is not shortened.
    fits = len(key) <= limit.MAX_KEY_CHARS
    # The payload's limits (depth, size, text) are the operator's argument, not the
    # target's: refused before any target is looked at, like a bad signal name.
    request = ProcessEventAppendRequest.checked(event_type, payload, key if fits else None)
    registry = processes.registry
    record = await registry.get_process(process_id)
    if record is None:
        return await refused_unknown(processes, process_id, "signal")
    if (refusal := not_acted_on(record, process_id)) is not None:
        return await outcome(processes, process_id, "signal", "refused", refusal)
    if record.is_terminal():
        sentence = f"process `{process_id}` is already terminal"
        return await outcome(processes, process_id, "signal", "refused", sentence)
    if not fits:
        return await outcome(
            processes, process_id, "signal", "refused", key_too_long(process_id, len(key))
        )
    if record.undecodable is None and record.event_type(event_type) is None:
        # The registry would refuse it in lash's words, "process `w` emitted undeclared
        # event type `signal.x`", which blame the process for what the operator sent.
        return await outcome(
            processes, process_id, "signal", "refused", undeclared(record, signal_name)
        )
    last = await registry.recent_events(process_id, 1)
    try:
        event = (await registry.append_event(process_id, request)).event
    except (UnknownProcess, ProcessConflict, InvalidRequest, EventLogFull) as error:
        return await outcome(processes, process_id, "signal", "refused", str(error))
    if last and event.sequence <= last[-1].sequence:
        sentence = (
            f"signal id `{signal_id}` was already sent as event {event.sequence}; "
            "nothing was appended"
        )
        return await outcome(processes, process_id, "signal", "unchanged", sentence, event=event)
    observed = await processes.get(process_id)
    then = (
        signal_then(observed, signal_name, processes.clock.now_ms())
        if observed is not None
        else "the process is gone since"
    )
    sentence = f"{event_type} stored as event {event.sequence}; {then}"
    return await outcome(processes, process_id, "signal", "done", sentence, observed, event=event)


def key_too_long(process_id: str, key_chars: int) -> str:
    """Why a signal to a row whose id is too long for a signal's replay key is not sent."""
    size = f"over {SHOWN_CHARS:,}" if is_cut_id(process_id) else f"{len(process_id):,}"
    return (
        f"process `{process_id[:QUOTED_ID_CHARS]}…` has an id of {size} characters, too long "
        f"for the replay key a signal is stored under (`process:<id>:signal.<name>:<signal "
        f"id>`, here {key_chars:,} characters; at most {limit.MAX_KEY_CHARS:,}), so nothing "
        "was sent"
    )


def undeclared(record: ProcessRecord, signal_name: str) -> str:
    """Why a signal the process does not declare is not sent, naming those it does."""
    declared = sorted(
        t.name.removeprefix(SIGNAL_PREFIX)
        for t in record.event_types
        if t.name.startswith(SIGNAL_PREFIX)
    )
    takes = f"its signals are {', '.join(declared)}" if declared else "it declares none"
    return (
        f"process `{record.id}` declares no signal `{signal_name}`, so nothing was sent "
        f"({takes})"
    )
