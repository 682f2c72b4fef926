"""`Processes`: the one facade the command line and the dashboard use (semantics §13,
api.md §6).

It observes the registry (as `ObservedProcess`: records joined with their lease facts),
starts processes and drives the attached worker, and acts on processes the way an operator
may: cancel, signal, transfer grants, request abandon, prune. Port decisions kept here:
cancel and signal refuse terminal rows and append nothing (decision 1); an abandon request
on a row the sweep will re-run is recorded, and `abandon_outlook` says so (decision 7).
"""

from __future__ import annotations

import asyncio
import builtins
import getpass
import os
import socket
from collections.abc import Mapping
from typing import Any

from pydantic import Field, JsonValue

from lashtui.clock import Clock, SystemClock
from lashtui.errors import InvalidRequest, LashError, ProcessConflict, UnknownProcess
from lashtui.model import (
    CANCEL_REQUESTED,
    AbandonRequest,
    Engine,
    ObservedProcess,
    ObservedProcessEvent,
    ProcessAwaitOutput,
    ProcessCensus,
    ProcessEvent,
    ProcessEventAppendRequest,
    ProcessHandleDescriptor,
    ProcessHandleGrant,
    ProcessHandleSummary,
    ProcessLifecycleStatus,
    ProcessListFilter,
    ProcessOriginator,
    ProcessPageQuery,
    ProcessRecord,
    ProcessStartRequest,
    ProcessStatusFilter,
    RecoveryDisposition,
    SessionOriginator,
    SessionScope,
    process_signal_event_type,
    process_signal_replay_key,
    silent_not_dead,
)
from lashtui.model.outcome import (
    Outcome,
    ProcessAction,
    ProcessActionOutcome,
    ProcessPruneOutcome,
    ago,
    cancel_request_reason,
    check_operator_name,
    still_to_happen,
)
from lashtui.model.wire import WireModel
from lashtui.registry import ProcessRegistry
from lashtui.untrusted import printable_name
from lashtui.worker import ChangeHub, ProcessAwaiter, ProcessWorker, notifying
from lashtui.worker.steps import parse_plan

SNAPSHOT_EVENT_TAIL = 32
# The operator of an action made by the host program itself (lash's facade and session
# runner): its cancel requests read `requested by host`, as lash's do.
HOST_OPERATOR = "host"
OPERATOR_ENV = "LASHTUI_OPERATOR"
# A prune cutoff is epoch milliseconds from 1970 to the end of year 9999: beyond that no
# row's `updated_at_ms` can be, and SQLite's integers end not far past it (2**63 - 1).
PRUNE_CUTOFF_MAX_MS = 253_402_300_799_999


def resolve_operator(
    explicit: str | None = None,
    *,
    source: str = "--as",
    environ: Mapping[str, str] | None = None,
) -> str:
    """Who an operator action is recorded as: `explicit` (the command line's `--as`, the
    dashboard's `operator=`), else `$LASHTUI_OPERATOR`, else `user@host`. A name given is
    refused in one sentence unless printable (see `check_operator_name`); the fallback is
    made printable instead, as the operator did not choose it."""
    env = os.environ if environ is None else environ
    if explicit is not None:
        return check_operator_name(explicit, source)
    named = env.get(OPERATOR_ENV)
    if named:
        return check_operator_name(named, f"${OPERATOR_ENV}")
    return default_operator(env)


def default_operator(environ: Mapping[str, str] | None = None) -> str:
    """`user@host` for this OS process. In a container the uid may have no passwd entry and
    no $USER (getpass.getuser then raises): the uid stands in; a blank hostname reads
    `localhost`. Characters that would not show as themselves become `_`."""
    env = os.environ if environ is None else environ
    try:
        user = env.get("LOGNAME") or env.get("USER") or getpass.getuser()
    except (KeyError, OSError, ImportError):
        user = f"uid{os.getuid()}" if hasattr(os, "getuid") else "unknown"
    host = socket.gethostname() or "localhost"
    name = "".join(c if printable_name(c) else "_" for c in f"{user}@{host}")
    return name[:128]


def check_prune_cutoff(cutoff_epoch_ms: int) -> int:
    if not 0 <= cutoff_epoch_ms <= PRUNE_CUTOFF_MAX_MS:
        raise InvalidRequest(
            "a prune cutoff is epoch milliseconds from 0 to "
            f"{PRUNE_CUTOFF_MAX_MS} (the end of year 9999), got `{cutoff_epoch_ms}`"
        )
    return cutoff_epoch_ms


def check_start_request(request: ProcessStartRequest) -> None:
    """What `start` refuses before anything is written, beyond the model's own checks: a
    scope whose id would name another scope (originator, wake target, grant), and a `steps`
    payload that is not a plan (the steps engine's own parser says what is wrong)."""
    originator = request.originator
    if isinstance(originator, SessionOriginator):
        originator.scope.checked()
    if request.wake_target is not None:
        request.wake_target.checked()
    if request.grant is not None:
        request.grant.session_scope.checked()
    if isinstance(request.input, Engine) and request.input.kind == "steps":
        parse_plan(request.input.payload)


class ProcessSnapshotItem(WireModel):
    """One process in a session snapshot: its handle row and its latest events."""

    handle: ProcessHandleSummary
    updated_at_ms: int
    created_at_ms: int
    events: list[ObservedProcessEvent] = Field(default_factory=list)


def originated_by(record: ProcessRecord, scope: SessionScope) -> bool:
    """The lineage lens (semantics §2.4): same session; the frame only if the query names
    one; host-originated rows never match."""
    return originated_by_scope(record.provenance.originator, scope)


def originated_by_scope(originator: ProcessOriginator, scope: SessionScope) -> bool:
    """`originated_by` for a bare originator (an `ObservedProcess` carries one, not a record);
    the SQLite page query's `originated` lens is the same rule over `owner_scope_id`."""
    if not isinstance(originator, SessionOriginator):
        return False
    if originator.scope.session_id != scope.session_id:
        return False
    return not scope.agent_frame_id or originator.scope.agent_frame_id == scope.agent_frame_id


def abandon_outlook(process: ObservedProcess, now_ms: int | None = None) -> str:
    """What the sweep will do with a pending abandon request on this row, in one sentence
    (given the time, it also says whether the owner's lease has already lapsed)."""
    if process.terminal:
        return f"process `{process.process_id}` is already {process.lifecycle.value}"
    if process.undecodable is not None:
        return "not applicable: its record could not be decoded; only end-undecodable ends it"
    if process.disposition is RecoveryDisposition.RERUNNABLE:
        return "not applicable: rerunnable rows are re-run by the sweep, not abandoned"
    if process.disposition is RecoveryDisposition.OWNER_BOUND and process.first_started is None:
        return "not applicable: a never-started owner_bound row is run by the next worker"
    if process.disposition is RecoveryDisposition.EXTERNALLY_OWNED:
        return "will abandon at the next sweep: externally-owned rows have no owner lease"
    expires = process.lease_expires_at_ms
    if now_ms is not None and (expires is None or expires <= now_ms):
        return "will abandon at the next sweep: the owner's lease has lapsed"
    return "will abandon once the owner's lease lapses"


class Processes:
    def __init__(
        self,
        registry: ProcessRegistry,
        worker: ProcessWorker | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.worker = worker
        self.clock = clock or SystemClock()
        if worker is not None:
            self.hub = worker.hub
            self.registry = worker.registry
            self.awaiter = worker.awaiter
        else:
            self.hub = ChangeHub()
            self.registry = notifying(registry, self.hub)
            self.awaiter = ProcessAwaiter(self.registry, self.hub)

    # --- starting

    async def start(self, request: ProcessStartRequest) -> ProcessRecord:
        """Capture the env, register (idempotently) and grant, in one transaction, then
        drive the worker so the first run is prompt. An engine or tool row started without
        an env captures the default (empty) env. Refused first: see `check_start_request`."""
        check_start_request(request)
        record = await self.registry.start_process(request)
        if self.worker is not None:
            self.worker.drive_started(record)
        return record

    # --- observing

    async def _observe(self, record: ProcessRecord) -> ObservedProcess:
        lease = await self.registry.get_process_lease(record.id)
        return ObservedProcess.from_record(record, lease)

    async def _observe_all(
        self, records: builtins.list[ProcessRecord]
    ) -> builtins.list[ObservedProcess]:
        leases = await self.registry.get_process_leases([record.id for record in records])
        return [ObservedProcess.from_record(record, leases.get(record.id)) for record in records]

    async def list(self, filter: ProcessListFilter | None = None) -> builtins.list[ObservedProcess]:
        return await self._observe_all(await self.registry.list_processes(filter))

    async def list_granted_to(
        self, scope: SessionScope, filter: ProcessListFilter | None = None
    ) -> builtins.list[ObservedProcess]:
        """The security lens: rows granted to exactly this scope id."""
        scope = scope.checked()
        wanted = filter or ProcessListFilter()
        pairs = await self.registry.list_handle_grants(scope)
        return await self._observe_all([r for _, r in pairs if wanted.matches_record(r)])

    async def list_originated_by(
        self, scope: SessionScope, filter: ProcessListFilter | None = None
    ) -> builtins.list[ObservedProcess]:
        """The lineage lens: rows this session (or frame) started, wherever their grants went."""
        scope = scope.checked()
        records = await self.registry.list_processes(filter)
        return await self._observe_all([r for r in records if originated_by(r, scope)])

    async def get(self, process_id: str) -> ObservedProcess | None:
        record = await self.registry.get_process(process_id)
        return await self._observe(record) if record is not None else None

    async def _require(self, process_id: str) -> ProcessRecord:
        record = await self.registry.get_process(process_id)
        if record is None:
            raise UnknownProcess.process(process_id)
        return record

    async def events(
        self, process_id: str, after_sequence: int = 0
    ) -> builtins.list[ObservedProcessEvent]:
        events = await self.registry.events_after(process_id, after_sequence)
        return [ObservedProcessEvent.from_event(event) for event in events]

    async def await_output(
        self,
        process_id: str,
        timeout: float | None = None,  # noqa: ASYNC109 (the facade's contract, api.md §6)
    ) -> ProcessAwaitOutput:
        """The output once the process is terminal; a `LashError` after `timeout` seconds."""
        try:
            async with asyncio.timeout(timeout):
                return await self.awaiter.await_terminal(process_id)
        except TimeoutError:
            raise LashError(f"process `{process_id}` did not finish within {timeout:g}s") from None

    async def grants(self, process_id: str) -> builtins.list[ProcessHandleGrant]:
        """Every session scope holding a handle to the process."""
        await self._require(process_id)
        return await self.registry.handle_grants_for_process(process_id)

    async def cancel_request(self, process_id: str) -> ProcessEvent | None:
        """The first `process.cancel_requested` event, the one a worker acts on: its payload's
        `reason` says who asked (`requested by <operator>[: why]`), `occurred_at` when. What
        the detail view shows beside the abandon request."""
        return await self.registry.first_event_after(process_id, CANCEL_REQUESTED, 0)

    async def pending_wakes(self, process_id: str) -> builtins.list[int]:
        """Sequences of the process's wake-bearing events no session has taken delivery of."""
        events = await self.registry.wake_events_after(process_id, 0)
        return [event.sequence for event in events]

    async def changes_since(
        self, cursor: int, limit: int
    ) -> tuple[builtins.list[ObservedProcess], int]:
        records, next_cursor = await self.registry.processes_changed_since(cursor, limit)
        return await self._observe_all(records), next_cursor

    # --- the dashboard's window on a large registry

    async def page(self, query: ProcessPageQuery) -> builtins.list[ObservedProcess]:
        """One keyset page of observed rows (see `ProcessPageQuery`), ascending id order."""
        return await self._observe_all(await self.registry.page_processes(query))

    async def census(self) -> ProcessCensus:
        """Counts by state and the live ids, as of a change-feed cursor to follow from."""
        return await self.registry.process_census()

    async def observe(self, process_ids: builtins.list[str]) -> dict[str, ObservedProcess]:
        """These rows as they are now; an id that is gone (pruned, never existed) is absent."""
        records = await self.registry.get_processes(process_ids)
        observed = await self._observe_all(builtins.list(records.values()))
        return {process.process_id: process for process in observed}

    async def leases(self, limit: int = 1000) -> builtins.list[ObservedProcess]:
        """Rows whose lease has a holder, the soonest to lapse (or longest lapsed) first."""
        return await self._observe_all(await self.registry.list_leased_processes(limit))

    async def abandon_candidates(
        self, now_ms: int, limit: int = 1000
    ) -> tuple[builtins.list[ObservedProcess], builtins.list[ObservedProcess]]:
        """(rows with a pending abandon request, silent-not-dead rows without one), each in
        id order: what is already asked to be abandoned, and what an operator may want to
        abandon. `limit` bounds the two together; rows whose owner still renews its lease
        never use it up."""
        records = await self.registry.list_abandon_candidates(limit, lapsed_at_ms=now_ms)
        observed = await self._observe_all(records)
        requested = [p for p in observed if p.abandon_request is not None]
        # The registry already narrowed by lease expiry; the lease read since may be newer,
        # so the verdict is made again on the observed facts.
        silent = [p for p in observed if p.abandon_request is None and silent_not_dead(p, now_ms)]
        return requested, silent

    async def data_version(self) -> int:
        """Moves when another connection commits; see `registry_changes` to wait for that."""
        return await self.registry.data_version()

    async def session_snapshot(self, session_id: str) -> builtins.list[ProcessSnapshotItem]:
        """The session's root-scope grants plus rows that wake any of its scopes, each with
        its last 32 events; newest first (semantics §3.19)."""
        root = SessionScope(session_id=session_id)
        items: dict[str, tuple[ProcessRecord, ProcessHandleDescriptor]] = {
            record.id: (record, grant.descriptor)
            for grant, record in await self.registry.list_handle_grants(root)
        }
        for record in await self.registry.list_processes(
            ProcessListFilter(status=ProcessStatusFilter.ANY)
        ):
            target = record.wake_target
            if record.id not in items and target is not None and target.session_id == session_id:
                descriptor = ProcessHandleDescriptor(
                    kind=record.identity.kind, label=record.identity.label
                )
                items[record.id] = (record, descriptor)
        snapshot = [await self._snapshot_item(r, d) for r, d in items.values()]
        snapshot.sort(key=lambda item: item.handle.process_id)
        snapshot.sort(key=lambda item: (item.updated_at_ms, item.created_at_ms), reverse=True)
        return snapshot

    async def _snapshot_item(
        self, record: ProcessRecord, descriptor: ProcessHandleDescriptor
    ) -> ProcessSnapshotItem:
        events = await self.registry.recent_events(record.id, SNAPSHOT_EVENT_TAIL)
        handle = ProcessHandleSummary(
            id=record.id,
            process_id=record.id,
            descriptor=descriptor,
            definition=record.identity.definition,
            status=record.status,
        )
        return ProcessSnapshotItem(
            handle=handle,
            updated_at_ms=record.updated_at_ms,
            created_at_ms=record.created_at_ms,
            events=[ObservedProcessEvent.from_event(event) for event in events],
        )

    # --- acting
    #
    # Each action returns one `ProcessActionOutcome` per target: done, requested, unchanged
    # or refused, with one sentence. A refusal that concerns the target (unknown, terminal,
    # not granted, a payload its declaration refuses) is an outcome, so one refused target
    # never hides what happened to the others; a bad argument (a signal name, an operator
    # name, a scope) and a store that cannot serve raise `LashError` before anything is
    # written.

    async def _outcome(
        self,
        process_id: str,
        action: ProcessAction,
        outcome: Outcome,
        sentence: str,
        observed: ObservedProcess | bool | None = True,
        **extra: Any,
    ) -> ProcessActionOutcome:
        """The outcome, with the row as observed now (`observed=True`: read it here), or as
        the caller just observed it, or None when the caller knows there is no row."""
        if observed is True:
            observed = await self.get(process_id)
        return ProcessActionOutcome(
            process_id=process_id,
            action=action,
            outcome=outcome,
            sentence=sentence,
            process=observed or None,
            **extra,
        )

    async def cancel(
        self,
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
        record = await self.registry.get_process(process_id)
        if record is None:
            return await self._outcome(
                process_id, "cancel", "refused", str(UnknownProcess.process(process_id))
            )
        if record.status.state is ProcessLifecycleStatus.CANCELLED:
            return await self._outcome(process_id, "cancel", "unchanged", "already cancelled")
        if record.is_terminal():
            return await self._outcome(
                process_id, "cancel", "refused", f"process `{process_id}` is already terminal"
            )
        now = self.clock.now_ms()
        earlier = await self.cancel_request(process_id)
        if earlier is None:
            request = ProcessEventAppendRequest.cancel_requested(
                process_id, cancel_request_reason(operator, reason)
            )
            try:
                await self.registry.append_event(process_id, request)
            except (UnknownProcess, ProcessConflict, InvalidRequest) as error:
                return await self._outcome(process_id, "cancel", "refused", str(error))
        observed = await self.get(process_id)
        if observed is None:
            return await self._outcome(
                process_id, "cancel", "refused", str(UnknownProcess.process(process_id))
            )
        if observed.terminal:
            sentence = f"ended {observed.lifecycle.value}"
            return await self._outcome(process_id, "cancel", "done", sentence, observed)
        next_step = still_to_happen(observed, now)
        if earlier is not None:
            payload = earlier.payload
            said = payload.get("reason") if isinstance(payload, dict) else None
            by = f" ({said})" if isinstance(said, str) and said else ""
            sentence = (
                f"a cancel was already requested {ago(earlier.occurred_at_ms, now)}{by}; "
                f"{next_step}"
            )
            return await self._outcome(process_id, "cancel", "unchanged", sentence, observed)
        sentence = f"cancel requested by {operator}; {next_step}"
        return await self._outcome(process_id, "cancel", "requested", sentence, observed)

    async def cancel_all(
        self, reason: str | None = None, *, operator: str = HOST_OPERATOR
    ) -> builtins.list[ProcessActionOutcome]:
        """A cancel for every running row, each reported (a row that ended between the
        listing and its cancel reports so)."""
        operator = check_operator_name(operator)
        return [
            await self.cancel(record.id, reason, operator=operator)
            for record in await self.registry.list_non_terminal()
        ]

    async def signal(
        self, process_id: str, signal_name: str, signal_id: str, payload: JsonValue
    ) -> ProcessActionOutcome:
        """Append `signal.<name>` under `process:<pid>:signal.<name>:<signal_id>`, so a resend
        with the same id and payload is one event (reported unchanged). The n-th wait on a
        name receives the n-th such signal. lash's signal event carries the caller's payload
        and no actor, so a signal records no operator."""
        event_type = process_signal_event_type(signal_name)
        record = await self.registry.get_process(process_id)
        if record is None:
            return await self._outcome(
                process_id, "signal", "refused", str(UnknownProcess.process(process_id))
            )
        if record.is_terminal():
            return await self._outcome(
                process_id, "signal", "refused", f"process `{process_id}` is already terminal"
            )
        last = await self.registry.recent_events(process_id, 1)
        key = process_signal_replay_key(process_id, signal_name, signal_id)
        request = ProcessEventAppendRequest.new(event_type, payload, key)
        try:
            event = (await self.registry.append_event(process_id, request)).event
        except (UnknownProcess, ProcessConflict, InvalidRequest) as error:
            return await self._outcome(process_id, "signal", "refused", str(error))
        if last and event.sequence <= last[-1].sequence:
            sentence = (
                f"signal id `{signal_id}` was already sent as event {event.sequence}; "
                "nothing was appended"
            )
            return await self._outcome(process_id, "signal", "unchanged", sentence, event=event)
        waiting = record.wait is not None and record.wait.kind.name == signal_name
        then = (
            "the wait on it resumes"
            if waiting
            else f"the process's next wait on `{signal_name}` receives it"
        )
        sentence = f"{event_type} stored as event {event.sequence}; {then}"
        return await self._outcome(process_id, "signal", "done", sentence, event=event)

    async def transfer(
        self, from_scope: SessionScope, to_scope: SessionScope, process_ids: builtins.list[str]
    ) -> builtins.list[ProcessActionOutcome]:
        """Move each process's grant from `from_scope` to `to_scope` (descriptor kept), all
        or none, as lash's SQLite store does (scenario 79): if any id is refused, none
        moves, and each of the others says so. An id whose grant is already in `to_scope`
        (and not in `from_scope`) is unchanged and does not stop the rest. Neither scope
        may be one whose id names another scope."""
        from_scope, to_scope = from_scope.checked(), to_scope.checked()
        verdicts = {
            pid: await self._transfer_verdict(from_scope, to_scope, pid) for pid in process_ids
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
                await self.registry.transfer_handle_grants(from_scope, to_scope, moving)
            except (UnknownProcess, ProcessConflict, InvalidRequest) as error:
                verdicts.update({pid: ("refused", str(error)) for pid in moving})
        return [
            await self._outcome(pid, "transfer", kind, sentence)
            for pid, (kind, sentence) in verdicts.items()
        ]

    async def _transfer_verdict(
        self, from_scope: SessionScope, to_scope: SessionScope, process_id: str
    ) -> tuple[Outcome, str]:
        """What moving this one grant would do, read before anything is moved."""
        if await self.registry.get_process(process_id) is None:
            return "refused", str(UnknownProcess.process(process_id))
        granted = await self.registry.has_handle_grant(from_scope, process_id)
        if from_scope.id() != to_scope.id() and granted:
            return "done", f"grant moved from {from_scope.id()} to {to_scope.id()}"
        if await self.registry.has_handle_grant(to_scope, process_id):
            return "unchanged", f"the grant is already in {to_scope.id()}"
        return "refused", (
            f"process handle `{process_id}` is not granted to session `{from_scope.session_id}`"
        )

    async def prune(self, cutoff_epoch_ms: int) -> ProcessPruneOutcome:
        """Delete terminal rows last changed before the cutoff (nothing running, ever)."""
        check_prune_cutoff(cutoff_epoch_ms)
        report = await self.registry.prune_terminal_processes(cutoff_epoch_ms)
        pruned = report.pruned_processes
        sentence = (
            f"pruned {pruned} terminal process(es) and {report.pruned_events} event(s)"
            if pruned
            else "no terminal process was last changed before the cutoff"
        )
        return ProcessPruneOutcome(
            outcome="done" if pruned else "unchanged",
            sentence=sentence,
            cutoff_epoch_ms=cutoff_epoch_ms,
            pruned_processes=pruned,
            pruned_events=report.pruned_events,
        )

    async def request_abandon(
        self, process_id: str, requested_by: str, reason: str | None = None
    ) -> ProcessActionOutcome:
        """Record `requested_by`'s abandon request (first writer wins: a request already
        there stands, and this one is reported unchanged, naming who asked and when), drive
        the worker, and say what the sweep will do with it."""
        requested_by = check_operator_name(requested_by)
        record = await self.registry.get_process(process_id)
        if record is None:
            return await self._outcome(
                process_id, "abandon", "refused", str(UnknownProcess.process(process_id))
            )
        if record.is_terminal():
            sentence = f"terminal process `{process_id}` cannot accept an abandon request"
            return await self._outcome(process_id, "abandon", "refused", sentence)
        now = self.clock.now_ms()
        standing = record.abandon_request
        if standing is None:
            request = AbandonRequest(requested_by=requested_by, requested_at_ms=now, reason=reason)
            try:
                stored = await self.registry.request_process_abandon(process_id, request)
            except (UnknownProcess, ProcessConflict, InvalidRequest) as error:
                return await self._outcome(process_id, "abandon", "refused", str(error))
            if stored.abandon_request != request:
                standing = stored.abandon_request  # another operator's request came first
            elif self.worker is not None:
                await self.worker.drive_pending_processes()
        observed = await self.get(process_id)
        if observed is None:
            sentence = f"process `{process_id}` vanished after recording its abandon request"
            return await self._outcome(process_id, "abandon", "refused", sentence)
        if standing is not None:
            why = f" ({standing.reason})" if standing.reason else ""
            sentence = (
                f"already requested by {standing.requested_by} "
                f"{ago(standing.requested_at_ms, now)}{why}; {abandon_outlook(observed, now)}"
            )
            return await self._outcome(process_id, "abandon", "unchanged", sentence, observed)
        if observed.terminal:
            sentence = f"ended {observed.lifecycle.value}"
            return await self._outcome(process_id, "abandon", "done", sentence, observed)
        sentence = f"abandon requested by {requested_by}; {abandon_outlook(observed, now)}"
        return await self._outcome(process_id, "abandon", "requested", sentence, observed)

    async def end_undecodable(
        self, process_id: str, operator: str, reason: str
    ) -> ObservedProcess:
        """End a row whose stored record cannot be decoded (it lists as `undecodable`, and
        cancel, signal and abandon refuse it): it becomes an ordinary `failed` row whose
        terminal event says why and who, which prune then removes like any other."""
        record = await self.registry.end_undecodable_process(process_id, operator, reason)
        return await self._observe(record)

    def for_session(self, scope: SessionScope) -> SessionProcesses:
        """The same vocabulary seen from inside a session: only what its grants reach. A
        session id that would make another scope's id is refused (`SessionScope.checked`)."""
        return SessionProcesses(self, scope.checked())


class SessionProcesses:
    """A session's view (semantics §13 session sugar): the root scope's grants plus the
    current frame's, de-duplicated by id. Unlike the host facade it checks visibility:
    cancel needs a grant, signal a live one."""

    def __init__(self, processes: Processes, scope: SessionScope) -> None:
        self.processes = processes
        self.scope = scope
        scopes = [scope.root(), scope]
        self._scopes = [
            s for i, s in enumerate(scopes) if s.id() not in {x.id() for x in scopes[:i]}
        ]

    async def list_all(self) -> builtins.list[ObservedProcess]:
        seen: dict[str, ProcessRecord] = {}
        for scope in self._scopes:
            for _, record in await self.processes.registry.list_handle_grants(scope):
                seen.setdefault(record.id, record)
        return await self.processes._observe_all([seen[pid] for pid in sorted(seen)])

    async def list(self) -> builtins.list[ObservedProcess]:
        return [p for p in await self.list_all() if not p.terminal]

    async def get(self, process_id: str) -> ObservedProcess | None:
        return next((p for p in await self.list_all() if p.process_id == process_id), None)

    async def _visible(self, process_id: str, *, live: bool) -> str | None:
        """None if this session may address the process, else lash's refusal sentence."""
        registry = self.processes.registry
        for scope in self._scopes:
            if await registry.has_handle_grant(scope, process_id):
                record = await registry.get_process(process_id)
                if not live or (record is not None and not record.is_terminal()):
                    return None
        return f"process handle `{process_id}` is not live or visible in this session"

    async def cancel(self, process_id: str) -> ProcessActionOutcome:
        refusal = await self._visible(process_id, live=False)
        if refusal is not None:
            return await self.processes._outcome(process_id, "cancel", "refused", refusal)
        return await self.processes.cancel(process_id)

    async def signal(
        self, process_id: str, signal_name: str, signal_id: str, payload: JsonValue
    ) -> ProcessActionOutcome:
        process_signal_event_type(signal_name)  # a bad name is the caller's error first
        refusal = await self._visible(process_id, live=True)
        if refusal is not None:
            return await self.processes._outcome(process_id, "signal", "refused", refusal)
        return await self.processes.signal(process_id, signal_name, signal_id, payload)

    async def request_abandon(
        self, process_id: str, reason: str | None = None
    ) -> ProcessActionOutcome:
        refusal = await self._visible(process_id, live=False)
        if refusal is not None:
            return await self.processes._outcome(process_id, "abandon", "refused", refusal)
        requested_by = f"session:{self.scope.session_id}"
        return await self.processes.request_abandon(process_id, requested_by, reason)

    async def cancel_unreferenced(self, keep_ids: builtins.list[str]) -> builtins.list[str]:
        """Revoke this scope's grants not in `keep_ids`; cancel each such process that is
        still running and that no other scope holds. Returns the cancelled ids."""
        registry = self.processes.registry
        cancelled = []
        for grant, record in await registry.list_handle_grants(self.scope):
            if grant.process_id in keep_ids:
                continue
            await registry.revoke_handle(self.scope, grant.process_id)
            if record.is_terminal() or await registry.handle_grants_for_process(record.id):
                continue
            if not (await self.processes.cancel(record.id)).refused:
                cancelled.append(record.id)
        return cancelled
