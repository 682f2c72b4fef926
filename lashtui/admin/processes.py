"""`Processes`: the one facade the command line and the dashboard use (semantics §13,
api.md §6).

It observes the registry (as `ObservedProcess`: records joined with their lease facts),
starts processes and drives the attached worker, and acts on processes the way an operator
may: cancel, signal, transfer grants, request abandon, prune, end an undecodable row.

This module owns the facade's state (registry, worker, clock) and its reads; each act is
a method here with the name and signature callers use, handing the work to the function
of the same name in `lashtui.admin.action` or its siblings (`signal`, `transfer`, `prune`),
where the outcomes are made. A session's view of the same vocabulary is
`lashtui.admin.session`.
"""

from __future__ import annotations

import asyncio
import builtins
import math
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from pydantic import JsonValue

from lashtui.admin import action, rerun, session, target_outcome
from lashtui.admin.argument import checked
from lashtui.admin.prune import check_prune_cutoff
from lashtui.admin.start import check_start_request
from lashtui.clock import Clock, SystemClock
from lashtui.errors import AwaitTimeout, InvalidRequest, ProcessConflict, UnknownProcess
from lashtui.model import (
    CANCEL_REQUESTED,
    DURATION_RUNS,
    MINUTE_MS,
    PAGE_CHARS,
    AbandonRequest,
    ErrorGroupKey,
    ErrorGroupQuery,
    ErrorSummary,
    HealthWindow,
    ObservedProcess,
    ObservedProcessEvent,
    ProbeFacts,
    ProcessActivity,
    ProcessAwaitOutput,
    ProcessCancelSummary,
    ProcessCensus,
    ProcessEvent,
    ProcessEventAppendRequest,
    ProcessHandleGrant,
    ProcessListFilter,
    ProcessOriginator,
    ProcessPageQuery,
    ProcessPruneReport,
    ProcessRecord,
    ProcessStartRequest,
    SessionOriginator,
    SessionScope,
    process_signal_event_type,
    process_signal_replay_key,
    silent_not_dead,
)
from lashtui.model.rerun import RerunLink
from lashtui.registry import ProcessRegistry, records_dispositions
from lashtui.registry.watch import own_commits
from lashtui.untrusted import is_cut_id
from lashtui.worker import argument
from lashtui.worker.awaiter import ProcessAwaiter
from lashtui.worker.hub import ChangeHub, NotifyingRegistry, notifying

if TYPE_CHECKING:
    # Imported when a worker is given (`Processes.__init__`): the facade alone runs none.
    from lashtui.worker.worker import ProcessWorker

# lash's reason for a cancel its host makes (api.md §6's default).
HOST_CANCEL_REASON = "requested by host"
# Events read (and observed) a page at a time: a log of 30,000 read at once was decoded on
# the registry's thread for ~0.9 s, starving the event loop of the GIL (a 164 ms stall),
# then observed on the loop in one turn (~150 ms more).
EVENTS_A_PAGE = 2_000
# ...and no more than this many characters of stored JSON a page (then as many events as
# end with the one that passes it): an event may be a mebibyte, and a page of 2,000 such
# events would be 2 GiB (`events_after`'s `max_chars`, sql/log_read.py).
EVENT_PAGE_CHARS = 8 << 20
# A change-feed page holds at most this many characters of records (plus one): a record may
# be a mebibyte or two, and the dashboard reads 1,000 changed rows a page.
FEED_PAGE_CHARS = 16 << 20

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


def _underneath(registry: object) -> object:
    """The store under the change-hub wrappers a worker or a facade puts around it."""
    while isinstance(registry, NotifyingRegistry):
        registry = registry.inner
    return registry


class Processes:
    def __init__(
        self,
        registry: ProcessRegistry,
        worker: ProcessWorker | None = None,
        clock: Clock | None = None,
    ) -> None:
        argument.check_registry("Processes", registry)
        if worker is not None:
            from lashtui.worker.worker import ProcessWorker

            argument.check_instance("Processes", "worker", worker, ProcessWorker)
        argument.check_clock("Processes", clock)
        if worker is not None and _underneath(worker.registry) is not _underneath(registry):
            # The facade reads and writes through the worker's registry: given another, it
            # acted on the worker's file while the program believed it acted on its own.
            raise InvalidRequest(
                "`worker` of Processes was made on another registry than `registry`: give "
                "the facade the registry its worker runs on"
            )
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
        self.actions = action.ProcessActions(self)
        # Said of every row it shows (`ObservedProcess.disposition_recorded`).
        self._dispositions = records_dispositions(self.registry)

    # --- starting

    @checked
    async def start(self, request: ProcessStartRequest) -> ProcessRecord:
        """Capture the env, register (idempotently) and grant, in one transaction; with a
        worker, the new row is claimed for it in that transaction too and run at once
        (`ProcessWorker.start_and_run`), so the first run is prompt. An engine or tool row
        started without an env captures the default (empty) env. Refused first: see
        `check_start_request`."""
        request = check_start_request(request)
        if self.worker is not None:
            return await self.worker.start_and_run(request)
        return await self.registry.start_process(request)

    # --- observing

    async def _observe(self, record: ProcessRecord) -> ObservedProcess:
        lease = await self.registry.get_process_lease(record.id)
        asked = await self._cancel_requested([record])
        return ObservedProcess.from_record(
            record, lease, disposition_recorded=self._dispositions, cancel_requested=bool(asked)
        )

    async def _observe_all(
        self, records: builtins.list[ProcessRecord]
    ) -> builtins.list[ObservedProcess]:
        leases = await self.registry.get_process_leases([record.id for record in records])
        asked = await self._cancel_requested(records)
        return [
            ObservedProcess.from_record(
                record,
                leases.get(record.id),
                disposition_recorded=self._dispositions,
                cancel_requested=record.id in asked,
            )
            for record in records
        ]

    async def _cancel_requested(self, records: builtins.list[ProcessRecord]) -> set[str]:
        """Which of the live rows among `records` have a cancel request in their logs: one
        read for them all, none when no row is live (`ObservedProcess.cancel_requested`: a
        running row with one pending looked untouched in every list). A row whose record or
        id the registry could not read whole is left out (nothing acts on it)."""
        live = [
            r.id
            for r in records
            if not r.is_terminal() and r.undecodable is None and not is_cut_id(r.id)
        ]
        if not live:
            return set()
        return await self.registry.processes_asked_to_cancel(live)

    @checked
    async def list(self, filter: ProcessListFilter | None = None) -> builtins.list[ObservedProcess]:
        return await self._observe_all(await self.registry.list_processes(filter))

    @checked
    async def list_granted_to(
        self, scope: SessionScope, filter: ProcessListFilter | None = None
    ) -> builtins.list[ObservedProcess]:
        """The security lens: rows granted to exactly this scope id."""
        scope = scope.checked()
        wanted = filter or ProcessListFilter()
        pairs = await self.registry.list_handle_grants(scope)
        return await self._observe_all([r for _, r in pairs if wanted.matches_record(r)])

    @checked
    async def list_originated_by(
        self, scope: SessionScope, filter: ProcessListFilter | None = None
    ) -> builtins.list[ObservedProcess]:
        """The lineage lens: rows this session (or frame) started, wherever their grants went."""
        scope = scope.checked()
        records = await self.registry.list_processes(filter)
        return await self._observe_all([r for r in records if originated_by(r, scope)])

    @checked
    async def get(self, process_id: str) -> ObservedProcess | None:
        record = await self.registry.get_process(process_id)
        return await self._observe(record) if record is not None else None

    async def _require(self, process_id: str) -> ProcessRecord:
        record = await self.registry.get_process(process_id)
        if record is None:
            raise UnknownProcess.process(process_id)
        return record

    @checked
    async def events(
        self, process_id: str, after_sequence: int = 0
    ) -> builtins.list[ObservedProcessEvent]:
        """Every event above `after_sequence`, in order: the whole log, held. A reader that
        need not hold it takes `event_pages`."""
        observed: builtins.list[ObservedProcessEvent] = []
        async for page in self.event_pages(process_id, after_sequence):
            observed += page
        return observed

    @checked
    async def events_left_out(self, process_id: str) -> int:
        """How many of the process's events no read of its log returns (their sequence is no
        whole number: `ProcessRegistry.events_left_out`)."""
        return await self.registry.events_left_out(process_id)

    @checked
    async def event_pages(
        self, process_id: str, after_sequence: int = 0
    ) -> AsyncIterator[builtins.list[ObservedProcessEvent]]:
        """The events above `after_sequence` in order, a page at a time, each page its own
        read (other work runs between them) of at most `EVENTS_A_PAGE` events and
        `EVENT_PAGE_CHARS` characters of stored JSON plus one event; unknown process:
        `UnknownProcess` at the first."""
        while page := await self.registry.events_after(
            process_id, after_sequence, limit=EVENTS_A_PAGE, max_chars=EVENT_PAGE_CHARS
        ):
            yield [ObservedProcessEvent.from_event(event) for event in page]
            after_sequence = page[-1].sequence

    @checked
    async def events_before(
        self, process_id: str, before_sequence: int | None = None
    ) -> builtins.list[ObservedProcessEvent]:
        """One page of the newest events below `before_sequence` (the log's newest when
        None), in order, bounded as `event_pages` bounds a page: a long log read from its
        end backwards."""
        page = await self.registry.recent_events(
            process_id, EVENTS_A_PAGE, before=before_sequence, max_chars=EVENT_PAGE_CHARS
        )
        return [ObservedProcessEvent.from_event(event) for event in page]

    @checked
    async def await_output(
        self,
        process_id: str,
        timeout: float | None = None,  # noqa: ASYNC109 (the facade's contract, api.md §6)
    ) -> ProcessAwaitOutput:
        """The output once the process is terminal; `AwaitTimeout` (a `LashError` and a
        builtin `TimeoutError`) if it is still running after `timeout` seconds."""
        if timeout is not None and math.isnan(timeout):  # (every wait would end at once)
            raise InvalidRequest(
                "`timeout` of Processes.await_output is NaN, not a number of seconds"
            )
        if timeout is not None and timeout < 0:  # it ended at once: "did not finish within -1s"
            raise InvalidRequest(
                f"`timeout` of Processes.await_output must be zero or more seconds, got "
                f"`{timeout:g}`"
            )
        # One look before the deadline starts: a process that has ended is returned, and an
        # unknown one refused as such, whatever the timeout. Under the deadline, a zero
        # timeout cancelled PostgreSQL's first read (a hop to a pool thread) before it came
        # back, and said "did not finish" of a finished or unknown process.
        record = await self._require(process_id)
        if record.status.await_output is not None or timeout is None:
            return await self.awaiter.await_terminal(process_id)  # (its undecodable check)
        try:
            async with asyncio.timeout(timeout):
                return await self.awaiter.await_terminal(process_id)
        except TimeoutError:
            raise AwaitTimeout.after(process_id, timeout) from None

    @checked
    async def grants(self, process_id: str) -> builtins.list[ProcessHandleGrant]:
        """Every session scope holding a handle to the process."""
        await self._require(process_id)
        return await self.registry.handle_grants_for_process(process_id)

    @checked
    async def cancel_request(self, process_id: str) -> ProcessEvent | None:
        """The first `process.cancel_requested` event, the one a worker acts on: its payload's
        `reason` says who asked (`requested by <operator>[: why]`), `occurred_at` when. What
        the detail view shows beside the abandon request."""
        return await self.registry.first_event_after(process_id, CANCEL_REQUESTED, 0)

    @checked
    async def rerun_link(self, process_id: str) -> RerunLink | None:
        """Which process this one re-runs, if it is a re-run (lashtui.admin.rerun)."""
        return await rerun.rerun_link(self.registry, process_id)

    @checked
    async def reruns(self, process_id: str) -> builtins.list[RerunLink]:
        """The re-runs of this process still in the registry, oldest first."""
        return await rerun.reruns_of(self.registry, process_id)

    @checked
    async def pending_wakes(
        self, process_id: str, after_sequence: int = 0
    ) -> builtins.list[int]:
        """Sequences of the process's wake-bearing events above `after_sequence` that no
        session has taken delivery of."""
        return await self.registry.pending_wake_sequences(process_id, after_sequence)

    @checked
    async def changes_since(
        self, cursor: int, limit: int
    ) -> tuple[builtins.list[ObservedProcess], int]:
        """A page of the change feed: at most `limit` rows and `FEED_PAGE_CHARS` characters
        of records plus one row; read on from `next_cursor` until a page comes back empty."""
        records, next_cursor = await self.registry.processes_changed_since(
            cursor, limit, max_chars=FEED_PAGE_CHARS
        )
        return await self._observe_all(records), next_cursor

    # --- the dashboard's window on a large registry

    @checked
    async def page(self, query: ProcessPageQuery) -> builtins.list[ObservedProcess]:
        """One keyset page of observed rows (see `ProcessPageQuery`), ascending id order."""
        return await self._observe_all(await self.registry.page_processes(query))

    @checked
    async def page_within(
        self, query: ProcessPageQuery
    ) -> tuple[builtins.list[ObservedProcess], bool]:
        """`page`, holding at most `PAGE_CHARS` (lashtui.model.page) characters of records
        plus one row, and whether it was cut so: then more rows match after its last
        (`query.after`). A page shorter than its limit and not cut is the last."""
        records, cut = await self.registry.page_processes_within(query, PAGE_CHARS)
        return await self._observe_all(records), cut

    @checked
    async def pages(self, query: ProcessPageQuery) -> AsyncIterator[builtins.list[ObservedProcess]]:
        """Every row matching `query` from its cursor on, in its order, a page at a time
        (`page_within`: at most `query.limit` rows and `PAGE_CHARS` of records plus one row,
        each page its own read)."""
        while True:
            rows, cut = await self.page_within(query)
            if rows:
                yield rows
            if not rows or (not cut and len(rows) < query.limit):
                return
            query = query.after(rows[-1])

    async def census(self) -> ProcessCensus:
        """Counts by state and the live ids, as of a change-feed cursor to follow from."""
        return await self.registry.process_census()

    @checked
    async def observe(self, process_ids: builtins.list[str]) -> dict[str, ObservedProcess]:
        """These rows as they are now; an id that is gone (pruned, never existed) is absent."""
        records = await self.registry.get_processes(process_ids)
        observed = await self._observe_all(builtins.list(records.values()))
        return {process.process_id: process for process in observed}

    @checked
    async def leases(self, limit: int = 1000) -> builtins.list[ObservedProcess]:
        """Rows whose lease has a holder, the soonest to lapse (or longest lapsed) first."""
        return await self._observe_all(await self.registry.list_leased_processes(limit))

    @checked
    async def bounded_leases(
        self, limit: int = 1000
    ) -> tuple[builtins.list[ObservedProcess], bool]:
        """`leases`, holding at most `PAGE_CHARS` characters of records plus one row, and
        whether the registry held more than the rows returned (past `limit`, or past that
        size)."""
        records, cut = await self.registry.list_leased_processes_within(limit + 1, PAGE_CHARS)
        more = cut or len(records) > limit
        return await self._observe_all(records[:limit]), more

    @checked
    async def abandon_candidates(
        self, now_ms: int, limit: int = 1000
    ) -> tuple[builtins.list[ObservedProcess], builtins.list[ObservedProcess]]:
        """(rows with a pending abandon request, silent-not-dead rows without one), each in
        id order: what is already asked to be abandoned, and what an operator may want to
        abandon. `limit` bounds the two together; rows whose owner still renews its lease
        never use it up."""
        requested, silent, _ = await self.bounded_abandon_candidates(now_ms, limit)
        return requested, silent

    @checked
    async def bounded_abandon_candidates(
        self, now_ms: int, limit: int = 1000
    ) -> tuple[builtins.list[ObservedProcess], builtins.list[ObservedProcess], int | None]:
        """`abandon_candidates`, and when the registry held more candidates than it returned
        (past `limit`, or past `PAGE_CHARS` characters of records plus one row) how many it
        read: the two lists are then those among the first that many by id; None when they
        are all of them."""
        records, cut = await self.registry.list_abandon_candidates_within(
            limit + 1, PAGE_CHARS, lapsed_at_ms=now_ms
        )
        more = cut or len(records) > limit
        records = records[:limit]
        observed = await self._observe_all(records)
        requested = [p for p in observed if p.abandon_request is not None]
        # The registry already narrowed by lease expiry; the lease read since may be newer,
        # so the verdict is made again on the observed facts.
        silent = [p for p in observed if silent_not_dead(p, now_ms)]
        return requested, silent, len(records) if more else None

    @checked
    async def error_groups(self, query: ErrorGroupQuery | None = None) -> ErrorSummary:
        """Why rows ended badly, grouped, over a window of the most recently changed rows
        (`lashtui.model.error` says what a group is and what a window covers)."""
        return await self.registry.error_groups(query or ErrorGroupQuery())

    @checked
    async def error_group_rows(
        self, key: ErrorGroupKey, window: int, limit: int = 500
    ) -> builtins.list[ObservedProcess]:
        """The rows of one error group in that window, newest change first."""
        return await self._observe_all(await self.registry.error_group_rows(key, window, limit))

    @checked
    async def bounded_error_group_rows(
        self, key: ErrorGroupKey, window: int, limit: int = 500
    ) -> tuple[builtins.list[ObservedProcess], bool]:
        """`error_group_rows`, holding at most `PAGE_CHARS` characters of records plus one
        row, and whether that cut them short (then the group's newer rows only)."""
        records, cut = await self.registry.error_group_rows_within(key, window, limit, PAGE_CHARS)
        return await self._observe_all(records), cut

    @checked
    async def activity(
        self, window: HealthWindow, now_ms: int, since: ProcessActivity | None = None
    ) -> ProcessActivity:
        """How the work moved over `window` ending at `now_ms` (the Health view's charts).
        With `since`, an earlier read of the same window: only the minutes from its last on
        are read, its levels there carried forwards (no count of the rows live now), and the
        result is it updated with them (earlier minutes are history); the durations always
        cover the whole window. An earlier read that ended before the window now begins (a
        suspended laptop) is not used."""
        first = window.first_minute(now_ms)
        last = now_ms // MINUTE_MS
        # Its last minute is read again: a commit stamped just before it ended may have
        # landed after that read.
        again = last if since is None else min(last, since.first_minute + since.minutes - 1)
        if since is None or again - 1 < max(first, since.first_minute):
            return await self.registry.process_activity(first, last, DURATION_RUNS)
        index = again - 1 - since.first_minute
        before = (since.running[index] + since.waiting[index], since.waiting[index])
        recent = await self.registry.process_activity(
            again, last, DURATION_RUNS, runs_from_minute=first, levels_before=before
        )
        return since.updated(recent, first)

    @checked
    async def probe_facts(self, failed_window_ms: int) -> ProbeFacts:
        """The health facts `lashtui check` judges, now, with the failures of the last
        `failed_window_ms` (lashtui.model.probe)."""
        now_ms = self.clock.now_ms()
        return await self.registry.probe_facts(now_ms, now_ms - failed_window_ms)

    async def change_cursor(self) -> int:
        """The change feed's position now: follow `changes_since` from it."""
        return await self.registry.change_cursor()

    async def data_version(self) -> int:
        """Moves when another connection commits; see `registry_changes` to wait for that."""
        return await self.registry.data_version()

    async def change_mark(self) -> tuple[int, int]:
        """A mark that moves whenever a commit may have changed what a read returns: another
        connection's (`data_version`) or one of this handle's own write transactions, which
        SQLite's `data_version` does not count (PostgreSQL's does; its handle counts none
        here). Taken before a read, it says whether the next read could differ: while it
        stands, nothing has committed since (the dashboard's Leases, Abandon requests and
        Audit views re-read only then). A write that rolled back moves it too: a read too
        many, never one too few."""
        counted = own_commits(self.registry)
        return await self.registry.data_version(), counted() if counted else 0

    @checked
    async def session_snapshot(self, session_id: str) -> builtins.list[session.ProcessSnapshotItem]:
        """What a resumed session is shown (semantics §3.19; `session.session_snapshot`)."""
        return await session.session_snapshot(self.registry, session_id)

    # --- acting, as api.md §6 specifies it for a program: each method returns lash's shape
    # and a refusal raises `LashError` with lash's sentence, appending nothing. The
    # operator's surface (the command line, the dashboard) is `self.actions`, which reports
    # each target as done, requested, unchanged or refused (lashtui.admin.action).

    async def _require_live(self, process_id: str) -> ProcessRecord:
        record = await self._require(process_id)
        if (refusal := target_outcome.not_acted_on(record, process_id)) is not None:
            raise InvalidRequest(refusal)  # (a placeholder's state is not terminal either)
        if record.is_terminal():
            raise ProcessConflict(f"process `{process_id}` is already terminal")
        return record

    @checked
    async def cancel(
        self, process_id: str, reason: str = HOST_CANCEL_REASON
    ) -> ProcessCancelSummary:
        """Ask the running owner to stop; the row stays `running` until it does. The
        reason is stored as given (port decision 1: a terminal row refuses)."""
        await self._require_live(process_id)
        request = ProcessEventAppendRequest.cancel_requested(process_id, reason)
        await self.registry.append_event(process_id, request)
        record = await self._require(process_id)
        return ProcessCancelSummary(process_id=process_id, status=record.status.state)

    async def cancel_all(self) -> builtins.list[ProcessCancelSummary]:
        summaries = []
        for process_id in await action.live_ids(self.registry):
            try:
                summaries.append(await self.cancel(process_id))
            except ProcessConflict:
                continue  # it ended between the listing and the cancel
        return summaries

    @checked
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

    @checked
    async def transfer(
        self, from_scope: SessionScope, to_scope: SessionScope, process_ids: builtins.list[str]
    ) -> None:
        """Move the grants, all or none (scenario 79). Neither scope may name another."""
        from_scope, to_scope = from_scope.checked(), to_scope.checked()
        await self.registry.transfer_handle_grants(from_scope, to_scope, process_ids)

    @checked
    async def prune(self, cutoff_epoch_ms: int) -> ProcessPruneReport:
        return await self.registry.prune_terminal_processes(check_prune_cutoff(cutoff_epoch_ms))

    @checked
    async def request_abandon(
        self, process_id: str, requested_by: str, reason: str | None = None
    ) -> ObservedProcess:
        """Record the request (the first one stands, scenario 53) and return the row, which
        `abandon_outlook` reads to say what the sweep will do with it. `requested_by` names
        who asks (semantics §3.11: `session:<id>` from a session, an operator's name from
        the command line and the dashboard): a blank one is refused before anything is
        written. It was recorded, a first request that stands for good and names no one;
        lash has no sentence for it (§15)."""
        if not requested_by.strip():
            raise argument.refused(
                "Processes.request_abandon", "requested_by",
                "a str naming who asks (such as `session:<id>` or `operator:dana`)",
                requested_by,
            )  # fmt: skip
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

    @checked
    async def end_undecodable(
        self, process_id: str, operator: str, reason: str, *, by: str | None = None
    ) -> ObservedProcess:
        """End a row whose stored record cannot be decoded: it becomes an ordinary
        `failed` row whose terminal event says why and who (`by`, else `operator`, who
        the audit trail records)."""
        return await action.end_undecodable(self, process_id, operator, reason, by=by)

    @checked
    def for_session(self, scope: SessionScope) -> session.SessionProcesses:
        """The same vocabulary seen from inside a session: only what its grants reach. A
        session id that would make another scope's id is refused (`SessionScope.checked`)."""
        return session.SessionProcesses(self, scope.checked())
