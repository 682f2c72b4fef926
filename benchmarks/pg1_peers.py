"""PG1: lashtui on PostgreSQL beside procrastinate (the target) and pgqueuer (context), on
the same server in the same run, in P1's and P3's shapes, plus a 1/2/4-worker drain scaling
table (performance.md's PG1; issue 20 item 4).

Full mode only (`python -m benchmarks --only PG1`, or a full run): a repeat takes minutes at
the spec's sizes, and the peers are optional dependencies (`pip install 'lashtui[bench]'`).
`--quick --only PG1` runs it small. Without a server, or without the peers installed, every
PG1 figure is reported as not measured, with the reason.

Shapes, each side in turn within a repeat (so drift on a shared machine hits them all):

- end to end, 1 process (P1's shape, 5,000 jobs; 100 quick): lashtui is P1's own run
  (`p1_end_to_end.lashtui_rate`: the facade starts each rerunnable no-op process, awaited
  one after another, the embedded worker runs them; clock to the worker idle) in a fresh
  schema; procrastinate and pgqueuer defer/enqueue each job awaited one after another
  while a worker in the same process runs them (benchmarks/procrastinate_peer.py,
  benchmarks/pgqueuer_peer.py), each in a fresh database.
- drain with K worker OS processes (P3's shape, 10,000 jobs; 200 quick), K = 1, 2, 4:
  the jobs are in before the clock; the workers import and connect, then wait on a hold
  file; the clock runs from the hold file to a census (every 10 ms) counting every job
  finished. lashtui is P3's own run (`p3_no_double_run.lashtui_drain`, lash's default
  lease timings) in a fresh schema; the peers each in a fresh database. pgqueuer runs at
  K = 4 only (context).

Exactly once, in every run of every side: each execution appends `<job> <os pid>` to a
file with one O_APPEND write (outside the registry and the queues); a job run twice, a job
never run, a worker that exits non-zero or logs a warning, or (lashtui) a row not
`completed` counts against it.

What would make it unfair: a lashtui run is a fenced lease claim, a started fact, a
terminal event and a release, with a change feed; a procrastinate job is a row claimed with
`FOR UPDATE SKIP LOCKED` and finished with one call; pgqueuer claims 10 jobs per statement
and writes completions in batches (a crash can re-run a finished job). The server is the
test one (fsync=off, loopback; the note prints its settings), so no side waits for a disk.
"""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from benchmarks import p1_end_to_end, pg_server
from benchmarks.cpu import CpuMeter
from benchmarks.p3_no_double_run import (
    GUARD_ROWS_PER_S,
    GUARD_S,
    Drain,
    cpu_note,
    lashtui_drain,
    read_record,
    reap,
    spawn,
    wait_for,
    wait_for_count,
)
from benchmarks.p3_worker import Recorder
from benchmarks.report import Figure, Mode, print_table, scratch, write_json

WORKER_COUNTS = (1, 2, 4)
PEERS = {
    "procrastinate": "benchmarks.procrastinate_peer",
    "pgqueuer": "benchmarks.pgqueuer_peer",
}
TARGET_PEER = "procrastinate"
CONTEXT_PEER_WORKERS = 4  # pgqueuer is context: the drain at 4 workers only


def missing_peers() -> str | None:
    """Why the peers cannot run here (one line), or None."""
    for name in ("procrastinate", "pgqueuer", "asyncpg"):
        try:
            importlib.import_module(name)
        except ImportError:
            return f"{name} is not installed: pip install 'lashtui[bench]'"
    return None


def guard_s(jobs: int) -> float:
    return max(GUARD_S, jobs / GUARD_ROWS_PER_S)


# --- one run of each side ------------------------------------------------------------------


def lashtui_e2e(jobs: int) -> Drain:
    with scratch("pg1") as tmp, pg_server.scratch_schema("pg1") as url:
        recorder = Recorder(os.path.join(tmp, "record"))

        async def noop(ctx: Any, payload: Any) -> object:
            recorder.record(ctx.process_id)
            return None

        rate = p1_end_to_end.lashtui_rate(url, jobs, engine=noop)
        return Drain(jobs, jobs / rate, read_record(recorder.path))


def peer_e2e(peer: str, jobs: int) -> Drain:
    module = importlib.import_module(PEERS[peer])
    with scratch("pg1") as tmp, pg_server.scratch_database(peer) as url:
        record = os.path.join(tmp, "record")
        elapsed = module.e2e(url, jobs, record, guard_s(jobs))
        return Drain(jobs, elapsed, read_record(record))


def lashtui_scaled(jobs: int, workers: int) -> Drain:
    with scratch("pg1") as tmp, pg_server.scratch_schema("pg1") as url:
        return lashtui_drain(tmp, jobs, workers, url=url)


def peer_drain(peer: str, jobs: int, workers: int) -> Drain:
    """`workers` OS processes of `peer` drain `jobs` jobs put in a fresh database first."""
    import psycopg

    module = importlib.import_module(PEERS[peer])
    with scratch("pg1") as tmp, pg_server.scratch_database(peer) as url:
        module.prefill(url, jobs)
        hold = os.path.join(tmp, "hold")
        names = [(f"record-{k}", f"ready-{k}", f"stderr-{k}.log") for k in range(workers)]
        paths = [tuple(os.path.join(tmp, name) for name in row) for row in names]
        children = [
            spawn([sys.executable, "-m", PEERS[peer], url, record, ready, hold], log)
            for record, ready, log in paths
        ]
        census_sql = module.CENSUS if peer == "procrastinate" else module.census(jobs)
        meter = CpuMeter([child.pid for child in children], url)
        try:
            with psycopg.connect(url, autocommit=True) as census:
                wait_for(lambda: all(os.path.exists(p[1]) for p in paths), f"{peer} workers")
                meter.start()
                start = time.perf_counter()
                open(hold, "w").close()
                wait_for_count(lambda: _count(census, census_sql), jobs, f"{peer}: every job",
                               guard_s(jobs))  # fmt: skip
                elapsed = time.perf_counter() - start
                cpu_s = meter.stop()
            errors = _reap(children, [p[2] for p in paths])
        finally:
            reap(children)
        executions: Counter[str] = Counter()
        for record, _, _ in paths:
            executions.update(read_record(record))
        return Drain(
            jobs, elapsed, executions, errors, cpu_s, None, meter.others_busy, meter.switches
        )


def _count(conn: Any, sql: str) -> int:
    row = conn.execute(sql).fetchone()
    return int(row[0]) if row else 0


def _reap(children: list[subprocess.Popen[bytes]], logs: list[str]) -> list[str]:
    """Each worker's exit code and logged warnings, as errors."""
    errors = []
    for k, child in enumerate(children):
        if (code := child.wait(timeout=60)) != 0:
            errors.append(f"worker {k} exited {code}")
        with open(logs[k], encoding="utf-8", errors="replace") as log:
            logged = [line for line in log if line.startswith(("WARNING", "ERROR", "Trace"))]
        errors.extend(f"worker {k}: {line.strip()}" for line in logged)
    return errors


# --- the run and its figures ---------------------------------------------------------------

Runs = dict[tuple[str, str], list[Drain]]  # (side, shape) -> one Drain per repeat


def measure(repeats: int, e2e_jobs: int, drain_jobs: int) -> Runs:
    runs: Runs = {}

    def add(side: str, shape: str, run: Callable[[], Drain]) -> None:
        drain = run()
        runs.setdefault((side, shape), []).append(drain)
        print(f"  PG1 {side} {shape}: {drain.rows / drain.elapsed:,.0f}/s, "
              f"{drain.wrong} wrong", file=sys.stderr, flush=True)  # fmt: skip

    for _ in range(repeats):
        add("lashtui", "e2e", lambda: lashtui_e2e(e2e_jobs))
        for peer in PEERS:
            add(peer, "e2e", lambda peer=peer: peer_e2e(peer, e2e_jobs))  # type: ignore[misc]
        for workers in sorted(WORKER_COUNTS, reverse=True):
            shape = f"drain{workers}"
            add("lashtui", shape, lambda w=workers: lashtui_scaled(drain_jobs, w))  # type: ignore[misc]
            add(TARGET_PEER, shape, lambda w=workers: peer_drain(TARGET_PEER, drain_jobs, w))  # type: ignore[misc]
            if workers == CONTEXT_PEER_WORKERS:
                add("pgqueuer", shape, lambda w=workers: peer_drain("pgqueuer", drain_jobs, w))  # type: ignore[misc]
    return runs


def run(mode: Mode, e2e_jobs: int | None = None, drain_jobs: int | None = None) -> list[Figure]:
    """PG1's figures; the sizes are the spec's (quick: small) unless given."""
    e2e_jobs = e2e_jobs or mode.size(100, 5_000)
    drain_jobs = drain_jobs or mode.size(200, 10_000)
    skip = pg_server.unavailable() or missing_peers()
    if skip is not None:
        return [Figure.unmeasured(reason=skip, **spec)
                for spec in specs(e2e_jobs, drain_jobs).values()]  # fmt: skip
    load_before = os.getloadavg()
    runs = measure(mode.repeats, e2e_jobs, drain_jobs)
    load_after = os.getloadavg()
    load = (
        f"load average (1/5/15 min) before PG1: {'/'.join(f'{v:.1f}' for v in load_before)}, "
        f"after: {'/'.join(f'{v:.1f}' for v in load_after)}; {pg_server.settings()}"
    )
    return figures(e2e_jobs, drain_jobs, runs, load)


def main(argv: list[str] | None = None) -> int:
    """`python -m benchmarks.pg1_peers [--e2e N] [--drain N] [--repeats R] [--json PATH]`:
    PG1 alone at other sizes than the spec's (a repeat at the spec's sizes took over 40
    minutes on a 2-vCPU machine at load average 10-17)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.pg1_peers")
    parser.add_argument("--e2e", type=int, default=5_000, help="jobs end to end (5,000)")
    parser.add_argument("--drain", type=int, default=10_000, help="jobs drained (10,000)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    mode = Mode(quick=False, repeats=args.repeats)
    found = run(mode, args.e2e, args.drain)
    print_table(found)
    if args.json:
        write_json(args.json, found, mode)
    return 0


def _rates(drains: list[Drain]) -> list[float]:
    return [d.rows / d.elapsed for d in drains]


def specs(e2e_jobs: int, drain_jobs: int) -> dict[str, dict[str, Any]]:
    """Every PG1 figure's fields but its samples, by key."""
    e2e = f"end to end, 1 process, {e2e_jobs:,} no-op jobs"

    def drain(k: int) -> str:
        return f"drain, {k} worker proc{'s' if k > 1 else ''}, {drain_jobs:,} jobs"

    common: dict[str, Any] = dict(id="PG1", unit="proc/s", store=pg_server.STORE)
    found = {
        "e2e": dict(figure=e2e, peer_name="procrastinate 3, same process",
                    target=">= 1.0x procrastinate", rule="ratio>=:1"),
        "e2e-ctx": dict(figure=f"{e2e} (context)", peer_name="pgqueuer 1, batch 10",
                        target="context, no target"),
        "drain4": dict(figure=drain(4), peer_name="procrastinate 3, 4 procs",
                       target=">= 1.0x procrastinate", rule="ratio>=:1"),
        "drain4-ctx": dict(figure=f"{drain(4)} (context)", peer_name="pgqueuer 1, 4 procs",
                           target="context, no target"),
        "drain2": dict(figure=drain(2), peer_name="procrastinate 3, 2 procs",
                       target="context (scaling table)"),
        "drain1": dict(figure=drain(1), peer_name="procrastinate 3, 1 proc",
                       target="context (scaling table)"),
        "grow2": dict(figure=f"{drain(2)}: over 1 worker", peer_name="lashtui, 1 worker proc",
                      target=">= 1.0x: grows 1 -> 2", rule="ratio>=:1"),
        "grow4": dict(figure=f"{drain(4)}: over 2 workers", peer_name="lashtui, 2 worker procs",
                      target=">= 1.0x: grows 2 -> 4", rule="ratio>=:1"),
        "once": dict(figure="every run: duplicates + missing + errors", unit="jobs",
                     peer_name="procrastinate, every run", target="0 in every run",
                     rule="all<=:0", compare=False),
    }  # fmt: skip
    return {key: {**common, **fields} for key, fields in found.items()}


def figures(e2e_jobs: int, drain_jobs: int, runs: Runs, load: str) -> list[Figure]:
    spec = specs(e2e_jobs, drain_jobs)

    def pair(key: str, peer: str, shape: str, notes: list[str] | None = None) -> Figure:
        return Figure(lashtui=_rates(runs[("lashtui", shape)]),
                      peer=_rates(runs[(peer, shape)]), notes=notes or [], **spec[key])  # fmt: skip

    def grow(key: str, more: str, fewer: str) -> Figure:
        return Figure(lashtui=_rates(runs[("lashtui", more)]),
                      peer=_rates(runs[("lashtui", fewer)]), **spec[key])  # fmt: skip

    ours = [d for (side, _), drains in runs.items() if side == "lashtui" for d in drains]
    target = [d for (side, _), drains in runs.items() if side == TARGET_PEER for d in drains]
    once = Figure(lashtui=[float(d.wrong) for d in ours], peer=[float(d.wrong) for d in target],
                  notes=[_once(runs)], **spec["once"])  # fmt: skip
    clock = (
        "clock: end to end from the first start/defer to every job finished; drain from "
        "the hold file to a census seeing every job finished (start-up before the clock)"
    )
    return [
        pair("e2e", TARGET_PEER, "e2e", [load, clock]),
        pair("e2e-ctx", "pgqueuer", "e2e"),
        pair("drain4", TARGET_PEER, "drain4", [_cpu_note(runs, "drain4")]),
        pair("drain4-ctx", "pgqueuer", "drain4"),
        pair("drain2", TARGET_PEER, "drain2", [_cpu_note(runs, "drain2")]),
        pair("drain1", TARGET_PEER, "drain1", [_cpu_note(runs, "drain1")]),
        grow("grow2", "drain2", "drain1"),
        grow("grow4", "drain4", "drain2"),
        once,
    ]


def _cpu_note(runs: Runs, shape: str) -> str:
    """Each side's CPU on the clock in `shape`, workers and server together (P3's note):
    from two workers on, it says how full the two cores were, which is how PG1's scaling
    rows are read."""
    sides = ("lashtui", TARGET_PEER, "pgqueuer")
    return cpu_note({side: runs[(side, shape)] for side in sides if (side, shape) in runs}, "job")


def _once(runs: Runs) -> str:
    """Every run of every side as executions/duplicates/missing/errors, and the first
    errors seen."""
    parts = []
    for (side, shape), drains in runs.items():
        each = ", ".join(
            f"{sum(d.executions.values())}/{d.duplicates}/{d.missing}/{len(d.errors)}"
            for d in drains
        )
        parts.append(f"{side} {shape}: {each}")
    errors = "; ".join(e for drains in runs.values() for d in drains for e in d.errors[:2])
    return (
        "runs (executions/duplicates/missing/errors): "
        + "; ".join(parts)
        + (f"; errors: {errors}" if errors else "")
    )


if __name__ == "__main__":
    raise SystemExit(main())
