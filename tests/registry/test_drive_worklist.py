"""`list_drive_work_items`: what a worker's periodic drive reads. On each store it is the
worklist (`list_work_items`, item for item) with the backlog, the rows a worker hands to its
batch claim, cut to its first two: whatever the rows are (leased, lapsed, abandon
requested, owner-bound, external, undecodable), and whatever their ids' order."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from lashtui.clock import ManualClock
from lashtui.model import AbandonRequest, ProcessRecord, ProcessWorkItem, RecoveryDisposition
from lashtui.registry import ProcessRegistry
from lashtui.registry.sql.lease import BACKLOG_LISTED
from tests.builders import ext, local, ob, own, rr, started
from tests.raw import store_record_json
from tests.registry.test_undecodable import SPOILERS


def in_backlog(item: ProcessWorkItem, now: int) -> bool:
    """The worker's test for a row its batch claim takes (worker.py `_batchable`), spelled
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
    for n in range(4):
        await registry.register_process(rr(f"m-backlog-{n}"))
    clock.advance(10)
    now = clock.now_ms()

    whole = await registry.list_drive_work_items(now)
    drive = await registry.list_drive_work_items(now, me)
    assert drive == [item for item in whole if item.lease is None or not item.lease.bars(me, now)]
    assert [item.process_id for item in drive] == [
        "b-ghost", "e-ghost-too", "f-lapsed", "g-owner-bound", "m-backlog-0",
    ]  # the lapsed row is rerunnable: the backlog's first, with one more
    # With no holder it can prove dead, every live lease is left out.
    alone = await registry.list_drive_work_items(now, local("me", host="host-c"))
    assert [item.process_id for item in alone] == [
        "f-lapsed", "g-owner-bound", "m-backlog-0",
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
