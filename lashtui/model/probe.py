"""What `lashtui check` judges: a handful of counts and times about the registry's health,
read in one snapshot (`ProcessRegistry.probe_facts`, lashtui/registry/sql/probe.py).

The facts are raw; the thresholds and verdicts belong to the command (lashtui/command/
check.py), so the same facts could serve another probe.
"""

from pydantic import BaseModel, ConfigDict

# How far ahead of now a lease's expiry may be and still date a renewal: the longest TTL
# the command line's worker takes (`worker --ttl-ms`, 24 h).
LEASE_AHEAD_MS = 86_400_000


class ProbeFacts(BaseModel):
    """The registry's health facts at `now_ms`.

    - `live`: non-terminal rows (running or waiting);
    - `held_leases` / `lapsed_leases`: leases with a holder, and those whose expiry is at
      or before `now_ms` (an expiry equal to now has lapsed, as `ProcessLease.is_live_at`);
    - `newest_claim_ms` / `newest_expiry_ms`: the latest claim and the latest expiry among
      held leases (None when none is held): a renewal moves only the expiry, so the last
      renewal is worked out from it and the lease TTL by the reader. A lease dated ahead
      (`future_leases`: claimed after `now_ms`, or expiring more than `LEASE_AHEAD_MS`
      after it) is left out of both: one such row, another program's or a host's clock
      ahead, held the renewal age at 0 for ever and hid a fleet whose workers had stopped;
    - `unread_leases`: held leases of rows keyed by no text (a blob or NULL, which only
      another program stores: registry/sql/blob_id.py), left out of the counts above and
      below, as `show` leaves such a row's lease unread (and its record undecoded);
    - `silent_not_dead`: started owner_bound live rows without a live lease and without an
      abandon request (the rows only an operator can decide, as the Abandon requests view
      lists them; a row with a request is already on its way to the sweep);
    - `abandon_requests` / `oldest_abandon_request_ms`: pending requests on live rows;
    - `failed_since`: `process.failed` events at or after `failed_since_ms`;
    - `unknown_state` / `unknown_state_first`: rows whose state is not known, and the first
      of them by id: those whose status column holds no state, and live rows whose record
      says another state or is not JSON at all, or names twice a key some reader
      reads in SQL (registry/sql/repeated.py; on PostgreSQL, where the registry has the
      function it asks). Each reads as a row that does not decode,
      which no worker or sweep touches and only `end-undecodable` ends;
    - `long_ids` / `long_ids_first`: rows whose id is longer than any write allows
      (`MAX_ID_CHARS`: only another program stores one), and the first 64 characters of
      the first of them by id. Every read takes an id whole, so one of a few hundred
      megabytes slows every read of the rows around it, the dashboard's first.
    """

    model_config = ConfigDict(frozen=True, defer_build=True)

    now_ms: int
    live: int
    held_leases: int
    lapsed_leases: int
    newest_claim_ms: int | None
    newest_expiry_ms: int | None
    future_leases: int = 0
    unread_leases: int = 0
    silent_not_dead: int
    abandon_requests: int
    oldest_abandon_request_ms: int | None
    failed_since_ms: int
    failed_since: int
    unknown_state: int
    unknown_state_first: str | None
    long_ids: int
    long_ids_first: str | None
