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


async def watch_writes(
    path: str, changed: Callable[[], None], stop: asyncio.Event, armed: asyncio.Event
) -> None:
    """Call `changed` soon after each write (a burst of them at a time) to the database
    file at `path` or its `-wal`, until `stop` is set or the caller is cancelled; `armed`
    is set once writes are watched. Raises when no watch can be made."""
    inotify = await _inotify(path)
    if inotify is None:
        armed.set()  # watchfiles makes its watch on the loop's next turn
        await _watchfiles(path, changed, stop)
    else:
        with inotify:
            armed.set()
            await _read_lazily(inotify, watched_names(path), changed)


async def _inotify(path: str) -> Any | None:
    """An inotify instance watching `path`'s directory, or None where inotify is not to be
    had (the watch itself failing, say for want of free watches, raises)."""
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
    flags = inotify_simple.flags
    try:
        inotify.add_watch(os.path.dirname(path) or ".", flags.MODIFY | flags.CREATE)
    except OSError:
        inotify.close()
        raise
    return inotify


async def _read_lazily(inotify: Any, names: frozenset[str], changed: Callable[[], None]) -> None:
    loop = asyncio.get_running_loop()
    readable = asyncio.Event()
    fd = inotify.fileno()
    while True:
        loop.add_reader(fd, readable.set)
        try:
            await readable.wait()
        finally:
            loop.remove_reader(fd)
        readable.clear()
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
