"""`DashboardReads`: the reads a registry offers an operator who watches it, part of the
`ProcessRegistry` Protocol (protocol.py) and lashtui's extension of lash's trait.

Keyset pages, a census, batch gets, the lease, abandon and error views, activity and health
facts: what lets the dashboard and the command line watch a registry of a million retained
rows without ever loading the whole table. Each is one read transaction, from one snapshot.
"""

from __future__ import annotations

from typing import Protocol

from lashtui.model import (
    ErrorGroupKey,
    ErrorGroupQuery,
    ErrorSummary,
    ProbeFacts,
    ProcessActivity,
    ProcessCensus,
    ProcessPageQuery,
    ProcessRecord,
)


class DashboardReads(Protocol):
    """The dashboard's reads (lashtui extensions, not in lash's trait)."""

    async def page_processes(self, query: ProcessPageQuery) -> list[ProcessRecord]:
        """One keyset page in ascending process-id order (see `ProcessPageQuery`)."""
        ...

    async def page_processes_within(
        self, query: ProcessPageQuery, max_chars: int
    ) -> tuple[list[ProcessRecord], bool]:
        """`page_processes`, ending with the row whose record takes the page's records to
        `max_chars` characters or past it, and whether it ended so: then more rows match
        after it (a short page that was not cut is the last)."""
        ...

    async def process_census(self) -> ProcessCensus:
        """Terminal counts by state and every live id with its state, as of the change-feed
        position `cursor`, all from one snapshot."""
        ...

    async def get_processes(self, process_ids: list[str]) -> dict[str, ProcessRecord]:
        """The rows that exist among `process_ids`; a pruned or unknown id is simply absent."""
        ...

    async def processes_asked_to_cancel(self, process_ids: list[str]) -> set[str]:
        """Which of `process_ids` have a cancel request in their logs (pending, on the live
        rows a list shows), in one read, no event decoded."""
        ...

    async def list_leased_processes(self, limit: int = 1000) -> list[ProcessRecord]:
        """Rows whose lease has a holder (lapsed or not), by lease expiry, then id."""
        ...

    async def list_abandon_candidates(
        self, limit: int = 1000, *, lapsed_at_ms: int | None = None
    ) -> list[ProcessRecord]:
        """Non-terminal rows with a pending abandon request, and started owner_bound rows;
        with `lapsed_at_ms`, only those of the latter whose lease is gone or has expired by
        then (so the limit is not spent on rows whose owner is still renewing). Id order."""
        ...

    async def list_leased_processes_within(
        self, limit: int, max_chars: int
    ) -> tuple[list[ProcessRecord], bool]:
        """`list_leased_processes`, cut by its records' size as `page_processes_within`
        cuts a page, and whether it was."""
        ...

    async def next_lease_lapse(self, now_ms: int) -> int | None:
        """The soonest expiry after `now_ms` of a live lease on running owner_bound work
        that has started (when a row next becomes an abandon candidate by the clock alone);
        None when there is none (a lashtui extension: the Abandon requests view's clock)."""
        ...

    async def list_started_by(
        self, owner_id: str, *, after_id: str | None = None, limit: int = 1000
    ) -> list[str]:
        """The ids of running owner_bound rows whose record's first-started owner has this
        `owner_id` (the rest of the identity is the caller's to check), in id order after
        `after_id`, at most `limit` (a lashtui extension: an owner drain's candidates)."""
        ...

    async def list_waking_session(
        self,
        session_id: str,
        *,
        after_id: str | None = None,
        limit: int = 1000,
        max_chars: int | None = None,
    ) -> tuple[list[ProcessRecord], str | None]:
        """The rows whose wake target is in session `session_id` (any frame), in id order
        after `after_id`, found among at most `limit` candidate rows and `max_chars` of
        their records plus one row; and the id to read on after, None once every row has
        been looked at (a lashtui extension: the session snapshot's second source)."""
        ...

    async def list_abandon_candidates_within(
        self, limit: int, max_chars: int, *, lapsed_at_ms: int | None = None
    ) -> tuple[list[ProcessRecord], bool]:
        """`list_abandon_candidates`, cut by its records' size as `page_processes_within`
        cuts a page, and whether it was."""
        ...

    async def error_groups(self, query: ErrorGroupQuery) -> ErrorSummary:
        """Failed, cancelled and abandoned rows grouped by (state, clipped code, clipped
        message) over a window of the most recently changed processes (model/error.py)."""
        ...

    async def error_group_rows(
        self, key: ErrorGroupKey, window: int, limit: int = 500
    ) -> list[ProcessRecord]:
        """The rows of one error group in the same window, newest change first."""
        ...

    async def error_group_rows_within(
        self, key: ErrorGroupKey, window: int, limit: int, max_chars: int
    ) -> tuple[list[ProcessRecord], bool]:
        """`error_group_rows`, cut by its records' size as `page_processes_within` cuts a
        page, and whether it was."""
        ...

    async def process_activity(
        self,
        first_minute: int,
        last_minute: int,
        duration_runs: int,
        *,
        runs_from_minute: int | None = None,
        levels_before: tuple[int, int] | None = None,
    ) -> ProcessActivity:
        """Per epoch minute from `first_minute` through `last_minute`: starts, ends by
        terminal state, and running and waiting rows at each minute's end, all counted from
        the columns and the event log in one snapshot; and run duration percentiles by
        engine kind over the latest `duration_runs` runs to end from `runs_from_minute`
        (default `first_minute`) through `last_minute`. With `levels_before` (live and
        waiting rows at the end of the minute before the first, from an earlier read) the
        levels run forwards from them instead of back from the rows live now."""
        ...

    async def count_held_leases(self, now_ms: int) -> tuple[int, int]:
        """(leases with a holder, those lapsed by `now_ms`): one pass over the lease table,
        for the totals beside a bounded list of them."""
        ...

    async def probe_facts(self, now_ms: int, failed_since_ms: int) -> ProbeFacts:
        """The health facts `lashtui check` judges, from one snapshot (model/probe.py)."""
        ...

    async def change_cursor(self) -> int:
        """The change feed's position now (what `processes_changed_since` continues from)."""
        ...

    async def data_version(self) -> int:
        """A number that changes when another connection (another handle or OS process)
        commits. This handle's own commits do not change it: in-process writers are seen
        through the `ChangeHub` instead."""
        ...
