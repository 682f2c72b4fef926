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

from pydantic import Field, JsonValue

from lashtui.clock import Clock, SystemClock
from lashtui.errors import LashError, ProcessConflict, UnknownProcess
from lashtui.model import (
    AbandonRequest,
    ObservedProcess,
    ObservedProcessEvent,
    ProcessAwaitOutput,
    ProcessCancelSummary,
    ProcessCensus,
    ProcessEvent,
    ProcessEventAppendRequest,
    ProcessHandleDescriptor,
    ProcessHandleGrant,
    ProcessHandleSummary,
    ProcessListFilter,
    ProcessOriginator,
    ProcessPageQuery,
    ProcessPruneReport,
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
from lashtui.model.wire import WireModel
from lashtui.registry import ProcessRegistry
from lashtui.worker import ChangeHub, ProcessAwaiter, ProcessWorker, notifying

SNAPSHOT_EVENT_TAIL = 32
HOST_CANCEL_REASON = "requested by host"


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
        an env captures the default (empty) env."""
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
        wanted = filter or ProcessListFilter()
        pairs = await self.registry.list_handle_grants(scope)
        return await self._observe_all([r for _, r in pairs if wanted.matches_record(r)])

    async def list_originated_by(
        self, scope: SessionScope, filter: ProcessListFilter | None = None
    ) -> builtins.list[ObservedProcess]:
        """The lineage lens: rows this session (or frame) started, wherever their grants went."""
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

    async def _require_live(self, process_id: str) -> ProcessRecord:
        record = await self._require(process_id)
        if record.is_terminal():
            raise ProcessConflict(f"process `{process_id}` is already terminal")
        return record

    async def cancel(
        self, process_id: str, reason: str = HOST_CANCEL_REASON
    ) -> ProcessCancelSummary:
        """Ask the running owner to stop; the row stays `running` until it does."""
        await self._require_live(process_id)
        request = ProcessEventAppendRequest.cancel_requested(process_id, reason)
        await self.registry.append_event(process_id, request)
        record = await self._require(process_id)
        return ProcessCancelSummary(process_id=process_id, status=record.status.state)

    async def cancel_all(self) -> builtins.list[ProcessCancelSummary]:
        summaries = []
        for record in await self.registry.list_non_terminal():
            try:
                summaries.append(await self.cancel(record.id))
            except ProcessConflict:
                continue  # it ended between the listing and the cancel
        return summaries

    async def signal(
        self, process_id: str, signal_name: str, signal_id: str, payload: JsonValue
    ) -> ProcessEvent:
        """Append `signal.<name>` under `process:<pid>:signal.<name>:<signal_id>`, so a resend
        with the same id and payload is one event. The n-th wait on a name receives the n-th
        such signal."""
        event_type = process_signal_event_type(signal_name)
        await self._require_live(process_id)
        key = process_signal_replay_key(process_id, signal_name, signal_id)
        request = ProcessEventAppendRequest.new(event_type, payload, key)
        return (await self.registry.append_event(process_id, request)).event

    async def transfer(
        self, from_scope: SessionScope, to_scope: SessionScope, process_ids: builtins.list[str]
    ) -> None:
        await self.registry.transfer_handle_grants(from_scope, to_scope, process_ids)

    async def prune(self, cutoff_epoch_ms: int) -> ProcessPruneReport:
        return await self.registry.prune_terminal_processes(cutoff_epoch_ms)

    async def request_abandon(
        self, process_id: str, requested_by: str, reason: str | None = None
    ) -> ObservedProcess:
        request = AbandonRequest(
            requested_by=requested_by, requested_at_ms=self.clock.now_ms(), reason=reason
        )
        await self.registry.request_process_abandon(process_id, request)
        observed = await self.get(process_id)
        if observed is None:
            raise UnknownProcess(
                f"process `{process_id}` vanished after recording its abandon request"
            )
        if self.worker is not None:
            await self.worker.drive_pending_processes()
        return observed

    async def end_undecodable(
        self, process_id: str, operator: str, reason: str
    ) -> ObservedProcess:
        """End a row whose stored record cannot be decoded (it lists as `undecodable`, and
        cancel, signal and abandon refuse it): it becomes an ordinary `failed` row whose
        terminal event says why and who, which prune then removes like any other."""
        record = await self.registry.end_undecodable_process(process_id, operator, reason)
        return await self._observe(record)

    def for_session(self, scope: SessionScope) -> SessionProcesses:
        """The same vocabulary seen from inside a session: only what its grants reach."""
        return SessionProcesses(self, scope)


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

    async def _visible(self, process_id: str, *, live: bool) -> None:
        registry = self.processes.registry
        for scope in self._scopes:
            if await registry.has_handle_grant(scope, process_id):
                record = await registry.get_process(process_id)
                if not live or (record is not None and not record.is_terminal()):
                    return
        raise ProcessConflict(
            f"process handle `{process_id}` is not live or visible in this session"
        )

    async def cancel(self, process_id: str) -> ProcessCancelSummary:
        await self._visible(process_id, live=False)
        return await self.processes.cancel(process_id)

    async def signal(
        self, process_id: str, signal_name: str, signal_id: str, payload: JsonValue
    ) -> ProcessEvent:
        await self._visible(process_id, live=True)
        return await self.processes.signal(process_id, signal_name, signal_id, payload)

    async def request_abandon(self, process_id: str, reason: str | None = None) -> ObservedProcess:
        await self._visible(process_id, live=False)
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
            await self.processes.cancel(record.id)
            cancelled.append(record.id)
        return cancelled
