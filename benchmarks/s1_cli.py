"""S1: the command line's start-up and its biggest read.

* `lashtui --help`: wall time of the installed console script (a subprocess, so the
  interpreter start, imports and argparse are all in it), median of runs. Peer, for context
  only: `python -c pass` with the same interpreter, the floor any Python CLI pays.
* `lashtui --db FILE ls --json` on a large registry: 1,000,000 rows (100,000 in --quick),
  10% running and 90% completed, the shape spec/performance.md's D2 names. `ls` lists
  *running* processes by default, so this prints the running tenth (100,000 rows in full
  mode) with their leases, as one JSON document: that is what is timed, output piped to a
  pipe and counted, not printed. No peer: the target is absolute (<= 0.5 s).

The registry is built fast, as tests/registry/test_scale.py and tests/tui/scene.py do: the
file is created by lashtui (schema and indexes), then one real externally-owned record's
JSON per state, id substituted, goes in with raw `executemany` in one transaction.

What would make it unfair: the file is freshly written, so its pages are in the OS cache
(a cold cache would be slower); and the subprocess also pays interpreter start (~20 ms).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time

from benchmarks.report import Figure, Mode, scratch
from lashtui.model import (
    External,
    ProcessIdentity,
    ProcessRecord,
    ProcessRegistration,
    ProcessStatus,
    RecoveryDisposition,
    SuccessOutput,
)
from lashtui.registry.sqlite import SqliteProcessRegistry

START_MS = 1_780_000_000_000
RUNNING_EVERY = 10  # every 10th row is running


def lashtui_command() -> list[str]:
    script = os.path.join(os.path.dirname(sys.executable), "lashtui")
    if os.path.exists(script):
        return [script]
    found = shutil.which("lashtui")
    if found:
        return [found]
    return [sys.executable, "-c", "import sys; from lashtui.cli import main; sys.exit(main())"]


def wall(argv: list[str]) -> tuple[float, int]:
    """Seconds for one run, and the bytes it wrote to stdout."""
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{argv} failed: {done.stderr.decode()[-500:]}")
    return elapsed, len(done.stdout)


def build_registry(path: str, rows: int) -> int:
    """`rows` rows, every RUNNING_EVERY-th running; returns the running count."""

    async def create() -> None:
        await (await SqliteProcessRegistry.open(path)).close()

    asyncio.run(create())
    registration = ProcessRegistration.model_validate(
        {
            "id": "__pid__",
            "input": External(),
            "disposition": RecoveryDisposition.EXTERNALLY_OWNED,
            "identity": ProcessIdentity.from_process_input(External()),
        }
    )
    prepared, digest = registration.prepare()
    live = ProcessRecord.new(prepared, digest, START_MS)
    done = live.model_copy(update={"status": ProcessStatus.terminal(SuccessOutput(value=1))})
    templates = {True: live.model_dump_json(), False: done.model_dump_json()}

    def row(n: int) -> tuple[object, ...]:
        pid, running = f"p-{n:07d}", n % RUNNING_EVERY == 0
        record = templates[running].replace("__pid__", pid)
        status = "running" if running else "completed"
        return (pid, digest, "host", START_MS, START_MS, n + 1, status, record)

    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO processes (process_id, registration_hash, owner_scope_id, "
            "created_at_ms, updated_at_ms, change_seq, status, record_json) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (row(n) for n in range(rows)),
        )
        conn.execute("UPDATE process_change_clock SET current_seq = ?", (rows,))
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return len(range(0, rows, RUNNING_EVERY))


def run(mode: Mode) -> list[Figure]:
    command = lashtui_command()
    runs = max(mode.repeats, 5)
    helps, floors = [], []
    for _ in range(runs):  # alternate, so noise hits both
        helps.append(wall([*command, "--help"])[0])
        floors.append(wall([sys.executable, "-c", "pass"])[0])
    figures = [
        Figure(
            id="S1",
            figure="`lashtui --help` wall time",
            unit="s",
            lashtui=helps,
            peer_name="python -c pass",
            peer=floors,
            target="<= 300 ms",
            rule="max<=:0.3",
            notes=["the peer is the interpreter's own start-up: context, not a target"],
            compare=False,
        )
    ]

    rows = mode.size(100_000, 1_000_000)
    with scratch("s1") as tmp:
        path = os.path.join(tmp, "large.db")
        start = time.perf_counter()
        running = build_registry(path, rows)
        built = time.perf_counter() - start
        argv = [*command, "--db", path, "ls", "--json"]
        first = subprocess.run(argv, stdout=subprocess.PIPE, check=True).stdout
        printed = len(json.loads(first))
        times = [wall(argv)[0] for _ in range(mode.repeats)]
        size = os.path.getsize(path)
    figures.append(
        Figure(
            id="S1",
            figure=f"`lashtui ls --json`, {rows:,} rows ({running:,} running)",
            unit="s",
            lashtui=times,
            target="<= 500 ms (for 1M rows)",
            rule="max<=:0.5",
            notes=[
                f"ls lists running rows by default: it printed {printed:,} processes "
                f"({len(first) / 1e6:.1f} MB of JSON); file {size / 1e6:.0f} MB, "
                f"built in {built:.1f} s; one untimed warm-up run first",
            ],
        )
    )
    return figures
