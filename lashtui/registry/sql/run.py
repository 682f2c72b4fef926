"""Claiming a row to run it: what the worker's run of one row begins with, in one
transaction (semantics §7.4 steps 2-3d, §8).

The worker claims a row, re-reads it (port decision 4: decide from the fresh row), records
the first-started fact under the lease it just took, and looks for a cancel request made
before the run. As four calls that is two writes and two reads, each queued behind everyone
else's; here it is one write. Nothing changes in what each step does or decides: the lease
is claimed exactly as `claim_process_lease` claims it, and first-started is recorded only
for a row the worker would run (not terminal, not externally owned, with an id, and either
rerunnable or never started) and only if it is not set yet.

One thing is read that those four calls did not: whether the row's event log is full
(`log_read.run_facts_each`, with the cancel lookup). No run of such a row can record its
terminal, and a rerunnable one was run again, side effects and all, by every worker that
claimed it; so it is not to run, and nothing but the lease is written for it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lashtui.errors import UndecodableProcess, UnknownProcess
from lashtui.model import (
    LeaseOwnerIdentity,
    ProcessLease,
    ProcessLeaseClaimOutcome,
    ProcessRecord,
    ProcessRunClaim,
    ProcessStarted,
    ProcessStartRequest,
)
from lashtui.registry.sql import claim, drive, lease, lease_row, log_read, process
from lashtui.registry.sql.dialect import Tx, dialect
from lashtui.registry.sql.fetch import fetch_rows, read_ahead
from lashtui.registry.sql.filter import LIVE, in_backlog
from lashtui.registry.sql.json_edit import save_changes, save_same_changes
from lashtui.registry.sql.long_id import past_read, read_text
from lashtui.registry.sql.row import decoded_record, load_record, to_run


def claim_for_run(
    conn: Tx,
    process_id: str,
    owner: LeaseOwnerIdentity,
    ttl_ms: int,
    started: ProcessStarted,
    clock: Callable[[], int],
) -> ProcessRunClaim:
    """A claim to run one row, its lease dated at `clock()` read here, inside the
    transaction (`claim.claim` says why)."""
    return claim_for_run_at(conn, process_id, owner, ttl_ms, started, clock())


def claim_for_run_at(
    conn: Tx,
    process_id: str,
    owner: LeaseOwnerIdentity,
    ttl_ms: int,
    started: ProcessStarted,
    now: int,
) -> ProcessRunClaim:
    lease.check_ttl(ttl_ms)
    # On PostgreSQL the lease row and the cancel lookup travel with the row's read (which
    # locks the row first): one round trip for the three (fetch.py `read_ahead`).
    read_ahead(
        conn,
        lease_row.lease_row_statement(conn, process_id),
        log_read.run_facts_statement(conn, [process_id]),
    )
    record = load_record(conn, process_id)  # the claim's existence check, and the row
    if record is None:
        raise UnknownProcess.process(process_id)
    outcome = claim.claim_existing(conn, process_id, owner, ttl_ms, now)
    if outcome.acquired() is None:
        return ProcessRunClaim(outcome)
    if not to_run(record):
        return ProcessRunClaim(outcome, record)
    cancels, full = log_read.run_facts_each(conn, [process_id])  # the row exists
    if full:  # no terminal can follow: not to run (`ProcessRunClaim.log_full_at`)
        return ProcessRunClaim(outcome, record, log_full_at=full[process_id])
    if record.first_started is None:
        record = save_changes(conn, record, now, first_started=started)
    cancel = cancels.get(process_id)
    return ProcessRunClaim(outcome, record, started=True, cancel_requested=cancel)


def start_for_run(
    conn: Tx,
    request: ProcessStartRequest,
    owner: LeaseOwnerIdentity,
    ttl_ms: int,
    started: ProcessStarted,
    now: int,
) -> tuple[ProcessRecord, ProcessRunClaim | None]:
    """`process.start` and, for the new row it inserts when a worker would run it, that
    row claimed to run in the same transaction: what a start through a worker's facade
    is followed by at once (the worker claims the row it was just handed). The claim is
    `claim_for_run`'s, minus what a row made in this transaction cannot need: its record is
    inserted with the first-started fact already in it (no edit of the JSON just written),
    and it has no events, so no cancel request to read. A start that finds its row already
    there (a replay), or makes one no worker runs, claims nothing: (its record, None)."""
    lease.check_ttl(ttl_ms)
    record, inserted = process.start_new(conn, request, now, started)
    if not inserted or record.first_started is not started:  # (`to_run` said no)
        return record, None
    # The owner's limits were checked before the transaction (the store's caller).
    if dialect(conn).new_rows_leaseless:
        # No lease row to read (`Dialect.new_rows_leaseless`): the first fence, where the
        # read was a round trip of its own on PostgreSQL.
        new = claim.new_lease(conn, record.id, owner, ttl_ms, now, 1, checked=True)
        outcome = ProcessLeaseClaimOutcome.acquired_lease(new)
    else:
        outcome = claim.claim_existing(conn, record.id, owner, ttl_ms, now, checked=True)
    return record, ProcessRunClaim(outcome, record, started=outcome.acquired() is not None)


def claim_next_for_run(
    conn: Tx,
    owners: list[LeaseOwnerIdentity],
    ttl_ms: int,
    started: ProcessStarted,
    clock: Callable[[], int],
    skip: list[str] | None = None,
    prefer: dict[str, str] | None = None,
) -> list[tuple[str, ProcessRunClaim | None]]:
    """Up to `len(owners)` rerunnable rows that no one holds, claimed to run in one
    transaction, the first in id order: each exactly as `claim_for_run` claims one (its own
    lease and fencing token, `owners[i]` the attempt identity of the i-th), with its claim;
    None for a row picked whose record does not decode (nothing is written for it). Rows in
    `skip` (a worker's rows it knows do not decode) are not picked. The leases run from
    `clock()` read here, inside the transaction: a claim that waited for a lock (another
    worker process held it) must not hand out a lease already partly spent.

    What several workers draining one backlog do instead of each claiming the rows its own
    worklist listed: they all listed the same rows, so each claim of a row another worker
    had taken or ended was a write for nothing. Here a row is found free inside the
    claiming transaction, by SQL (the pick and the claims are one step: SQLite's BEGIN
    IMMEDIATE holds the file; on PostgreSQL the pick locks the rows it takes and skips those
    another claim holds, `Dialect.skip_locked`). Only rerunnable rows
    without an abandon request: any of them runs whenever it is claimed (§8), where an
    owner_bound row that started must not, and an abandon request is the sweep's to
    settle; the rest of the worklist stays with the worker's one-row path, as does a row
    whose JSON the SQL cannot read. Walks the running rows in id order on the (status,
    process_id) index; a row it passes over costs a lease lookup.

    On SQLite, the rows in `prefer` (read and decoded before the transaction:
    `decode_ahead`) that are still free are taken first, and the first free rows in id
    order fill the rest; PostgreSQL ignores it (its claims do not hold one lock for all)."""
    lease.check_ttl(ttl_ms)
    if not owners:
        return []
    now = clock()
    sql = dialect(conn)
    skip = (skip or [])[:SKIP_AT_MOST]
    if not sql.skip_locked("p"):
        rows = _pick(conn, now, skip, len(owners), only=prefer) if prefer else []
        if len(rows) < len(owners):
            passed = skip + [process_id for process_id, *_ in rows]
            rows = sorted(rows + _pick(conn, now, passed, len(owners) - len(rows)))
        return _claim_picked(conn, rows, owners, ttl_ms, started, now)
    # On PostgreSQL a picked row can turn out held (`_claim_locked`): another worker's
    # claim committed between this pick's snapshot and its lock. Such a row is dropped, and
    # the shortfall picked again past it, so that a batch comes back short only when the
    # backlog has no more free rows: a worker stops claiming at a short batch, and four
    # workers draining one backlog had three of them stop after two or three batches (the
    # fourth claimed 1,856 of 2,000 rows; counted in a PG1 drain).
    claims: list[tuple[str, ProcessRunClaim | None]] = []
    passed = list(skip)
    for _ in range(PICKS_AT_MOST):
        want = len(owners) - len(claims)
        rows = _pick(conn, now, passed, want)
        claims += _claim_locked(conn, rows, owners[len(claims) :], ttl_ms, started, now)
        if len(rows) < want or len(claims) == len(owners):
            break  # the backlog is drained, or the batch is full
        passed += [process_id for process_id, *_ in rows]
    return claims


# Picks a PostgreSQL batch claim makes at most: each after the first is for rows the one
# before found held by a claim that committed meanwhile, and passes over them. Eight
# handles claiming one backlog at once ran out of eight picks now and then (a batch short
# while rows were free); each pick passes over at least one row, so a larger bound only
# bounds a pathological race.
PICKS_AT_MOST = 64


def decode_ahead(
    conn: Tx, now: int, skip: list[str], limit: int, offset: int
) -> dict[str, str]:
    """A read before a batch claim's write transaction, on SQLite (sqlite/store.py): the
    free rerunnable rows it is likely to take (`limit` of them, past the first `offset`,
    in id order), their records decoded into the connection's cache, where the claim's
    `decoded_record` finds them by their text. Their ids and the record texts found free,
    for its `prefer` (a row whose text is unchanged skips the backlog's record tests:
    filter.py `in_backlog`); an undecodable row is left to the claim, which decides it as
    ever.

    Why: a claim runs inside SQLite's one write lock, which every other worker process
    waits for, and decoding a record there was ~35 us of its ~146 us a row (four workers
    held the lock ~92% of a drain). Read here, a row another worker takes meanwhile only
    cost the decode, outside the lock."""
    ahead = {}
    for process_id, text, _ in _pick(conn, now, skip, limit, offset=offset):
        try:
            decoded_record(conn, process_id, text)
        except UndecodableProcess:
            continue
        ahead[process_id] = text
    return ahead


def _pick(
    conn: Tx, now: int, skip: list[str], limit: int, only: dict[str, str] | None = None,
    offset: int = 0,
) -> list[Any]:
    """Up to `limit` free rerunnable rows in id order, past `skip` (see
    `claim_next_for_run`), among the ids of `only` if given (each with the record text
    `decode_ahead` found free), after the first `offset`: the pick also
    reads what the claims need (the record's JSON and,
    on SQLite, the lease row's fence), so that they are a few statements for the whole batch
    (`_claim_picked`; on PostgreSQL the rows are locked and the fences read after the pick:
    `_claim_locked`)."""
    sql = dialect(conn)
    skip = [*skip, *drive.still_large(conn)]  # (never a record past the ceiling's tests)
    record = sql.stored_json("p.record_json")
    extra = f", {record}" if sql.skip_locked("p") else f", {record}, l.lease_fencing_token"
    # A row marked plainly the backlog's (backlog_mark.py) needs neither its record tests
    # nor its text compared with one seen ahead, which leaves the texts unbound.
    marked = getattr(conn, "backlog_seq", False)
    seen = {} if marked else (only or {})
    in_order, planner_back = sql.pick_in_id_order()
    if in_order:
        conn.execute(in_order)
    running, by_id = sql.running_by_id()
    rows = fetch_rows(
        conn,
        f"SELECT {read_text('p.process_id')}{extra} FROM processes p "
        "LEFT JOIN process_leases l ON l.process_id = p.process_id "
        f"WHERE {running} "
        + (f"AND p.process_id NOT IN ({', '.join('?' * len(skip))}) " if skip else "")
        + (f"AND p.process_id IN ({', '.join('?' * len(only))}) " if only else "")
        + f"AND ({in_backlog(sql, len(seen), marked)}) IS TRUE "
        f"ORDER BY {by_id} LIMIT ?{' OFFSET ?' if offset else ''}{sql.skip_locked('p')}",
        (*skip, *(only or ()), now, *seen.values(), limit, *([offset] if offset else [])),
    )
    if planner_back:
        conn.execute(planner_back)
    # Never claimed: a cut id (long_id.py) or a blob (blob_id.py), which SQLite sorts after
    # every text id, so that leaving it out here only ever shortens a pick at its end.
    return [row for row in rows if isinstance(row[0], str) and not past_read(row[0])]


def _claim_one(
    conn: Tx,
    process_id: str,
    owner: LeaseOwnerIdentity,
    ttl_ms: int,
    started: ProcessStarted,
    now: int,
) -> ProcessRunClaim | None:
    try:
        return claim_for_run_at(conn, process_id, owner, ttl_ms, started, now)
    except UndecodableProcess:  # raised by its read, before anything is written
        return None


def _claim_picked(
    conn: Tx,
    rows: list[Any],
    owners: list[LeaseOwnerIdentity],
    ttl_ms: int,
    started: ProcessStarted,
    now: int,
    every: list[str] | None = None,
) -> list[tuple[str, ProcessRunClaim | None]]:
    """`claim_for_run` of every picked row, inside the write transaction that picked them
    free (on SQLite, which holds the file; on PostgreSQL, after `_claim_locked`): the
    records and the lease rows' fences came with the pick, and the cancel requests are one
    read for all, so each row costs two statements (its lease and its first-started edit)
    where `claim_for_run` runs five. The writes are the same, with
    the same values: the lease as `claim_existing` makes one for a free row (the next
    fence), first-started only where unset. A row whose record does not decode gets None
    and nothing is written for it; one that decodes to a row not to run (which the pick's
    SQL cannot see: a blank id, a status the column does not say) takes `claim_for_run`'s
    path, which decides it alone."""
    picked: list[tuple[str, ProcessRecord, ProcessLease]] = []
    claims: dict[str, ProcessRunClaim | None] = {}
    for (process_id, text, fence), owner in zip(rows, owners, strict=False):
        try:
            record = decoded_record(conn, process_id, text)
        except UndecodableProcess:
            claims[process_id] = None
            continue
        if not to_run(record):
            claims[process_id] = _claim_one(conn, process_id, owner, ttl_ms, started, now)
            continue
        # The owners' limits were checked before the transaction (the store's caller).
        new = claim.lease_for(process_id, owner, ttl_ms, now, (fence or 0) + 1, checked=True)
        picked.append((process_id, record, new))
    claim.save_new_leases(conn, [new for _, _, new in picked])
    # (`every`: the ids whose logs `_claim_locked` read ahead, a superset.)
    ids = every if every is not None and picked else [pid for pid, _, _ in picked]
    cancels, full = log_read.run_facts_each(conn, ids)
    # Every first-started fact of the batch in one statement (`save_same_changes`); none
    # for a row whose log is full, which is not to run (`ProcessRunClaim.log_full_at`).
    fresh = [
        record for pid, record, _ in picked if record.first_started is None and pid not in full
    ]
    touched = {
        record.id: record for record in save_same_changes(conn, fresh, now, first_started=started)
    }
    for process_id, record, new in picked:
        record = touched.get(process_id, record)
        outcome = ProcessLeaseClaimOutcome.acquired_lease(new)
        claims[process_id] = ProcessRunClaim(
            outcome, record, started=process_id not in full,
            cancel_requested=cancels.get(process_id), log_full_at=full.get(process_id),
        )  # fmt: skip
    return [(process_id, claims[process_id]) for (process_id, *_) in rows[: len(owners)]]


def _claim_locked(
    conn: Tx,
    rows: list[Any],
    owners: list[LeaseOwnerIdentity],
    ttl_ms: int,
    started: ProcessStarted,
    now: int,
) -> list[tuple[str, ProcessRunClaim | None]]:
    """PostgreSQL's `_claim_picked`: the rows (id, record JSON) picked and locked by the
    pick, their lease rows read after it, in a statement of their own, and claimed as on
    SQLite. Why the leases are read again: under READ COMMITTED a row whose claim
    committed after the pick's snapshot is no longer locked, so the pick locks it, and
    re-checks its conditions on the row's new version but reads its lease as of the old
    snapshot: free (seen as 24 wasted claims, Busy, of 120 rows two workers split). A
    statement of its own sees the committed lease and its fence, and nothing changes them
    until COMMIT: every write to a process's lease locks its row first, and the pick holds
    these. The cancel requests and full logs travel with that read (fetch.py
    `read_ahead`), so a batch is three round trips (the pick, these reads, COMMIT) where
    one read per row was."""
    if not rows:
        return []
    picked = [process_id for process_id, _ in rows]
    read_ahead(conn, log_read.run_facts_statement(conn, picked))
    leases = {
        process_id: (fence, bool(held))
        for process_id, fence, held in conn.execute(
            f"SELECT l.process_id, l.lease_fencing_token, {LIVE} "
            f"FROM process_leases l WHERE l.process_id IN ({', '.join('?' * len(picked))})",
            (now, *picked),
        )
    }
    free = [
        (process_id, text, leases.get(process_id, (None, False))[0])
        for process_id, text in rows
        if not leases.get(process_id, (None, False))[1]
    ]
    return _claim_picked(conn, free, owners, ttl_ms, started, now, every=picked)


SKIP_AT_MOST = 500  # of a worker's undecodable rows named to the pick (each a bound value)
