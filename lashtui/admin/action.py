"""What an operator may do to a process, each producing one outcome per target (semantics
§13, api.md §6): cancel, signal, request abandon, transfer grants, prune, end an
undecodable row. Cancel, abandon requests and ending an undecodable row are here; signal
(admin/signal.py), transfer (transfer.py), prune (prune.py) and rerun (rerun.py) have
modules of their own, and every act builds its outcomes with target_outcome.py.

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

from typing import TYPE_CHECKING

from pydantic import JsonValue

from lashtui.admin import audit
from lashtui.admin.operator import HOST_OPERATOR
from lashtui.admin.prune import prune, prune_preview
from lashtui.admin.rerun import rerun
from lashtui.admin.signal import signal
from lashtui.admin.target_outcome import not_acted_on, outcome, refused_unknown
from lashtui.admin.transfer import transfer
from lashtui.errors import EventLogFull, InvalidRequest, ProcessConflict, UnknownProcess
from lashtui.model import (
    AbandonRequest,
    ObservedProcess,
    ProcessEvent,
    ProcessEventAppendRequest,
    ProcessLifecycleStatus,
    RecoveryDisposition,
    SessionScope,
    lease_lapsed,
    limit,
)
from lashtui.model.audit import AuditAction
from lashtui.model.outcome import (
    ProcessActionOutcome,
    ProcessPruneOutcome,
    ProcessPrunePreview,
    ago,
    cancel_request_reason,
    check_operator_name,
    still_to_happen,
)
from lashtui.registry import ProcessRegistry
from lashtui.registry.sql.blob_id import is_blob_row

if TYPE_CHECKING:
    from lashtui.admin.processes import Processes


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
        # (A full log is this target's refusal, not the registry's failure: said on its
        # line, as every target's, where the command printed none.)
        except (UnknownProcess, ProcessConflict, InvalidRequest, EventLogFull) as error:
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
