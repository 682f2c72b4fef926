"""`SqlProcessRegistry`: the `ProcessRegistry` Protocol over a SQL database, one class for
both stores.

Each method stamps the time once, on the event loop, and hands one transaction function (from
the sibling modules, grouped by what they own) to the store's `TransactionRunner`, which runs
it as one transaction under the store's own rules: SQLite's BEGIN IMMEDIATE on a file, or
PostgreSQL's row locks on a pooled connection. The runner's call says what kind of
transaction it is: a write, a read that needs one snapshot, or the short forms of both, which
touch one process's rows and which a runner may run more cheaply.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Concatenate, ParamSpec, Protocol, TypeVar

from lashtui.clock import Clock
from lashtui.model import (
    AbandonRequest,
    DurabilityTier,
    ErrorGroupKey,
    ErrorGroupQuery,
    ErrorSummary,
    ExternalRef,
    LeaseOwnerIdentity,
    ProbeFacts,
    ProcessActivity,
    ProcessAwaitOutput,
    ProcessCensus,
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
    ProcessPageQuery,
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
from lashtui.registry.sql import (
    activity,
    audit,
    claim,
    drive,
    error,
    event,
    grant,
    indexes,
    lease,
    lease_row,
    log_read,
    page,
    probe,
    process,
    prune,
    reference,
    rerun,
    run,
    worklist,
)
from lashtui.registry.sql.dialect import Tx
from lashtui.registry.sql.timing import TimedRunner, TransactionObserver

P = ParamSpec("P")
T = TypeVar("T")
TxFunction = Callable[Concatenate[Tx, P], T]


class TransactionRunner(Protocol):
    """How a store runs the transaction functions (see the module docstring)."""

    @property
    def read_only(self) -> bool: ...
    async def close(self) -> None: ...

    async def write(self, fn: TxFunction[P, T], *args: P.args, **kwargs: P.kwargs) -> T: ...
    async def read(self, fn: TxFunction[P, T], *args: P.args, **kwargs: P.kwargs) -> T: ...
    async def short_write(
        self, fn: TxFunction[P, T], *args: P.args, **kwargs: P.kwargs
    ) -> T: ...
    async def short_read(self, fn: TxFunction[P, T], *args: P.args, **kwargs: P.kwargs) -> T: ...
    async def point_read(self, fn: TxFunction[P, T], *args: P.args, **kwargs: P.kwargs) -> T: ...
    def known_env(self, env_ref: str) -> ProcessExecutionEnvSpec | None:
        """The env under `env_ref` if the store's connections have read or committed it;
        None when they have not, or the store is closed."""
        ...


class SqlProcessRegistry(ABC):
    """The registry's methods, each one transaction run by `runner`. A store subclasses it
    with how to open and close itself and how it tells that others have committed."""

    # The store's schema (its schema.py): what a new registry is made of, and the indexes
    # `add_missing_indexes` gives an older one.
    DDL: tuple[str, ...] = ()
    # What else `add_missing_indexes` gives an older registry (sql/indexes.py `add_missing`).
    COLUMNS: tuple[tuple[str, tuple[str, ...]], ...] = ()
    SUPERSEDED: tuple[str, ...] = ()

    def __init__(self, runner: TransactionRunner, clock: Clock) -> None:
        self._db = runner
        self._clock = clock
        self._closing: list[Callable[[], Awaitable[None]]] = []  # `before_close` hooks

    async def add_missing_indexes(self, *, dry_run: bool = False) -> indexes.IndexReport:
        """Create the store's indexes the registry lacks (sql/indexes.py says when and why);
        with `dry_run`, only say which, in a read that writes nothing."""
        extra = (self.COLUMNS, self.SUPERSEDED)
        if dry_run:
            return await self._db.read(indexes.add_missing, self.DDL, True, *extra)
        return await self._db.write(indexes.add_missing, self.DDL, False, *extra)

    def before_close(self, hook: Callable[[], Awaitable[None]]) -> None:
        self._closing.append(hook)

    async def close(self) -> None:
        """Await the `before_close` hooks in turn (a worker stopping its runs), then close
        the store's connections; calls after this fail with a `StoreError`."""
        hooks, self._closing = self._closing, []
        try:
            for hook in hooks:
                await hook()
        finally:
            await self._db.close()

    @property
    def read_only(self) -> bool:
        return self._db.read_only

    def observe_transactions(self, observer: TransactionObserver | None) -> None:
        """Tell `observer` the kind and duration of every transaction from now on (None:
        stop telling). The worker's metrics use it (timing.py)."""
        inner = self._db.inner if isinstance(self._db, TimedRunner) else self._db
        self._db = inner if observer is None else TimedRunner(inner, observer)

    @abstractmethod
    async def data_version(self) -> int:
        """See `ProcessRegistry.data_version`: how the store tells others' commits."""

    @abstractmethod
    def durability_tier(self) -> DurabilityTier:
        """The tier this store declares (lashtui.model.durability)."""

    def _now(self) -> int:
        return self._clock.now_ms()

    # --- rows and facts

    async def register_process(self, registration: ProcessRegistration) -> ProcessRecord:
        return await self._db.short_write(process.register, registration, self._now())

    async def set_external_ref(self, process_id: str, ref: ExternalRef) -> ProcessRecord:
        return await self._db.short_write(process.set_external_ref, process_id, ref, self._now())

    async def record_first_started(
        self, process_id: str, started: ProcessStarted, lease: ProcessLease
    ) -> ProcessRecord:
        return await self._db.short_write(
            process.record_first_started, process_id, started, lease, self._now()
        )

    async def request_process_abandon(
        self, process_id: str, request: AbandonRequest
    ) -> ProcessRecord:
        return await self._db.short_write(process.request_abandon, process_id, request, self._now())

    async def set_process_wait(self, process_id: str, wait: WaitState) -> ProcessRecord:
        return await self._db.short_write(process.set_wait, process_id, wait, self._now())

    async def clear_process_wait(self, process_id: str) -> ProcessRecord:
        return await self._db.short_write(process.clear_wait, process_id, self._now())

    async def get_process(self, process_id: str) -> ProcessRecord | None:
        return await self._db.point_read(process.get, process_id)

    async def list_processes(self, filter: ProcessListFilter | None = None) -> list[ProcessRecord]:
        return await self._db.read(process.list_matching, filter or ProcessListFilter())

    async def list_non_terminal(self) -> list[ProcessRecord]:
        return await self._db.read(process.list_non_terminal)

    async def live_reference_summary(self) -> list[ProcessLiveReferenceSummary]:
        return await self._db.read(reference.live_reference_summary)

    async def list_work_items(self) -> list[ProcessWorkItem]:
        return await self._db.read(worklist.work_items)

    async def list_drive_work_items(
        self, now_ms: int, claimant: LeaseOwnerIdentity | None = None
    ) -> list[ProcessWorkItem]:
        return await self._db.read(drive.drive_work_items, now_ms, claimant)

    async def work_items_changed_since(
        self, cursor: int, limit: int, claimant: LeaseOwnerIdentity | None = None
    ) -> tuple[list[ProcessWorkItem], int]:
        # Short: a woken worker reads a handful of rows, and on SQLite a short read runs on
        # the loop's thread when the file is free, without queueing behind a long read.
        return await self._db.short_read(
            worklist.work_items_changed_since, cursor, limit, claimant, self._now()
        )

    # --- events and terminals

    async def append_event(
        self, process_id: str, request: ProcessEventAppendRequest
    ) -> ProcessEventAppendResult:
        return await self._db.short_write(event.append, process_id, request, self._now())

    async def complete_process(
        self, process_id: str, await_output: ProcessAwaitOutput
    ) -> ProcessRecord:
        return await self._db.short_write(event.complete, process_id, await_output, self._now())

    async def complete_process_with_lease(
        self, lease: ProcessLease, await_output: ProcessAwaitOutput
    ) -> ProcessRecord:
        return await self._db.short_write(
            event.complete_with_lease, lease, await_output, self._now()
        )

    async def events_after(
        self,
        process_id: str,
        after_sequence: int,
        *,
        limit: int | None = None,
        max_chars: int | None = None,
    ) -> list[ProcessEvent]:
        return await self._db.read(
            log_read.events_after, process_id, after_sequence, limit, max_chars
        )

    async def first_event_after(
        self, process_id: str, event_type: str, after_sequence: int
    ) -> ProcessEvent | None:
        return await self._db.point_read(
            event.first_after, process_id, event_type, after_sequence
        )

    async def count_events_through(self, process_id: str, event_type: str, sequence: int) -> int:
        return await self._db.short_read(event.count_through, process_id, event_type, sequence)

    async def recent_events(
        self,
        process_id: str,
        limit: int,
        *,
        before: int | None = None,
        max_chars: int | None = None,
    ) -> list[ProcessEvent]:
        return await self._db.read(log_read.recent, process_id, limit, before, max_chars)

    async def pending_wake_sequences(self, process_id: str, after_sequence: int = 0) -> list[int]:
        return await self._db.read(log_read.pending_wake_sequences, process_id, after_sequence)

    async def events_left_out(self, process_id: str) -> int:
        return await self._db.read(log_read.events_left_out, process_id)

    async def wake_events_after(self, process_id: str, after_sequence: int) -> list[ProcessEvent]:
        return await self._db.read(log_read.wake_events_after, process_id, after_sequence)

    async def ack_wake(self, process_id: str, sequence: int) -> None:
        await self._db.short_write(event.ack_wake, process_id, sequence)

    # --- grants and sessions

    async def grant_handle(
        self, scope: SessionScope, process_id: str, descriptor: ProcessHandleDescriptor
    ) -> ProcessHandleGrant:
        return await self._db.short_write(grant.grant, scope, process_id, descriptor)

    async def revoke_handle(self, scope: SessionScope, process_id: str) -> None:
        await self._db.short_write(grant.revoke, scope, process_id)

    async def has_handle_grant(self, scope: SessionScope, process_id: str) -> bool:
        return await self._db.short_read(grant.has_grant, scope, process_id)

    async def transfer_handle_grants(
        self, from_scope: SessionScope, to_scope: SessionScope, process_ids: list[str]
    ) -> None:
        await self._db.write(grant.transfer, from_scope, to_scope, list(process_ids))

    async def list_handle_grants(
        self, scope: SessionScope
    ) -> list[tuple[ProcessHandleGrant, ProcessRecord]]:
        return await self._db.read(grant.list_grants, scope, False)

    async def list_live_handle_grants(
        self, scope: SessionScope
    ) -> list[tuple[ProcessHandleGrant, ProcessRecord]]:
        return await self._db.read(grant.list_grants, scope, True)

    async def handle_grants_for_process(self, process_id: str) -> list[ProcessHandleGrant]:
        return await self._db.read(grant.grants_for_process, process_id)

    async def handle_grant_scopes(self, process_id: str) -> list[tuple[str, ProcessHandleGrant]]:
        return await self._db.read(grant.scopes_for_process, process_id)

    async def delete_session_process_state(self, session_id: str) -> ProcessSessionDeleteReport:
        return await self._db.write(grant.delete_session, session_id, self._now())

    # --- leases

    async def claim_process_lease(
        self, process_id: str, owner: LeaseOwnerIdentity, ttl_ms: int
    ) -> ProcessLeaseClaimOutcome:
        return await self._db.short_write(claim.claim, process_id, owner, ttl_ms, self._now)

    async def claim_process_for_run(
        self, process_id: str, owner: LeaseOwnerIdentity, ttl_ms: int, started: ProcessStarted
    ) -> ProcessRunClaim:
        return await self._db.short_write(
            run.claim_for_run, process_id, owner, ttl_ms, started, self._now
        )

    async def claim_processes_for_run(
        self,
        owners: list[LeaseOwnerIdentity],
        ttl_ms: int,
        started: ProcessStarted,
        skip: list[str] | None = None,
    ) -> list[tuple[str, ProcessRunClaim | None]]:
        for owner in owners:  # here, not in the transaction, where other writers wait
            owner.check_limits()
        return await self._db.short_write(
            run.claim_next_for_run, list(owners), ttl_ms, started, self._now, skip
        )

    async def reclaim_process_lease(
        self,
        process_id: str,
        owner: LeaseOwnerIdentity,
        observed_holder: ProcessLease,
        ttl_ms: int,
    ) -> ProcessLeaseClaimOutcome:
        return await self._db.short_write(
            claim.reclaim, process_id, owner, observed_holder, ttl_ms, self._now
        )

    async def renew_process_lease(self, lease_: ProcessLease, ttl_ms: int) -> ProcessLease:
        return await self._db.short_write(lease.renew, lease_, ttl_ms, self._now)

    async def get_process_lease(self, process_id: str) -> ProcessLease | None:
        return await self._db.point_read(lease_row.get, process_id)

    async def get_work_item(self, process_id: str) -> ProcessWorkItem | None:
        return await self._db.point_read(worklist.work_item, process_id)

    async def get_process_leases(self, process_ids: list[str]) -> dict[str, ProcessLease]:
        return await self._db.read(lease_row.get_many, list(process_ids))

    async def processes_asked_to_cancel(self, process_ids: list[str]) -> set[str]:
        if not process_ids:
            return set()
        return await self._db.read(log_read.asked_to_cancel, list(process_ids))

    async def release_process_lease(self, lease_: ProcessLease) -> None:
        await self._db.short_write(lease.release, lease_)

    # --- retention, change feed, envs

    async def prune_terminal_processes(
        self,
        cutoff_epoch_ms: int,
        *,
        filter: ProcessListFilter | None = None,
        up_to_change_seq: int | None = None,
    ) -> ProcessPruneReport:
        return await self._db.write(prune.prune, cutoff_epoch_ms, filter, up_to_change_seq)

    async def count_prunable_processes(self, cutoff_epoch_ms: int) -> ProcessPruneCount:
        return await self._db.read(prune.count, cutoff_epoch_ms)

    async def processes_changed_since(
        self, cursor: int, limit: int, *, max_chars: int | None = None
    ) -> tuple[list[ProcessRecord], int]:
        return await self._db.read(process.changed_since, cursor, limit, max_chars)

    async def put_process_execution_env(self, spec: ProcessExecutionEnvSpec) -> str:
        return await self._db.short_write(process.put_env, spec, self._now())

    async def get_process_execution_env(self, env_ref: str) -> ProcessExecutionEnvSpec:
        # Envs are content-addressed and never change or go away, so one the store's
        # connections have read or committed is answered without a read. A worker asks for
        # every run's env before running it: the read was ~3% of P1 on SQLite, and its hop
        # to the pool ~6% of end to end's GIL samples on PostgreSQL.
        known = self._db.known_env(env_ref)
        if known is not None:
            return known
        return await self._db.point_read(process.get_env, env_ref)

    # --- lashtui extensions

    async def start_process(self, request: ProcessStartRequest) -> ProcessRecord:
        return await self._db.short_write(process.start, request, self._now())

    async def start_process_for_run(
        self,
        request: ProcessStartRequest,
        owner: LeaseOwnerIdentity,
        ttl_ms: int,
        started: ProcessStarted,
    ) -> tuple[ProcessRecord, ProcessRunClaim | None]:
        owner.check_limits()  # here, not in the transaction, where other writers wait
        return await self._db.short_write(
            run.start_for_run, request, owner, ttl_ms, started, self._now()
        )

    async def end_undecodable_process(
        self, process_id: str, operator: str, reason: str
    ) -> ProcessRecord:
        return await self._db.write(
            process.end_undecodable, process_id, operator, reason, self._now()
        )

    async def rerun_process(self, process_id: str, new_id: str, operator: str) -> ProcessRecord:
        return await self._db.write(rerun.rerun, process_id, new_id, operator, self._now())

    async def record_operator_actions(self, actions: list[OperatorAction]) -> None:
        await self._db.write(audit.record, list(actions))

    async def operator_actions(self, query: AuditQuery) -> AuditPage:
        return await self._db.read(audit.page, query)

    # --- the dashboard's reads

    async def page_processes(self, query: ProcessPageQuery) -> list[ProcessRecord]:
        return await self._db.read(page.page, query)

    async def page_processes_within(
        self, query: ProcessPageQuery, max_chars: int
    ) -> tuple[list[ProcessRecord], bool]:
        return await self._db.read(page.page_within, query, max_chars)

    async def process_census(self) -> ProcessCensus:
        return await self._db.read(page.census)

    async def get_processes(self, process_ids: list[str]) -> dict[str, ProcessRecord]:
        return await self._db.read(page.get_many, list(process_ids))

    async def list_leased_processes(self, limit: int = 1000) -> list[ProcessRecord]:
        return await self._db.read(page.leased, limit)

    async def list_leased_processes_within(
        self, limit: int, max_chars: int
    ) -> tuple[list[ProcessRecord], bool]:
        return await self._db.read(page.leased_within, limit, max_chars)

    async def list_abandon_candidates(
        self, limit: int = 1000, *, lapsed_at_ms: int | None = None
    ) -> list[ProcessRecord]:
        return await self._db.read(page.abandon_candidates, limit, lapsed_at_ms)

    async def next_lease_lapse(self, now_ms: int) -> int | None:
        return await self._db.read(page.next_lapse, now_ms)

    async def list_started_by(
        self, owner_id: str, *, after_id: str | None = None, limit: int = 1000
    ) -> list[str]:
        return await self._db.read(page.started_by, owner_id, after_id, limit)

    async def list_waking_session(
        self,
        session_id: str,
        *,
        after_id: str | None = None,
        limit: int = 1000,
        max_chars: int | None = None,
    ) -> tuple[list[ProcessRecord], str | None]:
        return await self._db.read(page.waking, session_id, after_id, limit, max_chars)

    async def list_abandon_candidates_within(
        self, limit: int, max_chars: int, *, lapsed_at_ms: int | None = None
    ) -> tuple[list[ProcessRecord], bool]:
        return await self._db.read(page.abandon_candidates_within, limit, lapsed_at_ms, max_chars)

    async def error_groups(self, query: ErrorGroupQuery) -> ErrorSummary:
        return await self._db.read(error.groups, query)

    async def count_held_leases(self, now_ms: int) -> tuple[int, int]:
        return await self._db.read(probe.held_leases, now_ms)

    async def probe_facts(self, now_ms: int, failed_since_ms: int) -> ProbeFacts:
        return await self._db.read(probe.facts, now_ms, failed_since_ms)

    async def change_cursor(self) -> int:
        # One statement, so no snapshot of its own: on PostgreSQL, in READ COMMITTED, the
        # position passes over a transaction that ended during the read without saving
        # here, where a REPEATABLE READ snapshot stopped below any transaction on the
        # server that committed while it began, and a follower read rows it had seen again
        # (postgres/change_feed.py `CHANGE_BOUND_DDL`).
        return await self._db.point_read(probe.change_cursor)

    async def error_group_rows(
        self, key: ErrorGroupKey, window: int, limit: int = 500
    ) -> list[ProcessRecord]:
        return await self._db.read(error.group_rows, key, window, limit)

    async def error_group_rows_within(
        self, key: ErrorGroupKey, window: int, limit: int, max_chars: int
    ) -> tuple[list[ProcessRecord], bool]:
        return await self._db.read(error.group_rows_within, key, window, limit, max_chars)
    async def process_activity(
        self,
        first_minute: int,
        last_minute: int,
        duration_runs: int,
        *,
        runs_from_minute: int | None = None,
        levels_before: tuple[int, int] | None = None,
    ) -> ProcessActivity:
        runs_from = first_minute if runs_from_minute is None else runs_from_minute
        return await self._db.read(
            activity.activity,
            first_minute,
            last_minute,
            duration_runs,
            runs_from,
            levels_before,
        )
