"""The census, batch gets and the data version (lashtui extensions): how the dashboard
counts a large registry once and then keeps up.

The census is exact and taken in one snapshot with its change-feed cursor, so counts kept
from it by following the feed never double-count or miss a row. `get_processes` is how the
dashboard re-reads the rows it shows (a pruned row is simply absent). `data_version` moves
when another connection commits, which is what a file watch falls back to.
"""

from __future__ import annotations

import json
from pathlib import Path

from lashtui.clock import ManualClock
from lashtui.model import (
    AbandonedOutput,
    AbandonEvidence,
    AbandonWriter,
    CancelledOutput,
    ProcessPageQuery,
    ProcessStarted,
    failure,
)
from lashtui.registry import ProcessRegistry, open_registry
from lashtui.registry.sql.dialect import MAX_STORED_BYTES
from tests.builders import ext, ob, own
from tests.raw import raw_connection
from tests.registry.rows import claim, finish, park, settled_census

ZERO_TERMINALS = {"completed": 0, "failed": 0, "cancelled": 0, "abandoned": 0}


async def test_an_empty_registry_has_an_empty_census(registry: ProcessRegistry) -> None:
    census = await registry.process_census()
    assert census.cursor == 0
    assert census.terminal == ZERO_TERMINALS
    assert census.live == {}
    assert census.counts() == {"running": 0, "waiting": 0, **ZERO_TERMINALS}


async def test_census_is_exact_after_a_mix_of_changes(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    for n in range(12):
        await registry.register_process(ext(f"e{n:02}"))
    await registry.register_process(ob("owned"))
    for pid in ("e00", "e01", "e02"):
        await park(registry, pid, clock.now_ms())
    await registry.clear_process_wait("e02")  # waited, then resumed: running again
    await finish(registry, "e03")
    await finish(registry, "e04")
    await finish(registry, "e05", failure("boom", "it broke"))
    await finish(registry, "e06", CancelledOutput(message="stop"))
    await park(registry, "e07", clock.now_ms())
    await finish(registry, "e07")  # a terminal clears the wait
    evidence = AbandonEvidence(writer=AbandonWriter.SWEEP, owner=own("gone"), epoch_ms=1)
    await finish(registry, "owned", AbandonedOutput(evidence=evidence))

    census, end = await settled_census(registry)

    assert census.terminal == {"completed": 3, "failed": 1, "cancelled": 1, "abandoned": 1}
    assert census.live == {
        "e00": "waiting",
        "e01": "waiting",
        "e02": "running",
        "e08": "running",
        "e09": "running",
        "e10": "running",
        "e11": "running",
    }
    assert census.counts() == {
        "running": 5,
        "waiting": 2,
        "completed": 3,
        "failed": 1,
        "cancelled": 1,
        "abandoned": 1,
    }
    assert census.total() == 13
    assert census.cursor == end


async def test_a_wait_key_spelled_another_way_is_still_waiting(
    registry: ProcessRegistry, registry_target: str, clock: ManualClock
) -> None:
    """The census and the `waiting` filter read another program's JSON as the models do: a
    `wait` key spelled with an escape, or spaced, is waiting (on SQLite, whose json_extract
    matches a key as written, through json_each for a record with a backslash: filter.py
    `waiting_sql`); a record that merely mentions the word in a value is not, nor is one
    with a backslash in a value and no `wait` key."""
    pids = ("escaped", "spaced", "mentions", "backslash", "plain")
    for pid in pids:
        await registry.register_process(ext(pid))
    for pid in ("escaped", "spaced"):
        await park(registry, pid, clock.now_ms())
    with raw_connection(registry_target) as conn:
        rows = conn.execute("SELECT process_id, record_json FROM processes").fetchall()
        for pid, text in rows:
            record = json.loads(text)
            if pid == "mentions":
                record["metadata_note"] = "wait"
            if pid == "backslash":
                record["metadata_note"] = 'a \\ "quoted" \n wait'
            text = json.dumps(record, separators=(",", ":"))
            if pid == "escaped":
                text = text.replace('"wait":', '"w\\u0061it":')
            if pid == "spaced":
                text = text.replace('"wait":', '"wait" :')
            conn.execute(
                "UPDATE processes SET record_json = ? WHERE process_id = ?", (text, pid)
            )
    expected = {
        "escaped": "waiting",
        "spaced": "waiting",
        "mentions": "running",
        "backslash": "running",
        "plain": "running",
    }
    census = await registry.process_census()
    assert census.live == expected
    # The models agree, row by row.
    for pid in pids:
        record = await registry.get_process(pid)
        assert record is not None and (record.wait is not None) == (expected[pid] == "waiting")
    listed = await registry.page_processes(ProcessPageQuery(states=frozenset({"waiting"})))
    assert [record.id for record in listed] == ["escaped", "spaced"]
    running = await registry.page_processes(ProcessPageQuery(states=frozenset({"running"})))
    assert [record.id for record in running] == ["backslash", "mentions", "plain"]


async def test_a_record_that_names_wait_twice_is_undecodable_and_counted_as_it_reads(
    registry: ProcessRegistry, registry_target: str, clock: ManualClock
) -> None:
    """A record another program wrote with `wait` twice: SQLite's JSON functions read the
    first, Python and jsonb the last, so the census said waiting of a row shown running
    (the status line said "waiting 3" over two waiting rows). Such a row reads as
    undecodable (its stand-in runs, it does not wait) wherever it is read, and the census
    and the state filters count it so, on both stores, whichever of the two is null."""
    pids = ("first-null", "last-null", "escaped", "too-large", "one-wait")
    for pid in pids:
        await registry.register_process(ext(pid))
        await park(registry, pid, clock.now_ms())
    with raw_connection(registry_target) as conn:
        rows = conn.execute("SELECT process_id, record_json FROM processes").fetchall()
        for pid, text in rows:
            record = json.loads(text)
            wait = json.dumps(record.pop("wait"))
            body = json.dumps(record)[:-1]
            if pid == "first-null":
                text = f'{body}, "wait": null, "wait": {wait}}}'
            elif pid == "last-null":
                text = f'{body}, "wait": {wait}, "wait": null}}'
            elif pid == "escaped":
                text = f'{body}, "wait": {wait}, "w\\u0061it": null}}'
            elif pid == "too-large":  # (read by no reader: its stand-in does not wait)
                record["identity"]["label"] = "x" * MAX_STORED_BYTES
                text = json.dumps({**record, "wait": json.loads(wait)})
            else:
                continue
            conn.execute(
                "UPDATE processes SET record_json = ? WHERE process_id = ?", (text, pid)
            )
    census = await registry.process_census()
    unread = {pid: "running" for pid in pids[:4]}
    assert census.live == {**unread, "one-wait": "waiting"}
    for pid in pids[:4]:
        record = await registry.get_process(pid)
        assert record is not None and record.wait is None and record.undecodable is not None
        assert "names `wait` twice" in record.undecodable or pid == "too-large"
    one = await registry.get_process("one-wait")
    assert one is not None and one.undecodable is None and one.wait is not None
    listed = await registry.page_processes(ProcessPageQuery(states=frozenset({"waiting"})))
    assert [record.id for record in listed] == ["one-wait"]
    running = await registry.page_processes(ProcessPageQuery(states=frozenset({"running"})))
    assert [r.id for r in running] == ["escaped", "first-null", "last-null", "too-large"]
    changed, _ = await registry.processes_changed_since(0, 10)
    assert {r.id for r in changed if r.undecodable} == set(pids[:4])


async def test_a_record_that_repeats_any_key_sql_reads_is_undecodable_on_every_path(
    registry: ProcessRegistry, registry_target: str
) -> None:
    """Not only `wait`: every key some reader reads in SQL (the disposition the worker picks
    rows to re-run or abandon by, the kind and label lists filter and sort by, the owner,
    `status.state` in `check`, ...) is read first by SQLite and last by the models and jsonb.
    A record that names one twice, at the path SQL reads, is undecodable wherever it is read,
    with the path in its one sentence; one that repeats a key SQL does not read (inside the
    input) or names a read key once in two places decodes as before."""
    cases = {
        "disposition": lambda r: f'{{"disposition": "rerunnable", {r[1:]}',
        "escaped": lambda r: f'{{"disp\\u006fsition": "rerunnable", {r[1:]}',
        "kind": lambda r: r.replace('"identity": {', '"identity": {"kind": "other", ', 1),
        "state": lambda r: r.replace('"status": {', '"status": {"state": "completed", ', 1),
        "owner": lambda r: r.replace('"owner": {', '"owner": {"owner_id": "ghost", ', 1),
        "input": lambda r: r.replace('"input": {', '"input": {"kind": "x", ', 1),
    }
    for pid in cases:
        await registry.register_process(ob(pid))
        started = ProcessStarted(owner=own("w-1"), started_at_ms=1_000)
        await registry.record_first_started(pid, started, await claim(registry, pid, "w-1"))
    with raw_connection(registry_target) as conn:
        for pid, change in cases.items():
            (text,) = conn.execute(
                "SELECT record_json FROM processes WHERE process_id = ?", (pid,)
            ).fetchone()
            text = change(json.dumps(json.loads(text)))
            conn.execute(
                "UPDATE processes SET record_json = ? WHERE process_id = ?", (text, pid)
            )
    words = {
        "disposition": "`disposition` twice",
        "escaped": "`disposition` twice",
        "kind": "`identity.kind` twice",
        "state": "`status.state` twice",
        "owner": "`first_started.owner.owner_id` twice",
    }
    for pid in cases:
        record = await registry.get_process(pid)
        assert record is not None
        if pid in words:
            assert record.undecodable is not None and words[pid] in record.undecodable, pid
        else:
            assert record.undecodable is None, record.undecodable
    listed = await registry.page_processes(ProcessPageQuery(states=frozenset({"running"})))
    shown = {r.id: r.undecodable is not None for r in listed}
    assert shown == {pid: pid in words for pid in cases}


async def test_census_cursor_follows_the_feed_and_the_feed_after_it_is_the_news(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    await registry.register_process(ext("a"))
    await registry.register_process(ext("b"))
    first, end = await settled_census(registry)
    assert first.cursor == end
    assert await registry.processes_changed_since(first.cursor, 100) == ([], first.cursor)

    await park(registry, "a", clock.now_ms())
    await finish(registry, "b")
    changed, _ = await registry.processes_changed_since(first.cursor, 100)
    assert sorted(record.id for record in changed) == ["a", "b"]

    second, end = await settled_census(registry)
    assert second.cursor == end > first.cursor
    assert second.live == {"a": "waiting"}
    assert second.terminal["completed"] == 1


async def test_pruned_rows_leave_the_census(registry: ProcessRegistry, clock: ManualClock) -> None:
    await registry.register_process(ext("old"))
    await registry.register_process(ext("live"))
    await finish(registry, "old")
    clock.advance(10)
    await registry.prune_terminal_processes(clock.now_ms())
    census = await registry.process_census()
    assert census.terminal == ZERO_TERMINALS
    assert census.live == {"live": "running"}


# --- get_processes --------------------------------------------------------------------------------


async def test_get_processes_returns_the_rows_that_exist(registry: ProcessRegistry) -> None:
    for pid in ("a", "b", "c"):
        await registry.register_process(ext(pid))
    found = await registry.get_processes(["c", "missing", "a", "a"])
    assert set(found) == {"a", "c"}
    assert found["a"] == await registry.get_process("a")
    assert await registry.get_processes([]) == {}


async def test_get_processes_takes_more_ids_than_sqlite_binds_at_once(
    registry: ProcessRegistry,
) -> None:
    # 40,000 ids: more than SQLite's 32,766 bound parameters (and its old limit of 999), so
    # the list must be sent in chunks; the rows that exist sit in different chunks.
    for pid in ("first", "middle", "last"):
        await registry.register_process(ext(pid))
    wanted = [f"missing-{n}" for n in range(40_000)]
    wanted[0], wanted[20_000], wanted[-1] = "first", "middle", "last"
    found = await registry.get_processes(wanted)
    assert sorted(found) == ["first", "last", "middle"]


async def test_a_pruned_row_is_absent_from_a_batch_get(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    await registry.register_process(ext("gone"))
    await registry.register_process(ext("kept"))
    await finish(registry, "gone")
    clock.advance(1)
    await registry.prune_terminal_processes(clock.now_ms())
    assert set(await registry.get_processes(["gone", "kept"])) == {"kept"}


# --- data_version ---------------------------------------------------------------------------------


async def test_data_version_moves_on_another_handles_commit_only(
    tmp_path: Path, clock: ManualClock
) -> None:
    path = str(tmp_path / "shared.db")
    async with (
        open_registry(path, clock=clock) as watcher,
        open_registry(path, clock=clock) as writer,
    ):
        before = await watcher.data_version()
        await watcher.get_process("nothing")
        await writer.list_processes()
        assert await watcher.data_version() == before  # reads change nothing

        await writer.register_process(ext("p"))
        after = await watcher.data_version()
        assert after != before

        await watcher.register_process(ext("own"))  # its own commit: seen through the hub
        assert await watcher.data_version() == after

        lease = await claim(writer, "p")  # a lease is a commit too
        assert await watcher.data_version() != after
        assert lease.process_id == "p"


async def test_data_version_works_read_only(tmp_path: Path, clock: ManualClock) -> None:
    path = str(tmp_path / "ro.db")
    async with open_registry(path, clock=clock) as writer:
        await writer.register_process(ext("p"))
        async with open_registry(path, read_only=True) as reader:
            before = await reader.data_version()
            await writer.register_process(ext("q"))
            assert await reader.data_version() != before
            assert set(await reader.get_processes(["p", "q"])) == {"p", "q"}
            census = await reader.process_census()
            assert census.live == {"p": "running", "q": "running"}
