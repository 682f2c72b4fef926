"""`python -m benchmarks.p1_budget`: what one P1 process costs, counted rather than timed.

P1's rate on this 2-vCPU machine moves by half within the hour with the shared load, and
the same tree measured 416 and 639 us of user CPU a process in two runs minutes apart: a
step of a few percent cannot be seen in it. Counts do not move. For P1's loop
(`p1_end_to_end.lashtui_rate`: start -> claim -> run -> terminal, one process after
another, on a fresh registry file) this prints, per process:

- the user-space instructions, by library (valgrind's callgrind, all threads; about 50x
  slower, ~2 minutes in all). Two loop sizes are counted and differenced, so the
  interpreter's start-up and the imports drop out;
- the pages each process's commit writes to the WAL, by the table or index they belong to
  (the frames appended by a stretch of processes, read from the WAL itself and named through
  SQLite's `dbstat`). The kernel's share of P1 (~20% of its CPU in `perf`) is mostly these
  writes: two pwrite(2) calls a frame;
- the system calls, by name (`strace -c`, differenced the same way), when strace is on PATH.

Each is counted twice: on a registry as a new one is made, and on one with only lash's
layout (`--lash-layout-only` alone: the indexes lashtui adds for the dashboard, the audit
trail and the charts dropped). Every query is correct without them (sql/indexes.py); the
difference is what they cost each process's writes.

Needs valgrind on PATH for the instructions (`apt-get install valgrind`); without it, the
rest is printed and it says so.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import sqlite3
import struct
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from benchmarks.p1_end_to_end import lashtui_rate, noop
from benchmarks.s1_cli import installed_env
from lashtui.admin import Processes
from lashtui.model import Engine, ProcessStartRequest, RecoveryDisposition
from lashtui.registry import open_registry
from lashtui.registry.sql.indexes import index_statements
from lashtui.registry.sqlite.schema import DDL
from lashtui.worker import ProcessWorker

# lash's own indexes (semantics §14.2-§14.3): every other index of a new registry is lashtui's.
LASH_INDEXES = frozenset({
    "processes_status_idx",
    "processes_change_seq_idx",
    "process_events_idempotency_idx",
    "process_handle_grants_session_idx",
    "process_handle_grants_process_idx",
})  # fmt: skip
LASHTUI_INDEXES = tuple(name for name, _ in index_statements(DDL) if name not in LASH_INDEXES)

# Loop sizes counted and differenced. The WAL's stretch stays below the store's checkpoint
# interval (300 commits, one a process here), so no checkpoint resets the WAL inside it.
SMALL, LARGE = 200, 600
WARM, STRETCH = 30, 200
WAL_HEADER, FRAME_HEADER = 32, 24


def fresh_registry(path: str, lash_layout_only: bool) -> None:
    async def create() -> None:
        async with open_registry(path, create=True):
            pass

    asyncio.run(create())
    if lash_layout_only:
        conn = sqlite3.connect(path)
        for name in LASHTUI_INDEXES:
            conn.execute(f"DROP INDEX IF EXISTS {name}")
        conn.commit()
        conn.close()


def child(processes: int, lash_layout_only: bool) -> None:
    """P1's loop over `processes` on a fresh registry: what the counters run."""
    with tempfile.TemporaryDirectory(prefix="lashtui-p1-budget-") as tmp:
        path = os.path.join(tmp, "p1.db")
        fresh_registry(path, lash_layout_only)
        lashtui_rate(path, processes)


def _argv(processes: int, lash_layout_only: bool) -> list[str]:
    only = ["--lash-layout-only"] if lash_layout_only else []
    return [sys.executable, "-m", "benchmarks.p1_budget", "--child", str(processes), *only]


# --- instructions ----------------------------------------------------------------------


def instructions_by_library(argv: list[str], env: dict[str, str]) -> Counter[str]:
    """The instructions `argv` executed, all threads, by the library they ran in (the
    shared object's name, 'total' for all)."""
    with tempfile.NamedTemporaryFile(suffix=".callgrind") as out:
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out.name}", *argv],
            capture_output=True, text=True, env=env, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"{argv[:4]} failed under valgrind: {done.stderr[-500:]}")
        return by_library(annotated(out.name))


def annotated(path: str) -> str:
    """callgrind_annotate's table of the counts in `path`, by function (for `by_library`)."""
    return subprocess.run(
        ["callgrind_annotate", "--threshold=100", "--auto=no", path],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip


def by_library(annotated: str) -> Counter[str]:
    """callgrind_annotate's table summed by library ('total': its program totals). A line
    whose object it leaves out (a function's code from a second source file: an inlined
    header, say) is told by that file's path."""
    counts: Counter[str] = Counter()
    for line in annotated.splitlines():
        if "PROGRAM TOTALS" in line:
            counts["total"] = int(line.split()[0].replace(",", ""))
            continue
        row = re.match(r"\s*([\d,]+) \([^)]*\)\s+(\S*?)(?:\s+\[(.+)\])?\s*$", line)
        if row:
            where = row.group(3) or _object_of_source(row.group(2))
            counts[_library(where)] += int(row.group(1).replace(",", ""))
    return counts


def _object_of_source(source: str) -> str:
    """The library of a source path: CPython's own tree, or glibc's (which its debug info
    names from its build directory, "./malloc/arena.c")."""
    if re.search(r"/Python-3\.[\d.]+/", source):
        return "libpython"
    return "libc.so.6" if source.startswith("./") else ""


def _library(path: str) -> str:
    name = os.path.basename(path)
    for prefix, label in (
        ("libpython", "the interpreter (CPython)"),
        ("libsqlite3", "SQLite"),
        ("_pydantic_core", "pydantic-core"),
        ("libc.", "libc"),
        ("libcrypto", "OpenSSL (hashes)"),
    ):
        if name.startswith(prefix):
            return label
    return "other"


# --- WAL frames ------------------------------------------------------------------------


def wal_frames(lash_layout_only: bool) -> tuple[float, Counter[str]]:
    """Frames a process's commit appends to the WAL, in all and by table or index, over
    `STRETCH` processes after `WARM` (in this process, not under valgrind)."""
    with tempfile.TemporaryDirectory(prefix="lashtui-p1-budget-") as tmp:
        path = os.path.join(tmp, "p1.db")
        fresh_registry(path, lash_layout_only)
        start, salts, data = asyncio.run(_stretch(path))
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            page_size = conn.execute("PRAGMA page_size").fetchone()[0]
            owners = dict(conn.execute("SELECT pageno, name FROM dbstat"))
        finally:
            conn.close()
    frame = FRAME_HEADER + page_size
    # A checkpoint that let the WAL start over gives it new salts (bytes 16-24 of its header).
    if data[16:24] != salts or (start - WAL_HEADER) % frame or len(data) < start:
        raise RuntimeError("the WAL was reset inside the stretch: nothing to count")
    by_tree: Counter[str] = Counter()
    for offset in range(start, len(data) - frame + 1, frame):
        page = struct.unpack(">I", data[offset : offset + 4])[0]
        by_tree[owners.get(page, f"page {page}")] += 1
    return sum(by_tree.values()) / STRETCH, by_tree


async def _stretch(path: str) -> tuple[int, bytes, bytes]:
    """P1's loop (`p1_end_to_end`): `WARM` processes, then `STRETCH` more; the WAL's size
    and salts before the stretch and its bytes after it, read before the registry closes
    (the last connection to close checkpoints it away)."""
    async with open_registry(path) as registry:
        worker = ProcessWorker(registry)
        worker.engines.register("noop", noop)
        processes = Processes(registry, worker=worker)
        async with worker.running():
            start, salts = 0, b""
            for n in range(WARM + STRETCH):
                if n == WARM:
                    await worker.idle()
                    header = await asyncio.to_thread(Path(path + "-wal").read_bytes)
                    start, salts = len(header), header[16:24]
                await processes.start(ProcessStartRequest(
                    id=f"p1-{n:06d}", input=Engine(kind="noop", payload={}),
                    disposition=RecoveryDisposition.RERUNNABLE,
                ))  # fmt: skip
            await worker.idle()
            return start, salts, await asyncio.to_thread(Path(path + "-wal").read_bytes)


def _has_dbstat() -> bool:
    try:
        sqlite3.connect(":memory:").execute("SELECT 1 FROM dbstat LIMIT 0")
    except sqlite3.OperationalError:
        return False
    return True


# --- system calls ----------------------------------------------------------------------


def syscalls(argv: list[str], env: dict[str, str]) -> Counter[str]:
    with tempfile.NamedTemporaryFile(suffix=".strace") as out:
        subprocess.run(["strace", "-f", "-c", "-o", out.name, *argv],
                       capture_output=True, env=env, check=True)  # fmt: skip
        table = Path(out.name).read_text(encoding="utf-8")
    counts: Counter[str] = Counter()
    for line in table.splitlines():
        fields = line.split()
        # % time, seconds, usecs/call, calls, [errors], syscall
        if len(fields) >= 5 and fields[3].isdigit() and fields[-1] != "total":
            counts[fields[-1]] = int(fields[3])
    return counts


def per_unit(
    small: Counter[str], large: Counter[str], sizes: tuple[int, int] = (SMALL, LARGE)
) -> dict[str, float]:
    """Two counts of a loop run `sizes` times, differenced: what one more turn costs, with
    start-up and imports left out (p3_budget.py counts its drains the same way)."""
    return {key: (large[key] - small[key]) / (sizes[1] - sizes[0]) for key in large | small}


# --- the report ------------------------------------------------------------------------


def report(lash_layout_only: bool, env: dict[str, str]) -> dict[str, float]:
    """Print one registry's counts; return its totals (instructions, frames, syscalls)."""
    title = "lash's layout only (lashtui's indexes dropped)" if lash_layout_only else (
        "a new registry as lashtui makes it")
    print(f"\n== P1, a process's cost on {title}")
    totals: dict[str, float] = {}
    if shutil.which("valgrind") and shutil.which("callgrind_annotate"):
        # Once outside the counters, so that neither count includes compiling the modules.
        subprocess.run(_argv(SMALL // 10, lash_layout_only), env=env, check=True)
        per = per_unit(
            instructions_by_library(_argv(SMALL, lash_layout_only), env),
            instructions_by_library(_argv(LARGE, lash_layout_only), env),
        )
        total = totals["instructions"] = per.pop("total")
        print(f"user-space instructions: {total / 1e6:.2f}M a process")
        for name, count in sorted(per.items(), key=lambda kv: -kv[1]):
            print(f"  {name:<28} {count / 1e6:6.2f}M  {100 * count / total:4.1f}%")
    else:
        print("instructions: not counted (valgrind is not installed: apt-get install valgrind)")
    if _has_dbstat():
        frames, by_tree = wal_frames(lash_layout_only)
        totals["frames"] = frames
        print(f"WAL frames a process writes: {frames:.1f}")
        for name, count in by_tree.most_common():
            print(f"  {name:<36} {count / STRETCH:5.2f}")
    else:
        print("WAL frames: not counted (this SQLite has no dbstat table)")
    if shutil.which("strace"):
        per = per_unit(syscalls(_argv(SMALL, lash_layout_only), env),
                       syscalls(_argv(LARGE, lash_layout_only), env))  # fmt: skip
        totals["syscalls"] = sum(per.values())
        shown = [(name, n) for name, n in sorted(per.items(), key=lambda kv: -kv[1]) if n >= 0.05]
        print(f"system calls a process: {totals['syscalls']:.1f} ("
              + ", ".join(f"{name} {n:.1f}" for name, n in shown) + ")")
    else:
        print("system calls: not counted (strace is not installed)")
    return totals


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.p1_budget")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--lash-layout-only", action="store_true",
                        help="count only the registry with lashtui's indexes dropped")
    args = parser.parse_args(argv)
    if args.child is not None:
        child(args.child, args.lash_layout_only)
        return 0
    env = installed_env()
    layouts = [True] if args.lash_layout_only else [False, True]
    totals = {only: report(only, env) for only in layouts}
    if len(totals) == 2:
        print("\n== what lashtui's own indexes cost a process: "
              f"{', '.join(LASHTUI_INDEXES)}")
        for key, full in totals[False].items():
            lean = totals[True].get(key)
            if lean:
                print(f"  {key}: {full:,.1f} against {lean:,.1f} without them "
                      f"(+{100 * (full / lean - 1):.0f}%)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
