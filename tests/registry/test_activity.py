"""The Health view's activity read (a lashtui extension), on both stores: starts and ends per
minute by terminal state, running and waiting at each minute's end reconstructed from the
log, and run duration percentiles by kind, every bucket exact for a registry built minute by
minute on a ManualClock; a refresh of the last minutes merged into an earlier read equals a
whole read; and the same answer without the two chart indexes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from lashtui.admin import Processes
from lashtui.clock import ManualClock
from lashtui.errors import InvalidRequest
from lashtui.model import (
    MINUTE_MS,
    RESUMED,
    WAITING,
    CancelledOutput,
    HealthWindow,
    KindDurations,
    ProcessActivity,
    ProcessEventAppendRequest,
    ProcessStarted,
    failure,
)
from lashtui.registry import ProcessRegistry, open_registry
from lashtui.registry.sql import repeated
from lashtui.registry.sql.activity import plans
from lashtui.registry.sql.dialect import Tx
from lashtui.registry.sql.store import SqlProcessRegistry
from lashtui.registry.sqlite.schema import DDL
from tests.builders import ext, own, rr
from tests.registry.rows import claim, finish, park

M0 = 1_780_000_000_000 // MINUTE_MS + 10  # the window's first minute
T0 = M0 * MINUTE_MS


async def _wait(registry: ProcessRegistry, pid: str, ordinal: int, clock: ManualClock) -> None:
    await park(registry, pid, clock.now_ms())
    request = ProcessEventAppendRequest.new(WAITING, {"n": ordinal}, f"{pid}:waiting:{ordinal}")
    await registry.append_event(pid, request)


async def _resume(registry: ProcessRegistry, pid: str, ordinal: int) -> None:
    await registry.clear_process_wait(pid)
    request = ProcessEventAppendRequest.new(RESUMED, {"n": ordinal}, f"{pid}:resumed:{ordinal}")
    await registry.append_event(pid, request)


async def build(registry: ProcessRegistry, clock: ManualClock) -> None:
    """Two rows before the window, three in its first minute; ends, waits and a cancel
    while waiting in the minutes after (see the expected series in the test)."""
    clock.set(T0 - 2 * MINUTE_MS)
    await registry.register_process(ext("old"))
    await registry.register_process(ext("old-wait"))
    clock.set(T0 + 1_000)
    await registry.register_process(ext("a"))
    await registry.register_process(ext("b"))
    clock.set(T0 + 2_000)
    await registry.register_process(rr("c"))
    clock.set(T0 + 30_000)
    started = ProcessStarted(owner=own("worker"), started_at_ms=T0 + 30_000)
    await registry.record_first_started("c", started, await claim(registry, "c"))
    clock.set(T0 + MINUTE_MS + 1_000)
    await finish(registry, "a")  # 60 s
    await _wait(registry, "b", 1, clock)
    clock.set(T0 + 2 * MINUTE_MS)
    await finish(registry, "old", failure("boom", "it broke"))  # 240 s
    await _resume(registry, "b", 1)
    clock.set(T0 + 3 * MINUTE_MS + 59_999)
    await _wait(registry, "b", 2, clock)
    await _wait(registry, "old-wait", 1, clock)
    clock.set(T0 + 4 * MINUTE_MS + 5_000)
    await finish(registry, "b", CancelledOutput(message="requested by host"))  # 244 s
    clock.set(T0 + 4 * MINUTE_MS + 10_000)
    await finish(registry, "c")  # 220 s from its first start (under a fresh lease)


EXPECTED = ProcessActivity(
    first_minute=M0,
    started=(3, 0, 0, 0, 0),
    ended={
        "completed": (0, 1, 0, 0, 1),
        "failed": (0, 0, 1, 0, 0),
        "cancelled": (0, 0, 0, 0, 1),
        "abandoned": (0, 0, 0, 0, 0),
    },
    # live at each minute's end: 5, 4, 3, 3, 1; waiting: 0, 1, 0, 2, 1
    running=(5, 3, 3, 1, 0),
    waiting=(0, 1, 0, 2, 1),
    durations=(
        KindDurations(kind="external", runs=3, p50_ms=240_000, p90_ms=244_000, p99_ms=244_000),
        KindDurations(kind="echo", runs=1, p50_ms=220_000, p90_ms=220_000, p99_ms=220_000),
    ),
    duration_runs=4,
)


async def test_every_bucket_is_exact(registry: ProcessRegistry, clock: ManualClock) -> None:
    await build(registry, clock)
    assert await registry.process_activity(M0, M0 + 4, 1_000) == EXPECTED


async def test_the_durations_cover_the_latest_runs_only(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    await build(registry, clock)
    activity = await registry.process_activity(M0, M0 + 4, 2)  # c, then b
    assert activity.duration_runs == 2
    assert [(d.kind, d.runs, d.p50_ms) for d in activity.durations] == [
        ("echo", 1, 220_000),
        ("external", 1, 244_000),
    ]
    later = await registry.process_activity(M0 + 3, M0 + 4, 1_000, runs_from_minute=M0 + 2)
    assert later.started == (0, 0) and later.running == (1, 0) and later.waiting == (2, 1)
    assert later.duration_runs == 3  # old, b and c ended from M0+2 on; a before


async def test_a_refresh_of_the_last_minutes_equals_a_whole_read(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    await build(registry, clock)
    processes = Processes(registry, clock=clock)
    now = T0 + 4 * MINUTE_MS + 30_000
    window = HealthWindow.QUARTER_HOUR
    for earlier_ms in (now - 2 * MINUTE_MS, now - MINUTE_MS, now):
        earlier = await processes.activity(window, earlier_ms)
        whole = await processes.activity(window, now)
        assert await processes.activity(window, now, since=earlier) == whole
    assert whole.minutes == 15 and whole.started[-5:] == EXPECTED.started
    assert whole.running[-5:] == EXPECTED.running and whole.waiting[-5:] == EXPECTED.waiting
    # Carried forwards from the levels before the range, not back from the rows live now.
    forwards = await registry.process_activity(
        M0 + 3, M0 + 4, 1_000, runs_from_minute=M0, levels_before=(3, 0)
    )
    assert (forwards.running, forwards.waiting) == ((1, 0), (2, 1))
    assert forwards.durations == EXPECTED.durations


async def test_a_bad_range_is_one_sentence(registry: ProcessRegistry) -> None:
    with pytest.raises(InvalidRequest, match="must end at or after its first minute"):
        await registry.process_activity(M0 + 1, M0, 10)
    with pytest.raises(InvalidRequest, match="got `-1`"):
        await registry.process_activity(M0, M0, -1)


async def test_a_file_without_the_chart_indexes_answers_the_same(
    tmp_path: Path, clock: ManualClock
) -> None:
    path = str(tmp_path / "old.db")
    async with open_registry(path, clock=clock) as registry:
        await build(registry, clock)
        earlier = await registry.process_activity(M0, M0 + 3, 2)  # ends after the range
    conn = sqlite3.connect(path)
    conn.execute("DROP INDEX processes_created_idx")
    conn.execute("DROP INDEX process_events_transition_idx")
    conn.commit()
    conn.close()
    scanned = {"scanned": True}
    async with open_registry(path, clock=clock, read_only=True) as registry:
        assert await registry.process_activity(M0, M0 + 4, 1_000) == EXPECTED.model_copy(
            update=scanned
        )
        assert await registry.process_activity(M0, M0 + 3, 2) == earlier.model_copy(update=scanned)


async def test_the_store_without_the_chart_indexes_answers_the_same(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    await build(registry, clock)
    whole = await registry.process_activity(M0, M0 + 4, 2)
    assert isinstance(registry, SqlProcessRegistry)
    for index in ("processes_created_idx", "process_events_transition_idx"):
        await registry._db.write(_drop, index)
    scanned = {"scanned": True}
    assert await registry.process_activity(M0, M0 + 4, 1_000) == EXPECTED.model_copy(update=scanned)
    assert await registry.process_activity(M0, M0 + 4, 2) == whole.model_copy(update=scanned)


def _drop(conn: Tx, index: str) -> None:
    conn.execute(f"DROP INDEX {index}")


def test_the_reads_walk_the_chart_indexes(tmp_path: Path) -> None:
    conn = sqlite3.connect(str(tmp_path / "plan.db"))
    repeated.install(conn)  # (the function the runs' facts ask: sql/activity.py)
    for statement in DDL:
        conn.execute(statement)
    per_minute, later, waiting_now, waits_ended, by_terminals, latest, facts = plans(conn)
    index = "SEARCH e USING COVERING INDEX process_events_transition_idx (event_type=? AND "
    created = "SEARCH processes USING COVERING INDEX processes_created_idx (created_at_ms>? AND"
    for counts in (per_minute, later):  # one range count per column: 6 event types, starts
        assert counts.count(index) == 6 and counts.count(created) == 1, counts
    waiters = "SEARCH w USING COVERING INDEX process_events_transition_idx (event_type=? AND "
    for plan in (waiting_now, waits_ended):  # driven by the processes that entered a wait
        assert plan.startswith(f"CO-ROUTINE x / {waiters}"), plan
        assert "SEARCH l USING INDEX sqlite_autoindex_process_events_1 (process_id=?" in plan
    assert "SEARCH p USING COVERING INDEX processes_status_process_idx" in waiting_now
    assert "SEARCH t USING INDEX sqlite_autoindex_process_events_1 (process_id=?)" in waits_ended
    # Or driven by the terminal events of the range, when they are fewer than the waiters.
    assert by_terminals.startswith("SEARCH t USING COVERING INDEX process_events_transition_idx")
    assert "SEARCH l USING INDEX sqlite_autoindex_process_events_1 (process_id=?" in by_terminals
    # The latest runs of one type: a bounded walk of the index; then their rows by key.
    assert latest == f"{index}occurred_at_ms>? AND occurred_at_ms<?)", latest
    assert facts == "SEARCH p USING INDEX sqlite_autoindex_processes_1 (process_id=?)", facts
    for plan in (per_minute, later, waiting_now, waits_ended, by_terminals):
        scans = plan.replace("SCAN CONSTANT ROW", "").replace("SCAN minute", "")
        assert "SCAN" not in scans.replace("SCAN x", ""), plan
