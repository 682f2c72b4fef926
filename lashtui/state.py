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
