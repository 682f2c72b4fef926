"""D2: the dashboard over 1,000,000 retained processes (100,000 running).

The registry is `seed.big_registry(rows, running)` (rows the store wrote, copied under fresh
ids; cached), copied once per run to a scratch file, since the churn below writes to it.
Each repeat is a fresh OS process running the real dashboard headless (`make_app` over
`Processes`, no embedded worker: `lashtui dash --no-worker`; a worker would be driving the
100,000 live rows, which is not the dashboard's cost), so its memory is its own:

- first paint: from before the registry is opened until the Processes view's first window
  and its counts are on screen (the view's `loaded`, then one screen refresh);
- refresh cost under churn: once painted (and settled), another OS process
  (`benchmarks/d_writer.py churn`) makes 100 changes a second for a few seconds (cancel requests
  to live rows, one in ten inside the shown window; one in ten a new registration). Every read
  step of the view reports its wall time through `ViewObserver.read`: `catch_up` (a
  change-feed wake-up: read what changed, move the counts, update the window and table) and
  `_reread` (the once-a-second window re-read). The figure is the p95 of `catch_up`, its
  reading of "refresh tick"; the 1-s re-read and the event loop's worst lag over the same
  seconds (a 5 ms probe) are shown beside it;
- RSS: the peak resident set of that process (`ru_maxrss`), Python and Textual included;
- a view left on screen while nothing commits (after the churn): the dashboard process's
  CPU a second with the Processes, Leases and Abandon requests views current in turn (and,
  on PostgreSQL, the server's beside it). The Leases and Abandon requests views read only
  once the registry has moved (lashtui/tui/screens/live.py); before, they re-read every
  refresh, four times a second.

Peers, context only (same file, same run, stdlib `sqlite3`): `SELECT status, count(*)
GROUP BY status` over every row, what the counts would cost per tick if they were not kept
incrementally.

What would make it unfair: the page cache is warm (the copy was just written, and each
repeat reads the same file), so first paint is a warm start; a cold start after a reboot
reads ~3 GB-scale files from disk first. The churn's writer shares the machine's 2 vCPUs
with the dashboard, as it would in use.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from benchmarks import pg_server
from benchmarks.d_probe import LagProbe, percentile, settle
from benchmarks.report import Figure, Mode, scratch
from benchmarks.seed import big_registry, seed_postgres

if TYPE_CHECKING:
    from lashtui.tui.app import LashtuiApp

RATE = 100.0  # changes a second from the other OS process
GUARD_S = 120.0
# The views measured left idle, by key, and the words their figure goes by.
IDLE_VIEWS = {"1": "Processes", "2": "Leases", "3": "Abandon requests"}


class Reads:
    """The app's observer: every read step's wall time, by step."""

    def __init__(self) -> None:
        self.steps: dict[str, list[float]] = {}
        self.recording = False

    def applied(self, process_ids: Sequence[str]) -> None:
        pass

    def read(self, step: str, seconds: float) -> None:
        if self.recording:
            self.steps.setdefault(step, []).append(seconds)


async def _child(path: str, rows: int, running: int, seconds: float) -> dict[str, object]:
    started = time.perf_counter()
    from lashtui.admin import Processes
    from lashtui.tui.app import make_app

    if path.startswith("postgresql://"):
        from lashtui.registry.postgres import PostgresProcessRegistry as Store
    else:
        from lashtui.registry.sqlite import SqliteProcessRegistry as Store  # type: ignore[assignment]

    imported = time.perf_counter() - started
    started = time.perf_counter()
    registry = await Store.open(path, create=False)
    reads = Reads()
    try:
        app = make_app(Processes(registry), observer=reads, subtitle="D2")
        async with app.run_test(size=(160, 50)):
            screen = app.home()
            async with asyncio.timeout(GUARD_S):
                await screen.loaded.wait()
            painted = asyncio.get_running_loop().create_future()
            screen.call_after_refresh(painted.set_result, None)
            await painted
            first_paint = time.perf_counter() - started
            counts = dict(app.dashboard.pulse.counts)
            rss_painted = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
            await settle()
            probe = LagProbe()
            probe.start()
            reads.recording = True
            rows_read = await asyncio.to_thread(_rows_read, path)
            writer = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "benchmarks.d_writer", "churn", path, str(rows),
                str(running), str(RATE), str(seconds), stdout=asyncio.subprocess.PIPE,
            )
            out, _ = await writer.communicate()
            await asyncio.sleep(0.3)  # the last changes' refresh
            reads.recording = False
            rows_read = await asyncio.to_thread(_rows_read, path) - rows_read
            lags = await probe.stop()
            if writer.returncode != 0:
                raise RuntimeError("D2: the churn writer failed")
            errors_paint = await _errors_first_paint(app)
            idle = await _idle_views(app, path, seconds)
    finally:
        await registry.close()
    return {
        "import_s": imported,
        "errors_paint_s": errors_paint,
        "first_paint_s": first_paint,
        "counts": counts,
        "rss_painted": rss_painted,
        "rss_peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "reads": reads.steps,
        "lag_max": max(lags),
        "lag_p99": percentile(lags, 0.99),
        "writer": json.loads(out),
        "rows_read": rows_read,
        "idle": idle,
    }


async def _idle_views(app: LashtuiApp, target: str, seconds: float) -> dict[str, list[float]]:
    """Each of `IDLE_VIEWS` current in turn with nothing committing: [the dashboard
    process's CPU seconds a second, the server's (PostgreSQL on this machine; else 0)]."""
    from benchmarks.cpu import process_cpu, server_cpu

    def server() -> float:
        if not target.startswith("postgresql://"):
            return 0.0
        return server_cpu(target) or 0.0

    shares: dict[str, list[float]] = {}
    for key, name in IDLE_VIEWS.items():
        await app.switch_mode({"1": "processes", "2": "leases", "3": "abandon"}[key])
        await asyncio.sleep(min(2.0, seconds))  # its first read and paint, then idle
        own, theirs, started = process_cpu(os.getpid()), server(), time.monotonic()
        await asyncio.sleep(seconds)
        took = time.monotonic() - started
        shares[name] = [
            (process_cpu(os.getpid()) - own) / took, (server() - theirs) / took
        ]
    return shares


def _rows_read(target: str) -> int:
    """How many rows of `processes` the server has handed out so far (sequential and index
    reads, every connection's): read before and after the churn, it shows whether anything
    counts the registry per refresh (issue 20, item 6: a count is ~1,000,000 rows each time).
    The server's statistics arrive up to a second late, hence the wait. -1 on SQLite."""
    if not target.startswith("postgresql://"):
        return -1
    import psycopg

    time.sleep(1.5)  # on a worker thread: pgstat flushes each backend's counts within 1 s
    with psycopg.connect(target, autocommit=True) as conn:
        row = conn.execute(
            "SELECT coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) "
            "FROM pg_stat_user_tables WHERE relname = 'processes' "
            "AND schemaname = current_schema()"
        ).fetchone()
    return int(row[0]) if row else -1


async def _errors_first_paint(app: LashtuiApp) -> float:
    """From pressing 5 until the Errors view's groups are on screen (its first read is a
    window of the most recently changed rows, lashtui/model/error.py)."""
    from lashtui.tui.screens.errors import ErrorsScreen

    started = time.perf_counter()
    await app.switch_mode("errors")
    screen = app.screen
    assert isinstance(screen, ErrorsScreen)
    async with asyncio.timeout(GUARD_S):
        await screen.loaded.wait()
    painted = asyncio.get_running_loop().create_future()
    screen.call_after_refresh(painted.set_result, None)
    await painted
    return time.perf_counter() - started


def _run_child(path: str, rows: int, running: int, seconds: float) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.d2_million", path, str(rows), str(running),
         str(seconds)],
        capture_output=True, text=True, timeout=GUARD_S * 2, check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"D2: the dashboard process failed:\n{done.stderr[-2000:]}")
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


GROUP_BY = "SELECT status, count(*) FROM processes GROUP BY status"


def _group_by(target: str) -> float:
    if target.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(target) as pg:
            start = time.perf_counter()
            pg.execute(GROUP_BY).fetchall()
            return time.perf_counter() - start
    conn = sqlite3.connect(f"file:{target}?mode=ro", uri=True)
    try:
        start = time.perf_counter()
        conn.execute(GROUP_BY).fetchall()
        return time.perf_counter() - start
    finally:
        conn.close()


def run(mode: Mode) -> list[Figure]:
    rows = mode.size(100_000, 1_000_000, smoke=2_000)
    running = mode.size(10_000, 100_000, smoke=200)
    seconds = mode.size(2.0, 10.0, smoke=0.5)
    source = big_registry(rows, running)
    with scratch("d2") as tmp:
        path = os.path.join(tmp, "registry.db")
        shutil.copyfile(source, path)
        figures = _measure(path, rows, running, seconds, mode.repeats)
    return figures + _on_postgres(rows, running, seconds, mode.repeats)


def _on_postgres(rows: int, running: int, seconds: float, repeats: int) -> list[Figure]:
    """The first paint and the feed refresh on a PostgreSQL registry of the same rows
    (issue 20, item 6), in a scratch schema seeded once for the run."""
    figure = f"first paint (open -> window + counts), {rows:,} rows, {running:,} running"
    skip = pg_server.unavailable()
    if skip is not None:
        return [Figure.unmeasured("D2", figure, "s", skip, store=pg_server.STORE)]
    with pg_server.scratch_schema("d2") as url:
        seeding = time.perf_counter()
        seed_postgres(url, rows, running)
        seeded = f"seeded by COPY in {time.perf_counter() - seeding:.0f} s; {pg_server.settings()}"
        figures = _measure(url, rows, running, seconds, repeats, pg_server.STORE)
    figures[0].notes.append(seeded)
    shown = ("first paint", "feed refresh", "peak", "the ")
    return [f for f in figures if f.figure.startswith(shown)]


def _measure(
    target: str, rows: int, running: int, seconds: float, repeats: int, store: str = ""
) -> list[Figure]:
    paints, ticks, rereads, lags, rss, group_by = [], [], [], [], [], []
    idle: dict[str, list[float]] = {name: [] for name in IDLE_VIEWS.values()}
    idle_server: dict[str, list[float]] = {name: [] for name in IDLE_VIEWS.values()}
    errors: list[float] = []
    notes: list[str] = []
    for _ in range(repeats):
        group_by.append(_group_by(target))
        result = _run_child(target, rows, running, seconds)
        steps = result["reads"]
        assert isinstance(steps, dict)
        catch_up, reread = steps.get("catch_up", []), steps.get("_reread", [])
        paints.append(float(result["first_paint_s"]))  # type: ignore[arg-type]
        errors.append(float(result["errors_paint_s"]))  # type: ignore[arg-type]
        ticks.append(percentile(catch_up, 0.95))
        rereads.append(percentile(reread, 0.95) if reread else 0.0)
        lags.append(float(result["lag_max"]))  # type: ignore[arg-type]
        rss.append(float(result["rss_peak"]) / 2**20)  # type: ignore[arg-type]
        shares = result["idle"]
        assert isinstance(shares, dict)
        for name, (own, server) in shares.items():
            idle[name].append(own)
            idle_server[name].append(server)
        notes.append(
            f"run: {len(catch_up)} feed refreshes (max {max(catch_up) * 1000:.0f} ms), "
            f"re-read max {max(reread or [0]) * 1000:.0f} ms, writer {result['writer']}, "
            f"imports {float(result['import_s']):.2f} s, "  # type: ignore[arg-type]
            f"RSS at first paint {float(result['rss_painted']) / 2**20:.0f} MB"  # type: ignore[arg-type]
            + (f", rows of `processes` read by every connection during the churn "
               f"(the writer's included): {result['rows_read']:,}" if store else "")
        )
    notes.append(f"counts at first paint: {result['counts']}")
    size = f"{rows:,} rows, {running:,} running"
    peer = "GROUP BY status, same server" if store else "GROUP BY status, stdlib"
    return [
        Figure(
            id="D2", figure=f"first paint (open -> window + counts), {size}", unit="s",
            lashtui=paints, peer_name=peer, peer=group_by,
            target="<= 1.5 s", rule="max<=:1.5", compare=False, store=store,
        ),
        Figure(
            id="D2", figure=f"Errors view first paint (key 5 -> groups), {size}", unit="s",
            lashtui=errors, target="<= 1.5 s", rule="max<=:1.5", store=store,
            notes=["groups the failed/cancelled/abandoned rows among the 20,000 most recently "
                   "changed processes; grouping every row took ~70 s here"],
        ),
        Figure(
            id="D2", figure=f"feed refresh at {RATE:.0f} changes/s, p95", unit="s",
            lashtui=ticks, peer_name=peer, peer=group_by,
            target="<= 30 ms", rule="max<=:0.03", compare=False, notes=notes, store=store,
        ),
        Figure(
            id="D2", figure="once-a-second window re-read + render, p95", unit="s",
            lashtui=rereads, target="context", store=store,
        ),
        Figure(
            id="D2", figure="event-loop lag under churn, max", unit="s",
            lashtui=lags, target="context (D3: <= 50 ms)", store=store,
        ),
        Figure(
            id="D2", figure=f"peak RSS of the dashboard process, {size}", unit="MB",
            lashtui=rss, target="<= 200 MB", rule="max<=:200", store=store,
        ),
        *(
            Figure(
                id="D2", figure=f"the {name} view left on screen, nothing committing: CPU a "
                "second of the dashboard process", unit="s",
                lashtui=idle[name], target="context (no polling storms: dashboard.md)",
                store=store,
                notes=[f"the server's beside it: {max(idle_server[name]) * 1000:.0f} ms a "
                       "second at most"] if store else [],
            )
            for name in IDLE_VIEWS.values()
        ),
    ]


def child_main(argv: list[str]) -> None:
    path, rows, running, seconds = argv[0], int(argv[1]), int(argv[2]), float(argv[3])
    result = asyncio.run(_child(path, rows, running, seconds))
    print(json.dumps(result))


if __name__ == "__main__":
    child_main(sys.argv[1:])
