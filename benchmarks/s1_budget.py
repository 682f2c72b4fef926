"""`python -m benchmarks.s1_budget`: where `lashtui ls --json`'s time goes, in instructions.

S1's wall times (benchmarks/s1_cli.py) move by a factor of two with the shared machine's
load, too much to split a 0.5 s command into its parts. Instructions executed do not move:
each step below runs under valgrind's callgrind (about 50x slower, ~2 minutes in all) and
is reported as the instructions it executed and as the ratio the stdlib peer's count makes
with it, the way S1 reports the ratio of times. Each step adds one part of what `ls` does
to the one before, so their differences are what each part costs; last, S1's lens figure
(`--granted-to`) against a peer that runs the lens's SQL. The ratio of counts is
not the ratio of times (a page-cache read or a cache miss costs more than an instruction),
but it tracks it: on 2026-12-03 `ls` measured 0.29x in instructions and 0.22-0.29x
in wall time (S1, same day).

Needs valgrind on PATH (`apt-get install valgrind`); without it, it says so and exits 1.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

from benchmarks.s1_cli import LENS_SCOPE, LIMIT, PEER, installed_env, lashtui_command
from benchmarks.seed import big_registry
from lashtui.model import ProcessPageQuery, SessionScope
from lashtui.registry.sql.dialect import SQLITE
from lashtui.registry.sql.fetch import row_columns_in
from lashtui.registry.sql.page import page_statements

# (label, Python source run with `python -c`): each adds one part of `ls` to the step before.
IMPORTS = [
    ("the interpreter: python -c pass", "pass"),
    ("+ pydantic (from pydantic import BaseModel)", "from pydantic import BaseModel"),
    ("+ lash's models (import lashtui.model)", "import lashtui.model"),
    ("+ asyncio", "import lashtui.model, asyncio"),
    ("+ the SQLite store and aiosqlite", "import lashtui.model, asyncio, lashtui.registry.sqlite"),
    (
        "+ the facade and the worker it imports",
        "import lashtui.model, asyncio, lashtui.registry.sqlite, lashtui.admin",
    ),
    (
        "+ the commands and the CLI",
        "import lashtui.model, asyncio, lashtui.registry.sqlite, lashtui.admin, lashtui.command,"
        " lashtui.cli",
    ),
]


def instructions(argv: list[str], env: dict[str, str]) -> int:
    """Instructions `argv` executed, all threads, as callgrind counts them."""
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *argv],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"{argv[:3]} failed under valgrind: {done.stderr[-500:]}")
    return int(found.group(1))


def main() -> int:
    if shutil.which("valgrind") is None:
        print("s1_budget: valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 1
    env = installed_env()
    path = big_registry(100_000, 10_000)
    query = ProcessPageQuery(states=frozenset({"running", "waiting"}), limit=LIMIT + 1)
    peer_argv = [
        sys.executable, "-c", PEER, path, json.dumps(page_statements(query)), str(LIMIT),
        row_columns_in(SQLITE),
    ]  # fmt: skip
    ls_argv = [*lashtui_command(), "--db", path, "ls", "--json"]
    subprocess.run(ls_argv, capture_output=True, env=env, check=True)  # bytecode cache
    peer = instructions(peer_argv, env)
    steps = [(label, [sys.executable, "-c", code]) for label, code in IMPORTS]
    # Not a step of the above: what `ls --json` imports in its common case (lashtui/listing.py)
    steps.append(("instead: the interpreter + `ls --json`'s own imports", [
        sys.executable, "-c", "import lashtui.cli, lashtui.listing, lashtui.observed_json, "
        "lashtui.registry.sqlite.connect, lashtui.registry.sql.filter, lashtui.registry.sql.fetch",
    ]))  # fmt: skip
    steps.append(("`lashtui ls --json` (100,000 rows, 1,000 printed)", ls_argv))
    print(f"{'stdlib peer, same SQL (S1)':<58} {peer / 1e6:>7,.0f}M  1.00x")
    for label, argv in steps:
        count = instructions(argv, env)
        print(f"{label:<58} {count / 1e6:>7,.0f}M  {peer / count:.2f}x")
    # The security lens, against a peer of its own (the lens's SQL): S1's lens figure.
    lens = query.model_copy(update={"lens": "granted", "scope": SessionScope.parse(LENS_SCOPE)})
    lens_sql = json.dumps(page_statements(lens))
    lens_peer = instructions([*peer_argv[:4], lens_sql, *peer_argv[5:]], env)
    lens_count = instructions([*ls_argv, "--granted-to", LENS_SCOPE], env)
    label = "stdlib peer, the lens's SQL"
    print(f"{label:<58} {lens_peer / 1e6:>7,.0f}M  1.00x")
    label = f"`lashtui ls --json --granted-to {LENS_SCOPE}`"
    print(f"{label:<58} {lens_count / 1e6:>7,.0f}M  {lens_peer / lens_count:.2f}x")
    print(f"(load average {os.getloadavg()[0]:.1f}; counts do not depend on it)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
