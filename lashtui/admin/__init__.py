"""The facade over the registry that the command line and the dashboard use (semantics
§13, api.md §6): `Processes`, the host's view of every row, and `SessionProcesses`, a
session's view of what its grants reach.

Its modules each own one thing: `processes` (the facade: its state, reads and starts),
`start` (what a start checks and completes before anything is written), `argument` (the
facade's arguments held to its type hints), `action` (what an operator may do, each act
producing one outcome per target: cancel, abandon requests, ending an undecodable row, and
the audited `ProcessActions` over them all), `signal`, `transfer` and `prune` (the acts
with modules of their own), `target_outcome` (the outcome an act makes for one target),
`operator` (who an act is recorded as), `audit` (the record of those acts), `rerun`
(running a terminal process again) and `session` (a session's view and snapshot). Callers
import from here; the names below are the package's public surface.
"""

from lashtui.admin.action import ProcessActions, abandon_outlook
from lashtui.admin.operator import HOST_OPERATOR, OPERATOR_ENV, default_operator, resolve_operator
from lashtui.admin.processes import (
    HOST_CANCEL_REASON,
    Processes,
    originated_by,
    originated_by_scope,
)
from lashtui.admin.prune import PRUNE_CUTOFF_MAX_MS, check_prune_cutoff
from lashtui.admin.session import SNAPSHOT_EVENT_TAIL, ProcessSnapshotItem, SessionProcesses
from lashtui.admin.start import check_start_request

__all__ = [
    "HOST_CANCEL_REASON",
    "HOST_OPERATOR",
    "OPERATOR_ENV",
    "PRUNE_CUTOFF_MAX_MS",
    "SNAPSHOT_EVENT_TAIL",
    "ProcessActions",
    "ProcessSnapshotItem",
    "Processes",
    "SessionProcesses",
    "abandon_outlook",
    "check_prune_cutoff",
    "check_start_request",
    "default_operator",
    "originated_by",
    "originated_by_scope",
    "resolve_operator",
]
