"""The six states an operator sees, by name: lash's five lifecycle states, with a running
row parked on a wait told apart as `waiting`.

They live here, outside `lashtui.model`, because importing anything inside that package
builds every pydantic model (~500M instructions, more than the whole stdlib peer of S1):
the SQL that pages processes by state (registry/sql/filter.py) is also built by the
command line's model-free `ls --json` read (lashtui/listing.py), which must name the
states without loading pydantic. `lashtui.model` re-exports all of it; `process_state`,
the projection of a record onto these states, stays in lashtui/model/state.py.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from lashtui.core_event_types import CORE_EVENT_TYPES_JSON

if TYPE_CHECKING:
    import json


class ProcessState(StrEnum):
    RUNNING = "running"
    WAITING = "waiting"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    ABANDONED = "abandoned"

    @property
    def is_terminal(self) -> bool:
        return self not in (ProcessState.RUNNING, ProcessState.WAITING)


PROCESS_STATES: tuple[ProcessState, ...] = tuple(ProcessState)
LIVE_STATES: tuple[ProcessState, ...] = (ProcessState.RUNNING, ProcessState.WAITING)
TERMINAL_STATES: tuple[ProcessState, ...] = tuple(s for s in ProcessState if s.is_terminal)


# --- a record that names a key twice ----------------------------------------------------------
#
# JSON leaves a repeated key's meaning open and the registry's readers differ: SQLite's JSON
# functions take the first, Python, pydantic and PostgreSQL's jsonb the last. So a record
# that names twice a key some reader reads in SQL (`_READ` below) is undecodable: which of
# them holds is not known (decoded_row.py `decode_record`; the census, the state filters and
# `check` count it as the running stand-in it reads as, asking this very function in
# SQLite's SQL, registry/sql/repeated.py; `ls --json`'s printer leaves such a row to the
# models, record_shape.py `vouched_record`). Every record is looked at, so the look is cheap
# (`repeated_key`): the text is searched for the read names, not parsed, and only a record
# where one is named twice in the same stretch is parsed, the value in question alone, or
# the whole record when that does not settle it.

REPEATED_WAIT = (
    "its record names `wait` twice, and readers differ on which counts (SQLite takes the "
    "first, Python and PostgreSQL the last), so whether it waits is not known"
)


def repeated_words(path: str) -> str:
    """Why a record that names `path` twice does not decode, in one sentence."""
    if path == "wait":
        return REPEATED_WAIT
    return (
        f"its record names `{path}` twice, and readers differ on which counts (SQLite takes "
        "the first, Python and PostgreSQL the last), so which holds is not known"
    )


# The keys some reader reads with SQL (json_extract / `#>>` paths in lashtui/registry/sql),
# as a tree: a record that repeats one of them is read one way by SQLite's JSON functions
# (the first) and another by the models and jsonb (the last). The worker picks rows to
# re-run or abandon by `disposition` and `abandon_request` in SQL, so such a row was acted
# on by one reading and shown by the other. The outcome's keys are the Errors view's
# (sql/error.py groups failed rows by the `code` SQLite read first; `show` said the last).
OUTCOME_READ: dict[str, dict[str, Any]] = {
    "type": {}, "code": {}, "message": {}, "evidence": {"writer": {}},
}  # fmt: skip
_READ: dict[str, dict[str, Any]] = {
    "disposition": {},
    "wait": {},
    "env_ref": {},
    "identity": {"kind": {}, "label": {}, "definition": {}},
    "status": {"state": {}, "await_output": OUTCOME_READ},
    "first_started": {"owner": {"owner_id": {}}, "started_at_ms": {}},
    "abandon_request": {"reason": {}, "requested_at_ms": {}},
    "wake_target": {"session_id": {}},
}
_QUOTED = {key: f'"{key}"' for key in _READ}


def _below(read: dict[str, Any]) -> tuple[str, ...]:
    return tuple(name for key, under in read.items() for name in (f'"{key}"', *_below(under)))


# Under each read key that has read keys of its own, every name read anywhere below it.
_BELOW = tuple((_QUOTED[key], _below(read)) for key, read in _READ.items() if read)
# The core event types as nearly every record holds them (core_event_types.py): two thirds
# of a typical record's text, naming `state` and `await_output` four times each, under
# `event_types`, which no reader reads.
_CORE_MEMBER = f'"event_types":{CORE_EVENT_TYPES_JSON}'
_CORE_START = _CORE_MEMBER[:48]  # (found first, the rest then compared in place)
_COLON = re.compile(r"[ \t\n\r]*:[ \t\n\r]*")


def repeated_key(text: str | bytes, present: Collection[str]) -> str | None:
    """The dotted path of a key some reader reads in SQL (`_READ`) that the JSON object
    `text` names more than once (escaped spellings such as `"w\\u0061it"` included: JSON
    reads them as the same key), or None; None for text that is not a JSON object.
    `present` holds the top-level keys a parse of `text` found (the decoded object, or
    pydantic's fields set: the record's fields have no aliases, a test checks).

    Looked over rather than parsed where it can be (`_looked_over`; on S1's registry ~57k
    instructions a record against ~127k for its json decode); a text with a backslash, or
    one where that look cannot decide, is parsed whole (~2x a json decode)."""
    if isinstance(text, str) and "\\" not in text:
        try:
            return _looked_over(text, present)
        except _Undecided:
            pass
    try:
        pairs = _decoder().decode(text if isinstance(text, str) else text.decode())
    except (ValueError, RecursionError):
        return None
    return _repeat(pairs, _READ, "")


class _Undecided(Exception):
    """`_looked_over` cannot tell: the text is parsed whole."""


def _looked_over(text: str, present: Collection[str]) -> str | None:
    """`repeated_key` for a JSON object with no backslash, looked over rather than parsed.

    With no backslash, every `"name"` in the text is a whole string (a quote inside one would
    be escaped), spelled as JSON reads it. So a present read top-level key named exactly once
    is named there as that key, and its value lies between there and the next of those
    names: the names read below it are counted in that stretch, and only a value where one
    is named twice is parsed, alone. The core event types, which name none of them where a
    reader reads, are stepped over first. Raises _Undecided where a present key is named
    twice (or not at all): whether that is its repeat is left to the whole parse."""
    core = text.find(_CORE_START)
    if core >= 0 and text.startswith(_CORE_MEMBER, core):
        text = text[:core] + text[core + len(_CORE_MEMBER) :]
    at: dict[str, int] = {}  # where each present read top-level key is named, by its quoted name
    for quoted in filter(None, map(_QUOTED.get, present)):
        around = text.split(quoted, 2)  # (one scan: cheaper than two finds)
        if len(around) != 2:
            raise _Undecided
        at[quoted] = len(around[0])
    bounds = sorted(at.values())
    bounds.append(len(text))
    for quoted, below in _BELOW:
        first = at.get(quoted)
        if first is not None:
            end = bounds[bounds.index(first) + 1]
            if max(map(text[first:end].count, below)) > 1:
                found = _repeated_in_value(text, first + len(quoted), quoted[1:-1])
                if found is not None:
                    return found
    return None


def _repeated_in_value(text: str, after: int, key: str) -> str | None:
    """`repeated_key` below `key`, whose name ends at `after`: its value, parsed alone."""
    colon = _COLON.match(text, after)
    if colon is None:
        raise _Undecided
    try:
        value, _ = _decoder().raw_decode(text, colon.end())
    except (ValueError, RecursionError):
        raise _Undecided from None  # (the core was stepped over inside it, say)
    return _repeat(value, _READ[key], f"{key}.")


def _repeat(pairs: object, read: dict[str, Any], where: str) -> str | None:
    """The first read key `pairs` names twice, else the first below one of them, in
    `read`'s order (as `_looked_over` looks)."""
    if not isinstance(pairs, _Pairs):
        return None
    values: dict[str, object] = {}
    for key, value in pairs:
        if key in read:
            if key in values:
                return f"{where}{key}"
            values[key] = value
    for key, nested in read.items():
        if nested and key in values:
            found = _repeat(values[key], nested, f"{where}{key}.")
            if found is not None:
                return found
    return None


@functools.cache
def _decoder() -> json.JSONDecoder:
    import json  # (only here: the command line's model-free read imports this module)

    return json.JSONDecoder(object_pairs_hook=_pairs)


class _Pairs(list[tuple[str, object]]):
    """An object's members as `json.loads` read them, repeated keys kept."""


def _pairs(pairs: list[tuple[str, object]]) -> _Pairs:
    return _Pairs(pairs)
