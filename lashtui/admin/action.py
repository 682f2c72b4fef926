"""What an operator may do to a process, each producing one outcome per target (semantics
§13, api.md §6): cancel, signal, request abandon, transfer grants, prune, end an
undecodable row.

Each action returns one `ProcessActionOutcome` per target: done, requested, unchanged or
refused, with one sentence. A refusal that concerns the target (unknown, terminal, not
granted, a payload its declaration refuses) is an outcome, so one refused target never
hides what happened to the others; a bad argument (a signal name, an operator name, a
scope, a prune cutoff) and a store that cannot serve raise `LashError` before anything is
written. Port decisions kept here: cancel and signal refuse terminal rows and append
nothing (decision 1); an abandon request on a row the sweep will re-run is recorded, and
`abandon_outlook` says so (decision 7).

The actions are functions over the facade rather than its methods so that the facade's
reads and its acts can each be read whole. The command line and the dashboard reach them
as `Processes.actions` (`ProcessActions`, at the end); `Processes`' own methods of the same
names keep api.md §6's contract for programs: lash's return shapes, and a refusal raises.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import JsonValue

from lashtui.admin import audit
from lashtui.admin.operator import HOST_OPERATOR
from lashtui.errors import InvalidRequest, ProcessConflict, UndecodableProcess, UnknownProcess
from lashtui.model import (
    AbandonRequest,
    ObservedProcess,
    ProcessEvent,
    ProcessEventAppendRequest,
    ProcessLifecycleStatus,
    ProcessRecord,
    RecoveryDisposition,
    SessionScope,
    lease_lapsed,
    limit,
    process_signal_event_type,
    process_signal_replay_key,
)
from lashtui.model.audit import AuditAction
from lashtui.model.event import SIGNAL_PREFIX
from lashtui.model.outcome import (
    Outcome,
    ProcessAction,
    ProcessActionOutcome,
    ProcessPruneOutcome,
    ProcessPrunePreview,
    ago,
    cancel_request_reason,
    check_operator_name,
    cutoff_text,
    prune_extent,
    signal_then,
    still_to_happen,
)
from lashtui.registry import ProcessRegistry
from lashtui.registry.sql.blob_id import is_blob_row, refuse_blob
from lashtui.untrusted import SHOWN_CHARS, is_cut_id

if TYPE_CHECKING:
    from lashtui.admin.processes import Processes

# A prune cutoff is epoch milliseconds from 1970 to the end of year 9999: beyond that no
# row's `updated_at_ms` can be, and SQLite's integers end not far past it (2**63 - 1).
PRUNE_CUTOFF_MAX_MS = 253_402_300_799_999

# How much of an id too long to act on a refusal quotes (as registry/sql/long_id.py quotes
# a cut id): the id is on the line's start already, and whole in `--json`.
QUOTED_ID_CHARS = 64


def check_prune_cutoff(cutoff_epoch_ms: int) -> int:
    if not 0 <= cutoff_epoch_ms <= PRUNE_CUTOFF_MAX_MS:
        raise InvalidRequest(
            "a prune cutoff is epoch milliseconds from 0 to "
            f"{PRUNE_CUTOFF_MAX_MS} (the end of year 9999), got `{cutoff_epoch_ms}`"
        )
    return cutoff_epoch_ms


def abandon_outlook(process: ObservedProcess, now_ms: int | None = None) -> str:
    """What the sweep will do with a pending abandon request on this row, in one sentence
    (given the time, it also says whether the owner's lease has already lapsed)."""
    if is_blob_row(process.undecodable):  # (before `no_state`: end-undecodable refuses it)
        return "not applicable: its id is not text, so nothing lashtui runs can act on it"
    if process.no_state:  # (its stand-in's state, terminal or not, is a placeholder)
        return "not applicable: its status column holds no state; only end-undecodable ends it"
    if process.terminal:
        return f"process `{process.process_id}` is already {process.lifecycle.value}"
    if process.undecodable is not None:
        return "not applicable: its record could not be decoded; only end-undecodable ends it"
    if process.lease_undecodable is not None:  # (the sweep skips such a row)
        return (
            f"not applicable: its lease could not be decoded ({process.lease_undecodable}); "
            "only end-undecodable ends it"
        )
    if process.disposition is RecoveryDisposition.RERUNNABLE:
        return "not applicable: rerunnable rows are re-run by the sweep, not abandoned"
    if process.disposition is RecoveryDisposition.OWNER_BOUND and process.first_started is None:
        return "not applicable: a never-started owner_bound row is run by the next worker"
    if process.disposition is RecoveryDisposition.EXTERNALLY_OWNED:
        return "will abandon at the next sweep: externally-owned rows have no owner lease"
    expires = process.lease_expires_at_ms
    if now_ms is not None and (expires is None or expires <= now_ms):
        if lease_lapsed(process):
            return "will abandon at the next sweep: the owner's lease has lapsed"
        return "will abandon at the next sweep: the owner holds no lease"
    return "will abandon once the owner's lease lapses"


def _when(event: ProcessEvent, now_ms: int) -> str:
    """How long ago `event` was, or that its time is not known (`time_unknown`)."""
    return "at a time not known" if event.time_unknown else ago(event.occurred_at_ms, now_ms)


async def outcome(
    processes: Processes,
    process_id: str,
    action: ProcessAction,
    kind: Outcome,
    sentence: str,
    observed: ObservedProcess | bool | None = True,
    **extra: Any,
) -> ProcessActionOutcome:
    """The outcome, with the row as observed now (`observed=True`: read it here), or as
    the caller just observed it, or None when the caller knows there is no row."""
    if observed is True:
        observed = await processes.get(process_id)
    return ProcessActionOutcome(
        process_id=process_id,
        action=action,
        outcome=kind,
        sentence=sentence,
        process=observed or None,
        **extra,
    )


def not_acted_on(record: ProcessRecord, process_id: str) -> str | None:
    """Why no cancel, signal or abandon request can apply to this row, whatever state its
    stand-in shows, or None: the state of a row whose id is not text (blob_id.py) or whose
    status column holds no state is a placeholder, so "already terminal" (or "already
    cancelled") would be made up. A blob's or a NULL's row: the registry's one sentence
    (nothing here can name it). A text id's row in no state raises the refusal every write
    gives it (`UndecodableProcess`: `end-undecodable` ends it), as it did when its record
    said it was live."""
    if is_blob_row(record.undecodable):
        return refuse_blob(process_id)
    if record.no_state:
        raise UndecodableProcess.refusing(process_id, record.undecodable or "no state")
    return None


async def refused_unknown(
    processes: Processes, process_id: str, action: ProcessAction
) -> ProcessActionOutcome:
    """The refusal of an act on an id with no row (never stored, pruned, or gone since)."""
    sentence = str(UnknownProcess.process(process_id))
    return await outcome(processes, process_id, action, "refused", sentence)


async def cancel(
    processes: Processes,
    process_id: str,
    reason: str | None = None,
    *,
    operator: str = HOST_OPERATOR,
) -> ProcessActionOutcome:
    """Ask the running owner to stop; the row stays `running` until it does. The request
    records `requested by <operator>[: <reason>]` (lash's `requested by host` by
    default). A row already cancelled, or with a cancel request already made, is
    unchanged; any other terminal row is refused (port decision 1)."""
    operator = check_operator_name(operator)
    try:
        # The reason as the operator wrote it, before `requested by <operator>: ` is added
        # (the stored text has room for that: limit.MAX_CANCEL_REASON_CHARS).
        limit.check_text("a cancel reason", reason, limit.MAX_REASON_CHARS)
    except InvalidRequest as error:
        return await outcome(processes, process_id, "cancel", "refused", str(error))
    record = await processes.registry.get_process(process_id)
    if record is None:
        return await refused_unknown(processes, process_id, "cancel")
    if (refusal := not_acted_on(record, process_id)) is not None:
        return await outcome(processes, process_id, "cancel", "refused", refusal)
    if record.status.state is ProcessLifecycleStatus.CANCELLED:
        return await outcome(processes, process_id, "cancel", "unchanged", "already cancelled")
    if record.is_terminal():
        sentence = f"process `{process_id}` is already terminal"
        return await outcome(processes, process_id, "cancel", "refused", sentence)
    now = processes.clock.now_ms()
    try:
        earlier = await processes.cancel_request(process_id)
    except InvalidRequest as error:
        # An id over 4,096 characters, whose row reads as a stand-in under its cut id and
        # whose log is keyed by the whole id (registry/sql/long_id.py): a refusal of this
        # target, with its line as every target's. It escaped, and the command printed
        # no line for it (`--json` nothing).
        return await outcome(processes, process_id, "cancel", "refused", str(error))
    if earlier is None:
        request = ProcessEventAppendRequest.cancel_requested(
            process_id, cancel_request_reason(operator, reason)
        )
        try:
            await processes.registry.append_event(process_id, request)
        except (UnknownProcess, ProcessConflict, InvalidRequest) as error:
            return await outcome(processes, process_id, "cancel", "refused", str(error))
    return await cancel_reported(processes, process_id, operator, earlier, now)


async def cancel_reported(
    processes: Processes,
    process_id: str,
    operator: str,
    earlier: ProcessEvent | None,
    now: int,
) -> ProcessActionOutcome:
    """What a cancel left behind, read after it was recorded (or found already there):
    the row may have ended meanwhile, or be still to stop."""
    observed = await processes.get(process_id)
    if observed is None:
        return await refused_unknown(processes, process_id, "cancel")
    if observed.terminal:
        sentence = f"ended {observed.lifecycle.value}"
        return await outcome(processes, process_id, "cancel", "done", sentence, observed)
    next_step = still_to_happen(observed, now)
    if earlier is not None:
        payload = earlier.payload
        said = payload.get("reason") if isinstance(payload, dict) else None
        by = f" ({said})" if isinstance(said, str) and said else ""
        sentence = (
            f"a cancel was already requested {_when(earlier, now)}{by}; "
            f"{next_step}"
        )
        return await outcome(processes, process_id, "cancel", "unchanged", sentence, observed)
    sentence = f"cancel requested by {operator}; {next_step}"
    return await outcome(processes, process_id, "cancel", "requested", sentence, observed)


async def cancel_all(
    processes: Processes, reason: str | None = None, *, operator: str = HOST_OPERATOR
) -> list[ProcessActionOutcome]:
    """A cancel for every running row, each reported (a row that ended between the
    listing and its cancel reports so)."""
    operator = check_operator_name(operator)
    return [
        await cancel(processes, process_id, reason, operator=operator)
        for process_id in await live_ids(processes.registry)
    ]


async def live_ids(registry: ProcessRegistry) -> list[str]:
    """The running rows' ids, in id order, from the census: the status index, not every
    running record (a record may be a mebibyte; a million-row registry's 100,000 running
    records took 17 s and 924 MB to list)."""
    return sorted((await registry.process_census()).live)


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
    except (UnknownProcess, ProcessConflict, InvalidRequest) as error:
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


async def transfer(
    processes: Processes,
    from_scope: SessionScope,
    to_scope: SessionScope,
    process_ids: list[str],
) -> list[ProcessActionOutcome]:
    """Move each process's grant from `from_scope` to `to_scope` (descriptor kept), all
    or none, as lash's SQLite store does (scenario 79): if any id is refused, none
    moves, and each of the others says so. An id whose grant is already in `to_scope`
    (and not in `from_scope`) is unchanged and does not stop the rest. Neither scope
    may be one whose id names another scope."""
    from_scope, to_scope = from_scope.checked(), to_scope.checked()
    registry = processes.registry
    verdicts = {
        pid: await transfer_verdict(registry, from_scope, to_scope, pid) for pid in process_ids
    }
    refused = [pid for pid, (kind, _) in verdicts.items() if kind == "refused"]
    moving = [pid for pid, (kind, _) in verdicts.items() if kind == "done"]
    if refused:
        held = (
            f"not moved: a transfer moves all its grants or none, and `{refused[0]}` "
            "was refused"
        )
        verdicts.update({pid: ("unchanged", held) for pid in moving})
    elif moving:
        try:
            await registry.transfer_handle_grants(from_scope, to_scope, moving)
        except (UnknownProcess, ProcessConflict, InvalidRequest) as error:
            verdicts.update({pid: ("refused", str(error)) for pid in moving})
    return [
        await outcome(processes, pid, "transfer", kind, sentence)
        for pid, (kind, sentence) in verdicts.items()
    ]


async def transfer_verdict(
    registry: ProcessRegistry, from_scope: SessionScope, to_scope: SessionScope, process_id: str
) -> tuple[Outcome, str]:
    """What moving this one grant would do, read before anything is moved."""
    if await registry.get_process(process_id) is None:
        return "refused", str(UnknownProcess.process(process_id))
    granted = await registry.has_handle_grant(from_scope, process_id)
    if from_scope.id() != to_scope.id() and granted:
        return "done", f"grant moved from {from_scope.id()} to {to_scope.id()}"
    if await registry.has_handle_grant(to_scope, process_id):
        return "unchanged", f"the grant is already in {to_scope.id()}"
    return "refused", (
        f"process handle `{process_id}` is not granted to session `{from_scope.session_id}`"
    )


async def prune_preview(processes: Processes, cutoff_epoch_ms: int) -> ProcessPrunePreview:
    """What `prune` would delete at this cutoff, counted from indexes; nothing is written."""
    check_prune_cutoff(cutoff_epoch_ms)
    count = await processes.registry.count_prunable_processes(cutoff_epoch_ms)
    extent = prune_extent(count.processes, count.events, cutoff_epoch_ms)
    return ProcessPrunePreview(
        sentence=f"would prune {extent}; nothing was deleted (dry run)",
        cutoff_epoch_ms=cutoff_epoch_ms,
        processes=count.processes,
        events=count.events,
        up_to_change_seq=count.up_to_change_seq,
    )


async def prune(
    processes: Processes, cutoff_epoch_ms: int, up_to_change_seq: int | None = None
) -> ProcessPruneOutcome:
    """Delete terminal rows last changed before the cutoff (nothing running, ever); with
    `up_to_change_seq` (a preview's), only rows that had ended when it was counted."""
    check_prune_cutoff(cutoff_epoch_ms)
    report = await processes.registry.prune_terminal_processes(
        cutoff_epoch_ms, up_to_change_seq=up_to_change_seq
    )
    pruned = report.pruned_processes
    sentence = (
        f"pruned {prune_extent(pruned, report.pruned_events, cutoff_epoch_ms)}"
        if pruned
        else f"no terminal process was last changed before {cutoff_text(cutoff_epoch_ms)}: "
        "nothing was deleted"
    )
    return ProcessPruneOutcome(
        outcome="done" if pruned else "unchanged",
        sentence=sentence,
        cutoff_epoch_ms=cutoff_epoch_ms,
        pruned_processes=pruned,
        pruned_events=report.pruned_events,
    )


async def request_abandon(
    processes: Processes, process_id: str, requested_by: str, reason: str | None = None
) -> ProcessActionOutcome:
    """Record `requested_by`'s abandon request (first writer wins: a request already
    there stands, and this one is reported unchanged, naming who asked and when), drive
    the worker, and say what the sweep will do with it."""
    requested_by = check_operator_name(requested_by)
    record = await processes.registry.get_process(process_id)
    if record is None:
        return await refused_unknown(processes, process_id, "abandon")
    if (refusal := not_acted_on(record, process_id)) is not None:
        return await outcome(processes, process_id, "abandon", "refused", refusal)
    if record.is_terminal():
        sentence = f"terminal process `{process_id}` cannot accept an abandon request"
        return await outcome(processes, process_id, "abandon", "refused", sentence)
    now = processes.clock.now_ms()
    standing = record.abandon_request
    if standing is None:
        request = AbandonRequest(requested_by=requested_by, requested_at_ms=now, reason=reason)
        try:
            stored = await processes.registry.request_process_abandon(process_id, request)
        except (UnknownProcess, ProcessConflict, InvalidRequest) as error:
            return await outcome(processes, process_id, "abandon", "refused", str(error))
        if stored.abandon_request != request:
            standing = stored.abandon_request  # another operator's request came first
        elif processes.worker is not None:
            await processes.worker.drive_pending_processes()
    return await abandon_reported(processes, process_id, requested_by, standing, now)


async def abandon_reported(
    processes: Processes,
    process_id: str,
    requested_by: str,
    standing: AbandonRequest | None,
    now: int,
) -> ProcessActionOutcome:
    """What an abandon request left behind, read after it was recorded: the request that
    stands (this one, or another operator's that came first) and what the sweep will do."""
    observed = await processes.get(process_id)
    if observed is None:
        sentence = f"process `{process_id}` vanished after recording its abandon request"
        return await outcome(processes, process_id, "abandon", "refused", sentence)
    if standing is not None:
        why = f" ({standing.reason})" if standing.reason else ""
        sentence = (
            f"already requested by {standing.requested_by} "
            f"{ago(standing.requested_at_ms, now)}{why}; {abandon_outlook(observed, now)}"
        )
        return await outcome(processes, process_id, "abandon", "unchanged", sentence, observed)
    if observed.terminal:
        sentence = f"ended {observed.lifecycle.value}"
        return await outcome(processes, process_id, "abandon", "done", sentence, observed)
    sentence = f"abandon requested by {requested_by}; {abandon_outlook(observed, now)}"
    return await outcome(processes, process_id, "abandon", "requested", sentence, observed)


async def end_undecodable(
    processes: Processes, process_id: str, operator: str, reason: str, *, by: str | None = None
) -> ObservedProcess:
    """End a row whose stored record cannot be decoded (it lists as `undecodable`, and
    cancel, signal and abandon refuse it): it becomes an ordinary `failed` row whose
    terminal event says why and who (`by`, else the operator), which prune then removes
    like any other. Recorded in the audit trail as the operator's (lashtui.admin.audit),
    with `by` in its detail when it names someone else."""
    detail: dict[str, JsonValue] = {"reason": reason}
    ender = operator if by is None else by
    if ender != operator:
        detail["by"] = ender
    record = await processes.registry.end_undecodable_process(process_id, ender, reason)
    observed = await processes._observe(record)
    ended = ProcessActionOutcome(
        process_id=process_id, action="end-undecodable", outcome="done",
        sentence=f"ended undecodable process: now {observed.lifecycle.value}", process=observed,
    )  # fmt: skip
    await audit.record(processes, "end-undecodable", operator, [ended], detail)
    return observed


class ProcessActions:
    """The operator's actions on a facade (`Processes.actions`), each reporting every
    target as done, requested, unchanged or refused: what the command line and the
    dashboard call. Each target it changed is recorded, with the operator, in lashtui's
    audit trail (lashtui.admin.audit). `Processes`' own methods of the same names keep api.md's
    contract for programs (lash's return shapes; a refusal raises) and record nothing."""

    def __init__(self, processes: Processes) -> None:
        self.processes = processes

    async def cancel(
        self, process_id: str, reason: str | None = None, *, operator: str = HOST_OPERATOR
    ) -> ProcessActionOutcome:
        """Ask the running owner to stop, recorded as `requested by <operator>[: reason]`."""
        done = await cancel(self.processes, process_id, reason, operator=operator)
        return (await self._record("cancel", operator, [done], {"reason": reason}))[0]

    async def cancel_all(
        self, reason: str | None = None, *, operator: str = HOST_OPERATOR
    ) -> list[ProcessActionOutcome]:
        outcomes = await cancel_all(self.processes, reason, operator=operator)
        return await self._record("cancel", operator, outcomes, {"reason": reason})

    async def signal(
        self,
        process_id: str,
        signal_name: str,
        signal_id: str,
        payload: JsonValue,
        *,
        operator: str = HOST_OPERATOR,
    ) -> ProcessActionOutcome:
        """lash's signal event has no actor field: the operator is in the audit trail only."""
        operator = check_operator_name(operator)
        done = await signal(self.processes, process_id, signal_name, signal_id, payload)
        detail: dict[str, JsonValue] = {"signal": signal_name, "signal_id": signal_id}
        return (await self._record("signal", operator, [done], detail))[0]

    async def transfer(
        self,
        from_scope: SessionScope,
        to_scope: SessionScope,
        process_ids: list[str],
        *,
        operator: str = HOST_OPERATOR,
    ) -> list[ProcessActionOutcome]:
        operator = check_operator_name(operator)
        outcomes = await transfer(self.processes, from_scope, to_scope, process_ids)
        detail: dict[str, JsonValue] = {"from": from_scope.id(), "to": to_scope.id()}
        return await self._record("transfer", operator, outcomes, detail)

    async def prune(
        self,
        cutoff_epoch_ms: int,
        up_to_change_seq: int | None = None,
        *,
        operator: str = HOST_OPERATOR,
    ) -> ProcessPruneOutcome:
        """A prune deletes the rows and events it would be read back from: the audit
        trail is the only record that it happened, and of what it deleted."""
        operator = check_operator_name(operator)
        done = await prune(self.processes, cutoff_epoch_ms, up_to_change_seq)
        if done.outcome != "done":  # nothing deleted: nothing to record
            return done
        row = audit.entry(
            self.processes.clock.now_ms(), operator, "prune", None, done.outcome, done.sentence,
            done.model_dump(include={"cutoff_epoch_ms", "pruned_processes", "pruned_events"}),
        )  # fmt: skip
        problem = await audit.write(self.processes, [row])
        return done if problem is None else done.model_copy(
            update={"sentence": f"{done.sentence}; {problem}"}
        )  # fmt: skip

    async def prune_preview(self, cutoff_epoch_ms: int) -> ProcessPrunePreview:
        return await prune_preview(self.processes, cutoff_epoch_ms)

    async def request_abandon(
        self,
        process_id: str,
        requested_by: str,
        reason: str | None = None,
        *,
        operator: str | None = None,
    ) -> ProcessActionOutcome:
        """The request is `requested_by`'s; the audit trail records it as `operator`'s (the
        one acting: `--as`), else `requested_by`'s, with `requested_by` in its detail when
        they differ (the audit had only `--by`, so `audit --by` could not find the operator
        who made such a request)."""
        done = await request_abandon(self.processes, process_id, requested_by, reason)
        detail: dict[str, JsonValue] = {"reason": reason}
        actor = requested_by if operator is None else operator
        if actor != requested_by:
            detail["requested_by"] = requested_by
        return (await self._record("abandon", actor, [done], detail))[0]

    async def rerun(
        self, process_id: str, *, operator: str = HOST_OPERATOR
    ) -> ProcessActionOutcome:
        """Start a copy of a terminal process under `<id>~rerun-<n>` (lashtui.admin.rerun)."""
        # Imported here: lashtui.admin.rerun builds its outcomes with this module's helpers.
        from lashtui.admin.rerun import rerun

        done = await rerun(self.processes, process_id, operator)
        return (await self._record("rerun", operator, [done]))[0]

    async def _record(
        self,
        action: AuditAction,
        operator: str,
        outcomes: list[ProcessActionOutcome],
        detail: dict[str, JsonValue] | None = None,
    ) -> list[ProcessActionOutcome]:
        return await audit.record(self.processes, action, operator, outcomes, detail)
