"""CPU per job on PostgreSQL (issue 20): where a job's time goes, client and server, not
only how many jobs a second (a throughput on a shared 2-vCPU machine moves with the load;
CPU a job moves much less).

    python -m benchmarks.pg_cpu --url postgresql://... drain --jobs 2000 --workers 1
    python -m benchmarks.pg_cpu --url postgresql://... e2e --jobs 1000
    python -m benchmarks.pg_cpu ... drain --profile x.json   # py-spy on the first worker

(`--profile` runs `py-spy record --gil` from the interpreter's bin directory: `pip install
py-spy`, not a dependency of the project; `.json` gives speedscope's format, `.txt` collapsed
stacks, one line each, anything else a flame graph.)

- `drain`: P3's shape (`p3_no_double_run.lashtui_drain`'s rows and workers, lash's default
  lease timings) in a fresh schema: the workers' CPU is read from /proc at the hold file and
  again when every row is terminal, so their imports and connects are not counted.
- `e2e`: P1's shape in this process (`p1_end_to_end.lashtui_rate`): this process's CPU.

The server's CPU is the postmaster's tree on this machine (its own time, its reaped
children's, and its live children's), read around the same span: meaningful only on a
server of one's own (another client's statements count too). Exactly once is checked as in
PG1: each execution is recorded outside the registry.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from collections import Counter
from typing import Any

from benchmarks import p1_end_to_end, pg_server
from benchmarks.cpu import CpuMeter
from benchmarks.p3_no_double_run import (
    GUARD_ROWS_PER_S,
    GUARD_S,
    ROOT,
    Census,
    _start_rows,
    read_record,
    reap,
    stats_pid,
    wait_for,
    wait_for_count,
)
from benchmarks.p3_worker import Recorder
from benchmarks.report import scratch

LEASH = ("--ttl-ms", "30000", "--renew-ms", "10000")  # lash's default lease timings


def drain(url: str, jobs: int, workers: int, profile: str | None) -> dict[str, Any]:
    with scratch("pgcpu") as tmp, pg_server.scratch_schema("pgcpu") as db:
        record, hold = (os.path.join(tmp, name) for name in ("record", "hold"))
        asyncio.run(_start_rows(db, [f"p3-{n:06d}" for n in range(jobs)]))
        argv = [sys.executable, "-m", "benchmarks.p3_worker", "--db", db, "--record", record,
                "--hold", hold, "--until-empty", *LEASH]  # fmt: skip
        stats = [os.path.join(tmp, f"stats-{n}.json") for n in range(workers)]
        children = []
        for n in range(workers):
            command = [*argv, "--owner-id", f"w{n}", "--stats", stats[n]]
            if profile and n == 0:
                spy = os.path.join(os.path.dirname(sys.executable), "py-spy")
                kind = os.path.splitext(profile)[1]
                fmt = {".json": "speedscope", ".txt": "raw"}.get(kind, "flamegraph")
                command = [spy, "record", "--gil", "-r", "200", "-f", fmt, "-o", profile,
                           "--", *command]  # fmt: skip
            children.append(subprocess.Popen(command, cwd=ROOT, stdin=subprocess.DEVNULL,
                                             stdout=subprocess.DEVNULL))  # fmt: skip
        census = Census(db)
        try:
            wait_for(lambda: all(os.path.exists(path) for path in stats), "the workers")
            client, server = CpuMeter([stats_pid(path) for path in stats]), CpuMeter([], url)
            client.start()
            server.start()
            start = time.perf_counter()
            open(hold, "w").close()
            wait_for_count(lambda: census.count("status != 'running'"), jobs, "every row",
                           max(GUARD_S, jobs / GUARD_ROWS_PER_S))  # fmt: skip
            elapsed = time.perf_counter() - start
            client_s, server_s = client.stop(), server.stop()
            completed = census.count("status = 'completed'")
            for child in children:
                child.wait(timeout=120)
        finally:
            census.close()
            reap(children)
        return _figures(jobs, elapsed, client_s, server_s, read_record(record), completed)


def e2e(url: str, jobs: int) -> dict[str, Any]:
    with scratch("pgcpu") as tmp, pg_server.scratch_schema("pgcpu") as db:
        recorder = Recorder(os.path.join(tmp, "record"))

        async def noop(ctx: Any, payload: Any) -> object:
            recorder.record(ctx.process_id)
            return None

        server = CpuMeter([], url)
        server.start()
        cpu = time.process_time()
        rate = p1_end_to_end.lashtui_rate(db, jobs, engine=noop)
        client = time.process_time() - cpu
        return _figures(jobs, jobs / rate, client, server.stop(), read_record(recorder.path),
                        jobs)  # fmt: skip


def _figures(jobs: int, elapsed: float, client: float | None, server: float | None,
             executions: Counter[str], completed: int) -> dict[str, Any]:  # fmt: skip
    duplicates = sum(n - 1 for n in executions.values() if n > 1)
    return {
        "jobs_per_s": round(jobs / elapsed, 1),
        "client_ms_per_job": None if client is None else round(1000 * client / jobs, 3),
        "server_ms_per_job": None if server is None else round(1000 * server / jobs, 3),
        "duplicates": duplicates,
        "missing": jobs - len(executions),
        "not_completed": jobs - completed,
        "load": os.getloadavg()[0],
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.pg_cpu")
    parser.add_argument("--url", default=pg_server.server_url())
    parser.add_argument("shape", choices=("drain", "e2e"))
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--profile", help="py-spy output (.json: speedscope) for worker 0")
    args = parser.parse_args(argv)
    if not args.url:
        parser.error("no server: --url or LASHTUI_BENCH_POSTGRES")
    os.environ["LASHTUI_BENCH_POSTGRES"] = args.url
    if args.shape == "drain":
        result = drain(args.url, args.jobs, args.workers, args.profile)
    else:
        result = e2e(args.url, args.jobs)
    print(json.dumps({"shape": args.shape, "workers": args.workers, **result}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
