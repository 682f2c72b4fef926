"""`python -m benchmarks.profile [--count N] [--out DIR]`: where P1's time goes, sampled.

P1 (start -> claim -> run -> terminal, benchmarks/p1_end_to_end.py) is the one target this
machine does not reach, and this is the evidence for what bounds it: the lashtui side of P1,
exactly as the benchmark runs it, under pyinstrument (a sampling profiler: 1 ms samples of
the event loop's thread, where every P1 transaction runs). It writes, into `--out`
(default benchmarks/profiles/):

* `p1.txt`: the call tree, pyinstrument's own rendering;
* `p1-flat.txt`: functions by the time spent in them (self time);
* `p1-phases.txt`: the table docs/performance-history.md quotes, each sample's time
  charged to the step of a process's life it was taken in (the innermost registry call or
  worker step on its stack) and to what was running at the leaf (SQLite, pydantic,
  asyncio, lashtui's own code...), in microseconds per process.

Sampling adds its own cost (about 70% here: 1 ms samples of a loop whose steps are tens of
microseconds), so the rate it prints is well below P1's; the shares are what it is for.
"""

from __future__ import annotations

import argparse
import gc
import os
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from benchmarks.p1_end_to_end import lashtui_rate

# The step a sample belongs to: the innermost of these on its stack. Methods come as
# "Class.method", module functions of lashtui's SQL layer as "module.function": a short write
# runs in the store's group commit, not under its caller's frame, so its transaction
# function is what names the step.
PHASES = {
    "process.start": "start (transaction)",
    "run.start_for_run": "start + claim to run (one transaction)",
    "run.claim_for_run": "claim to run (one transaction)",
    "claim.claim_existing": "  of which the lease claim",
    "event.first_of_type": "  of which the cancel-request read",
    "event.first_after": "cancel watcher's read",
    "process.record_first_started": "first-started (transaction)",
    "prepared.complete_prepared": "terminal + release (transaction)",
    "event.complete_with_lease": "terminal + release (transaction)",  # its fallback
    "prepared.prepare_completion": "terminal built before its transaction",
    "run_group": "group commit (BEGIN, savepoints, COMMIT)",
    "SqliteConnection._flush_groups": "group commit (BEGIN, savepoints, COMMIT)",
    "process.get": "record read after the claim",
    "lease_row.get": "lease read before the claim",
    "process.get_env": "env read before the run",
    "Processes.start": "start (facade, worker hand-off)",
    "run_and_complete": "run (worker: tasks, handler)",
    "recover": "recover (worker: slots, decisions)",
}
# Steps P1 need not take: a start through the worker claims its row in its own transaction
# (a plain start and a separate claim only when no start slot is free), the watcher reads
# only when a run outlives its first poll or this OS process touches the row,
# first-started is the claim's unless a claim did not record it, the record is read by the
# claim to run, the lease before a claim only when the claim waited for a start slot, and
# an env only when the handle has not seen it yet.
OCCASIONAL = {
    "start (transaction)",  # a start through a worker claims in it (run.start_for_run)
    "claim to run (one transaction)",
    "recover (worker: slots, decisions)",
    "  of which the cancel-request read",
    "cancel watcher's read",
    "first-started (transaction)",
    "record read after the claim",
    "lease read before the claim",
    "env read before the run",
}
OUTSIDE = "event loop and task scheduling"


# Leaves that are one call into C code: pyinstrument charges that call's time to them.
_INTO_PYDANTIC = ("decode_record", "model_dump", "model_dump_json", "model_validate",
                  "model_validate_json", "validate_python", "__init__")


def _where(frame: Any) -> str:
    """What was running when a sample was taken in `frame` (a leaf of the tree, or the
    function whose own code a `[self]` leaf stands for)."""
    path = (frame.file_path or "").replace("\\", "/")
    qualified = frame.function or ""  # C functions come as "Class.method"
    name = qualified.rsplit(".", 1)[-1]
    if qualified.startswith(("RegistryConnection.", "Connection.", "Cursor.")):
        return "SQLite"
    if name == "poll" or "selectors" in path:
        return "loop idle (waits)"
    if (
        "pydantic" in path
        or qualified.startswith(("SchemaValidator.", "SchemaSerializer."))
        or ("/lashtui/" in path and name in _INTO_PYDANTIC)
    ):
        return "pydantic"
    if "/asyncio/" in path or qualified == "Context.run":
        return "asyncio"
    if "/json/" in path or "hashlib" in path or "sha256" in name:
        return "JSON, hashing"
    if "/lashtui/" in path or "/benchmarks/" in path:
        return "lashtui code"
    return "stdlib, builtins"


def phases(root: Any, processes: int) -> str:
    """The table of `p1-phases.txt` (see the module docstring)."""
    table: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))

    def walk(frame: Any, parent: Any, phase: str) -> None:
        phase = PHASES.get(_qualified(frame), phase)
        if not frame.children:  # a leaf: the time sampled there ("[self]": its parent's own)
            table[phase][_where(parent if frame.is_synthetic else frame)] += frame.time
        for child in frame.children:
            walk(child, frame, phase)

    walk(root, root, OUTSIDE)
    total = sum(sum(row.values()) for row in table.values())
    columns = sorted({where for row in table.values() for where in row})
    lines = [
        f"{processes:,} processes, {total:.2f} s sampled: {total / processes * 1e6:.0f} us "
        "per process",
        "",
        "us per process by step (rows) and by what ran (columns)",
        "",
    ]
    width = max(len(phase) for phase in table) + 2
    header = "step".ljust(width) + "".join(f"{c:>19}" for c in columns) + f"{'all':>8}"
    lines += [header, "-" * len(header)]
    for phase, row in sorted(table.items(), key=lambda item: -sum(item[1].values())):
        cells = "".join(f"{row.get(c, 0.0) / processes * 1e6:>19.0f}" for c in columns)
        lines.append(f"{phase.ljust(width)}{cells}{sum(row.values()) / processes * 1e6:>8.0f}")
    by_column = {c: sum(row.get(c, 0.0) for row in table.values()) for c in columns}
    cells = "".join(f"{by_column[c] / processes * 1e6:>19.0f}" for c in columns)
    lines += ["-" * len(header), f"{'all'.ljust(width)}{cells}{total / processes * 1e6:>8.0f}"]
    lines += ["", "share of the sampled time by what ran:"]
    for column, seconds in sorted(by_column.items(), key=lambda item: -item[1]):
        lines.append(f"  {seconds / total:6.1%}  {column}")
    return "\n".join(lines) + "\n"


@contextmanager
def collector_time() -> Iterator[list[float]]:
    """Seconds the garbage collector held the thread, as [total] (gc.callbacks): a
    sampling profiler charges a collection to whatever allocation set it off."""
    spent = [0.0]
    began = [0.0]

    def track(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            began[0] = time.perf_counter()
        else:
            spent[0] += time.perf_counter() - began[0]

    gc.callbacks.append(track)
    try:
        yield spent
    finally:
        gc.callbacks.remove(track)


def _qualified(frame: Any) -> str:
    name = frame.function or ""
    owner = frame.class_name
    if owner:
        return f"{owner}.{name}"
    path = (frame.file_path or "").replace("\\", "/")
    if "/lashtui/registry/sql/" in path:
        return f"{path.rsplit('/', 1)[-1].removesuffix('.py')}.{name}"
    return name


def main(argv: list[str] | None = None) -> int:
    from pyinstrument import Profiler

    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile", description=__doc__)
    parser.add_argument("--count", type=int, default=5_000, help="processes (P1's 5,000)")
    parser.add_argument(
        "--out", default=os.path.join(os.path.dirname(__file__), "profiles"),
        help="directory for the reports (default: benchmarks/profiles)",
    )
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lashtui-profile-") as tmp:
        profiler = Profiler(interval=0.001, async_mode="disabled")
        with collector_time() as collecting:
            profiler.start()
            rate = lashtui_rate(os.path.join(tmp, "p1.db"), args.count)
            profiler.stop()
    per_process = collecting[0] / args.count * 1e6
    reports = {
        "p1.txt": profiler.output_text(unicode=True, color=False),
        "p1-flat.txt": profiler.output_text(unicode=True, color=False, flat=True),
        "p1-phases.txt": f"P1 under pyinstrument: {rate:,.0f} processes/s\n\n"
        + phases(profiler.last_session.root_frame(), args.count)
        + f"\nof which the garbage collector (gc.callbacks, charged above to the code that "
        f"set it off): {per_process:.0f} us per process\n",
    }
    for name, text in reports.items():
        with open(os.path.join(args.out, name), "w", encoding="utf-8") as out:
            out.write(text)
    print(reports["p1-phases.txt"], end="")
    print(f"wrote {', '.join(reports)} to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
