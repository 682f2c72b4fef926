"""`list_drive_work_items`: what a worker's periodic drive reads. On each store it is the
worklist (`list_work_items`, item for item) with the backlog, the rows a worker hands to its
batch claim, cut to its first two: whatever the rows are (leased, lapsed, abandon
requested, owner-bound, external, undecodable), and whatever their ids' order."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

import pytest

from lashtui.clock import ManualClock
from lashtui.model import (
    AbandonRequest,
    ProcessIdentity,
    ProcessRecord,
    ProcessWorkItem,
    RecoveryDisposition,
    default_process_event_types,
)
from lashtui.registry import ProcessRegistry, open_registry
from lashtui.registry.postgres.jsonb_refusal import JsonbRefused
from lashtui.registry.sql.backlog_mark import STALE, STALE_INDEX, UNMARKED, UNMARKED_INDEX
from lashtui.registry.sql.dialect import Tx
from lashtui.registry.sql.drive import BACKLOG_LISTED, drive_work_items
from lashtui.registry.sqlite.connect import connect_file
from tests.builders import ext, local, ob, own, rr, started
from tests.raw import raw_connection, store_record_json
from tests.registry.rows import append_wake, finish, wake_event_type
from tests.registry.test_undecodable import SPOILERS


def in_backlog(item: ProcessWorkItem, now: int) -> bool:
    """The worker's test for a row its batch claim takes (batch.py `_batchable`), spelled
    out again here so that the store's SQL is checked against the models' reading."""
    return (
        item.disposition is RecoveryDisposition.RERUNNABLE
        and not item.abandon_requested
        and not item.undecodable
        and (item.lease is None or not item.lease.is_live_at(now))
    )


async def assert_drive_cuts_only_the_backlog(registry: ProcessRegistry, now: int) -> None:
    full = await registry.list_work_items()
    drive = await registry.list_drive_work_items(now)
    backlog = [item for item in full if in_backlog(item, now)]
    rest = [item for item in full if not in_backlog(item, now)]
    expected = sorted(rest + backlog[:BACKLOG_LISTED], key=lambda item: item.process_id)
    assert drive == expected


async def test_a_drive_lists_the_worklist_with_the_backlog_cut_to_its_first_rows(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    for n in range(6):
        await registry.register_process(rr(f"m-backlog-{n}"))
    await registry.register_process(rr("a-held"))
    await registry.claim_process_lease("a-held", own("x"), 60_000)
    await registry.register_process(rr("b-lapsed"))  # its lease ends at once: backlog again
    await registry.claim_process_lease("b-lapsed", own("y"), 1)
    await registry.register_process(rr("c-abandon"))
    request = AbandonRequest(requested_by="operator:dana", requested_at_ms=1, reason="r")
    await registry.request_process_abandon("c-abandon", request)
    await registry.register_process(ob("d-owner-bound"))
    await registry.register_process(ext("e-external"))
    await registry.register_process(rr("z-last"))
    clock.advance(10)
    now = clock.now_ms()

    drive = await registry.list_drive_work_items(now)
    assert [item.process_id for item in drive] == [
        "a-held", "b-lapsed", "c-abandon", "d-owner-bound", "e-external", "m-backlog-0",
    ]
    await assert_drive_cuts_only_the_backlog(registry, now)
    # Seen from before the lapsed lease ended, that row is held, and listed as such.
    early = await registry.list_drive_work_items(now - 10)
    assert [item.process_id for item in early][:4] == [
        "a-held", "b-lapsed", "c-abandon", "d-owner-bound",
    ]
    assert early[1].lease is not None
    await assert_drive_cuts_only_the_backlog(registry, now - 10)


async def test_a_workers_drive_leaves_out_the_rows_it_could_only_be_refused(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    # A worker's drive (with itself as the claimant) is the drive without one, less the
    # rows whose live lease it cannot take: held by another owner it cannot prove dead, or
    # by itself. What it keeps of the leased rows: a lapsed lease, and a live one whose
    # holder is a process on its own host that is gone.
    me = local("me")
    ghost = local("ghost", start="not-its-start")  # this pid, another start: gone
    assert ghost.is_definitely_dead_for_claimant(me)
    holders = {
        "a-other": own("other"),  # opaque: never provably dead
        "b-ghost": ghost,
        "c-mine": me,
        "d-elsewhere": local("far", host="host-b"),  # another host: not provable from here
        "e-ghost-too": ghost,
    }
    for process_id, holder in holders.items():
        await registry.register_process(rr(process_id))
        await registry.claim_process_lease(process_id, holder, 60_000)
    await registry.register_process(rr("f-lapsed"))
    await registry.claim_process_lease("f-lapsed", own("other"), 1)
    await registry.register_process(ob("g-owner-bound"))
    # External work is its owner's: a worker claims it only to reconcile an abandon request.
    await registry.register_process(ext("h-external"))
    await registry.register_process(ext("i-external-asked"))
    request = AbandonRequest(requested_by="operator:dana", requested_at_ms=1, reason="r")
    await registry.request_process_abandon("i-external-asked", request)
    for n in range(4):
        await registry.register_process(rr(f"m-backlog-{n}"))
    clock.advance(10)
    now = clock.now_ms()

    whole = await registry.list_drive_work_items(now)
    assert "h-external" in [item.process_id for item in whole]
    drive = await registry.list_drive_work_items(now, me)
    assert drive == [
        item
        for item in whole
        if (item.lease is None or not item.lease.bars(me, now))
        and (item.disposition is not RecoveryDisposition.EXTERNALLY_OWNED or item.abandon_requested)
    ]  # what the worker itself would drop (worker.py `_wants`)
    assert [item.process_id for item in drive] == [
        "b-ghost", "e-ghost-too", "f-lapsed", "g-owner-bound", "i-external-asked", "m-backlog-0",
    ]  # the lapsed row is rerunnable: the backlog's first, with one more
    # With no holder it can prove dead, every live lease is left out.
    alone = await registry.list_drive_work_items(now, local("me", host="host-c"))
    assert [item.process_id for item in alone] == [
        "f-lapsed", "g-owner-bound", "i-external-asked", "m-backlog-0",
    ]


async def test_a_drive_lists_a_backlog_of_one_or_none_whole(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    now = clock.now_ms()
    assert await registry.list_drive_work_items(now) == []
    await registry.register_process(ob("owner-bound"))
    await registry.register_process(rr("only"))
    assert await registry.list_drive_work_items(now) == await registry.list_work_items()


@pytest.mark.parametrize(("name", "spoil"), SPOILERS, ids=[s[0] for s in SPOILERS])
async def test_a_drive_lists_a_row_whose_record_the_sql_cannot_read(
    registry: ProcessRegistry,
    registry_target: str,
    clock: ManualClock,
    name: str,
    spoil: Callable[[ProcessRecord], str],
) -> None:
    # The backlog's first rows sort after the spoiled one: a row the SQL cannot tell is
    # rerunnable is never cut with the backlog, and one it can is cut as any other.
    bad = await registry.register_process(rr("a-bad"))
    for n in range(4):
        await registry.register_process(rr(f"b-{n}"))
    store_record_json(registry_target, "a-bad", spoil(bad))
    await assert_drive_cuts_only_the_backlog(registry, clock.now_ms())


async def test_the_abandon_test_reads_the_records_keys_not_their_bytes(
    registry: ProcessRegistry, registry_target: str, clock: ManualClock
) -> None:
    # The SQL's abandon test (`Dialect.json_has`) reads keys as JSON does, where each store
    # first reads the bytes: PostgreSQL casts a record only where its text may hold the key,
    # and SQLite asks json_each again where a key it did not find may be escaped. A nested
    # key of that name is no request; a top-level key spelled with an escape is one.
    spellings = {
        "nested": '"x":{"abandon_request":1},',
        "escaped": '"abandon\\u005frequest":{"requested_by":"a","requested_at_ms":1},',
    }
    for name, extra in spellings.items():
        record = await registry.register_process(rr(name))
        store_record_json(registry_target, name, "{" + extra + record.model_dump_json()[1:])
    items = {item.process_id: item for item in await registry.list_work_items()}
    assert items["nested"].abandon_requested is False
    assert items["escaped"].abandon_requested is True
    stored = await registry.get_process("escaped")
    assert stored is not None and stored.abandon_request is not None  # as the models read it
    await assert_drive_cuts_only_the_backlog(registry, clock.now_ms())
    # A batch claim leaves the escaped request to the sweep, and takes the other.
    claims = await registry.claim_processes_for_run([own("w1"), own("w2")], 60_000, started("w"))
    assert [process_id for process_id, _ in claims] == ["nested"]


# --- SQLite's drive indexes (sql/backlog_mark.py) -------------------------------------------


WAKEABLE = [*default_process_event_types(), wake_event_type()]


def indexed_rows(target: str) -> dict[str, set[str]]:
    """The running rows each of the drive's indexes holds, by index (on SQLite read
    through the index itself; PostgreSQL has no way to name one)."""
    named = not target.startswith("postgresql://")
    with raw_connection(target) as conn:
        return {
            name: {
                process_id
                for (process_id,) in conn.execute(
                    f"SELECT process_id FROM processes p{' INDEXED BY ' + name if named else ''}"
                    f" WHERE p.status = 'running' AND {condition}"
                )
            }
            for name, condition in ((UNMARKED_INDEX, UNMARKED), (STALE_INDEX, STALE))
        }


async def a_registry_of_every_shape(registry: ProcessRegistry, db: str, clock: ManualClock) -> None:
    """Rows of every kind a drive tells apart, lashtui's own and other programs' (records
    saved without a new change sequence, escaped keys, text that looks like the keys)."""
    for n in range(5):
        await registry.register_process(rr(f"m-backlog-{n}"))
    await registry.register_process(rr("a-held"))
    await registry.claim_process_lease("a-held", own("x"), 60_000)
    await registry.register_process(rr("b-ghost"))
    await registry.claim_process_lease("b-ghost", local("ghost", start="not-its-start"), 60_000)
    await registry.register_process(rr("c-lapsed"))
    await registry.claim_process_lease("c-lapsed", own("y"), 1)
    await registry.register_process(rr("d-abandon"))
    request = AbandonRequest(requested_by="operator:dana", requested_at_ms=1, reason="r")
    await registry.request_process_abandon("d-abandon", request)
    await registry.register_process(ob("e-owner-bound"))
    await registry.register_process(ext("f-external"))
    # Labels holding the keys' text: a rerunnable row stays in the backlog, an owner-bound
    # row out of it, whatever its text says. (Its quotes are escaped in the JSON, so the
    # rerunnable row's insert cannot tell it plain without a parse: it goes in the index.)
    tricky = ProcessIdentity(kind="k", label='"abandon_request":{},"disposition":"owner_bound"')
    await registry.register_process(rr("g-rr-text", identity=tricky))
    odd = ProcessIdentity(kind="k", label='"disposition":"rerunnable"')
    await registry.register_process(ob("h-ob-text", identity=odd))
    # Another program's edits, saved without a new change sequence as a hand edit would be.
    plain = await registry.register_process(rr("i-escaped"))
    escaped = '"abandon\\u005frequest":{"requested_by":"a","requested_at_ms":1},'
    store_record_json(db, "i-escaped", "{" + escaped + plain.model_dump_json()[1:])
    plain = await registry.register_process(rr("j-hand-abandon"))
    with_request = plain.model_copy(update={"abandon_request": request}).model_dump_json()
    store_record_json(db, "j-hand-abandon", with_request)
    plain = await registry.register_process(rr("k-spoiled"))
    store_record_json(db, "k-spoiled", "{not json")
    # lashtui's saves: a batch claim's first-started facts, an appended event.
    await registry.register_process(rr("l-appended", event_types=WAKEABLE))
    await append_wake(registry, "l-appended", "l")
    await registry.register_process(rr("n-moved"))
    with raw_connection(db) as conn:  # another program's save with a sequence of its own
        conn.execute(
            "UPDATE processes SET change_seq = change_seq + 1000 WHERE process_id = 'n-moved'"
        )
    clock.advance(10)


@pytest.mark.parametrize("claimant", [None, "me", "far"])
async def test_the_drive_index_lists_what_a_drive_without_it_lists(
    registry: ProcessRegistry, registry_target: str, clock: ManualClock, claimant: str | None
) -> None:
    # Each row the indexes leave out is in the backlog exactly when its lease is not live:
    # the drive through them lists what the drive over every running row lists.
    db = registry_target
    who = {None: None, "me": local("me"), "far": local("me", host="host-c")}[claimant]
    await a_registry_of_every_shape(registry, db, clock)
    now = clock.now_ms()
    indexed = await registry.list_drive_work_items(now, who)
    # The rows whose records may keep them out of the backlog; not the leased rows,
    # which the drive finds from their leases, nor the row with an event appended.
    # Other programs' saves: without a new change sequence the trigger took the mark
    # (i-, j-, k-), with one the mark is stale (n-, whose save moved only that).
    assert indexed_rows(db) == {
        UNMARKED_INDEX: {
            "d-abandon", "e-owner-bound", "f-external", "g-rr-text", "h-ob-text",
            "i-escaped", "j-hand-abandon", "k-spoiled",
        },
        STALE_INDEX: {"n-moved"},
    }
    with raw_connection(db) as conn:
        conn.execute(f"DROP INDEX {STALE_INDEX}")
    assert await registry.list_drive_work_items(now, who) == indexed
    if who is None:
        await assert_drive_cuts_only_the_backlog(registry, now)
    listed = {item.process_id for item in indexed}
    assert {"d-abandon", "i-escaped", "j-hand-abandon", "k-spoiled"} <= listed


async def test_lashtuis_saves_keep_the_mark_but_an_abandon_request_and_an_end_take_it(
    registry: ProcessRegistry, registry_target: str
) -> None:
    db = registry_target
    for n in range(4):
        await registry.register_process(rr(f"r-{n}", event_types=WAKEABLE))
    owners = [own("w1"), own("w2")]
    claims = await registry.claim_processes_for_run(owners, 60_000, started("w"))
    assert len(claims) == 2 and indexed_rows(db) == {UNMARKED_INDEX: set(), STALE_INDEX: set()}
    with raw_connection(db) as conn:  # the mark moved with the first-started fact
        marks = conn.execute(
            "SELECT count(*) FROM processes WHERE backlog_seq = change_seq"
        ).fetchone()
    assert marks == (4,)
    await append_wake(registry, "r-3", "r-3")  # keeps the mark
    request = AbandonRequest(requested_by="operator:dana", requested_at_ms=1, reason="r")
    await registry.request_process_abandon("r-2", request)
    assert indexed_rows(db) == {UNMARKED_INDEX: {"r-2"}, STALE_INDEX: set()}
    await finish(registry, "r-2")
    assert indexed_rows(db) == {UNMARKED_INDEX: set(), STALE_INDEX: set()}


async def test_a_drive_reads_the_index_and_the_leases_not_every_running_row(
    tmp_path: Path, clock: ManualClock
) -> None:
    db = str(tmp_path / "r.db")
    async with open_registry(db, clock=clock) as registry:
        await a_registry_of_every_shape(registry, db, clock)
    statements: list[str] = []
    conn = connect_file(db, read_only=False, create=False, busy_timeout_ms=1_000)
    try:
        conn.set_trace_callback(statements.append)
        drive_work_items(conn, clock.now_ms(), local("ghost-finder"))
        conn.set_trace_callback(None)
        # (the other UNION ALL, first, is the first drive's look for records past the
        # ceiling over the same two indexes: drive.py `_drive_candidates`)
        (drive,) = [s for s in statements if s.startswith("SELECT * FROM (")]
        plan = [str(row[-1]) for row in conn.execute(f"EXPLAIN QUERY PLAN {drive}")]
    finally:
        conn.close()
    # The rows of the two indexes, whole; the live leases (the lease table has no index by
    # expiry: sqlite/schema.py), each row of theirs by its key; and the backlog's first
    # rows, in id order from the status index, stopping at two. No running row is read
    # for the test alone.
    assert [line for line in plan if line.startswith(("SCAN p", "SEARCH p", "SCAN l"))] == [
        f"SCAN p USING INDEX {UNMARKED_INDEX}",
        f"SCAN p USING INDEX {STALE_INDEX}",
        "SEARCH p USING INDEX processes_status_process_idx (status=? AND process_id=?)",
        "SCAN l",
        # (from the first text id: NULL ids are listed apart, drive.py `_not_text_backlog`)
        "SEARCH p USING INDEX processes_status_process_idx (status=? AND process_id>?)",
    ]


class Traced:
    """A transaction's connection that keeps what it runs (the statement, its values)."""

    def __init__(self, conn: Tx) -> None:
        self.conn = conn
        self.ran: list[tuple[str, object]] = []

    def __getattr__(self, name: str) -> object:
        return getattr(self.conn, name)

    def execute(self, sql: str, parameters: object = (), /) -> object:
        self.ran.append((sql, parameters))
        return self.conn.execute(sql, parameters)


async def test_on_postgresql_the_drives_statement_can_read_the_two_indexes(
    postgres_schema: str, clock: ManualClock
) -> None:
    # PostgreSQL's planner matches a partial index by its predicate, which the statement
    # writes as the index does; on a registry this small it would rather scan, so the
    # plan is read with scans priced out: what it shows is that the indexes match.
    async with open_registry(postgres_schema, clock=clock) as registry:
        await a_registry_of_every_shape(registry, postgres_schema, clock)
    traced: Traced | None = None
    # (The plain cast refuses the spoiled row's text, which the store then reads again in
    # the tolerant form; the statement is kept as it was sent.)
    with contextlib.suppress(JsonbRefused), raw_connection(postgres_schema) as conn:
        traced = Traced(conn)
        drive_work_items(traced, clock.now_ms(), local("ghost-finder"))  # type: ignore[arg-type]
    assert traced is not None
    (drive, values) = next((sql, v) for sql, v in traced.ran if "UNION ALL" in sql)
    with raw_connection(postgres_schema) as conn:
        conn.execute("SET LOCAL enable_seqscan = off")
        plan = " ".join(str(row[0]) for row in conn.execute(f"EXPLAIN {drive}", values))
    assert UNMARKED_INDEX in plan and STALE_INDEX in plan


async def test_a_batch_claim_trusts_a_current_mark_and_tests_every_other_row(
    registry: ProcessRegistry, registry_target: str
) -> None:
    # The batch claim's pick passes a row marked plainly the backlog's without its record
    # tests (sql/run.py `_pick`). Another program's save leaves a mark stale or, without
    # a new sequence, takes it: an abandon request written either way keeps the row out
    # of the batch, for the sweep; a foreign insert (no mark) is tested, and taken.
    for pid in ("a-stale", "b-taken", "c-plain", "d-foreign"):
        await registry.register_process(rr(pid))
    request = AbandonRequest(requested_by="operator:dana", requested_at_ms=1, reason="r")
    for pid, new_sequence in (("a-stale", True), ("b-taken", False)):
        record = await registry.get_process(pid)
        assert record is not None
        text = record.model_copy(update={"abandon_request": request}).model_dump_json()
        with raw_connection(registry_target) as conn:
            bump = ", change_seq = change_seq + 1" if new_sequence else ""
            conn.execute(
                f"UPDATE processes SET record_json = ?{bump} WHERE process_id = ?", (text, pid)
            )
    with raw_connection(registry_target) as conn:
        conn.execute("UPDATE processes SET backlog_seq = NULL WHERE process_id = 'd-foreign'")
    owners = [own(f"w{n}") for n in range(4)]
    claims = await registry.claim_processes_for_run(owners, 60_000, started("w"))
    assert [process_id for process_id, _ in claims] == ["c-plain", "d-foreign"]
