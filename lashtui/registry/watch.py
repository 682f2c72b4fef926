"""Waking up when another OS process may have changed the registry.

The change feed (`processes_changed_since`) says what changed; this module only says when
to look. Writes made through this process's own registry handle are seen at once through
the in-process `ChangeHub`; a worker in another OS process commits to the same file and
nothing here hears it, so:

- the database's directory is watched for writes to the file and its `-wal`, which every WAL
  commit appends to, and wakes within a few milliseconds of a commit (`file_watch.py`:
  inotify on Linux, read lazily so a burst of writes costs a few reads; watchfiles
  elsewhere);
- a registry on a server (PostgreSQL) has no file to watch: it announces each commit itself,
  and a registry with a `notifications()` stream is listened to instead;
- `data_version()` is polled as well. It is the fallback when the file cannot be watched
  (an inotify limit, a filesystem without events), the server's stream breaks, or
  watching is switched off, and a slow safety net when it can: an event is a hint, and the
  version is the proof.

A broken stream is opened again, `LISTEN_RETRY_S` after it broke and twice as long after
each attempt that fails, up to `LISTEN_RETRY_CAP_S`: a server restart or a dropped
connection must not leave a worker polling for good (its poll is slow: its start latency
stays up to its renew interval). The break is logged once, and the return once.

A registry with neither (`:memory:`) is polled only.
Nothing here reads rows, so it serves read-only registries as well as writable ones.

A file event cannot say whose commit it was: the reader's own commits append to the WAL
too. A dashboard wants those (the embedded worker's runs), a worker does not (its own
claims and terminals would wake it for nothing, all the time), so `others_only` confirms
each file event with `data_version()`, which moves only for other connections' commits.
The server's announcements already skip the handle's own.

A file event can also come before the commit that made it can be read: a commit appends its
frames to the `-wal` (the event), then marks them committed in the `-shm`'s index, which
no watch sees, and only then does `data_version()` move. A committer preempted between the
two (a loaded machine: a CPU-bound neighbour holds the CPU for a few milliseconds) leaves
the version still while the event is checked, and nothing more is written to wake the
reader: a worker slept until its safety poll, a renew interval later (the likely cause of
a start from another shell not run within 10 s, once in CI under load). A reader of every
commit (the dashboard, `lashtui ls --watch`) was woken by the event, read before the
commit could be read, found nothing new, and slept the same way: the commit showed at the
next timer (the safety poll's second; the Processes view's `refresh_s`). So every reader
reads the version at a file event, and an event the version does not confirm is not
dropped but doubted: the version is read again `RECHECK_FIRST_S` later and at doubling
spacings after, `RECHECK_TIMES` reads in all (~1.3 s), each a few microseconds, and the
first that sees it move wakes the reader (`_Wakeups.recheck`); a reader of every commit is
woken by the doubted event at once as well (it may be its handle's own). A later doubted
event starts the series over. A reader's own commits are doubted as well (they cannot be
told apart); those of a worker kept busy by them are not watched at all (below).

Such a reader in a process that commits all the time (an embedded worker running the
host's starts) would mostly watch its own writes, and a watch costs every write in the
kernel: once the file events have been its own `BUSY_AFTER` times in a row, it lets the
watch go and reads `data_version()` every `BUSY_POLL_S` instead (as prompt as the watch's
step, and ~200 reads of a few microseconds a second), until its handle has not committed
for `IDLE_AFTER_S` (`write_lock_use().holds`, counted by the store); then it watches again,
and reads the version once more for what came in between. P1 ran ~7% faster.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import time
from collections.abc import AsyncGenerator, Callable

from lashtui.errors import StoreError
from lashtui.registry.file_watch import WatchGate, watch_writes
from lashtui.registry.protocol import ProcessRegistry

logger = logging.getLogger(__name__)

# While file events arrive, the version poll is only a safety net: once a second is enough.
SAFETY_POLL_S = 1.0
# A reader of other connections' commits only, in a process that keeps committing itself
# (file events that `data_version` shows to be its own, `BUSY_AFTER` wakes in a row), gives
# the file watch up (file_watch.py `WatchGate`: the watch costs every write) and reads the
# version every `BUSY_POLL_S` instead, until its handle has not committed for
# `IDLE_AFTER_S`; then it watches again.
BUSY_AFTER = 3
BUSY_POLL_S = 0.005
IDLE_AFTER_S = 0.05
# Listening again after the server's stream broke (module docstring).
LISTEN_RETRY_S = 0.5
LISTEN_RETRY_CAP_S = 10.0
# Reads of the version a failure is given before it ends the watch (`_moved_or_failed`).
POLL_TRIES = 3
# A file event the version does not confirm is checked again this long after, and at doubling
# spacings, this many times in all (module docstring): 5 ms to 640 ms, ~1.3 s in all.
RECHECK_FIRST_S = 0.005
RECHECK_TIMES = 8


Notifications = Callable[..., AsyncGenerator[None, None]]


def registry_notifications(registry: ProcessRegistry) -> Notifications | None:
    """The registry's own stream of commit announcements, if it has one."""
    stream = getattr(registry, "notifications", None)
    return stream if callable(stream) else None


def registry_file(registry: ProcessRegistry) -> str | None:
    """The registry's database file, if it has one on disk."""
    path = getattr(registry, "path", None)
    if not isinstance(path, str) or path == ":memory:" or not os.path.isfile(path):
        return None
    return path


def own_commits(registry: ProcessRegistry) -> Callable[[], int] | None:
    """How many write transactions the registry's handle has made, for a store that counts
    them (SQLite's write-lock use); None for the others."""
    use = getattr(registry, "write_lock_use", None)
    return (lambda: int(use().holds)) if callable(use) else None


class _Wakeups:
    """The two sources of wake-ups, feeding one coalescing event."""

    def __init__(
        self, registry: ProcessRegistry, poll_s: float, gate: WatchGate | None = None
    ) -> None:
        self.registry = registry
        self.poll_s = poll_s
        self.changed = asyncio.Event()
        self.armed = asyncio.Event()  # the poll's baseline version has been read
        # The file watch has failed, or given way to busy polling: the poll's slow wait ends.
        self.poll_sooner = asyncio.Event()
        self.gate = gate  # busy polling instead of the file watch (module docstring)
        self.own_commits = own_commits(registry) if gate is not None else None
        self.own_wakes = 0  # file events in a row that were this handle's own commits
        self.own_seen = 0  # its commits counted when busy polling last looked
        self.quiet_since = 0.0  # time.monotonic() since when it has not committed
        self.listening = asyncio.Event()  # the server's stream is on, or has failed
        self.watch_armed = asyncio.Event()  # the file watch is on, or has failed
        self.watching = False
        self.error: Exception | None = None
        self.last = 0  # the data_version last seen
        self.confirmed = False  # the version poll or the server, not a file event, woke us
        self.rechecking: asyncio.Task[None] | None = None  # a doubted file event's reads
        self.file_events = 0  # file events so far (the recheck's log says if one came since)

    async def poll(self) -> None:
        try:
            self.last = await self.registry.data_version()
            self.armed.set()
            while True:
                if self.gate is not None and self.gate.paused:
                    await asyncio.sleep(BUSY_POLL_S)
                    self._busy_or_not()
                elif self.watching:
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(max(self.poll_s, SAFETY_POLL_S)):
                            await self.poll_sooner.wait()
                    self.poll_sooner.clear()
                else:
                    await asyncio.sleep(self.poll_s)
                if await self._moved_or_failed():
                    self.confirmed = True
                    self.changed.set()
        except Exception as error:  # the registry failed (closed, unreadable): tell the reader
            self.error = error
            self.armed.set()
            self.changed.set()

    async def watch(self, path: str, stop: asyncio.Event) -> None:
        self.watching = True
        try:
            await watch_writes(path, self._file_event, stop, self.watch_armed, self.gate)
        except Exception as error:  # no watching possible here: the poll takes over
            logger.info("watching %s failed, polling instead: %s", path, error)
        finally:
            self.watch_armed.set()
            self.watching = False
            self.gate = None  # (nothing to give way to)
            self.poll_sooner.set()

    def _file_event(self) -> None:
        self.file_events += 1
        self.changed.set()

    def _own_commit(self) -> None:
        """A file event was this handle's own commit; enough in a row, and the watch gives
        way to busy polling."""
        self.own_wakes += 1
        if self.own_wakes >= BUSY_AFTER and self.gate is not None and self.own_commits:
            self.own_seen = self.own_commits()
            self.quiet_since = time.monotonic()
            self.gate.pause()
            self.poll_sooner.set()

    def _busy_or_not(self) -> None:
        """Busy polling: back to the watch once the handle has not committed for a while."""
        assert self.gate is not None and self.own_commits is not None
        now, seen = time.monotonic(), self.own_commits()
        if seen != self.own_seen:
            self.own_seen, self.quiet_since = seen, now
        elif now - self.quiet_since >= IDLE_AFTER_S:
            self.own_wakes = 0
            self.gate.resume()  # the watch, back, wakes once to read the version again

    async def _moved_or_failed(self) -> bool:
        """`moved`, tried again (`POLL_TRIES` in all, backing off from 0.1 s) before a failure
        ends the watch: after a PostgreSQL outage the pool may hand out a connection that
        died with it once or twice before a fresh one (the listener's return reads the
        version at once, and ended its reader that way)."""
        for attempt in range(POLL_TRIES - 1):
            try:
                return await self.moved()
            except StoreError:
                await asyncio.sleep(0.1 * 2**attempt)
        return await self.moved()  # (the last try's failure ends the watch)

    async def moved(self) -> bool:
        """Whether `data_version()` moved since it was last read here."""
        version = await self.registry.data_version()
        if version == self.last:
            return False
        self.last = version
        return True

    async def woken(self, others_only: bool) -> bool:
        """After `changed` was set: whether to wake the reader (see the module docstring).
        A file event the version does not confirm is doubted whoever reads: `others_only`
        drops it meanwhile, a reader of every commit is woken by it at once (it may be its
        handle's own commit) and again if the version moves later (a dashboard's read,
        woken before another process's commit could be read, found nothing new)."""
        confirmed, self.confirmed = self.confirmed, False
        if confirmed:
            return True
        if await self.moved():
            self.own_wakes = 0
            return True
        if others_only:
            self._own_commit()
        self._doubt()
        return not others_only

    def _doubt(self) -> None:
        """A file event the version did not confirm: its commit may not be readable yet
        (module docstring); read the version again over the next second or so."""
        if self.rechecking is not None:
            self.rechecking.cancel()
        self.rechecking = asyncio.create_task(self.recheck(), name="registry-changes-recheck")

    async def recheck(self) -> None:
        """Read the version `RECHECK_TIMES` times at doubling spacings, waking the reader
        at the first move. A failure ends it: the poll behind it reports failures."""
        delay, began, events = RECHECK_FIRST_S, time.monotonic(), self.file_events
        for _ in range(RECHECK_TIMES):
            await asyncio.sleep(delay)
            delay *= 2
            try:
                moved = await self.moved()
            except StoreError:
                return
            # Told, for the race's rate: with file events since, the watch's next pass would
            # have woken the reader too (a commit checked mid-burst); with none, and later
            # than that pass (`WATCH_STEP_S` and the settle, on a loop that is not lagging),
            # a wake the watch had missed.
            if moved:
                logger.debug(
                    "the version moved %.1f ms after a file event it had not confirmed "
                    "(file events since: %d)",
                    (time.monotonic() - began) * 1000, self.file_events - events,
                )  # fmt: skip
                self.own_wakes = 0
                self.confirmed = True
                self.changed.set()
                return

    async def listen(self, stream: Notifications) -> None:
        """Listen to the server's announcements for as long as the reader reads; while the
        stream is broken the poll takes over, and it is opened again with backoff."""
        retry_s, broken = LISTEN_RETRY_S, False
        while True:
            heard, error = await self._listen_once(stream, back=broken)
            if heard:
                retry_s, broken = LISTEN_RETRY_S, False
            if not broken:
                logger.info("listening to the registry failed, polling instead: %s", error)
                broken = True
            await asyncio.sleep(retry_s)
            retry_s = min(retry_s * 2, LISTEN_RETRY_CAP_S)

    async def _listen_once(self, stream: Notifications, *, back: bool) -> tuple[bool, Exception]:
        """One stream, until it breaks: (whether it was listening, why it ended)."""
        notes, heard = stream(), False
        try:
            await anext(notes)  # listening from here on
            heard = True
            self.watching = True
            self.listening.set()
            if back:
                logger.info("listening to the registry again")
                # What was committed between the poll's last read and the LISTEN: read now.
                self.poll_sooner.set()
            async for _ in notes:
                self.confirmed = True
                self.changed.set()
            return heard, ConnectionError("the registry's stream ended")
        except Exception as error:  # the server's stream broke: the poll takes over
            return heard, error
        finally:
            self.watching = False
            self.listening.set()
            self.poll_sooner.set()
            await notes.aclose()


async def registry_changes(
    registry: ProcessRegistry,
    *,
    poll_s: float = 0.05,
    watch_files: bool = True,
    others_only: bool = False,
    work_only: bool = False,
) -> AsyncGenerator[None, None]:
    """Yield whenever the registry may have changed through another connection, and once at
    the start, as soon as the watch is armed: read your baseline after that first yield,
    and no commit can fall between your read and the watch. Wake-ups coalesce while the
    reader is busy. `watch_files=False` polls `data_version()` every `poll_s` seconds only.
    `others_only` skips the wake-ups this handle's own commits make (a file event the
    version confirms not); a commit that lands while the reader is busy still wakes it.
    `work_only` (a worker) asks a registry whose announcements say what a commit was
    (PostgreSQL's, postgres/notice.py) to skip those that cannot have made work for a
    worker; the version poll behind them still wakes on every commit.

    Stops when the reader is cancelled or closes the generator; the watcher thread and the
    poll are stopped and awaited before the cancellation goes on.
    """
    stop = asyncio.Event()
    path = registry_file(registry) if watch_files else None
    wakeups = _Wakeups(registry, poll_s, WatchGate() if others_only and path else None)
    stream = registry_notifications(registry) if watch_files else None
    if stream is not None and work_only:
        stream = functools.partial(stream, work_only=True)
    tasks = [asyncio.create_task(wakeups.poll(), name="registry-changes-poll")]
    if stream is not None:
        tasks.append(asyncio.create_task(wakeups.listen(stream), name="registry-changes-listen"))
    elif path is not None:
        tasks.append(asyncio.create_task(wakeups.watch(path, stop), name="registry-changes-watch"))
    try:
        await wakeups.armed.wait()
        if stream is not None:
            await wakeups.listening.wait()
        elif path is not None:
            await wakeups.watch_armed.wait()
        # One more turn of the loop lets the watch task create its watcher; a commit in that
        # gap is still caught, later, by the version poll against the baseline above.
        await asyncio.sleep(0)
        while True:
            if wakeups.error is not None:
                raise wakeups.error
            yield
            while True:
                await wakeups.changed.wait()
                wakeups.changed.clear()
                if wakeups.error is not None or await wakeups.woken(others_only):
                    break
    finally:
        stop.set()
        if wakeups.rechecking is not None:
            tasks.append(wakeups.rechecking)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
