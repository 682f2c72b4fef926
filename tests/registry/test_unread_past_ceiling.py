"""Every SQLite read of many records leaves a record past the ceiling (sql/dialect.py
`MAX_STORED_BYTES`, 16 MiB) unread, and lists its row once, with its id and status, as the
stand-in every reader shows for it (row.py `TOO_LARGE`): lists, the state filters, text
filters, every sorted order, the change feed, `ls` (the facade's path and listing.py's
plain one) and `show` (sql/ceiling.py `unread_past_ceiling`).

SQLite 3.40 loads a text to measure it, so each of these statements, which measure a
record before they read or test it, had SQLite load one past the ceiling whole in its own
memory (tracemalloc cannot see it): a 200 MB record took `Processes.list` to a 241 MB peak
and `ls --waiting -o json` to 215 MB. Proved two ways on real files: SQLite's own length
limit set at the ceiling on every connection the registry opens (a statement that loads
such a value fails), and the peak RSS of the real command line on a record of 160 MB.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from lashtui.clock import ManualClock
from lashtui.model import ProcessListFilter, ProcessPageQuery, ProcessRecord, failure
from lashtui.model.page import PAGE_CHARS
from lashtui.registry import open_registry
from lashtui.registry.sql import row
from tests.builders import ext
from tests.cli.test_cli import LASHTUI
from tests.raw import raw_connection, store_record_json
from tests.registry.rows import ANY, park
from tests.registry.test_stored_size import past_ceiling, refuse_to_load_past_the_ceiling

ORDERS = ("id", "status", "label", "age", "updated", "lease_expiry")


async def _registry_with_a_large_record(db: str, padding: int | None = None) -> None:
    """Rows a (waiting), big, c (running) and d (failed); big's record then padded past
    the ceiling by raw SQL, as another program would write it (`padding` characters of
    label, else just past the ceiling)."""
    clock = ManualClock(1_000_000)
    async with open_registry(db, clock=clock) as registry:
        for process_id in ("a", "big", "c", "d"):
            await registry.register_process(ext(process_id))
        await park(registry, "a", clock.now_ms())
        await registry.complete_process("d", failure("boom", "it broke"))
        big = await registry.get_process("big")
    assert big is not None
    if padding is None:
        store_record_json(db, "big", past_ceiling(big.model_dump_json()))
        return
    body = json.loads(big.model_dump_json())
    body["identity"]["label"] = "x" * padding
    store_record_json(db, "big", json.dumps(body))


def _shown(records: list[ProcessRecord]) -> list[tuple[str, str, str | None]]:
    """Each row's id, state as the views show it, and why it is undecodable."""
    return [
        (r.id, "waiting" if r.wait is not None else r.status.state.value, r.undecodable)
        for r in records
    ]


BIG = ("big", "running", row.TOO_LARGE)


async def test_sqlite_lists_filters_and_sorted_pages_never_load_such_a_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = str(tmp_path / "r.db")
    await _registry_with_a_large_record(db)
    refuse_to_load_past_the_ceiling(monkeypatch)
    async with open_registry(db, read_only=True) as registry:
        listed = await registry.list_processes(ANY)
        running = await registry.list_processes(ProcessListFilter())
        live = await registry.list_non_terminal()
        feed, _ = await registry.processes_changed_since(0, 100, max_chars=PAGE_CHARS)
        pages = {}
        for order in ORDERS:
            for asked in (None, {"running"}, {"waiting"}, {"running", "failed"}):
                for text in ("", "b", "é"):
                    query = ProcessPageQuery(
                        limit=50, order=order, text=text,
                        states=frozenset(asked) if asked is not None else None,
                    )  # fmt: skip
                    records, _ = await registry.page_processes_within(query, PAGE_CHARS)
                    pages[order, tuple(sorted(asked or ())), text] = records
    assert _shown(listed) == [
        ("a", "waiting", None), BIG, ("c", "running", None), ("d", "failed", None),
    ]  # fmt: skip
    assert _shown(running) == _shown(live) == [("a", "waiting", None), BIG, ("c", "running", None)]
    # (The feed's order, its saves; a record left unread costs a page nothing.)
    assert _shown(feed) == [
        BIG, ("c", "running", None), ("a", "waiting", None), ("d", "failed", None),
    ]  # fmt: skip
    for (order, states, text), records in pages.items():
        shown = _shown(records)
        # Listed once, as the running stand-in it is: under "running", never "waiting".
        expected = 1 if ("running" in states or not states) and text in ("", "b") else 0
        assert shown.count(BIG) == expected, (order, states, text, shown)
        assert [r.id for r in records].count("big") == expected, (order, states, text)


async def test_a_connection_finds_a_large_record_written_while_it_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long-lived reader (the dashboard) keeps the rows it found and tells them again by
    their headers at each read: one rewritten small reads whole again, and one grown past
    the ceiling after the reader opened is found when a read meets it."""
    db = str(tmp_path / "r.db")
    await _registry_with_a_large_record(db)
    refuse_to_load_past_the_ceiling(monkeypatch)
    async with open_registry(db) as registry:
        waiting = ProcessListFilter()
        assert BIG in _shown(await registry.list_processes(waiting))
        c = await registry.get_process("c")
        assert c is not None
        with raw_connection(db) as conn:  # big small again, c past the ceiling
            conn.execute("UPDATE processes SET record_json = ? WHERE process_id = 'big'",
                         (c.model_copy(update={"id": "big"}).model_dump_json(),))  # fmt: skip
        store_record_json(db, "c", past_ceiling(c.model_dump_json()))
        assert _shown(await registry.list_processes(waiting)) == [
            ("a", "waiting", None), ("big", "running", None), ("c", "running", row.TOO_LARGE),
        ]  # fmt: skip


def _peak_rss_kb(*command: str) -> tuple[int, str]:
    """Run `command`; its peak resident set (KB, Linux `ru_maxrss`) and its stdout, measured
    by a Python process of its own whose only child it is."""
    measure = (
        "import resource, subprocess, sys\n"
        "done = subprocess.run(sys.argv[1:], capture_output=True, text=True, timeout=120)\n"
        "assert done.returncode == 0, done.stderr\n"
        "sys.stdout.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) + '\\n')\n"
        "sys.stdout.write(done.stdout)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", measure, *command], capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr
    peak, _, out = done.stdout.partition("\n")
    return int(peak), out


# The record the command line meets: ten times the ceiling. Before, SQLite loaded it whole
# (a 200 MB record: `ls --waiting -o json` 215 MB, `Processes.list` 241 MB); the commands
# here peak at ~20-50 MB without it, so the bound is far from both.
LARGE_CHARS = 160 << 20
RSS_BOUND_KB = 110 << 10


# What each command prints (a pattern), run on a registry whose record is that large. Before,
# `ls --waiting` (both paths) and `Processes.list` had SQLite load the record whole
# (183-211 MB peaks on this one); `ls --status any`, `ls -o json`, `ls --sort label` and
# `show` did not (each ~40-50 MB), and are run to keep it so.
COMMANDS = {
    "ls --status any": r"\nbig +running +undecodable: its record is over 16 MiB",
    "ls --waiting": r"\na +waiting:ready ",
    "ls --waiting -o json": r'^\[\{"process_id":"a",',
    "ls -o json": r'"label":"undecodable: its record is over 16 MiB',
    "ls --status any --sort label": r"\nbig +running +undecodable",
    "show big": rf"\nundecodable +{row.TOO_LARGE}",
    "facade-list": rf"\nbig running {row.TOO_LARGE}\n",
}


async def test_the_command_line_and_the_facade_never_load_such_a_record(tmp_path: Path) -> None:
    large_registry = str(tmp_path / "r.db")
    await _registry_with_a_large_record(large_registry, LARGE_CHARS)
    peaks = {}
    for name, shown in COMMANDS.items():
        command = [LASHTUI, "--db", large_registry, *name.split()]
        if name == "facade-list":
            command = [sys.executable, "-c", FACADE_LIST, large_registry]
        peak, out = await asyncio.to_thread(_peak_rss_kb, *command)
        assert re.search(shown, out), (name, out[:2_000])
        assert len(out) < 100_000  # (nothing of the record printed)
        peaks[name] = peak
    assert all(peak < RSS_BOUND_KB for peak in peaks.values()), peaks


# `Processes.list` over every row, each printed as id, state and why it is undecodable.
FACADE_LIST = """
import asyncio, sys
from lashtui.admin import Processes
from lashtui.model import ProcessListFilter, ProcessStatusFilter
from lashtui.registry import open_registry

async def main() -> None:
    async with open_registry(sys.argv[1], read_only=True) as registry:
        wanted = ProcessListFilter(status=ProcessStatusFilter.ANY)
        for seen in await Processes(registry).list(wanted):
            print(seen.process_id, seen.lifecycle.value, seen.undecodable)

asyncio.run(main())
"""
