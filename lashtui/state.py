"""The six states an operator sees, by name: lash's five lifecycle states, with a running
row parked on a wait told apart as `waiting`.

They live here, outside `lashtui.model`, because importing anything inside that package
builds every pydantic model (~500M instructions, more than the whole stdlib peer of S1):
the SQL that pages processes by state (registry/sql/filter.py) is also built by the
command line's model-free `ls --json` read (lashtui/cli_listing.py), which must name the
states without loading pydantic. `lashtui.model` re-exports all of it; `process_state`,
the projection of a record onto these states, stays in lashtui/model/state.py.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection
from enum import StrEnum
from typing import TYPE_CHECKING, Any

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
# them holds is not known (row.py `decode_record`; the census, the state filters and
# `check` count it as the running stand-in it reads as, asking this very function in
# SQLite's SQL, registry/sql/repeated.py; `ls --json`'s printer leaves such a row to the
# models, observed_json.py). Every record is looked at (`repeated_key` says how cheaply);
# only one whose text could name a read key twice is parsed whole again, which costs as
# much as decoding it (~50 us a 2 kB record).

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
_QUOTED = tuple((f'"{key}"', key) for key in _READ)
_NESTED = tuple((quoted, key, _READ[key]) for quoted, key in _QUOTED if _READ[key])
_COLON = re.compile(r"[ \t\n\r]*:[ \t\n\r]*")


def repeated_key(text: str | bytes, present: Collection[str] | None = None) -> str | None:
    """The dotted path of a key some reader reads in SQL (`_READ`) that the JSON object
    `text` names more than once (escaped spellings such as `"w\\u0061it"` included: JSON
    reads them as the same key), or None. None for text that is not a JSON object.
    `present`, when given, holds the top-level keys a parse of `text` found (pydantic's
    fields set): a key named twice is found, so the others need no look.

    Cheap where it can be: with no backslash, a top-level key quoted once is that key, so
    only the small objects under the present ones (`identity`, `status`, `first_started`)
    are parsed, alone (~1 us each, beside ~1 us a key to count its quotes); anything else
    (a backslash, a read name quoted twice) is parsed whole (~50 us a 2 kB record)."""
    if isinstance(text, str) and "\\" not in text:
        keys = _QUOTED if present is None else [(q, k) for q, k in _QUOTED if k in present]
        if all(text.count(quoted) < 2 for quoted, _ in keys):
            return _repeated_parts(text, {key for _, key in keys})
    try:
        pairs = _decoder().decode(text if isinstance(text, str) else text.decode())
    except (ValueError, RecursionError):
        return None
    return _repeat(pairs, _READ, "")


def _repeated_parts(text: str, present: Collection[str]) -> str | None:
    """`repeated_key` for text with no backslash and each present read top-level key quoted
    once: the value after each nested one's quoted name, parsed alone."""
    decoder = _decoder()
    for quoted, key, read in _NESTED:
        if key not in present:
            continue
        at = text.find(quoted)
        colon = None if at < 0 else _COLON.match(text, at + len(quoted))
        if colon is None:
            continue  # (absent, or a string value that spells it: the key is absent)
        try:
            value, _ = decoder.raw_decode(text, colon.end())
        except (ValueError, RecursionError):
            return None
        found = _repeat(value, read, f"{key}.")
        if found is not None:
            return found
    return None


def _repeat(pairs: object, read: dict[str, Any], where: str) -> str | None:
    if not isinstance(pairs, _Pairs):
        return None
    seen: set[str] = set()
    for key, _ in pairs:
        if key in read:
            if key in seen:
                return f"{where}{key}"
            seen.add(key)
    for key, value in pairs:
        nested = read.get(key)
        if nested:
            found = _repeat(value, nested, f"{where}{key}.")
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
