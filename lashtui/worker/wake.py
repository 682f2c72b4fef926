"""Waking the worker when another connection commits: work that `lashtui start` commits from
another shell, or a host on another machine, runs within milliseconds instead of at the
worker's next renew interval (issue 18).

When: `registry_changes` (lashtui.registry.watch), the one watch the dashboard uses too: a
watch on the WAL on SQLite, the registry's LISTEN/NOTIFY on PostgreSQL, and a
`data_version` poll behind both, here only at the renew interval (the worker polled
nothing before, and no loop here runs faster than that). It is asked for other
connections' commits only (`others_only`): the worker's own claims, events and terminals
append to the WAL like anyone's, and must not wake it; and, where the registry can tell
(PostgreSQL's announcements, postgres/notice.py), for commits that may have made work
only (`work_only`): another worker's claims and terminals make none.

The watch ends with an error when the registry cannot be read (PostgreSQL out of reach: its
version poll fails). The worker then drives every interval, as it would without a watch,
and watches again `WATCH_AGAIN_S` later, twice as long after each attempt that fails, up to
`WATCH_AGAIN_CAP_S`; once back it reads the feed from its cursor, for what was committed
meanwhile. (It used to stop watching for good after one outage.) The failure is logged
once, and the return once.

What: the change feed. Each wake reads the worklist's rows that changed after this
worker's cursor (`work_items_changed_since`), so a wake costs what changed, never a read of
the whole worklist; the renew interval's full drive stays as the fallback (and is what
sees leases lapse, which commit nothing).

In a busy fleet other workers commit all the time, so reads are spaced: the next one waits
until `WAKE_GAP_S`, and `WAKE_SPACING` times the last read's length, have passed since it
ended, keeping reads to a fifth of the time at most. A wake after a quiet spell reads at
once.

On SQLite every commit wakes every worker (the watch sees the file change, not what the
commit was), and in a drain nearly all are other workers' claims and terminals, which the
feed leaves out (`work_items_changed_since`'s claimant): four workers draining 10,000 rows
read the feed ~2,100 times and found nothing each time, ~60 us of CPU a row in all. So each
read that finds nothing doubles the gap before the next, up to `WAKE_GAP_S * 2 **
EMPTY_DOUBLINGS` (160 ms), and one that finds a row puts it back. Only back-to-back wakes
wait for it: a wake after a quiet spell longer than that still reads at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable

from lashtui.errors import LashError
from lashtui.model import LeaseOwnerIdentity, ProcessWorkItem
from lashtui.registry import ProcessRegistry
from lashtui.registry.watch import registry_changes
from lashtui.worker.runtime import log

FEED_PAGE = 500  # rows of the change feed a read walks (a wake reads pages until none is left)
WAKE_GAP_S = 0.01
WAKE_SPACING = 4
EMPTY_DOUBLINGS = 4  # reads in a row that found nothing, after which the gap stops growing
# Watching again after the watch failed (see the module docstring).
WATCH_AGAIN_S = 0.5
WATCH_AGAIN_CAP_S = 10.0


class CommitWake:
    """One worker's watch on other connections' commits, and its change-feed cursor."""

    def __init__(
        self,
        registry: ProcessRegistry,
        poll_s: float,
        seen: Callable[[], None],
        claimant: LeaseOwnerIdentity | None = None,
    ) -> None:
        self.registry = registry
        self.poll_s = poll_s
        self.seen = seen  # told of each commit that wakes it (the worker's observers)
        # The worker's owner: the feed leaves out the rows whose live lease it could only
        # be refused (see `work_items_changed_since`).
        self.claimant = claimant
        self.cursor: int | None = None  # None: not following (the watch could not start)
        self.reads = 0  # change-feed pages read, for tests and the health view
        self._armed = asyncio.Event()
        self._woken = asyncio.Event()
        self._next_read = 0.0  # time.monotonic() before which a wake waits to read
        self._empty = 0  # reads in a row that found no row (see the module docstring)
        self._interrupted = asyncio.Event()  # `interrupt`: `wait` returns False at once

    @classmethod
    @contextlib.asynccontextmanager
    async def following(
        cls,
        registry: ProcessRegistry,
        poll_s: float,
        seen: Callable[[], None],
        claimant: LeaseOwnerIdentity | None = None,
    ) -> AsyncIterator[CommitWake]:
        """Watch from the moment this enters: the cursor is read once the watch is armed,
        so a commit after that read both wakes the worker and lies after the cursor. A
        drive of the whole worklist made inside the block misses nothing committed before.
        `seen` is called on each wake-up."""
        wake = cls(registry, poll_s, seen, claimant)
        watch = asyncio.create_task(wake._watch(), name="lashtui-worker-wake")
        try:
            await wake._armed.wait()
            if not watch.done():
                try:
                    wake.cursor = await registry.change_cursor()
                except LashError as error:
                    log.warning("cannot read the change feed, driving every interval: %s", error)
            yield wake
        finally:
            watch.cancel()
            await asyncio.gather(watch, return_exceptions=True)

    async def _watch(self) -> None:
        again_s, broken = WATCH_AGAIN_S, False
        try:
            while True:
                changes = registry_changes(
                    self.registry, poll_s=self.poll_s, others_only=True, work_only=True
                )
                try:
                    async with contextlib.aclosing(changes):
                        async for _ in changes:
                            if broken:  # the first yield after a failure: watching again
                                broken, again_s = False, WATCH_AGAIN_S
                                await self._back()
                            elif self._armed.is_set():
                                self._woken.set()
                                self.seen()
                            self._armed.set()  # the first yield: watching from here on
                except LashError as error:
                    if not broken:
                        log.warning(
                            "watching the registry failed, driving every interval until it "
                            "is back: %s", error,
                        )  # fmt: skip
                        broken = True
                    self._armed.set()  # (`following` waits for the first watch, or this)
                    await asyncio.sleep(again_s)
                    again_s = min(again_s * 2, WATCH_AGAIN_CAP_S)
        finally:
            self._armed.set()

    async def _back(self) -> None:
        """Watching again: read the feed from the cursor for what was committed while the
        watch was down (the cursor read now if it could not be at the start)."""
        log.info("watching the registry again")
        if self.cursor is None:
            self.cursor = await self.registry.change_cursor()
        self._woken.set()

    def interrupt(self) -> None:
        """End the current or next `wait` at once, returning False (the worker's backlog
        loop has saturated: follow.py `_drive_forever`). A commit's wake stays pending."""
        self._interrupted.set()
        self._woken.set()

    async def wait(self, timeout_s: float) -> bool:
        """Until another connection commits (True, once the spacing allows a read), or
        `timeout_s` passes, or `interrupt` is called (False)."""
        # Not following (the watch could not start), only an interrupt ends the wait early.
        event = self._woken if self.cursor is not None else self._interrupted
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                await event.wait()
        if self._interrupted.is_set():
            self._interrupted.clear()
            return False
        if self.cursor is None or not self._woken.is_set():
            return False
        delay = self._next_read - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)  # wakes meanwhile coalesce into this one
        self._woken.clear()
        return True

    async def changed(self) -> AsyncGenerator[list[ProcessWorkItem], None]:
        """The worklist's rows that changed after the cursor, a page at a time, moving the
        cursor past each page; ends when the feed has nothing more."""
        assert self.cursor is not None
        began = time.monotonic()
        found = False
        try:
            while True:
                items, cursor = await self.registry.work_items_changed_since(
                    self.cursor, FEED_PAGE, self.claimant
                )
                self.reads += 1
                found = found or bool(items)
                if cursor == self.cursor:
                    return
                self.cursor = cursor
                yield items
        finally:
            ended = time.monotonic()
            self._empty = 0 if found else min(self._empty + 1, EMPTY_DOUBLINGS)
            gap = WAKE_GAP_S * 2**self._empty
            self._next_read = ended + max(gap, WAKE_SPACING * (ended - began))
