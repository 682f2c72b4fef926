"""`python -m benchmarks --smoke` (the quick run, once, at the smallest sizes that still
measure every figure) runs whole on a fresh checkout: every figure is measured next to its
peer and written as JSON. No time is asserted (the machines are noisy): what is checked is
that every benchmark still runs, measures something, and says whether it holds.

With a PostgreSQL server (CI sets LASHTUI_TEST_POSTGRES), the PostgreSQL figures of P1-P3
and D1 must be measured too; without one they must still be reported, as not measured."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from benchmarks import (
    p1_budget,
    p2_primitives,
    p3_budget,
    p3_no_double_run,
    pg1_peers,
    pg_server,
    profile,
    sql_floor,
)
from benchmarks.__main__ import BENCHMARKS, FULL_ONLY, ON_POSTGRES
from benchmarks.cpu import CpuMeter
from benchmarks.report import Mode, print_table
from lashtui.registry.sqlite.connect import RegistryConnection
from tests.conftest import postgres_server

ROOT = Path(__file__).resolve().parent.parent


def test_the_smoke_run_measures_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    env = {**os.environ, "TMPDIR": str(tmp_path)}  # the seeded registries go with the test
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--smoke", "--json", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    document = json.loads(out.read_text())
    assert document["mode"] == "smoke"
    figures = document["figures"]
    assert {f["id"] for f in figures} == set(BENCHMARKS)
    on_postgres = [f for f in figures if f["store"] == pg_server.STORE]
    assert {f["id"] for f in on_postgres} == set(ON_POSTGRES)
    server = pg_server.server_url() is not None
    for figure in figures:
        if not figure["measured"]:
            # Only a PostgreSQL figure may go unmeasured, and only without a server.
            assert figure["store"] == pg_server.STORE and not server, figure
            assert figure["not_measured"] and not figure["lashtui"], figure
            assert figure["holds"] is None, figure
            continue
        assert figure["lashtui"] and all(v >= 0 for v in figure["lashtui"]), figure
        if figure["rule"]:
            assert figure["holds"] in (True, False), figure
    table = done.stdout
    for name in BENCHMARKS:
        assert f"\n{name} " in table, name
    for name in ON_POSTGRES:
        assert f"\n{name} ({pg_server.STORE}) " in table, name


def test_without_a_server_the_postgresql_figures_say_why(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in pg_server.ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    pg_server.unavailable.cache_clear()
    try:
        figures = p2_primitives.run(Mode(quick=True, repeats=1))
    finally:
        pg_server.unavailable.cache_clear()
    on_postgres = [f for f in figures if f.store == pg_server.STORE]
    assert on_postgres and all(f.not_measured for f in on_postgres)
    assert all(f.lashtui for f in figures if f.store != pg_server.STORE)
    reason = on_postgres[0].not_measured
    assert reason is not None and "LASHTUI_TEST_POSTGRES" in reason
    data = on_postgres[0].as_json()
    assert (data["measured"], data["median"], data["ratio"], data["holds"]) == (
        False, None, None, None,
    )  # fmt: skip
    print_table(figures)
    table = capsys.readouterr().out
    assert f"\nP2 ({pg_server.STORE}) " in table
    assert f"P2 ({pg_server.STORE}): not measured: {reason}" in table


def test_pg1_runs_outside_quick_mode_and_says_why_without_a_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """PG1 (lashtui on PostgreSQL beside procrastinate and pgqueuer) takes minutes, so the
    quick run above leaves it out; without a server each of its figures says why."""
    assert "PG1" in FULL_ONLY and "PG1" not in BENCHMARKS
    for name in pg_server.ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    pg_server.unavailable.cache_clear()
    try:
        figures = pg1_peers.run(Mode(quick=True, repeats=1))
    finally:
        pg_server.unavailable.cache_clear()
    assert len(figures) == len(pg1_peers.specs(100, 200))
    for figure in figures:
        assert (figure.id, figure.store) == ("PG1", pg_server.STORE)
        assert figure.not_measured and "LASHTUI_TEST_POSTGRES" in figure.not_measured
        assert figure.holds is None
    targets = [f for f in figures if f.rule]
    assert {f.rule for f in targets} == {"ratio>=:1", "all<=:0"}


def test_the_p1_profile_charges_every_step_of_a_process(tmp_path: Path) -> None:
    """`python -m benchmarks.profile` (the evidence for what bounds P1) still runs, and
    its table has a row for each step of a process's life, each with time in it."""
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.profile", "--count", "300", "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "p1-flat.txt", "p1-phases.txt", "p1.txt",
    ]  # fmt: skip
    table = (tmp_path / "p1-phases.txt").read_text()
    for step in set(profile.PHASES.values()) - profile.OCCASIONAL:
        row = next((line for line in table.splitlines() if line.startswith(step)), None)
        assert row is not None, step
        assert int(row.split()[-1]) > 0, row  # us per process, all columns
    assert "SQLite" in table and "pydantic" in table


def test_the_p1_budget_names_the_tree_of_every_page_a_process_writes() -> None:
    """`python -m benchmarks.p1_budget`'s WAL count (the evidence for P1's kernel share):
    every frame a stretch of P1's processes appends is a page of one of the registry's
    tables or indexes, each process writes its row, its event and its lease, and a
    registry with only lash's layout writes the same pages for lash's trees and none for
    the indexes lashtui adds."""
    if not p1_budget._has_dbstat():
        pytest.skip("this SQLite has no dbstat table")
    full_frames, full = p1_budget.wal_frames(lash_layout_only=False)
    lean_frames, lean = p1_budget.wal_frames(lash_layout_only=True)
    for by_tree in (full, lean):
        assert not [name for name in by_tree if name.startswith("page ")], by_tree
        for tree in ("processes", "process_events", "process_leases"):
            assert by_tree[tree] >= p1_budget.STRETCH, (tree, by_tree)
    assert set(lean) & set(p1_budget.LASHTUI_INDEXES) == set()
    assert set(full) - set(lean) <= set(p1_budget.LASHTUI_INDEXES)
    assert "processes_status_updated_idx" in full  # every process's terminal moves it
    for tree, count in lean.items():
        if tree != "sqlite_schema":  # page 1: written when the file grows, which varies
            assert abs(full[tree] - count) <= p1_budget.STRETCH // 10, (tree, full, lean)
    assert lean_frames < full_frames


def test_the_p1_budget_charges_each_line_to_its_library() -> None:
    """callgrind_annotate leaves out the object of a function's code from a second source
    file: such a line is told by its path (CPython's tree, glibc's), and the libraries sum
    to the total."""
    annotated = """\
--------------------------------------------------------------------------------
Ir
--------------------------------------------------------------------------------
1,000 (100.0%)  PROGRAM TOTALS
--------------------------------------------------------------------------------
Ir                  file:function
--------------------------------------------------------------------------------
400 (40.00%)  /tmp/b/Python-3.11.7/Python/ceval.c:_PyEval_EvalFrame [/lib/libpython3.11.so.1.0]
250 (25.00%)  ???:sqlite3VdbeExec [/usr/lib/x86_64-linux-gnu/libsqlite3.so.0.8.6]
200 (20.00%)  /tmp/b/Python-3.11.7/Objects/dictobject.c:_PyDict_Next
 80 ( 8.00%)  ./malloc/./malloc/arena.c:free
 50 ( 5.00%)  ???:0x0000000000001234 [/usr/lib/x86_64-linux-gnu/libcrypto.so.3]
 20 ( 2.00%)  ???:0x00000000000abcde [???]
"""
    counts = p1_budget.by_library(annotated)
    assert counts == {
        "total": 1_000,
        "the interpreter (CPython)": 600,
        "SQLite": 250,
        "libc": 80,
        "OpenSSL (hashes)": 50,
        "other": 20,
    }


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_the_p3_budget_drains_its_backlog_each_row_once_and_refuses_less(store: str) -> None:
    """`python -m benchmarks.p3_budget` counts what its worker does to a backlog: the
    worker it spawns (run here without valgrind) drains every row once, and a backlog left
    undrained is refused, not counted as a cheap one."""
    if store == "postgres":
        postgres_server()  # skips without a server, fails without one in CI
    with p3_budget.backlog(20, store) as (record, argv):
        subprocess.run(argv, cwd=ROOT, check=True, timeout=120, capture_output=True)
        ran = p3_no_double_run.read_record(record)
    assert ran == {f"p3-{n:06d}": 1 for n in range(20)}
    with pytest.raises(RuntimeError, match="ran 0 times over 0 rows"), p3_budget.backlog(5, store):
        pass


def test_the_p3_budgets_huey_side_drains_each_task_once() -> None:
    """The peer's count in `p3_budget` (huey's consumer under valgrind) is of a drain that
    ran every task exactly once and ended; run here without valgrind, so no count file."""
    assert p3_budget.huey_drain(20, dict(os.environ), []) == []


def test_the_sql_floor_replays_p1_and_a_p3_workers_sql_to_every_row_completed() -> None:
    """`python -m benchmarks.sql_floor` records P1 and a real P3 worker's drain and replays
    their statements: each replay must end every row completed (a P3 completion dealt to
    another process than its claim, or run before it, would leave rows running and fail
    it), and the recording is taken off again."""
    execute = RegistryConnection.execute
    [(rate, cpu)] = sql_floor.measure_p1(count=40, repeats=1)
    assert rate > 0 and cpu > 0 and RegistryConnection.execute is execute
    results = sql_floor.measure(rows=80, repeats=1, workers=(1, 2))
    for workers in (1, 2):
        [(rate, cpu)] = results[workers]
        assert rate > 0 and cpu > 0
    units = [
        [("BEGIN IMMEDIATE", ()), ("INSERT INTO process_leases VALUES (?)", ("p3-000001",)),
         ("COMMIT", ())],
        [("BEGIN IMMEDIATE", ()), ("INSERT INTO process_leases VALUES (?)", ("p3-000002",)),
         ("COMMIT", ())],
        [("BEGIN IMMEDIATE", ()), ("UPDATE processes SET x = ? WHERE process_id = ?",
                                   ("{}", "p3-000002")), ("COMMIT", ())],
        [("BEGIN IMMEDIATE", ()), ("UPDATE processes SET x = ? WHERE process_id = ?",
                                   ("{}", "p3-000001")), ("COMMIT", ())],
    ]  # fmt: skip
    first, second = sql_floor.deal(units, 2)  # claims in turn, each completion with its claim
    assert first == [units[0], units[3]] and second == [units[1], units[2]]


class FakeTime:
    """`time.monotonic` and `time.sleep` for the census: sleeping moves the clock."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_a_census_counts_less_often_while_the_end_is_far_and_sees_the_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A drain of 1,000 rows at a steady rate that ends at 1.0 s: counted every POLL_S it
    # would be ~100 counts. The census waits half of what the last rate says is left, and
    # still stops within POLL_S of the end.
    clock = FakeTime()
    monkeypatch.setattr(p3_no_double_run, "time", clock)
    counts: list[float] = []

    def count() -> int:
        counts.append(clock.now)
        return min(1_000, int(clock.now * 1_000))

    p3_no_double_run.wait_for_count(count, 1_000, "the rows", guard_s=10)
    assert 1.0 <= clock.now <= 1.0 + p3_no_double_run.POLL_S
    assert len(counts) < 1.0 / p3_no_double_run.POLL_S / 2  # at least two times fewer


def test_a_census_that_never_reaches_its_total_times_out_naming_what(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(p3_no_double_run, "time", FakeTime())
    with pytest.raises(RuntimeError, match="timed out waiting for the rows"):
        p3_no_double_run.wait_for_count(lambda: 5, 10, "the rows", guard_s=1)


def test_a_cpu_meter_reads_what_its_processes_spent_and_nothing_once_one_is_gone() -> None:
    meter = CpuMeter([os.getpid()])
    meter.start()
    busy_until = time.process_time() + 0.05
    while time.process_time() < busy_until:
        pass
    spent = meter.stop()
    assert spent is not None and spent >= 0.02  # /proc counts in ticks of 10 ms
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    meter = CpuMeter([os.getpid(), gone.pid])
    meter.start()
    assert meter.stop() is None  # its time cannot be read: not counted as nothing


def test_a_cpu_meter_reads_the_machine_beside_its_processes_and_their_switches() -> None:
    """A row's CPU moves with how busy others keep the vCPUs (cpu.py): the meter says how
    busy the whole machine was and how often the processes' threads waited or were
    switched out, their threads beside the main one included."""
    import threading

    slept, done = threading.Event(), threading.Event()

    def sleep() -> None:
        for _ in range(20):
            time.sleep(0.001)
        slept.set()
        done.wait()  # alive when the meter stops: a thread's counts end with it

    sleeper = threading.Thread(target=sleep)
    meter = CpuMeter([os.getpid()])
    meter.start()
    sleeper.start()
    busy_until = time.process_time() + 0.05
    while time.process_time() < busy_until:
        pass
    slept.wait()
    spent = meter.stop()
    done.set()
    sleeper.join()
    assert spent is not None and meter.others_busy is not None and meter.switches is not None
    assert 0 <= meter.others_busy <= (os.cpu_count() or 1)
    waited, _switched_out = meter.switches
    assert waited >= 20  # each sleep of the other thread is a wait


def test_a_cpu_meter_counts_no_switches_off_for_a_thread_that_ended_meanwhile() -> None:
    """A thread that waited often before the meter started and ended before it stopped
    takes its counts with it: they must not come off the threads still running (PG1's
    drains printed 'waited -0.09' a job)."""
    import threading

    waited_often, leave = threading.Event(), threading.Event()

    def wait_often() -> None:
        for _ in range(100):
            time.sleep(0.0005)
        waited_often.set()
        leave.wait()

    thread = threading.Thread(target=wait_often)
    thread.start()
    waited_often.wait()
    meter = CpuMeter([os.getpid()])
    meter.start()
    leave.set()
    thread.join()
    meter.stop()
    assert meter.switches is not None
    assert min(meter.switches) >= 0


def test_the_p3_cpu_note_says_what_else_kept_the_machine_busy() -> None:
    drains = [
        p3_no_double_run.Drain(1_000, 1.0, Counter(), cpu_s=0.4, others_busy=1.5,
                               switches=(300, 500)),
        p3_no_double_run.Drain(1_000, 2.0, Counter(), cpu_s=0.8, others_busy=0.8,
                               switches=(100, 200)),
    ]  # fmt: skip
    assert p3_no_double_run.cpu_note({"lashtui": drains}) == (
        "CPU on the clock (medians): lashtui 600 us a row, 0.40 cores busy "
        "(1.15 more by other processes; switched out 0.35 a row, waited 0.20)"
    )
    drains[0].others_busy = None  # not read for one drain: nothing said of the others
    assert p3_no_double_run.cpu_note({"lashtui": drains}) == (
        "CPU on the clock (medians): lashtui 600 us a row, 0.40 cores busy"
    )


def test_the_p3_ceiling_note_says_the_rows_the_cpu_allows_and_the_cpu_the_target_allows() -> None:
    def drain(rows: int, elapsed: float, cpu_s: float | None) -> p3_no_double_run.Drain:
        return p3_no_double_run.Drain(rows, elapsed, Counter(), cpu_s=cpu_s)

    # 400 us of CPU a row: 2 CPUs drain at most 5,000 rows/s; the peer's 8,000 rows/s
    # leaves at most 250 us a row.
    ours = [drain(10_000, 2.5, 4.0), drain(10_000, 2.0, 4.0), drain(10_000, 3.0, 4.0)]
    peer = [drain(10_000, 1.25, None), drain(10_000, 1.0, None), drain(10_000, 2.0, None)]
    note = p3_no_double_run.ceiling_note(ours, peer, cpus=2)
    assert note == (
        "CPU ceiling: at 400 us a row, 2 CPUs drain at most 5,000 rows/s; "
        "1.0x huey (8,000/s) needs at most 250 us a row"
    )
    ours[1].cpu_s = None  # one drain's CPU not read: no ceiling from the others alone
    assert p3_no_double_run.ceiling_note(ours, peer, cpus=2) == "CPU ceiling: not read"
