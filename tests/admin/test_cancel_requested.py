"""A live row with a pending cancel request says so in every read of rows
(`ObservedProcess.cancel_requested`): the request is an event, which no list read, so such a
row looked untouched until a worker ended it. The facade reads it for the live rows it
observes in one read (`processes_asked_to_cancel`), over every backend."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from lashtui.admin import Processes
from lashtui.model import (
    ProcessListFilter,
    ProcessPageQuery,
    ProcessStatusFilter,
    SuccessOutput,
)
from lashtui.registry import ProcessRegistry
from lashtui.registry.sql.log_read import CANCEL_REQUESTED_TERM, asked_to_cancel
from lashtui.registry.sqlite import SqliteProcessRegistry
from tests.builders import ext, ob


async def test_a_live_row_with_a_cancel_request_says_so_in_every_read(
    processes: Processes, registry: ProcessRegistry
) -> None:
    await registry.register_process(ob("asked"))
    await registry.register_process(ob("quiet"))
    await registry.register_process(ext("ended"))
    for pid in ("asked", "ended"):
        outcome = await processes.actions.cancel(pid, "stale", operator="dana@h")
        assert outcome.outcome == "requested"
    await registry.complete_process("ended", SuccessOutput(value=1))  # it ended all the same
    wanted = {"asked": True, "quiet": False, "ended": False}

    page = await processes.page(ProcessPageQuery(states=None, limit=10))
    assert {p.process_id: p.cancel_requested for p in page} == wanted
    listed = await processes.list(ProcessListFilter(status=ProcessStatusFilter.ANY))
    assert {p.process_id: p.cancel_requested for p in listed} == wanted
    observed = await processes.observe(list(wanted))
    assert {pid: p.cancel_requested for pid, p in observed.items()} == wanted
    changed, _ = await processes.changes_since(0, 10)
    assert {p.process_id: p.cancel_requested for p in changed} == wanted
    for pid, asked in wanted.items():
        process = await processes.get(pid)
        assert process is not None and process.cancel_requested is asked
        # In JSON only where true: lash's shape is unchanged for every other row.
        assert ("cancel_requested" in process.model_dump(mode="json")) is asked


async def test_many_rows_are_read_in_one_call_and_answered_each(
    processes: Processes, registry: ProcessRegistry
) -> None:
    """600 live rows, past the 500 ids one statement binds: each is answered."""
    ids = [f"p-{n:04d}" for n in range(600)]
    for pid in ids:
        await registry.register_process(ob(pid))
    asked = set(ids[::100]) | {ids[-1]}
    for pid in sorted(asked):
        await processes.actions.cancel(pid, operator="dana@h")
    listed = await processes.list(ProcessListFilter(status=ProcessStatusFilter.ANY))
    assert {p.process_id for p in listed if p.cancel_requested} == asked
    assert await registry.processes_asked_to_cancel(ids) == asked
    assert await registry.processes_asked_to_cancel([]) == set()


def test_the_read_walks_cancel_requests_not_a_rows_whole_log(tmp_path: Path) -> None:
    """The read is served by a partial index only cancel requests enter: a live row whose
    log holds many other events is not walked to find it has none. By the primary key (the
    first build of this read) a row with 1,000,000 events cost 130 ms at every refresh. A
    registry without the index (an older lashtui's, before `lashtui index`) answers the
    same, by the primary key."""
    db = str(tmp_path / "plan.db")

    async def made() -> None:
        registry = await SqliteProcessRegistry.open(db)
        await registry.close()

    asyncio.run(made())
    # (No statement cache: a cached EXPLAIN goes on showing the plan of a dropped index.)
    conn = sqlite3.connect(db, cached_statements=0)
    conn.execute("PRAGMA foreign_keys = OFF")
    rows = [("hot", n, "agent.progress", "h", None, n, "{}") for n in range(50_000)]
    rows += [("asked", 1, "process.cancel_requested", "h", None, 0, "{}")]
    conn.executemany("INSERT INTO process_events VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    conn.commit()

    def plan() -> str:
        return " ".join(
            row[-1]
            for row in conn.execute(
                "EXPLAIN QUERY PLAN SELECT DISTINCT process_id FROM process_events WHERE "
                f"{CANCEL_REQUESTED_TERM} AND process_id IN (?, ?)",
                ("hot", "asked"),
            )
        )

    assert "INDEX process_events_cancel_idx (process_id=?)" in plan()
    ran: list[str] = []  # (the read's own statement too: its sequence test keeps the index)
    conn.set_trace_callback(ran.append)
    assert asked_to_cancel(conn, ["hot", "asked", "none"]) == {"asked"}
    conn.set_trace_callback(None)
    (read,) = ran
    explained = " ".join(row[-1] for row in conn.execute(f"EXPLAIN QUERY PLAN {read}"))
    assert "INDEX process_events_cancel_idx (process_id=?)" in explained
    conn.execute("DROP INDEX process_events_cancel_idx")
    assert "process_events_cancel_idx" not in plan()
    assert asked_to_cancel(conn, ["hot", "asked", "none"]) == {"asked"}
    conn.close()
