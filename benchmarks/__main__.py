"""`python -m benchmarks [--quick | --smoke] [--only P2,S1] [--json PATH]`: run the benchmarks,
print one table (lashtui next to its peer measured in the same run) and write it as JSON.

Each figure lives in its own module; see its docstring for what is measured, against what,
and what would make the comparison unfair. Targets: spec/performance.md.

P1-P3, P5, D1 and W1 are also measured on PostgreSQL, in the same run, each in a fresh schema
dropped afterwards, on the server at $LASHTUI_BENCH_POSTGRES, else $LASHTUI_TEST_POSTGRES
(`.ci/postgres` starts one); without one, those figures are reported as not measured, with
the reason (benchmarks/pg_server.py). PG1 (lashtui on PostgreSQL beside procrastinate and
pgqueuer) runs in full mode or with --only PG1.

`--smoke` is what the test suite runs (tests/test_benchmarks.py): the quick run once, at the
smallest sizes that still measure every figure. Its numbers are no figures: it shows that
each benchmark still runs and measures what it says.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time

from benchmarks.report import Figure, Mode, print_table, write_json

# id -> module; run in this order.
BENCHMARKS = {
    "P1": "benchmarks.p1_end_to_end",
    "P2": "benchmarks.p2_primitives",
    "P3": "benchmarks.p3_no_double_run",
    "P4": "benchmarks.p4_recovery",
    "D1": "benchmarks.d1_freshness",
    "D2": "benchmarks.d2_million",
    "D3": "benchmarks.d3_loop_lag",
    "S1": "benchmarks.s1_cli",
    "D4": "benchmarks.d4_charts",
    "W1": "benchmarks.w1_wake",
    "P5": "benchmarks.p5_drive",
}
# Run only in full mode, or when named in --only: PG1 takes minutes a repeat at the spec's
# sizes and needs the optional peers (lashtui[bench]), so `--quick` (and `--smoke`, which
# the suite runs) leaves it out; `--quick --only PG1` runs it small.
FULL_ONLY = {
    "PG1": "benchmarks.pg1_peers",
}
# The ids whose modules also report figures on PostgreSQL ("P1 (PostgreSQL)", ...).
ON_POSTGRES = ("P1", "P2", "P3", "D1", "D2", "W1", "P5")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="smaller sizes, fewer repeats (whole run under 2 minutes)")
    parser.add_argument("--smoke", action="store_true",
                        help="the smallest sizes that measure every figure, once (what the "
                        "test suite runs; its numbers are no figures)")
    parser.add_argument("--only", metavar="IDS", help="comma-separated ids, e.g. P2,S1")
    parser.add_argument("--json", metavar="PATH",
                        default=os.path.join(os.path.dirname(__file__), "results.json"),
                        help="where to write the results (default: benchmarks/results.json)")
    parser.add_argument("--repeats", type=int, help="runs per figure (default 3 quick, 5 full)")
    args = parser.parse_args(argv)

    known = {**BENCHMARKS, **FULL_ONLY}
    quick = args.quick or args.smoke
    wanted = list(BENCHMARKS) + ([] if quick else list(FULL_ONLY))
    if args.only:
        wanted = [name.strip().upper() for name in args.only.split(",") if name.strip()]
        unknown = [name for name in wanted if name not in known]
        if unknown:
            parser.error(f"unknown benchmark id(s): {', '.join(unknown)}; "
                         f"known: {', '.join(known)}")
    repeats = args.repeats or (1 if args.smoke else 3 if quick else 5)
    mode = Mode(quick=quick, repeats=repeats, smoke=args.smoke)

    figures: list[Figure] = []
    for name in wanted:
        module = importlib.import_module(known[name])
        print(f"running {name} ({mode.name}) ...", file=sys.stderr,
              flush=True)
        start = time.perf_counter()
        figures.extend(module.run(mode))
        print(f"  {name} took {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)
    print_table(figures)
    write_json(args.json, figures, mode)
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
