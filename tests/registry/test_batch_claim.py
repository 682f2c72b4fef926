"""`claim_processes_for_run` (lashtui/registry/sql/run.py `claim_next_for_run`): how a
worker drains a backlog that other workers drain too. It picks, inside the claiming
transaction, the first free rerunnable rows in id order (on SQLite, those it decoded ahead
first: `decode_ahead`) and claims each exactly as
`claim_process_for_run` claims one: its own lease and fencing token, first-started, the
cancel check. Rows that are held, ended, not rerunnable or have an abandon request are
never picked, and nothing is written for them."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path

import pytest

from lashtui.clock import ManualClock
from lashtui.model import (
    AbandonRequest,
    ProcessEventAppendRequest,
    SuccessOutput,
)
from lashtui.registry import ProcessRegistry, open_registry
from lashtui.registry.sql import decoded_row, json_edit, row, run
from lashtui.registry.sql.dialect import Tx
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.registry.sqlite.store import READ_AHEAD_SPREAD
from tests.builders import ext, ob, own, rr, started
from tests.conftest import fresh_schema
from tests.raw import raw_connection

LIVE = 60_000


def attempts(n: int) -> list:  # type: ignore[type-arg]
    return [own(f"w:attempt-{i}") for i in range(n)]


async def test_free_rerunnable_rows_are_claimed_in_id_order_each_with_its_own_lease(
    registry: ProcessRegistry,
) -> None:
    for pid in ("c", "a", "d", "b"):
        await registry.register_process(rr(pid))
    claims = await registry.claim_processes_for_run(attempts(3), LIVE, started("w"))
    assert [pid for pid, _ in claims] == ["a", "b", "c"]
    for (pid, claimed), owner in zip(claims, attempts(3), strict=True):
        assert claimed is not None and claimed.started
        lease = claimed.outcome.acquired()
        assert lease is not None and lease.owner == owner and lease.fencing_token == 1
        assert await registry.get_process_lease(pid) == lease
        assert claimed.record == await registry.get_process(pid)
        assert claimed.record is not None and claimed.record.first_started == started("w")
    rest = await registry.claim_processes_for_run(attempts(3), LIVE, started("w"))
    assert [pid for pid, _ in rest] == ["d"]  # fewer than asked: the backlog is drained
    assert await registry.claim_processes_for_run(attempts(3), LIVE, started("w")) == []


async def test_held_ended_and_other_rows_are_never_picked_nor_written(
    registry: ProcessRegistry,
) -> None:
    await registry.register_process(rr("a-held"))
    await registry.register_process(rr("b-ended"))
    await registry.register_process(rr("c-abandon-requested"))
    await registry.register_process(ob("d-owner-bound"))
    await registry.register_process(ext("e-external"))
    await registry.register_process(rr("f-free"))
    held = (await registry.claim_process_lease("a-held", own("other"), LIVE)).acquired()
    ended = (await registry.claim_process_lease("b-ended", own("other"), LIVE)).acquired()
    assert held is not None and ended is not None
    await registry.complete_process_with_lease(ended, SuccessOutput(value=1))
    request = AbandonRequest(requested_by="operator", requested_at_ms=1)
    await registry.request_process_abandon("c-abandon-requested", request)
    before = {pid: await registry.get_process(pid) for pid in ("a-held", "b-ended")}

    claims = await registry.claim_processes_for_run(attempts(8), LIVE, started("w"))
    assert [pid for pid, _ in claims] == ["f-free"]
    assert await registry.get_process_lease("a-held") == held  # untouched
    for pid, record in before.items():
        assert await registry.get_process(pid) == record


async def test_a_lapsed_lease_is_claimed_with_the_next_fencing_token(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    await registry.register_process(rr("p"))
    first = (await registry.claim_process_lease("p", own("gone"), 1_000)).acquired()
    assert first is not None
    assert await registry.claim_processes_for_run(attempts(1), LIVE, started("w")) == []
    clock.advance(1_000)  # an expiry equal to now is expired
    [(pid, claimed)] = await registry.claim_processes_for_run(attempts(1), LIVE, started("w"))
    assert pid == "p" and claimed is not None
    lease = claimed.outcome.acquired()
    assert lease is not None and lease.fencing_token == first.fencing_token + 1
    assert lease.expires_at_epoch_ms == clock.now_ms() + LIVE  # from the claim's own time


async def test_a_cancel_requested_before_the_claim_comes_back_with_it(
    registry: ProcessRegistry,
) -> None:
    await registry.register_process(rr("p"))
    request = ProcessEventAppendRequest.cancel_requested("p", "no longer needed")
    appended = (await registry.append_event("p", request)).event
    [(_, claimed)] = await registry.claim_processes_for_run(attempts(2), LIVE, started("w"))
    assert claimed is not None and claimed.cancel_requested == appended


async def test_a_row_that_does_not_decode_is_named_not_claimed_and_can_be_skipped(
    registry: ProcessRegistry, registry_target: str
) -> None:
    """JSON the SQL reads (its disposition says rerunnable) that the record model refuses:
    picked, nothing written for it, reported as None; the worker then names it in `skip`."""
    await registry.register_process(rr("a-bad"))
    await registry.register_process(rr("b-good"))
    bad = await registry.get_process("a-bad")
    assert bad is not None
    body = json.loads(bad.model_dump_json())
    body["input"] = {"type": "external", "metadata": "PLACEHOLDER"}
    text = json.dumps(body).replace('"PLACEHOLDER"', "[" * 300 + "]" * 300)
    with raw_connection(registry_target) as conn:
        conn.execute("UPDATE processes SET record_json = ? WHERE process_id = 'a-bad'", (text,))

    claims = await registry.claim_processes_for_run(attempts(2), LIVE, started("w"))
    assert [(pid, claimed is None) for pid, claimed in claims] == [
        ("a-bad", True),
        ("b-good", False),
    ]
    assert await registry.get_process_lease("a-bad") is None
    await registry.register_process(rr("c-next"))
    again = await registry.claim_processes_for_run(attempts(2), LIVE, started("w"), ["a-bad"])
    assert [pid for pid, _ in again] == ["c-next"]


async def test_each_claim_gets_its_own_rows_cancel_request_and_only_its_own(
    registry: ProcessRegistry,
) -> None:
    # The batch reads every picked row's cancel requests at once: each must come back with
    # its own row's first request, and a row without one with none.
    for pid in ("a", "b", "c"):
        await registry.register_process(rr(pid))
    first = (
        await registry.append_event("b", ProcessEventAppendRequest.cancel_requested("b", "1st"))
    ).event
    await registry.append_event("b", ProcessEventAppendRequest.cancel_requested("b", "2nd"))
    on_c = (
        await registry.append_event("c", ProcessEventAppendRequest.cancel_requested("c", "c"))
    ).event
    claims = dict(await registry.claim_processes_for_run(attempts(3), LIVE, started("w")))
    assert {pid: c.cancel_requested if c else "none" for pid, c in claims.items()} == {
        "a": None,
        "b": first,
        "c": on_c,
    }


async def test_a_row_whose_record_says_ended_where_its_column_says_running_is_not_started(
    registry: ProcessRegistry, registry_target: str
) -> None:
    """The pick reads the status column; a record that says otherwise (another program's
    write) is a row that does not decode (decoded_row.py `StatusMismatch`): it is left unclaimed,
    no lease taken, nothing started, no first-started fact written; the rows beside it are
    claimed as usual."""
    await registry.register_process(rr("a-odd"))
    await registry.register_process(rr("b-usual"))
    odd = await registry.get_process("a-odd")
    assert odd is not None
    body = json.loads(odd.model_dump_json())
    body["status"] = {"state": "completed", "await_output": {"type": "success", "value": 1}}
    with raw_connection(registry_target) as conn:
        conn.execute(
            "UPDATE processes SET record_json = ? WHERE process_id = 'a-odd'", (json.dumps(body),)
        )
    claims = dict(await registry.claim_processes_for_run(attempts(2), LIVE, started("w")))
    assert claims["a-odd"] is None and await registry.get_process_lease("a-odd") is None
    stored = await registry.get_process("a-odd")
    assert stored is not None and stored.first_started is None
    assert stored.undecodable == "its status column says running, its record completed"
    assert claims["b-usual"] is not None and claims["b-usual"].started


async def test_a_batch_comes_back_short_only_once_the_backlog_is_drained(
    registry: ProcessRegistry, registry_target: str, clock: ManualClock
) -> None:
    # Eight handles claim one backlog at once, each until a batch comes back empty. A batch
    # short of what it asked for says the backlog is drained (a worker stops claiming
    # there), so no later batch of the same handle may find a row. On PostgreSQL a row
    # picked can turn out held by a claim that committed since the pick's snapshot; it
    # was dropped and the batch came back short while hundreds of rows were free (in a
    # four-worker drain three workers stopped after 16-112 of 2,000 rows).
    for n in range(400):
        await registry.register_process(rr(f"p{n:03d}"))
    claimed: list[str] = []
    premature: list[tuple[int, int]] = []

    async def claimer(handle: ProcessRegistry, name: str) -> None:
        short_at: int | None = None
        for batch in range(1000):
            claims = await handle.claim_processes_for_run(attempts(8), LIVE, started(name))
            if not claims:
                return
            claimed.extend(pid for pid, _ in claims)
            if short_at is not None:
                premature.append((short_at, batch))  # rows came after a short batch
            if len(claims) < 8:
                short_at = batch

    async with contextlib.AsyncExitStack() as stack:
        handles = [registry] + [
            await stack.enter_async_context(open_registry(registry_target, clock=clock))
            for _ in range(7)
        ]
        await asyncio.gather(*(claimer(h, f"w{i}") for i, h in enumerate(handles)))
    assert sorted(claimed) == [f"p{n:03d}" for n in range(400)]  # each row once
    assert premature == []


async def test_on_sqlite_a_batch_decodes_the_records_it_takes_before_its_transaction(
    tmp_path: Path, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Inside the claim's transaction every other worker process waits for the file's
    # write lock, so the records are decoded ahead of it (sql/run.py `decode_ahead`).
    decodes = {"inside": 0, "ahead": 0}
    inside = False
    decode, claim_picked = decoded_row.decode_record, run._claim_picked

    def counted_decode(text: str) -> object:
        decodes["inside" if inside else "ahead"] += 1
        return decode(text)

    def marked_claim(*args: object, **kwargs: object) -> object:
        nonlocal inside
        inside = True
        try:
            return claim_picked(*args, **kwargs)  # type: ignore[arg-type]
        finally:
            inside = False

    path = str(tmp_path / "ahead.db")
    async with open_registry(path, clock=clock) as other:  # so not in the claimer's cache
        for pid in ("c", "a", "d", "b"):
            await other.register_process(rr(pid))
    monkeypatch.setattr(row, "decode_record", counted_decode)
    monkeypatch.setattr(run, "_claim_picked", marked_claim)
    async with open_registry(path, clock=clock) as registry:
        claims = await registry.claim_processes_for_run(attempts(3), LIVE, started("w"))
    assert [pid for pid, _ in claims] == ["a", "b", "c"]  # alone: in id order
    assert all(claimed is not None and claimed.started for _, claimed in claims)
    assert decodes == {"inside": 0, "ahead": 3}


async def test_on_sqlite_a_row_read_ahead_whose_record_changed_meanwhile_is_tested_again(
    tmp_path: Path, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The claim skips the record tests for a row whose JSON is still the text read ahead
    # (filter.py `in_backlog`'s `seen`): one that changed since is tested again.
    path = str(tmp_path / "changed.db")
    ahead = run.decode_ahead
    request = json.dumps({"requested_at_ms": 1, "reason": "operator"})

    def changed_meanwhile(conn: object, *args: object) -> dict[str, str]:
        found = ahead(conn, *args)  # type: ignore[arg-type]
        assert list(found) == ["a", "b", "c"]
        with raw_connection(path) as other:  # another writer, between the read and the claim
            other.execute(
                "UPDATE processes SET record_json = "
                "json_set(record_json, '$.abandon_request', json(?)) WHERE process_id = 'b'",
                (request,),
            )
            other.execute(  # the same record, spelled another way: still tested, still free
                "UPDATE processes SET record_json = json(record_json) || ' ' "
                "WHERE process_id = 'c'"
            )
        return found

    async with open_registry(path, clock=clock) as registry:
        for pid in ("a", "b", "c", "d"):
            await registry.register_process(rr(pid))
        monkeypatch.setattr(run, "decode_ahead", changed_meanwhile)
        claims = await registry.claim_processes_for_run(attempts(3), LIVE, started("w"))
    assert [pid for pid, _ in claims] == ["a", "c", "d"]  # not b: its abandon request
    with raw_connection(path) as conn:
        leased = [pid for (pid,) in conn.execute(
            "SELECT process_id FROM process_leases ORDER BY process_id")]  # fmt: skip
    assert leased == ["a", "c", "d"]


async def test_on_sqlite_a_handle_that_lost_rows_it_read_ahead_spreads_its_next_reads(
    tmp_path: Path, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Workers draining one backlog would all decode its first free rows: once a batch finds
    # rows it read ahead taken by another, the handle's next read starts at a random one of
    # the first READ_AHEAD_SPREAD batches' worth of free rows; a clean batch resets it.
    path = str(tmp_path / "spread.db")
    ahead = run.decode_ahead

    def taken_meanwhile(conn: object, *args: object) -> dict[str, str]:
        found = ahead(conn, *args)  # type: ignore[arg-type]
        with raw_connection(path) as other:  # another writer ends them meanwhile
            for pid in found:
                other.execute("UPDATE processes SET status = 'cancelled' WHERE process_id = ?",
                              (pid,))
        return found

    async with open_registry(path, clock=clock) as registry:
        assert isinstance(registry, SqliteProcessRegistry)
        for n in range(200):
            await registry.register_process(rr(f"p{n:03d}"))
        monkeypatch.setattr(run, "decode_ahead", taken_meanwhile)
        claims = await registry.claim_processes_for_run(attempts(4), LIVE, started("w"))
        assert [pid for pid, _ in claims] == ["p004", "p005", "p006", "p007"]
        assert registry._contended
        monkeypatch.setattr(run, "decode_ahead", ahead)

        offsets = set()
        for _ in range(40):
            registry._contended = True
            with raw_connection(path) as conn:
                free = [pid for (pid,) in conn.execute(
                    "SELECT p.process_id FROM processes p LEFT JOIN process_leases l "
                    "ON l.process_id = p.process_id WHERE p.status = 'running' "
                    "AND l.process_id IS NULL ORDER BY p.process_id"
                )]  # fmt: skip
            claims = await registry.claim_processes_for_run(attempts(4), LIVE, started("w"))
            ids = [pid for pid, _ in claims]
            start = free.index(ids[0])
            assert ids == free[start : start + 4]  # one window of free rows, in id order
            assert start % 4 == 0 and start < 4 * READ_AHEAD_SPREAD
            offsets.add(start)
            assert not registry._contended  # every row it read ahead was still free
        assert len(offsets) > 1


async def _stored(target: str) -> list[tuple[object, ...]]:
    with raw_connection(target) as conn:
        return list(
            conn.execute(
                "SELECT process_id, change_seq, updated_at_ms, record_json FROM processes "
                "ORDER BY process_id"
            )
        )


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
async def test_a_batchs_first_started_facts_are_the_bytes_each_rows_own_edit_writes(
    store: str, tmp_path: Path, clock: ManualClock
) -> None:
    """A batch records its first-started facts in one statement (json_edit.py
    `save_same_changes`: SQLite edits each row's JSON in place, PostgreSQL writes each
    whole record): each row must end exactly as `save_changes` leaves it, JSON byte for
    byte, with its own change sequence in the batch's order, `updated_at_ms` never moved
    back (row `b` was last written after the claim's clock), and the next write reading it
    from the cache. The same rows claimed one by one are the reference."""
    with contextlib.ExitStack() as stack:
        if store == "sqlite":
            paths = [str(tmp_path / name) for name in ("batch.db", "alone.db")]
        else:
            paths = [stack.enter_context(fresh_schema()) for _ in range(2)]
        for path in paths:
            async with open_registry(path, clock=clock) as registry:
                clock.set(1_000)
                for pid in ("a", "c", "d"):
                    await registry.register_process(rr(pid))
                clock.set(5_000)
                await registry.register_process(rr("b"))
                clock.set(3_000)
        async with open_registry(paths[0], clock=clock) as registry:
            claims = await registry.claim_processes_for_run(attempts(4), LIVE, started("w"))
            assert [pid for pid, _ in claims] == ["a", "b", "c", "d"]
            records = {pid: claimed.record for pid, claimed in claims if claimed is not None}
            for pid, record in records.items():
                assert record is not None and record == await registry.get_process(pid)
            # The next write starts from the cached record of the text the batch stored.
            await registry.append_event("b", ProcessEventAppendRequest.cancel_requested("b", "x"))

        def one_by_one(conn: Tx) -> None:
            for pid in ("a", "b", "c", "d"):
                record = row.require_record(conn, pid)
                json_edit.save_changes(conn, record, 3_000, first_started=started("w"))

        async with open_registry(paths[1], clock=clock) as registry:
            await registry._db.write(one_by_one)  # type: ignore[attr-defined]
            await registry.append_event("b", ProcessEventAppendRequest.cancel_requested("b", "x"))
        batch, alone = await _stored(paths[0]), await _stored(paths[1])
    # PostgreSQL's change sequences come from the transaction's id: equal only on SQLite.
    assert [(pid, up, text) for pid, _, up, text in batch] == [
        (pid, up, text) for pid, _, up, text in alone
    ]
    if store == "sqlite":
        assert batch == alone
    assert [updated for _, _, updated, _ in batch] == [3_000, 5_000, 3_000, 3_000]
    seqs = {str(pid): int(str(seq)) for pid, seq, _, _ in batch}
    assert seqs["a"] < seqs["c"] < seqs["d"] < seqs["b"]  # b's cancel moved it last


async def test_a_batch_with_an_id_stored_as_bytes_records_its_first_started_fact(
    tmp_path: Path, clock: ManualClock
) -> None:
    """A row whose id another program stored as bytes that are not UTF-8 (test_raw_id.py),
    its JSON still decodable (there the id reads from the column: decoded_row.py `keyed`), is
    found and returned by the batch's one statement like any other."""
    db = str(tmp_path / "r.db")
    async with open_registry(db, clock=clock) as registry:
        for pid in ("a", "raw"):
            await registry.register_process(rr(pid))
    with raw_connection(db) as conn:
        conn.execute(
            "UPDATE processes SET process_id = CAST(? AS TEXT) WHERE process_id = 'raw'",
            (b"r\xffw",),
        )
    async with open_registry(db, clock=clock) as registry:
        claims = await registry.claim_processes_for_run(attempts(2), LIVE, started("w"))
        raw_id = b"r\xffw".decode("utf-8", "surrogateescape")
        assert [pid for pid, _ in claims] == ["a", raw_id]
        for pid, claimed in claims:
            assert claimed is not None and claimed.record is not None
            assert claimed.record.first_started == started("w")
            assert await registry.get_process(pid) == claimed.record
