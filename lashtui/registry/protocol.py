"""The `ProcessRegistry` Protocol: lash's registry trait as async Python (api.md §4).

The worker, the facade and every test depend on this Protocol, never on a concrete store;
only `open_registry` picks one. Each method is one transaction: it either happens entirely
or raises a `LashError` and changes nothing.

The dashboard's reads, lashtui's extension of lash's trait (keyset pages, a census, batch
gets and the lease and abandon views that let an operator watch a registry of a million
retained rows without ever loading the whole table), are `DashboardReads`
(dashboard_read.py), which this Protocol includes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from lashtui.model import (
    AbandonRequest,
    DurabilityTier,
    ExternalRef,
    LeaseOwnerIdentity,
    ProcessAwaitOutput,
    ProcessEvent,
    ProcessEventAppendRequest,
    ProcessEventAppendResult,
    ProcessExecutionEnvSpec,
    ProcessHandleDescriptor,
    ProcessHandleGrant,
    ProcessLease,
    ProcessLeaseClaimOutcome,
    ProcessListFilter,
    ProcessLiveReferenceSummary,
    ProcessPruneCount,
    ProcessPruneReport,
    ProcessRecord,
    ProcessRegistration,
    ProcessRunClaim,
    ProcessSessionDeleteReport,
    ProcessStarted,
    ProcessStartRequest,
    ProcessWorkItem,
    SessionScope,
    WaitState,
)
from lashtui.model.audit import AuditPage, AuditQuery, OperatorAction
from lashtui.registry.dashboard_read import DashboardReads


class ProcessRegistry(DashboardReads, Protocol):
    """The durable process registry: rows, event logs, grants and fenced leases."""

    # --- rows and facts
    async def register_process(self, registration: ProcessRegistration) -> ProcessRecord: ...
    async def set_external_ref(self, process_id: str, ref: ExternalRef) -> ProcessRecord: ...
    async def record_first_started(
        self, process_id: str, started: ProcessStarted, lease: ProcessLease
    ) -> ProcessRecord: ...
    async def request_process_abandon(
        self, process_id: str, request: AbandonRequest
    ) -> ProcessRecord: ...
    async def set_process_wait(self, process_id: str, wait: WaitState) -> ProcessRecord: ...
    async def clear_process_wait(self, process_id: str) -> ProcessRecord: ...
    async def get_process(self, process_id: str) -> ProcessRecord | None: ...
    async def list_processes(
        self, filter: ProcessListFilter | None = None
    ) -> list[ProcessRecord]: ...
    async def list_non_terminal(self) -> list[ProcessRecord]: ...
    async def live_reference_summary(self) -> list[ProcessLiveReferenceSummary]:
        """Non-terminal rows counted by `identity.definition` and `env_ref` (lash 43e4b822f)."""
        ...

    def durability_tier(self) -> DurabilityTier:
        """The durability the store declares: `durable` for a file or a database, `inline`
        for SQLite's `:memory:` (lash's `ProcessRegistry::durability_tier`)."""
        ...

    async def list_work_items(self) -> list[ProcessWorkItem]:
        """Every non-terminal row as a light work item with its held lease, id order."""
        ...

    async def list_drive_work_items(
        self, now_ms: int, claimant: LeaseOwnerIdentity | None = None
    ) -> list[ProcessWorkItem]:
        """`list_work_items` with the backlog at `now_ms` (the free rerunnable rows without
        an abandon request: what `claim_processes_for_run` picks) cut to its first two rows
        (a lashtui extension: what a worker's periodic drive reads; the batch claim takes
        the backlog). With a `claimant`, the rows whose lease is live at `now_ms` and held
        by an owner the claimant cannot prove dead are left out too, as
        `work_items_changed_since` leaves them out."""
        ...

    async def work_items_changed_since(
        self, cursor: int, limit: int, claimant: LeaseOwnerIdentity | None = None
    ) -> tuple[list[ProcessWorkItem], int]:
        """The non-terminal rows among the next `limit` the change feed has after `cursor`,
        as `list_work_items` gives them, and the feed position after those `limit` rows (a
        lashtui extension: what a worker woken by a commit reads). With a `claimant`, the
        rows whose live lease it could only be refused (`ProcessLease.bars`) are left out."""
        ...

    # --- events and terminals
    async def append_event(
        self, process_id: str, request: ProcessEventAppendRequest
    ) -> ProcessEventAppendResult: ...
    async def complete_process(
        self, process_id: str, await_output: ProcessAwaitOutput
    ) -> ProcessRecord: ...
    async def complete_process_with_lease(
        self, lease: ProcessLease, await_output: ProcessAwaitOutput
    ) -> ProcessRecord: ...
    async def events_after(
        self,
        process_id: str,
        after_sequence: int,
        *,
        limit: int | None = None,
        max_chars: int | None = None,
    ) -> list[ProcessEvent]:
        """The events with a sequence above `after_sequence`, in order; with `limit`, the
        first `limit` of them, and with `max_chars` only as many as end with the one whose
        stored JSON takes their total to `max_chars` characters or past it (lashtui
        extensions: a long log, whose events may be a mebibyte each, read in pages that
        never hold more than `max_chars` plus one event; sql/log_read.py)."""
        ...

    async def first_event_after(
        self, process_id: str, event_type: str, after_sequence: int
    ) -> ProcessEvent | None:
        """The first `event_type` event with a sequence after `after_sequence`, if any: what
        an awaiter polls for, read without decoding the events of other types (a lashtui
        extension; `events_after` filtered gives the same answer)."""
        ...

    async def count_events_through(
        self, process_id: str, event_type: str, sequence: int
    ) -> int: ...
    async def recent_events(
        self,
        process_id: str,
        limit: int,
        *,
        before: int | None = None,
        max_chars: int | None = None,
    ) -> list[ProcessEvent]:
        """The newest `limit` events, in order; with `before`, the newest below that
        sequence, and with `max_chars` only the newest that fit in it, as `events_after`
        counts (lashtui extensions: a long log read from its end, a page at a time)."""
        ...

    async def events_left_out(self, process_id: str) -> int:
        """How many of the process's events no read of its log returns: those another
        program stored under a sequence that is no whole number (a lashtui extension, so a
        reader can say that what it shows is not the whole log; 0 on PostgreSQL)."""
        ...

    async def pending_wake_sequences(self, process_id: str, after_sequence: int = 0) -> list[int]:
        """The sequences `wake_events_after(process_id, after_sequence)` lists, read without
        holding the log (a lashtui extension: what the process detail shows as pending
        delivery)."""
        ...
    async def wake_events_after(
        self, process_id: str, after_sequence: int
    ) -> list[ProcessEvent]: ...
    async def ack_wake(self, process_id: str, sequence: int) -> None: ...

    # --- grants and sessions
    async def grant_handle(
        self, scope: SessionScope, process_id: str, descriptor: ProcessHandleDescriptor
    ) -> ProcessHandleGrant: ...
    async def revoke_handle(self, scope: SessionScope, process_id: str) -> None: ...
    async def has_handle_grant(self, scope: SessionScope, process_id: str) -> bool: ...
    async def transfer_handle_grants(
        self, from_scope: SessionScope, to_scope: SessionScope, process_ids: list[str]
    ) -> None: ...
    async def list_handle_grants(
        self, scope: SessionScope
    ) -> list[tuple[ProcessHandleGrant, ProcessRecord]]: ...
    async def list_live_handle_grants(
        self, scope: SessionScope
    ) -> list[tuple[ProcessHandleGrant, ProcessRecord]]: ...
    async def handle_grants_for_process(self, process_id: str) -> list[ProcessHandleGrant]: ...
    async def handle_grant_scopes(
        self, process_id: str
    ) -> list[tuple[str, ProcessHandleGrant]]:
        """The process's grants with the full scope id each is held by (lash's grant shape
        names the session only; a frame's grant is `session:S/frame:F`)."""
        ...
    async def delete_session_process_state(self, session_id: str) -> ProcessSessionDeleteReport: ...

    # --- leases
    async def claim_process_lease(
        self, process_id: str, owner: LeaseOwnerIdentity, ttl_ms: int
    ) -> ProcessLeaseClaimOutcome: ...
    async def claim_process_for_run(
        self, process_id: str, owner: LeaseOwnerIdentity, ttl_ms: int, started: ProcessStarted
    ) -> ProcessRunClaim:
        """`claim_process_lease`, then, with the lease acquired, the fresh row, and for a
        row a worker runs its first-started fact (if not set) and its first cancel
        request: one transaction for how every run begins (lashtui's, not lash's)."""
        ...

    async def claim_processes_for_run(
        self,
        owners: list[LeaseOwnerIdentity],
        ttl_ms: int,
        started: ProcessStarted,
        skip: list[str] | None = None,
    ) -> list[tuple[str, ProcessRunClaim | None]]:
        """Up to `len(owners)` rerunnable rows no one holds (none with an abandon request,
        none in `skip`), the first in id order, each claimed exactly as
        `claim_process_for_run` claims one (`owners[i]` the i-th claim's identity), all in
        one transaction: (process id, its claim) for each, None for a row whose record does
        not decode (not claimed). Fewer than asked means no more such rows were free (a
        lashtui extension: how a worker drains a backlog that other workers drain too)."""
        ...

    async def reclaim_process_lease(
        self,
        process_id: str,
        owner: LeaseOwnerIdentity,
        observed_holder: ProcessLease,
        ttl_ms: int,
    ) -> ProcessLeaseClaimOutcome: ...
    async def renew_process_lease(self, lease: ProcessLease, ttl_ms: int) -> ProcessLease: ...
    async def get_process_lease(self, process_id: str) -> ProcessLease | None: ...
    async def get_work_item(self, process_id: str) -> ProcessWorkItem | None:
        """The row's work item as it is now (its lease, held or expired, included); None
        when the row is terminal or does not exist (a lashtui extension: the check a
        worker makes before claiming a row listed a while ago)."""
        ...

    async def get_process_leases(self, process_ids: list[str]) -> dict[str, ProcessLease]:
        """The held leases (expired included) of these processes, in one read."""
        ...

    async def release_process_lease(self, lease: ProcessLease) -> None: ...

    # --- retention, change feed, envs
    async def prune_terminal_processes(
        self,
        cutoff_epoch_ms: int,
        *,
        filter: ProcessListFilter | None = None,
        up_to_change_seq: int | None = None,
    ) -> ProcessPruneReport: ...
    async def count_prunable_processes(self, cutoff_epoch_ms: int) -> ProcessPruneCount:
        """What `prune_terminal_processes(cutoff_epoch_ms)` would delete now (processes and
        their events), counted from indexes in one snapshot, and that snapshot's change-feed
        position: pass it as `up_to_change_seq` to delete no row that ended after the count
        (a lashtui extension)."""
        ...

    async def processes_changed_since(
        self, cursor: int, limit: int, *, max_chars: int | None = None
    ) -> tuple[list[ProcessRecord], int]:
        """lash's change feed; with `max_chars` (a lashtui extension) a page ends with the
        row whose record takes the page to `max_chars` characters, and only an empty page
        says the feed has been read to its end."""
        ...
    async def put_process_execution_env(self, spec: ProcessExecutionEnvSpec) -> str: ...
    async def get_process_execution_env(self, env_ref: str) -> ProcessExecutionEnvSpec: ...

    # --- lashtui extensions, not in lash's trait
    def before_close(self, hook: Callable[[], Awaitable[None]]) -> None:
        """Await `hook` when the registry begins to close, before its connections do (the
        `open_registry` block's exit): a worker made on it stops its runs in flight there,
        while they can still release their leases."""
        ...

    async def start_process(self, request: ProcessStartRequest) -> ProcessRecord:
        """A host's start in one transaction: capture the request's execution env (the
        default empty one for an engine or tool row without one), register the process
        (idempotently) and make the request's grant. The same as
        `put_process_execution_env`, `register_process` and `grant_handle` in turn, with no
        moment where one is done and the next is not."""
        ...

    async def start_process_for_run(
        self,
        request: ProcessStartRequest,
        owner: LeaseOwnerIdentity,
        ttl_ms: int,
        started: ProcessStarted,
    ) -> tuple[ProcessRecord, ProcessRunClaim | None]:
        """`start_process` and, when it inserts a row a worker would run, that row claimed
        as `claim_process_for_run` claims it (`owner` the claim's identity, `started` its
        first-started fact, written in the inserted record), in the same transaction: the
        record and its claim. A start that found its row already there, or made one no
        worker runs, claims nothing (None): what a worker's facade starts with."""
        ...

    async def end_undecodable_process(
        self, process_id: str, operator: str, reason: str
    ) -> ProcessRecord:
        """End a row whose stored record cannot be decoded (reads show it marked
        `undecodable`; every other write refuses it): in one transaction, rewrite it as a
        minimal valid record from its columns, made `failed` by a terminal event whose
        message says why and who, and free its lease. A row that decodes is refused."""
        ...

    async def rerun_process(self, process_id: str, new_id: str, operator: str) -> ProcessRecord:
        """Start `new_id` as a copy of terminal `process_id` (same input, disposition,
        identity, provenance, wake target, env and grants) whose log's first event,
        `lashtui.rerun_of`, names the process it re-runs and the operator: in one
        transaction. A live, unknown or undecodable row, or an existing `new_id`, is
        refused and nothing is written."""
        ...

    async def record_operator_actions(self, actions: list[OperatorAction]) -> None:
        """Append operator actions to lashtui's audit table (lashtui.model.audit), creating
        it in this write if the registry has none yet."""
        ...

    async def operator_actions(self, query: AuditQuery) -> AuditPage:
        """One page of one audit source, newest first (lashtui.registry.sql.audit)."""
        ...
