"""The six states an operator sees, and the one verdict the dashboard derives from lease facts.

lash's lifecycle has five states (running and four terminals); an operator also needs to tell
a running row that is parked on a wait from one that is working, so the dashboard speaks of
six. `process_state` is that projection, and `silent_not_dead` is the rule for started
owner_bound work whose lease has lapsed. Both are pure: the time is passed in.
"""

from __future__ import annotations

from enum import StrEnum

from lashtui.model.input import RecoveryDisposition
from lashtui.model.observed import ObservedProcess
from lashtui.model.output import ProcessLifecycleStatus
from lashtui.model.record import ProcessRecord


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


def process_state(process: ProcessRecord | ObservedProcess) -> ProcessState:
    """running, waiting, or the terminal state: waiting is a running row parked on a wait."""
    lifecycle = process.status.state
    if lifecycle is ProcessLifecycleStatus.RUNNING:
        return ProcessState.WAITING if process.wait is not None else ProcessState.RUNNING
    return ProcessState(lifecycle.value)


def silent_not_dead(process: ObservedProcess, now_ms: int) -> bool:
    """Started owner_bound work whose lease has lapsed (or is gone): the one genuinely
    ambiguous state (lash docs, "detecting a stuck process"). Only an operator can decide
    it; a lease whose expiry equals now has lapsed."""
    expires = process.lease_expires_at_ms
    return (
        not process.terminal
        and process.disposition is RecoveryDisposition.OWNER_BOUND
        and process.first_started is not None
        and (expires is None or expires <= now_ms)
    )
