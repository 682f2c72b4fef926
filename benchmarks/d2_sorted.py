"""D2, sorted: the Processes view's first page and the page after it, in every order, on the
benchmarks' million-row registry (`seed.big_registry`, 100,000 running).

`python -m benchmarks.d2_sorted [--rows N] [--path FILE] [--repeats R]`

The seeded rows are copies of a few templates, so every row has the same times, label and
lease expiry: every order would be one long run of ties. A copy of the seeded file is
therefore spread out first (created times over a day, updated up to an hour later, 500
labels, lease expiries over ten minutes) and the sorted pages' indexes are built on it, as a
writable open of a new registry would have them; the copy is cached beside the seed's files
(`sorted-` prefix). `--path` measures a file made that way before.

Each figure is the median wall time of `Processes.page` (the facade the dashboard calls:
the keyset walk, the records read and decoded, their leases) for a page of 150 rows (the
window's first read), without a state filter, with one state (`failed`, a quarter of the
rows; `waiting`, none here, so every arm walks to its end), and the page after it (its
cursor the last row's key and id). The last column is `waiting` again as the Processes view
reads it: through its window, which holds the census and reads a rare live state by id from
it (lashtui/tui/rare_state.py); the census itself is read once first, as the view does
before its first page, and its time printed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sqlite3
import statistics
import time

from benchmarks.seed import CACHE, LAYOUT, big_registry
from lashtui.admin import Processes
from lashtui.model import PROCESS_ORDERS, ProcessPageQuery
from lashtui.registry.sql.dialect import SQLITE
from lashtui.registry.sql.order import index_ddl
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.tui.counts import StateCounts
from lashtui.tui.window import ProcessWindow

PAGE = 150
SPREAD = (
    "UPDATE processes SET created_at_ms = created_at_ms - (abs(random()) % 86400000)",
    "UPDATE processes SET updated_at_ms = created_at_ms + (abs(random()) % 3600000), "
    "record_json = json_set(record_json, '$.identity.label', "
    "printf('job-%03d', abs(random()) % 500))",
    # The label's column follows the label (sqlite/schema.py `sort_label`), as it would
    # have been written with the row.
    "UPDATE processes SET sort_label = json_extract(record_json, '$.identity.label')",
    "UPDATE process_leases SET lease_expires_at_ms = "
    "lease_expires_at_ms + (abs(random()) % 600000)",
)


def sorted_registry(rows: int, running: int) -> str:
    path = os.path.join(CACHE, f"sorted-{rows}-{running}-{LAYOUT}.db")
    if os.path.exists(path):
        return path
    building = f"{path}.building"
    shutil.copyfile(big_registry(rows, running), building)
    conn = sqlite3.connect(building, isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("BEGIN")
        for statement in SPREAD:
            conn.execute(statement)
        for statement in index_ddl(SQLITE):
            conn.execute(statement)
        conn.execute("COMMIT")
    finally:
        conn.close()
    os.replace(building, path)
    return path


async def _timed(processes: Processes, query: ProcessPageQuery, repeats: int) -> tuple[float, ...]:
    first: list[float] = []
    second: list[float] = []
    for _ in range(repeats):
        started = time.perf_counter()
        page = await processes.page(query)
        first.append(time.perf_counter() - started)
        started = time.perf_counter()
        await processes.page(query.after(page[-1] if page else None))
        second.append(time.perf_counter() - started)
    return statistics.median(first), statistics.median(second)


async def _timed_view(
    window: ProcessWindow, query: ProcessPageQuery, repeats: int
) -> tuple[float, ...]:
    """As `_timed`, through the view's window holding its census (tui/rare_state.py)."""
    first: list[float] = []
    second: list[float] = []
    for _ in range(repeats):
        started = time.perf_counter()
        page = await window._page(PAGE, query=query)
        first.append(time.perf_counter() - started)
        started = time.perf_counter()
        await window._page(PAGE, query=query, after=page[-1] if page else None)
        second.append(time.perf_counter() - started)
    return statistics.median(first), statistics.median(second)


async def measure(path: str, repeats: int) -> None:
    registry = await SqliteProcessRegistry.open(path, create=False, read_only=True)
    processes = Processes(registry)
    started = time.perf_counter()
    counts = StateCounts(await processes.census(), 0)
    took = (time.perf_counter() - started) * 1000
    window = ProcessWindow(processes, census=lambda: counts)
    print(f"{path}: first page / second page of {PAGE} rows, median of {repeats}, ms")
    print(f"(the view's census, read once before its first page: {took:.0f} ms)")
    header = f"{'all':>16}{'failed':>16}{'waiting':>16}{'waiting, view':>16}"
    print(f"{'order':<14}{'dir':<6}{header}")
    try:
        for order in PROCESS_ORDERS:
            for descending in (False, True):
                cells = []
                for states in (None, {"failed"}, {"waiting"}):
                    query = ProcessPageQuery.model_validate(
                        {"order": order, "descending": descending, "states": states, "limit": PAGE}
                    )
                    first, second = await _timed(processes, query, repeats)
                    cells.append(f"{first * 1000:7.1f} /{second * 1000:6.1f}")
                first, second = await _timed_view(window, query, repeats)  # `waiting` again
                cells.append(f"{first * 1000:7.1f} /{second * 1000:6.1f}")
                direction = "desc" if descending else "asc"
                print(f"{order:<14}{direction:<6}{''.join(f'{c:>16}' for c in cells)}")
    finally:
        await registry.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--running", type=int, default=100_000)
    parser.add_argument("--path")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    path = args.path or sorted_registry(args.rows, args.running)
    asyncio.run(measure(path, args.repeats))


if __name__ == "__main__":
    main()
