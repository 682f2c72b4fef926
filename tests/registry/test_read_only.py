"""Read-only is read-only: the read commands and the read-only dashboard never create, write
or truncate the registry, its -wal or its -shm (every file in the directory is listed and
hashed before and after), and they work for a user who may read the file but not write it
or its directory. Both with no writer (no -wal or -shm on disk) and beside a live writer
(which holds them, with commits not yet checkpointed into the main file)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import pytest

from lashtui.admin import Processes
from lashtui.clock import ManualClock
from lashtui.errors import StoreError
from lashtui.model import ProcessEventAppendRequest
from lashtui.registry import open_registry
from lashtui.registry.watch import registry_changes
from lashtui.tui.app import make_app
from tests.builders import ext
from tests.unprivileged import lashtui_as_reader, seal, shared_directory

ROOT = Path(__file__).resolve().parents[2]
START_MS = 1_780_000_000_000

# A writer in another OS process that keeps the registry open: it registers its first row,
# says "ready", then registers one row per line it reads, until an empty line.
HOLDER = """
import asyncio, sys
from lashtui.registry import open_registry
from tests.builders import ext

async def main() -> None:
    async with open_registry(sys.argv[1]) as registry:
        await registry.register_process(ext(sys.argv[2]))
        print("ready", flush=True)
        for line in sys.stdin:
            if not line.strip():
                break
            await registry.register_process(ext(line.strip()))
            print("ready", flush=True)

asyncio.run(main())
"""


def listing(directory: Path) -> dict[str, str]:
    """Every entry of `directory` with the sha256 of its bytes and its mode."""
    return {
        entry.name: f"{hashlib.sha256(entry.read_bytes()).hexdigest()} {entry.stat().st_mode:o}"
        for entry in sorted(directory.iterdir())
    }


def lashtui(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lashtui.cli", "--db", str(db), *args],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )


class Holder:
    """The live writer (HOLDER above)."""

    def __init__(self, db: Path, first: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(db), first],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
        )
        self.ready()

    def ready(self) -> None:
        assert self.process.stdout is not None
        assert self.process.stdout.readline().strip() == "ready"

    def register(self, process_id: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(process_id + "\n")
        self.process.stdin.flush()
        self.ready()

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("\n")
        self.process.stdin.flush()
        assert self.process.wait(timeout=30) == 0


@contextmanager
def holding(db: Path, first: str) -> Iterator[Holder]:
    holder = Holder(db, first)
    try:
        yield holder
    finally:
        if holder.process.poll() is None:
            holder.stop()


async def made(db: Path, *ids: str) -> None:
    """A registry holding `ids` (each with a cancel request in its event log), closed
    again: its last close removes the -wal and -shm."""
    async with open_registry(str(db)) as registry:
        for process_id in ids:
            await registry.register_process(ext(process_id))
            request = ProcessEventAppendRequest.cancel_requested(process_id, "by the test")
            await registry.append_event(process_id, request)


@asynccontextmanager
async def writer_state(db: Path, live: bool) -> AsyncIterator[None]:
    """The registry at rest (no -wal, no -shm), or beside a live writer whose last commit
    (row `live`) is still only in its -wal."""
    await made(db, "p1")
    if not live:
        assert sorted(p.name for p in db.parent.iterdir()) == [db.name]
        yield
        return
    with holding(db, "live"):
        assert {db.name + "-wal", db.name + "-shm"} <= {p.name for p in db.parent.iterdir()}
        yield


READS = (
    ("ls", "--json", "--status", "any"),
    ("ls",),
    ("show", "p1", "--json"),
    ("events", "p1", "--json"),
    ("await", "p1", "--timeout", "0.05"),  # p1 runs on: a timeout, and still nothing written
)


@pytest.mark.parametrize("live", [False, True], ids=["at-rest", "live-writer"])
async def test_read_commands_write_nothing(tmp_path: Path, live: bool) -> None:
    db = tmp_path / "r.db"
    async with writer_state(db, live):
        before = listing(tmp_path)
        results = [lashtui(db, *args) for args in READS]
        assert listing(tmp_path) == before
    for args, result in zip(READS, results, strict=True):
        expected = 1 if args[0] == "await" else 0
        assert result.returncode == expected, (args, result.stderr)
    ids = [row["process_id"] for row in json.loads(results[0].stdout)]
    assert ids == (["live", "p1"] if live else ["p1"])  # the live writer's commit is seen


@pytest.mark.parametrize("live", [False, True], ids=["at-rest", "live-writer"])
async def test_the_read_only_dashboard_writes_nothing(tmp_path: Path, live: bool) -> None:
    db = tmp_path / "r.db"
    async with writer_state(db, live):
        before = listing(tmp_path)
        clock = ManualClock(START_MS)
        async with open_registry(str(db), clock=clock, read_only=True) as registry:
            app = make_app(Processes(registry, clock=clock), clock=clock, read_only=True)
            async with app.run_test(size=(120, 20)) as pilot:
                screen: Any = app.screen
                async with asyncio.timeout(10):
                    await screen.loaded.wait()
                for key in ("down", "enter", "escape", "p", "p", "c", "a", "q"):
                    await pilot.press(key)
                    await pilot.pause()
        assert listing(tmp_path) == before


async def test_a_read_only_handle_follows_writers_that_start_after_it(tmp_path: Path) -> None:
    """Opened with no -wal on disk (immutable), the handle must still see a writer that
    starts later: one that commits and closes again (its last close checkpoints into the
    main file and deletes the -wal), and one that stays open."""
    db = tmp_path / "r.db"
    await made(db, "p1")
    async with open_registry(str(db), read_only=True) as registry:
        assert [p.id for p in await registry.list_processes()] == ["p1"]
        version = await registry.data_version()
        await made(db, "p2")
        assert await registry.get_process("p2") is not None
        assert [p.id for p in await registry.list_processes()] == ["p1", "p2"]
        assert await registry.data_version() != version
        with holding(db, "p3") as holder:
            assert await registry.get_process("p3") is not None
            holder.register("p4")
            assert [p.id for p in await registry.list_processes()] == ["p1", "p2", "p3", "p4"]


async def test_the_read_only_watch_wakes_for_a_writer_that_starts_later(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    await made(db, "p1")
    async with open_registry(str(db), read_only=True) as registry:
        changes = registry_changes(registry, poll_s=0.05)
        await anext(changes)  # armed
        with holding(db, "p2"):
            async with asyncio.timeout(10):
                await anext(changes)
            assert await registry.get_process("p2") is not None
        await changes.aclose()


@pytest.mark.parametrize("live", [False, True], ids=["at-rest", "live-writer"])
async def test_a_reader_without_write_access_reads(live: bool) -> None:
    """As `nobody`: the registry 0644 (not theirs), in a directory they cannot write."""
    with shared_directory() as directory:
        db = directory / "r.db"
        async with writer_state(db, live):
            seal(directory)
            before = listing(directory)
            listed = lashtui_as_reader(db, "ls", "--json", "--status", "any")
            shown = lashtui_as_reader(db, "show", "p1", "--json")
            events = lashtui_as_reader(db, "events", "p1", "--json")
            assert listing(directory) == before
    assert listed.returncode == 0, listed.stderr
    ids = [row["process_id"] for row in json.loads(listed.stdout)]
    assert ids == (["live", "p1"] if live else ["p1"])
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["process_id"] == "p1"
    assert events.returncode == 0, events.stderr
    assert [e["event_type"] for e in json.loads(events.stdout)] == ["process.cancel_requested"]


async def test_commits_in_a_wal_without_its_shm_are_not_silently_skipped(tmp_path: Path) -> None:
    """A -wal with commits but no -shm (a writer's files copied without it): an immutable
    open would show the main file alone, without those commits, and read-only WAL cannot
    open it; refused in one sentence instead, and nothing is created."""
    db, copy = tmp_path / "r.db", tmp_path / "copy" / "r.db"
    await made(db, "p1")
    copy.parent.mkdir()
    with holding(db, "p2"):
        shutil.copyfile(db, copy)
        shutil.copyfile(f"{db}-wal", f"{copy}-wal")
    before = listing(copy.parent)
    with pytest.raises(StoreError, match="has commits in its -wal but no -shm"):
        async with open_registry(str(copy), read_only=True):
            pass
    assert listing(copy.parent) == before


# A writer that opens the registry, commits and closes, again and again, as one-shot
# commands (`lashtui start`) beside a watch do: each close deletes the -shm, then the -wal.
OPEN_COMMIT_CLOSE = """
import sqlite3, sys, time
db, end, count = sys.argv[1], time.monotonic() + float(sys.argv[2]), 0
while time.monotonic() < end:
    conn = sqlite3.connect(db)
    conn.execute("UPDATE process_change_clock SET current_seq = current_seq + 1")
    conn.commit()
    conn.close()
    count += 1
print(count)
"""


async def test_a_read_only_open_beside_writers_that_close_is_not_refused(tmp_path: Path) -> None:
    """Read-only opens while one-shot writers open, commit and close. The last close deletes
    the -shm and then the -wal: an open that looked in between took the moment for a dead
    writer's files ("commits in its -wal but no -shm") or stat'ed a -wal deleted since it
    saw it (FileNotFoundError: `ls --watch` crashed beside `lashtui start`). Every open
    must read the registry."""
    db = tmp_path / "r.db"
    await made(db, "p1")
    writer = subprocess.Popen(  # noqa: ASYNC220 (started, not waited for, here)
        [sys.executable, "-c", OPEN_COMMIT_CLOSE, str(db), "3"], stdout=subprocess.PIPE, text=True
    )
    failures: list[str] = []
    opens = 0
    try:
        while writer.poll() is None:
            try:
                async with open_registry(str(db), read_only=True) as registry:
                    assert [p.id for p in await registry.list_processes()] == ["p1"]
            except (StoreError, OSError) as error:
                failures.append(f"{type(error).__name__}: {error}")
            opens += 1
    finally:
        out, _ = writer.communicate(timeout=30)
    assert int(out) > 100 and opens > 100, (out, opens)  # the two did overlap, many times
    assert failures == [], f"{len(failures)} of {opens} opens failed, first: {failures[0]}"


def test_the_unprivileged_reader_runs_from_a_staged_copy_too() -> None:
    """Where CI's checkout sits somewhere `nobody` cannot read, the reader tests run lashtui
    from a copy under /tmp: that copy must import the whole read path as `nobody`."""
    from tests import unprivileged

    paths = unprivileged._staged_paths()
    python = f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}"
    if not Path(python).exists():
        pytest.skip(f"no {python} for user nobody")
    done = subprocess.run(  # type: ignore[call-overload]
        [python, "-c", "import lashtui.cli, lashtui.command, lashtui.registry.sqlite"],
        env=unprivileged._env(paths),
        capture_output=True,
        text=True,
        cwd="/",
        timeout=60,
        **unprivileged._identity(),
    )
    assert done.returncode == 0, done.stderr


async def test_a_registry_whose_writers_left_its_wal_and_shm_reads_as_still(
    tmp_path: Path,
) -> None:
    """A writer killed after its checkpoint emptied the -wal leaves an empty -wal beside its
    -shm (here: the -shm copied from a live writer, the main file once it closed, an empty
    -wal; times set a minute back). A read-only open maps the -shm it may not write, which
    SQLite cannot trust without a writer: it rebuilds its index at every read, and its
    `data_version` moved at each one, so the dashboard's views re-read at every refresh
    (22-27% of a core on 100,000 rows). The handle's version stands while nothing writes
    the files, and moves for a writer that comes back and commits. (The writer is another
    OS process, as in life: SQLite shares one -shm mapping between the connections of one
    process, and this handle's is read-only.)"""
    db, copy = tmp_path / "r.db", tmp_path / "copy" / "r.db"
    await made(db, "p1")
    copy.parent.mkdir()
    with holding(db, "p2"):
        shutil.copyfile(f"{db}-shm", f"{copy}-shm")
    shutil.copyfile(db, copy)  # the writer's close checkpointed p2 into the main file
    os.close(os.open(f"{copy}-wal", os.O_CREAT | os.O_WRONLY, 0o644))  # empty
    minute_ago = time.time_ns() - 60 * 10**9
    for suffix in ("", "-wal"):
        os.utime(f"{copy}{suffix}", ns=(minute_ago, minute_ago))
    async with open_registry(str(copy), read_only=True) as registry:
        version = await registry.data_version()
        for _ in range(3):
            assert [p.id for p in await registry.list_processes()] == ["p1", "p2"]
            assert await registry.data_version() == version
        with holding(copy, "p3"):  # a writer (another OS process) comes back and commits
            await asyncio.sleep(0.1)  # seen later than a clock tick: by the files' marks
            assert await registry.data_version() != version
            assert [p.id for p in await registry.list_processes()] == ["p1", "p2", "p3"]
