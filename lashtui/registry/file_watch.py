"""Watching a registry file for writes: a commit by any connection appends to its `-wal`.

On Linux, inotify (through inotify_simple, a thin ctypes wrapper), read lazily: the loop is
told when the descriptor becomes readable, the watch is then left unread while the wake-up
is handled and for `WATCH_STEP_S` after, and whatever arrived meanwhile is read in one go.
The kernel merges identical events while they wait unread, so a burst of thousands of WAL
writes (a busy worker's own commits) costs a few reads, and nothing at all runs while
nothing is written. watchfiles, the portable watcher used elsewhere, hands every event to a
thread of its own as it happens and wakes every 5 ms even when idle: measured in P1, its
thread took ~180 us of CPU per process (a tenth of the process's whole cost), and each
worker of a fleet pays that for every other worker's writes too.

Where inotify cannot be had (another OS, no free watch), watchfiles watches instead.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import Any

# A commit is a burst of WAL writes a few microseconds apart: once the first is seen, wait
# this long before reading, so the wake-up comes after the commit, not in the middle of it.
WATCH_SETTLE_S = 0.001
# After a wake-up, events wait unread (and merge) this long before the next can wake.
WATCH_STEP_S = 0.005
# watchfiles yields once no event has arrived for its step, or its debounce after the first
# event of a burst.
WATCHFILES_STEP_MS = 5
WATCHFILES_DEBOUNCE_MS = 50


def watched_names(path: str) -> frozenset[str]:
    return frozenset({os.path.basename(path), os.path.basename(path) + "-wal"})


class WatchGate:
    """Lets the reader take the kernel's watch away while it has a cheaper way to see
    commits, and give it back (watch.py: a process kept busy by its own commits). An
    inotify watch on the directory costs every write into it, whoever writes: ~0.2 us
    a `pwrite` in the kernel for each watch, measured, where a commit is tens of them. In
    P1 (one process, its own worker watching) the watch cost ~5% of the rate, and
    nothing it saw was another connection's. Only inotify's watch is taken away; a
    watchfiles watch ignores the gate."""

    def __init__(self) -> None:
        self.paused = False
        self.turned = asyncio.Event()  # set at each pause and resume (and by the watch)

    def pause(self) -> None:
        if not self.paused:
            self.paused = True
            self.turned.set()

    def resume(self) -> None:
        if self.paused:
            self.paused = False
            self.turned.set()


async def watch_writes(
    path: str,
    changed: Callable[[], None],
    stop: asyncio.Event,
    armed: asyncio.Event,
    gate: WatchGate | None = None,
) -> None:
    """Call `changed` soon after each write (a burst of them at a time) to the database
    file at `path` or its `-wal`, until `stop` is set or the caller is cancelled; `armed`
    is set once writes are watched. While `gate` is paused nothing is watched; when it
    resumes, `changed` is called once (a commit may have come meanwhile). Raises when no
    watch can be made."""
    made = await _inotify(path)
    if made is None:
        armed.set()  # watchfiles makes its watch on the loop's next turn
        await _watchfiles(path, changed, stop)
    else:
        inotify, watch = made
        with inotify:
            armed.set()
            await _read_lazily(inotify, watch, path, changed, gate or WatchGate())


async def _inotify(path: str) -> tuple[Any, int] | None:
    """An inotify instance watching `path`'s directory and its watch's descriptor, or None
    where inotify is not to be had (the watch itself failing, say for want of free
    watches, raises)."""
    try:
        import inotify_simple  # type: ignore[import-untyped]
    except ImportError:
        return None

    def make() -> Any:
        # The first instance looks libc up with ctypes.util.find_library, which may run
        # ldconfig: off the loop.
        return inotify_simple.INotify(nonblocking=True)

    try:
        inotify = await asyncio.to_thread(make)
    except (OSError, AttributeError):  # not Linux: no inotify_init1 in this libc
        return None
    try:
        return inotify, _add_watch(inotify, path)
    except OSError:
        inotify.close()
        raise


def _add_watch(inotify: Any, path: str) -> int:
    """Watch `path`'s directory for writes and new files; the watch's descriptor."""
    import inotify_simple

    flags = inotify_simple.flags
    return int(inotify.add_watch(os.path.dirname(path) or ".", flags.MODIFY | flags.CREATE))


async def _read_lazily(
    inotify: Any, watch: int, path: str, changed: Callable[[], None], gate: WatchGate
) -> None:
    loop = asyncio.get_running_loop()
    names = watched_names(path)
    woken = gate.turned  # the descriptor readable, or the gate turned
    fd = inotify.fileno()
    while True:
        if gate.paused:
            inotify.rm_watch(watch)
            while gate.paused:
                woken.clear()
                await woken.wait()
            watch = _add_watch(inotify, path)
            inotify.read(timeout=0)  # (stale: events from before the pause)
            changed()  # whatever was committed unwatched: the reader's check decides
            continue
        loop.add_reader(fd, woken.set)
        try:
            await woken.wait()
        finally:
            loop.remove_reader(fd)
        woken.clear()
        if gate.paused:
            continue
        await asyncio.sleep(WATCH_SETTLE_S)
        events = inotify.read(timeout=0)  # what is queued now, merged by the kernel
        # An overflowed queue (wd -1, no name) may have dropped a commit's event: wake.
        if any(event.name in names or event.wd < 0 for event in events):
            changed()
        await asyncio.sleep(WATCH_STEP_S)


async def _watchfiles(path: str, changed: Callable[[], None], stop: asyncio.Event) -> None:
    from watchfiles import awatch

    names = watched_names(path)
    async for _ in awatch(
        os.path.dirname(path),
        watch_filter=lambda _change, name: os.path.basename(name) in names,
        step=WATCHFILES_STEP_MS,
        debounce=WATCHFILES_DEBOUNCE_MS,
        stop_event=stop,
        recursive=False,
    ):
        changed()
