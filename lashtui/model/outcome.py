"""What an operator's action did to each of its targets: `ProcessActionOutcome`, and the
operator names that actions record.

An action (cancel, signal, abandon request, transfer, rerun) reports per target exactly one of:

- `done`: the effect the operator asked for has happened (a grant moved, a signal stored,
  a row that is now terminal);
- `requested`: a durable request was recorded and something else must still act on it (the
  worker holding the row, its external owner, the sweep) - the sentence says what;
- `unchanged`: nothing was written because the registry already holds what was asked, or a
  first request stands (first-writer-wins) - the sentence says why;
- `refused`: nothing was written because the action cannot apply - the sentence is the
  refusal (lash's own message where semantics §15 has one).

The sentence is meant to be shown as it is; it quotes stored ids and names, so a screen
passes it through the untrusted-text boundary like any stored string. `process` is the row
as observed after the action (absent when the id is unknown). The JSON keeps lash's
`ProcessCancelSummary` fields (`process_id`, `status`) at the top level, so a reader of
`lashtui cancel --json` that knew only lash's shape still reads it.

Pure: the clock time and the observed rows are handed in.
"""

from typing import Literal

from pydantic import computed_field

from lashtui.errors import InvalidRequest
from lashtui.model.event import ProcessEvent
from lashtui.model.observed import ObservedProcess
from lashtui.model.output import ProcessLifecycleStatus
from lashtui.model.owner import owner
from lashtui.model.state import lease_lapsed
from lashtui.model.wire import WireModel, omitted
from lashtui.untrusted import printable_name, utc_text

Outcome = Literal["done", "requested", "unchanged", "refused"]
ProcessAction = Literal["cancel", "signal", "abandon", "transfer", "rerun", "end-undecodable"]
OUTCOMES: tuple[Outcome, ...] = ("done", "requested", "unchanged", "refused")

# An operator name is stored in every abandon request and cancel reason it makes, and shown
# in every list: short enough for a table cell, long enough for `first.last@host.domain`.
OPERATOR_NAME_MAX = 128


class ProcessActionOutcome(WireModel):
    """One target of one action: what happened to it, in one sentence, and the row after."""

    process_id: str
    action: ProcessAction
    outcome: Outcome
    sentence: str
    process: ObservedProcess | None = omitted()
    event: ProcessEvent | None = omitted()  # signal: the stored (or replayed) event
    started: ObservedProcess | None = omitted()  # rerun: the process it started

    @computed_field  # type: ignore[prop-decorator]
    @property
    def status(self) -> ProcessLifecycleStatus | None:
        """The row's lifecycle after the action (lash's `ProcessCancelSummary.status`)."""
        return self.process.lifecycle if self.process is not None else None

    @property
    def refused(self) -> bool:
        return self.outcome == "refused"

    def line(self) -> str:
        """`<id>: <outcome>: <sentence>`, as the command line prints it."""
        return f"{self.process_id}: {self.outcome}: {self.sentence}"


def counted(count: int, one: str, many: str) -> str:
    """`1 event`, `12,345 events`."""
    return f"{count:,} {one if count == 1 else many}"


def cutoff_text(cutoff_epoch_ms: int) -> str:
    """A prune cutoff as a sentence names it: `2026-12-02 10:00:00.000Z`, as every human
    output prints a time (`show`, `errors`, `audit`, the dashboard: tui/format.py
    `timestamp`); it was `2026-12-02 10:00:00 UTC`, a format of its own."""
    return utc_text(cutoff_epoch_ms, "%Y-%m-%d %H:%M:%S.%fZ")


def prune_extent(processes: int, events: int, cutoff_epoch_ms: int) -> str:
    """`12,345 terminal processes and 98,765 events last changed before <cutoff>`."""
    return (
        f"{counted(processes, 'terminal process', 'terminal processes')} and "
        f"{counted(events, 'event', 'events')} last changed before {cutoff_text(cutoff_epoch_ms)}"
    )


class ProcessPrunePreview(WireModel):
    """What a prune would delete, counted and not deleted (`lashtui prune --dry-run`, the
    dashboard's prune form): `unchanged`, as nothing was written. `up_to_change_seq` bounds
    the prune that follows it to the rows counted (rows ending later are kept)."""

    action: Literal["prune"] = "prune"
    dry_run: Literal[True] = True
    outcome: Literal["unchanged"] = "unchanged"
    sentence: str
    cutoff_epoch_ms: int
    processes: int
    events: int
    up_to_change_seq: int

    def question(self) -> str:
        """The confirmation's question: `Prune 12,345 terminal processes and ...?`."""
        return f"Prune {prune_extent(self.processes, self.events, self.cutoff_epoch_ms)}?"


class ProcessPruneOutcome(WireModel):
    """A prune: lash's `ProcessPruneReport` fields, plus the outcome and the cutoff it used.
    A prune has no targets named by id; it is `done` when it deleted rows and `unchanged`
    when nothing was older than the cutoff."""

    action: Literal["prune"] = "prune"
    outcome: Outcome
    sentence: str
    cutoff_epoch_ms: int
    pruned_processes: int = 0
    pruned_events: int = 0


def tally(outcomes: list[ProcessActionOutcome]) -> dict[Outcome, list[ProcessActionOutcome]]:
    """The outcomes grouped by kind, in the order done, requested, unchanged, refused."""
    grouped: dict[Outcome, list[ProcessActionOutcome]] = {kind: [] for kind in OUTCOMES}
    for outcome in outcomes:
        grouped[outcome.outcome].append(outcome)
    return {kind: items for kind, items in grouped.items() if items}


def ago(epoch_ms: int, now_ms: int) -> str:
    """A coarse age for a sentence: `just now`, `42s ago`, `5m ago`, `3h ago`, `2d ago`."""
    seconds = max(now_ms - epoch_ms, 0) // 1000
    if seconds < 1:
        return "just now"
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def check_operator_name(name: str, source: str = "an operator name") -> str:
    """An operator name as actions record it: 1 to 128 characters, each shown as itself
    (letters, digits, punctuation, symbols; no spaces or control characters), because it
    is stored in rows other operators read. `source` names where it came from."""
    if len(name) > OPERATOR_NAME_MAX or not printable_name(name):
        shown = name if len(name) <= OPERATOR_NAME_MAX else name[:OPERATOR_NAME_MAX] + "..."
        raise InvalidRequest(
            f"{source} must be 1 to {OPERATOR_NAME_MAX} printable characters without spaces "
            f"(such as `dana@host-a`), got {shown!r}"
        )
    return name


def _held(process: ObservedProcess, now_ms: int) -> bool:
    """Whether a worker holds the row's lease now (one that has not lapsed)."""
    expires = process.lease_expires_at_ms
    return process.lease_holder is not None and expires is not None and expires > now_ms


def no_lease_held(process: ObservedProcess) -> str:
    """Why no worker holds a row's lease (`lease_lapsed`: a lapse is not a release)."""
    return "its owner's lease has lapsed" if lease_lapsed(process) else "its owner holds no lease"


def lease_unknown(process: ObservedProcess) -> str:
    """Why nothing can be said of who runs a row whose lease does not decode (another
    program stored a value no reader takes: an owner id of 100,000 characters)."""
    return (
        f"its lease could not be decoded ({process.lease_undecodable}), so whether a "
        "worker is running it is not known; no worker or sweep takes it until "
        "end-undecodable ends it"
    )


def signal_then(process: ObservedProcess, name: str, now_ms: int) -> str:
    """After a signal stored on a live row: what receives it, and when. A wait on it
    resumes only in a run: a row no worker runs (its lease lapsed) was said to resume. The
    holder is named as the tables name it (model/owner.py): it was its raw owner id, a
    recovery attempt's suffix and all, and another program's id of any length whole."""
    if process.wait is None or process.wait.kind.name != name:
        return f"the process's next wait on `{name}` receives it"
    if process.lease_undecodable is not None:  # (it said the next worker to claim it would)
        return lease_unknown(process)
    if _held(process, now_ms):
        assert process.lease_holder is not None
        return f"the run waiting on it resumes ({owner(process.lease_holder)} holds it)"
    if process.disposition.value == "externally_owned":
        return "externally owned: its wait resumes when its owner reads it"
    if process.disposition.value == "rerunnable" or process.first_started is None:
        return (
            "no worker is running it now: the next one to claim it runs it to its wait, "
            "which receives it"
        )
    return (
        f"no worker is running it ({no_lease_held(process)}): its wait resumes only if "
        "its owner is alive; else request an abandon"
    )


def still_to_happen(process: ObservedProcess, now_ms: int) -> str:
    """After a cancel request on a live row: who must act on it for the row to end."""
    if process.disposition.value == "externally_owned":
        return "externally owned: its owner must end it"
    if process.lease_undecodable is not None:  # its holder and expiry are not known
        return lease_unknown(process)
    if _held(process, now_ms):
        assert process.lease_holder is not None
        return (
            f"the worker holding it ({owner(process.lease_holder)}) stops it within its next poll"
        )
    if process.disposition.value == "rerunnable" or process.first_started is None:
        return "the next worker to claim it ends it as cancelled without running it"
    # A started owner_bound row: the sweep ends it only once its owner is proved dead (it
    # said "or the sweep ends it", and the sweep left such a row running for ever).
    return (
        f"{no_lease_held(process)}, so no worker is running it: only its owner (if alive) "
        "ends it, or the sweep once it proves the owner dead; or request an abandon"
    )


def cancel_request_reason(operator: str, reason: str | None) -> str:
    """The reason a cancel request stores (lash's payload `{"reason": ...}` has no actor
    field, so the operator goes into the reason): `requested by dana@host-a`, then `: why`
    when one was given. With the host as operator and no reason this is lash's own
    `requested by host`."""
    return f"requested by {operator}" + (f": {reason}" if reason else "")
