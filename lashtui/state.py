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

from enum import StrEnum


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


# --- a record that names `wait` twice --------------------------------------------------------
#
# Whether a running row waits is the one fact of its record the counts read (its state is its
# status column, row.py `checked`). JSON leaves a repeated key's meaning open and the
# registry's readers differ: SQLite's JSON functions take the first `wait`, Python, pydantic
# and PostgreSQL's jsonb the last. So a record that names `wait` twice in its own object is
# undecodable: which of them holds is not known (row.py `decode_record`; the census and the
# state filters count it as the running stand-in it reads as, sql/filter.py `waiting_sql`;
# `ls --json`'s printer leaves it to the models, observed_json.py). Only a record that holds
# the key is tested, so rows that do not wait pay nothing, and only one whose text could
# name it twice (a backslash, or `"wait"` twice) is parsed again, which costs as much as
# decoding it (~50 us a 2 kB record here).

REPEATED_WAIT = (
    "its record names `wait` twice, and readers differ on which counts (SQLite takes the "
    "first, Python and PostgreSQL the last), so whether it waits is not known"
)


def repeats_wait(text: str | bytes) -> bool:
    """Whether the JSON object `text` names `wait` more than once at its top level (escaped
    spellings such as `"w\\u0061it"` included: JSON reads them as the same key). False for
    text that is not a JSON object."""
    if isinstance(text, str) and "\\" not in text and text.count('"wait"') < 2:
        return False  # (no escape, one `"wait"` at most: ~1 us, where parsing is ~50)
    import json  # (only here: the command line's model-free read imports this module)

    try:
        pairs = json.loads(text, object_pairs_hook=_pairs)
    except (ValueError, RecursionError):
        return False
    return isinstance(pairs, _Pairs) and sum(key == "wait" for key, _ in pairs) > 1


class _Pairs(list[tuple[str, object]]):
    """An object's members as `json.loads` read them, repeated keys kept."""


def _pairs(pairs: list[tuple[str, object]]) -> _Pairs:
    return _Pairs(pairs)
