"""The facts `lashtui check` judges (lashtui.model.probe), in one snapshot, both stores.

Three statements, each bounded by an index or a small table rather than by the registry:

- the live rows (the status index's `running` range): how many, the pending abandon
  requests and the oldest of them, and the silent-not-dead rows. This reads each live row's
  JSON (disposition, first start, abandon request), as the census and the Abandon requests
  view do, so it costs in proportion to the live rows, not to the registry;
- the lease table: held, lapsed, the newest claim and expiry (one pass; there is no index by
  expiry, see the schema, and the table holds a row per process that was ever claimed);
- the `process.failed` events since a time: a range of the partial index over the terminal
  and wait events (activity.py's `process_events_transition_idx`). A registry made before
  that index (a file lash wrote) counts them by a scan of the event log instead: the same
  answer, only slower.

Measured on the benchmarks' 1,000,000-row registry (100,000 live): see `lashtui check` in
the README.
"""

from __future__ import annotations

from lashtui.model import ProbeFacts
from lashtui.registry.sql.activity import _indexed
from lashtui.registry.sql.dialect import Tx, dialect

# A lease with a holder (a released one keeps its row with the owner and token cleared).
_HELD = "l.lease_owner_id IS NOT NULL AND l.lease_token IS NOT NULL"


def _live(conn: Tx, now_ms: int) -> tuple[int, int, int | None, int]:
    """(live rows, pending abandon requests, the oldest request's time, silent-not-dead).

    The live lease is a LEFT JOIN, not a NOT EXISTS beside the JSON reads: measured on
    100,000 live rows of ~1.4 kB, SQLite read each record again after such a subquery
    (1.8 s) where the join reads it once (~0.6 s, most of it the records' text)."""
    sql = dialect(conn)
    requested = sql.json_has("p.record_json", "abandon_request")
    requested_at = sql.json_text("p.record_json", "abandon_request.requested_at_ms")
    silent = (
        f"NOT {requested} "
        f"AND {sql.json_text('p.record_json', 'disposition')} = 'owner_bound' "
        f"AND {sql.json_has('p.record_json', 'first_started')} AND l.process_id IS NULL"
    )
    row = conn.execute(
        "SELECT count(*), "
        f"coalesce(sum(CASE WHEN {requested} THEN 1 ELSE 0 END), 0), "
        f"min(CASE WHEN {requested} THEN CAST({requested_at} AS BIGINT) END), "
        f"coalesce(sum(CASE WHEN {silent} THEN 1 ELSE 0 END), 0) "
        "FROM processes p LEFT JOIN process_leases l ON l.process_id = p.process_id "
        f"AND {_HELD} AND l.lease_expires_at_ms > ? WHERE p.status = 'running'",
        (now_ms,),
    ).fetchone()
    oldest = None if row[2] is None else int(row[2])
    return int(row[0]), int(row[1]), oldest, int(row[3])


def _leases(conn: Tx, now_ms: int) -> tuple[int, int, int | None, int | None]:
    """(held leases, lapsed among them, the newest claim, the newest expiry)."""
    row = conn.execute(
        "SELECT count(*), "
        "coalesce(sum(CASE WHEN l.lease_expires_at_ms <= ? THEN 1 ELSE 0 END), 0), "
        f"max(l.lease_claimed_at_ms), max(l.lease_expires_at_ms) FROM process_leases l "
        f"WHERE {_HELD}",
        (now_ms,),
    ).fetchone()
    claim = None if row[2] is None else int(row[2])
    expiry = None if row[3] is None else int(row[3])
    return int(row[0]), int(row[1]), claim, expiry


def _failed(conn: Tx, since_ms: int) -> int:
    """`process.failed` events at or after `since_ms`; the partial index's predicate is
    repeated word for word, or SQLite would not use it (activity.py)."""
    row = conn.execute(
        "SELECT count(*) FROM process_events e "
        f"WHERE {_indexed('e')} AND e.event_type = 'process.failed' "
        "AND e.occurred_at_ms >= ?",
        (since_ms,),
    ).fetchone()
    return int(row[0])


def facts(conn: Tx, now_ms: int, failed_since_ms: int) -> ProbeFacts:
    live, requests, oldest, silent = _live(conn, now_ms)
    held, lapsed, claim, expiry = _leases(conn, now_ms)
    return ProbeFacts(
        now_ms=now_ms,
        live=live,
        held_leases=held,
        lapsed_leases=lapsed,
        newest_claim_ms=claim,
        newest_expiry_ms=expiry,
        silent_not_dead=silent,
        abandon_requests=requests,
        oldest_abandon_request_ms=oldest,
        failed_since_ms=failed_since_ms,
        failed_since=_failed(conn, failed_since_ms),
    )


def change_cursor(conn: Tx) -> int:
    """The change feed's position now: a follower reads this before its first listing and
    then the feed after it, so a commit made while it listed is seen (twice at worst)."""
    row = conn.execute(
        "SELECT current_seq FROM process_change_clock WHERE singleton = 1"
    ).fetchone()
    return int(row[0]) if row else 0
