"""Every SQLite read of many records leaves a record past the ceiling (sql/dialect.py
`MAX_STORED_BYTES`, 16 MiB) unread, and lists its row once, with its id and status, as the
stand-in every reader shows for it (decoded_row.py `TOO_LARGE`): lists, the state filters, text
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
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from lashtui.clock import ManualClock
from lashtui.model import ProcessListFilter, ProcessPageQuery, ProcessRecord, failure
from lashtui.model.page import PAGE_CHARS
from lashtui.registry import open_registry
from lashtui.registry.sql import ceiling, decoded_row
from lashtui.registry.sqlite.connect import RegistryConnection
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


BIG = ("big", "running", decoded_row.TOO_LARGE)


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
                for text in ("", "b", "é", "ig", "zz"):
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
        expected = 1 if ("running" in states or not states) and text in ("", "b", "ig") else 0
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
            ("a", "waiting", None), ("big", "running", None),
            ("c", "running", decoded_row.TOO_LARGE),
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
    "show big": rf"\nundecodable +{decoded_row.TOO_LARGE}",
    "facade-list": rf"\nbig running {decoded_row.TOO_LARGE}\n",
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


def _copies_of_c(db: str, count: int) -> None:
    """`count` copies of row `c` (running), ids r000001 on (after `big` in id order), as
    another program could insert them."""
    conn = sqlite3.connect(db)
    try:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(processes)")]
        kept = [c for c in columns if c not in ("process_id", "change_seq", "record_json")]
        names = ", ".join(kept)
        with conn:
            conn.execute(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
                f"INSERT INTO processes (process_id, change_seq, record_json, {names}) "
                "SELECT printf('r%06d', i), change_seq + 1000 + i, "
                f"json_set(record_json, '$.id', printf('r%06d', i)), {names} "
                "FROM n, processes WHERE process_id = 'c'",
                (count,),
            )
    finally:
        conn.close()


def _count_vm_steps(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A counter of the SQLite VM's work on every connection a registry opens from now on
    (a tick every 100 instructions: deterministic, unlike a timing)."""
    steps = [0]
    open_as_ever = RegistryConnection.__init__

    def counted(self: RegistryConnection, *args: Any, **kwargs: Any) -> None:
        open_as_ever(self, *args, **kwargs)

        def tick() -> int:
            steps[0] += 1
            return 0  # (go on)

        self.set_progress_handler(tick, 100)

    monkeypatch.setattr(RegistryConnection, "__init__", counted)
    return steps


async def test_the_first_read_that_meets_such_a_row_costs_what_it_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first read that meets a record past the ceiling finds it among the rows it reads
    (each record it tests told from its row's header), not by measuring the whole table:
    a page of five rows costs about what it costs once the row is known. Before, that read
    measured every record of the table, a chunk at a time: 1,536 ticks here against 5 (on
    1,000,000 rows, `ls --waiting`'s read took 4.4 s, now 0.09 s)."""
    db = str(tmp_path / "r.db")
    await _registry_with_a_large_record(db)
    _copies_of_c(db, 10_000)
    steps = _count_vm_steps(monkeypatch)
    running = ProcessPageQuery(limit=5, states=frozenset({"running"}))
    async with open_registry(db, read_only=True) as registry:
        steps[0] = 0
        first, _ = await registry.page_processes_within(running, PAGE_CHARS)
        first_steps, steps[0] = steps[0], 0
        again, _ = await registry.page_processes_within(running, PAGE_CHARS)
        again_steps = steps[0]
    assert _shown(first) == _shown(again) == [
        BIG, ("c", "running", None), *[(f"r00000{n}", "running", None) for n in (1, 2, 3)],
    ]  # fmt: skip
    assert first_steps <= 4 * max(again_steps, 1), (first_steps, again_steps)


# Reads on one connection of a registry holding a record of `LARGE_CHARS` and an id of
# 20 MB (which SQLite can only read past its length limit): three lists, each printed.
HUGE_ID_READS = """
import asyncio, sys
from lashtui.model import ProcessListFilter, ProcessStatusFilter
from lashtui.registry import open_registry

async def main() -> None:
    async with open_registry(sys.argv[1], read_only=True) as registry:
        wanted = ProcessListFilter(status=ProcessStatusFilter.ANY)
        for _ in range(3):
            listed = await registry.list_processes(wanted)
            print([(r.id[:3], r.undecodable is not None) for r in listed])

asyncio.run(main())
"""


async def test_a_huge_id_never_lifts_the_ceiling_for_later_reads(tmp_path: Path) -> None:
    """A read that meets an id past SQLite's length limit runs without the limit (the id
    must be read), its records still told from their headers; every later read on that
    connection runs under the limit again and never loads the record past the ceiling.
    Before, the connection read unlimited from then on, with no row left unread: the second
    list loaded the 160 MiB record (peak 230 MB; now ~86 MB, the id's copies)."""
    db = str(tmp_path / "r.db")
    await _registry_with_a_large_record(db, LARGE_CHARS)
    with raw_connection(db) as conn:  # (d's id past the limit, as another program could)
        conn.execute(
            "UPDATE processes SET process_id = ? WHERE process_id = 'd'", ("d" * (20 << 20),)
        )
    peak, out = await asyncio.to_thread(_peak_rss_kb, sys.executable, "-c", HUGE_ID_READS, db)
    listed = "[('a', False), ('big', True), ('c', False), ('ddd', True)]"
    assert out.splitlines() == [listed] * 3
    assert peak < RSS_BOUND_KB, peak


async def test_a_read_meeting_many_such_rows_tells_them_by_their_headers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past `ONE_AT_A_TIME` new rows past the ceiling in one read, the read tells every
    record it tests from its row's header (ceiling.py `_by_header`), under the limit: all
    are listed as stand-ins, none loaded."""
    db = str(tmp_path / "r.db")
    await _registry_with_a_large_record(db)
    _copies_of_c(db, 8)
    big = sorted(f"r00000{n}" for n in range(1, ceiling.ONE_AT_A_TIME + 3))
    with raw_connection(db) as conn:
        sql = "SELECT record_json FROM processes WHERE process_id = 'c'"
        (record,) = conn.execute(sql).fetchone()
    for process_id in big:  # (the record is never read: c's, padded, serves)
        store_record_json(db, process_id, past_ceiling(record))
    refuse_to_load_past_the_ceiling(monkeypatch)
    running = ProcessPageQuery(limit=20, states=frozenset({"running"}))
    async with open_registry(db, read_only=True) as registry:
        page, cut = await registry.page_processes_within(running, PAGE_CHARS)
    assert [r.id for r in page if r.undecodable == decoded_row.TOO_LARGE] == ["big", *big]
    assert [r.id for r in page if r.undecodable is None] == ["c", "r000007", "r000008"]
    assert not cut
