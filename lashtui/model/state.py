"""The six states an operator sees, and the one verdict the dashboard derives from lease facts.

lash's lifecycle has five states (running and four terminals); an operator also needs to tell
a running row that is parked on a wait from one that is working, so the dashboard speaks of
six (named in lashtui.state, outside this package, and re-exported here). `process_state`
is that projection, and `silent_not_dead` is the rule for started owner_bound work whose
lease has lapsed. Both are pure: the time is passed in.
"""

from collections.abc import Collection

from lashtui.model.input import RecoveryDisposition
from lashtui.model.observed import ObservedProcess
from lashtui.model.output import ProcessLifecycleStatus
from lashtui.model.record import ProcessRecord
from lashtui.state import LIVE_STATES, PROCESS_STATES, TERMINAL_STATES, ProcessState

__all__ = [
    "LIVE_STATES",
    "PROCESS_STATES",
    "TERMINAL_STATES",
    "ProcessState",
    "in_states",
    "lease_lapsed",
    "lease_lapsed_at",
    "process_state",
    "silent_not_dead",
]


def process_state(process: ProcessRecord | ObservedProcess) -> ProcessState:
    """running, waiting, or the terminal state: waiting is a running row parked on a wait."""
    lifecycle = process.status.state
    if lifecycle is ProcessLifecycleStatus.RUNNING:
        return ProcessState.WAITING if process.wait is not None else ProcessState.RUNNING
    return ProcessState(lifecycle.value)


def in_states(process: ProcessRecord | ObservedProcess, states: Collection[str]) -> bool:
    """Whether `process` is in one of `states`, as the registry's filters have it: a row whose
    status column holds no state is in none (its stand-in's state is a placeholder)."""
    return not process.no_state and process_state(process) in states


def silent_not_dead(process: ObservedProcess, now_ms: int) -> bool:
    """Started owner_bound work whose lease has lapsed (or is gone), with no abandon request:
    the one genuinely ambiguous state (lash docs, "detecting a stuck process"). Only an
    operator can decide it; once one has requested its abandon, the next sweep honours it
    (`lashtui check` counted such a row apart, `ls` and the views called it silent); a lease
    whose expiry equals now has lapsed."""
    expires = process.lease_expires_at_ms
    return (
        process.abandon_request is None
        and not process.terminal
        and process.disposition is RecoveryDisposition.OWNER_BOUND
        and process.first_started is not None
        and (expires is None or expires <= now_ms)
    )


def lease_lapsed(process: ObservedProcess) -> bool:
    """For a row no worker holds: whether a holder is on record with an expiry (so it
    lapsed), rather than no lease held at all (released without an outcome, as an orderly
    stop that does not drain leaves it). What the views say of such a row follows this:
    "lease lapsed" for a released lease would make up an expiry that never came."""
    return process.lease_holder is not None and process.lease_expires_at_ms is not None


def lease_lapsed_at(process: ObservedProcess, now_ms: int) -> bool:
    """Whether the row's lease on record had lapsed by `now_ms`: a holder and an expiry are
    stored, and the expiry is at or before now (a lease whose expiry equals now has lapsed,
    as in `silent_not_dead`). A row no one holds, or whose expiry is not known, has no
    lapsed lease to show (`lease_lapsed` says which of the two a row no worker holds is)."""
    expires = process.lease_expires_at_ms
    return process.lease_holder is not None and expires is not None and expires <= now_ms
