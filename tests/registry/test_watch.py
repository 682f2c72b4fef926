"""`registry_changes`: waking the dashboard when another OS process commits.

The outcome checked is the one an operator notices: a reader blocked on the next wake-up
is woken within two seconds of a separate OS process committing a row, and then sees the
row. The file watch is shown to do it alone (its version poll pushed out to a minute, and
the reader is seen to be waiting before the commit); the poll is shown to do it alone (file
watching off). Cancelling the reader stops everything it started.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Iterator
from pathlib import Path

import pytest

from lashtui.clock import ManualClock
from lashtui.errors import StoreError
from lashtui.registry import ProcessRegistry, file_watch, open_registry, watch
from lashtui.registry.postgres import PostgresProcessRegistry
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.registry.watch import registry_changes, registry_file
from tests.builders import ext
from tests.late_commit import half_written, linked_elsewhere
from tests.proxy import Proxy, proxied, target_of
from tests.raw import raw_connection

ROOT = Path(__file__).resolve().parents[2]
MINUTE_S = 60.0


async def register_elsewhere(path: str, process_id: str) -> None:
    """Register a row from a separate OS process, and wait for it to exit."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.registry.registry_child",
        "register",
        path,
        process_id,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):
        out, err = await child.communicate()
    assert child.returncode == 0, (out + err).decode()


async def woken_by(changes: AsyncIterator[None], commit: Awaitable[object]) -> None:
    """The reader waits first; only `commit` may wake it, within two seconds of committing."""
    waiting = asyncio.ensure_future(anext(changes))
    for _ in range(5):
        await asyncio.sleep(0)  # let the reader reach its wait (a turn of the loop, no delay)
    assert not waiting.done(), "woken before anything was committed"
    await commit
    async with asyncio.timeout(2):
        await waiting


@pytest.fixture
async def shared(tmp_path: Path, clock: ManualClock) -> AsyncIterator[tuple[str, ProcessRegistry]]:
    """A registry file with one row, held open by this process, read-only."""
    path = str(tmp_path / "shared.db")
    async with open_registry(path, clock=clock) as writer:
        await writer.register_process(ext("first"))
        async with open_registry(path, read_only=True) as reader:
            yield path, reader


async def test_the_file_watch_wakes_a_reader_when_another_process_commits(
    shared: tuple[str, ProcessRegistry],
) -> None:
    path, reader = shared
    changes = registry_changes(reader, poll_s=MINUTE_S)
    async with contextlib.aclosing(changes):
        async with asyncio.timeout(5):
            await anext(changes)  # armed: the baseline is read after this
        await woken_by(changes, register_elsewhere(path, "from-another-process"))
        assert await reader.get_process("from-another-process") is not None


async def test_where_inotify_is_missing_watchfiles_watches_instead(
    shared: tuple[str, ProcessRegistry], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Off Linux (no inotify) the file is watched by watchfiles: the same wake-up."""
    path, reader = shared

    async def no_inotify(_path: str) -> None:
        return None

    monkeypatch.setattr(file_watch, "_inotify", no_inotify)
    changes = registry_changes(reader, poll_s=MINUTE_S)
    async with contextlib.aclosing(changes):
        async with asyncio.timeout(5):
            await anext(changes)
        await woken_by(changes, register_elsewhere(path, "seen-by-watchfiles"))
        assert await reader.get_process("seen-by-watchfiles") is not None


async def test_the_version_poll_alone_wakes_a_reader(
    shared: tuple[str, ProcessRegistry],
) -> None:
    path, reader = shared
    changes = registry_changes(reader, poll_s=0.02, watch_files=False)
    async with contextlib.aclosing(changes):
        async with asyncio.timeout(5):
            await anext(changes)
        await woken_by(changes, register_elsewhere(path, "polled"))
        assert await reader.get_process("polled") is not None


async def test_the_poll_wakes_for_another_handle_in_this_process(
    tmp_path: Path, clock: ManualClock
) -> None:
    path = str(tmp_path / "r.db")
    async with (
        open_registry(path, clock=clock) as reader,
        open_registry(path, clock=clock) as writer,
    ):
        changes = registry_changes(reader, poll_s=0.02, watch_files=False)
        async with contextlib.aclosing(changes):
            async with asyncio.timeout(5):
                await anext(changes)
            await woken_by(changes, writer.register_process(ext("next-door")))
            assert await reader.get_process("next-door") is not None


async def test_others_only_skips_this_handles_own_commits_but_not_another_process(
    tmp_path: Path, clock: ManualClock
) -> None:
    """What a worker asks for: its own commits append to the WAL like anyone's, and must not
    wake it; another OS process's commit must, through the file watch (the poll is a
    minute). Without `others_only` the same own commit wakes the reader."""
    path = str(tmp_path / "own.db")
    async with open_registry(path, clock=clock) as mine:
        for others_only, wakes in ((True, False), (False, True)):
            changes = registry_changes(mine, poll_s=MINUTE_S, others_only=others_only)
            async with contextlib.aclosing(changes):
                async with asyncio.timeout(5):
                    await anext(changes)
                waiting = asyncio.ensure_future(anext(changes))
                for n in range(3):
                    await mine.register_process(ext(f"own-{others_only}-{n}"))
                # The watch reports a commit within milliseconds (file_watch.py); a quarter
                # of a second is fifty times its step.
                done, _ = await asyncio.wait([waiting], timeout=0.25)
                assert bool(done) is wakes
                if not wakes:
                    await register_elsewhere(path, "from-another-process")
                    async with asyncio.timeout(2):
                        await waiting


@pytest.mark.parametrize("read_only", [False, True])
async def test_a_reader_of_every_commit_woken_before_the_commit_can_be_read_is_woken_again(
    tmp_path: Path, clock: ManualClock, read_only: bool
) -> None:
    """The dashboard's watch (every commit, not `others_only`): a commit writes its frames to
    the `-wal` (the file event), then marks them committed in the `-shm`, which no watch
    sees; only then can it be read. A reader woken in between read nothing new, and nothing
    more was written to wake it: the commit showed at the next timer (the safety poll's
    second; here the poll is a minute). Forced with real files as tests/worker/test_wake.py
    forces it for a worker (tests/late_commit.py): the event is `half_written`, and the
    commit becoming readable a commit through `linked_elsewhere`, which the watch does not
    see. The doubted event's version reads (watch.py `_Wakeups.recheck`)
    must wake the reader again; read-only too (`ls --watch`, `events --follow`, a read-only
    dashboard)."""
    watched, elsewhere = tmp_path / "watched", tmp_path / "elsewhere"
    watched.mkdir()
    elsewhere.mkdir()
    path = str(watched / "registry.db")
    async with (
        open_registry(path, clock=clock) as created,
        open_registry(path, clock=clock, read_only=True) as read_only_reader,
    ):
        reader = read_only_reader if read_only else created
        linked = linked_elsewhere(path, elsewhere)
        async with open_registry(linked, clock=clock) as other:
            changes = registry_changes(reader, poll_s=MINUTE_S)
            async with contextlib.aclosing(changes):
                async with asyncio.timeout(5):
                    await anext(changes)  # armed
                half_written(path)
                async with asyncio.timeout(5):
                    await anext(changes)  # the event: nothing new can be read yet
                assert await reader.get_process("readable-late") is None
                await woken_by(changes, other.register_process(ext("readable-late")))
                assert await reader.get_process("readable-late") is not None


def watch_tasks() -> list[asyncio.Task[object]]:
    return [t for t in asyncio.all_tasks() if t.get_name().startswith("registry-changes")]


@pytest.mark.parametrize("watch_files", [True, False])
async def test_cancelling_the_reader_stops_the_watch(
    shared: tuple[str, ProcessRegistry], watch_files: bool
) -> None:
    _, reader = shared
    woken = asyncio.Event()

    async def follow() -> None:
        async for _ in registry_changes(reader, poll_s=0.02, watch_files=watch_files):
            woken.set()

    task = asyncio.create_task(follow())
    async with asyncio.timeout(5):
        await woken.wait()
    assert len(watch_tasks()) == (2 if watch_files else 1)
    task.cancel()
    async with asyncio.timeout(5):
        with pytest.raises(asyncio.CancelledError):
            await task  # the cancellation goes through, it is not swallowed
    assert task.cancelled()
    assert watch_tasks() == []
    assert await reader.get_process("first") is not None  # the registry is still usable


async def test_a_closed_registry_ends_the_watch_with_its_error(
    tmp_path: Path, clock: ManualClock
) -> None:
    registry = await SqliteProcessRegistry.open(str(tmp_path / "r.db"), clock=clock)
    changes = registry_changes(registry, poll_s=0.01, watch_files=False)
    async with contextlib.aclosing(changes):
        async with asyncio.timeout(5):
            await anext(changes)
        await registry.close()
        with pytest.raises(StoreError, match="is closed"):
            async with asyncio.timeout(5):
                await anext(changes)
    assert watch_tasks() == []


async def test_only_a_registry_on_disk_is_watched(tmp_path: Path) -> None:
    async with open_registry(":memory:") as memory:
        assert registry_file(memory) is None
        changes = registry_changes(memory, poll_s=0.01)
        async with contextlib.aclosing(changes):
            async with asyncio.timeout(5):
                await anext(changes)
            assert len(watch_tasks()) == 1  # the poll only
    path = tmp_path / "r.db"
    async with open_registry(str(path)) as on_disk:
        assert registry_file(on_disk) == str(path)


# --- a registry on a PostgreSQL server: LISTEN/NOTIFY instead of a file watch


@pytest.fixture
async def on_server(postgres_schema: str) -> AsyncIterator[tuple[str, ProcessRegistry]]:
    """A PostgreSQL registry with one row, held open by this process, read-only."""
    async with open_registry(postgres_schema) as writer:
        await writer.register_process(ext("first"))
    async with open_registry(postgres_schema, read_only=True) as reader:
        yield postgres_schema, reader


async def test_listen_notify_wakes_a_reader_when_another_process_commits(
    on_server: tuple[str, ProcessRegistry],
) -> None:
    url, reader = on_server
    changes = registry_changes(reader, poll_s=MINUTE_S)  # so only a notification can wake it
    async with contextlib.aclosing(changes):
        async with asyncio.timeout(5):
            await anext(changes)
        assert sorted(t.get_name() for t in watch_tasks()) == [
            "registry-changes-listen",
            "registry-changes-poll",
        ]
        await woken_by(changes, register_elsewhere(url, "from-another-process"))
        assert await reader.get_process("from-another-process") is not None
    assert watch_tasks() == []


def drop_listener(url: str, reader: ProcessRegistry) -> None:
    """The server ends the connection `reader` listens on (its pool's stay)."""
    assert isinstance(reader, PostgresProcessRegistry)
    listen = f'LISTEN "{reader.channel}"%'
    with raw_connection(url) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE ?",
            (listen,),
        )


class WatchLog(logging.Handler):
    """The watch's log lines, to wait for one as it comes."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []
        self._new = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())
        self._new.set()

    def count(self, words: str) -> int:
        return sum(words in line for line in self.lines)

    async def said(self, words: str) -> None:
        """Until the watch has logged `words` (5 s at most)."""
        async with asyncio.timeout(5):
            while not self.count(words):
                self._new.clear()
                await self._new.wait()


@pytest.fixture
def watch_log() -> Iterator[WatchLog]:
    handler, logger = WatchLog(), logging.getLogger("lashtui.registry.watch")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


async def test_a_lost_listener_falls_back_to_the_version_poll(
    on_server: tuple[str, ProcessRegistry], watch_log: WatchLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, reader = on_server
    # Not listening again before the commit below: the poll alone must wake the reader.
    monkeypatch.setattr(watch, "LISTEN_RETRY_S", MINUTE_S)
    changes = registry_changes(reader, poll_s=0.02)
    async with contextlib.aclosing(changes):
        async with asyncio.timeout(5):
            await anext(changes)
        drop_listener(url, reader)
        await watch_log.said("listening to the registry failed, polling instead")
        await woken_by(changes, register_elsewhere(url, "polled"))
        assert await reader.get_process("polled") is not None


async def test_the_watch_listens_again_once_the_server_is_back(
    postgres_schema: str, watch_log: WatchLog
) -> None:
    """The reader's connections go through a proxy that is killed (the server gone, for
    them) and started again: the listener comes back, with the poll pushed out to a minute
    so that only a notification can wake the reader after it. It used to listen no more."""
    proxy = Proxy(*target_of(postgres_schema))
    proxy.start()
    try:
        async with open_registry(postgres_schema) as writer:
            await writer.register_process(ext("first"))
        async with open_registry(proxied(postgres_schema, proxy), read_only=True) as reader:
            changes = registry_changes(reader, poll_s=MINUTE_S)
            async with contextlib.aclosing(changes):
                async with asyncio.timeout(5):
                    await anext(changes)
                proxy.kill()
                await watch_log.said("listening to the registry failed, polling instead")
                proxy.start()
                await watch_log.said("listening to the registry again")
                await woken_by(changes, register_elsewhere(postgres_schema, "after"))
            assert watch_log.count("listening to the registry failed") == 1
            assert watch_log.count("listening to the registry again") == 1
    finally:
        proxy.kill()


async def test_a_burst_of_writes_costs_a_few_wake_ups_not_one_each(tmp_path: Path) -> None:
    """The file watch is read lazily (file_watch.py): while a wake-up is handled and for its
    step after, the kernel merges the events that arrive, so 300 commits in a row (each
    several WAL writes) make a few dozen wake-ups at most, and the last commit still wakes
    the watcher."""
    path = str(tmp_path / "busy.db")
    async with open_registry(path) as registry:
        woken: list[float] = []
        armed, stop = asyncio.Event(), asyncio.Event()
        loop = asyncio.get_running_loop()
        watch = asyncio.create_task(
            file_watch.watch_writes(path, lambda: woken.append(loop.time()), stop, armed)
        )
        try:
            async with asyncio.timeout(5):
                await armed.wait()
            for n in range(300):
                await registry.register_process(ext(f"burst-{n}"))
            done = loop.time()
            async with asyncio.timeout(2):
                while not woken or woken[-1] < done:  # noqa: ASYNC110 (the last one's wake)
                    await asyncio.sleep(0.005)
        finally:
            watch.cancel()
            await asyncio.gather(watch, return_exceptions=True)
    assert 1 <= len(woken) < 100, len(woken)


def inotify_watches() -> int:
    """The inotify watches this OS process holds, as the kernel lists them."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/self/fd/{fd}") == "anon_inode:inotify":
                with open(f"/proc/self/fdinfo/{fd}", encoding="ascii") as info:
                    count += sum(line.startswith("inotify wd:") for line in info)
    return count


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify and /proc: Linux")
async def test_a_reader_busy_with_its_own_commits_gives_the_watch_up_and_still_sees_others(
    tmp_path: Path, clock: ManualClock
) -> None:
    """A worker's watch (`others_only`) in a process that keeps committing would mostly see
    its own writes, and the watch costs every write in the kernel (file_watch.py
    `WatchGate`): after `BUSY_AFTER` own wake-ups in a row it is given up (the kernel lists
    no watch) and the version is read every `BUSY_POLL_S` instead, so another handle's
    commit still wakes the reader at once. Once its handle has not committed for
    `IDLE_AFTER_S`, the watch is back, and another OS process's commit wakes it (the poll
    is a minute)."""
    from lashtui.registry.watch import IDLE_AFTER_S

    path = str(tmp_path / "busy.db")
    before = inotify_watches()
    async with (
        open_registry(path, clock=clock) as mine,
        open_registry(path, clock=clock) as other,
    ):
        changes = registry_changes(mine, poll_s=MINUTE_S, others_only=True)
        async with contextlib.aclosing(changes):
            async with asyncio.timeout(5):
                await anext(changes)
            assert inotify_watches() == before + 1
            waiting = asyncio.ensure_future(anext(changes))
            try:
                busy = asyncio.get_running_loop().time() + 5
                n = 0
                while inotify_watches() != before:  # committing until the watch is given up
                    assert asyncio.get_running_loop().time() < busy, "the watch was kept"
                    await mine.register_process(ext(f"own-{n}"))
                    await asyncio.sleep(0.001)
                    n += 1
                assert not waiting.done()  # its own commits woke it not once
                await other.register_process(ext("next-door"))
                seen_by = asyncio.get_running_loop().time() + 0.5
                while not waiting.done():  # still busy: the version poll sees the other handle
                    assert asyncio.get_running_loop().time() < seen_by, "unseen while busy"
                    await mine.register_process(ext(f"own-{n}"))
                    await asyncio.sleep(0.001)
                    n += 1
            finally:
                waiting.cancel()
            quiet = asyncio.get_running_loop().time()
            while inotify_watches() != before + 1:  # quiet: the watch comes back
                assert asyncio.get_running_loop().time() - quiet < 2, "no watch once quiet"
                await asyncio.sleep(0.005)
            # Not at once: `IDLE_AFTER_S` after its last commit, which the poll saw up to a
            # poll's step before `quiet` began (hence half, as a floor).
            assert asyncio.get_running_loop().time() - quiet >= IDLE_AFTER_S / 2
            await woken_by(changes, register_elsewhere(path, "from-another-process"))
    assert inotify_watches() == before
