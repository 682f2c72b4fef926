"""The worker's drive loop while `running()`: a full drive every renew interval and, in
between, the rows other connections' commits change (wake.py), until the backlog loop is
saturated (batch.py), when it stops following them until the backlog ends or the interval
passes; and at start, the backlog claimed before the first full drive. `Following` is mixed
into `ProcessWorker` (worker.py); its base (part.py) types what it uses of the worker.

Also the other connections' commits heeded without a drive loop (`waking_waiters`), for a
one-off pass that waits for the runs it started (`worker --once`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

from lashtui.errors import LashError
from lashtui.registry.watch import registry_changes
from lashtui.worker.part import WorkerPart
from lashtui.worker.runtime import log
from lashtui.worker.wake import CommitWake


class Following(WorkerPart):
    """The worker's drive loop (see the module docstring)."""

    async def _drive_forever(self) -> None:
        """Drive the whole worklist every renew interval, and in between, whenever another
        connection commits, the rows that commit changed (`wake`).

        Except while the backlog loop is saturated (`_saturated`): a worker whose claims
        keep taking every slot it has cannot run more than it does, and following the
        others' commits then only cost it CPU. On SQLite every commit wakes every worker
        (the file changed), and each wake's change-feed read walks every row the others
        claimed or ended since the last one; with four workers draining 10,000 rows on two
        vCPUs the watch and the reads were ~30 us of CPU a row, 10-12% of the drain's rate
        (interleaved pairs, 2026-12-05). So the worker stops following until the loop ends
        or the interval passes, then follows again from a full drive, whose cursor is read
        once the watch is armed again (`CommitWake.following`): nothing committed
        meanwhile is missed, only seen later. New rerunnable rows are the loop's next
        claims anyway; other work (an owner_bound start, an abandon request) waits for the
        end of the backlog or the next interval, as all work did before wakes (issue 18)."""
        interval = self.timings.renew_interval_ms / 1000
        starting = True
        while True:
            async with CommitWake.following(
                self.registry, interval, lambda: self._rt.observer.commit_seen(), self.owner
            ) as wake:
                self._wake = wake
                try:
                    if not (starting and await self._backlog_first()):
                        await self._follow(wake, interval)
                finally:
                    self._wake = None
            starting = False
            self.stats.saturated += 1
            log.debug("draining a backlog: other connections' commits unheeded until it ends")
            if self._batches is not None:
                await asyncio.wait({self._batches}, timeout=interval)

    async def _backlog_first(self) -> bool:
        """At start, claim the backlog before reading the worklist; True when the claims
        saturate the worker (the first full drive then waits for the backlog's end, as any
        drive does while saturated: `_drive_forever`). A full drive tests every running
        row's record in SQL to tell the backlog from the rest, ~35 ms of CPU over 10,000
        rows, and four workers starting on one backlog each made it before claiming
        anything (~5% of their drain's CPU, 2026-12-05); after the backlog it reads the
        few rows left. A start with no backlog claims nothing and drives as before."""
        if not self._claiming:
            return False
        self._batch_more = True
        if not self._batching():
            self._batches = asyncio.create_task(self._claim_batches(), name="lashtui-batches")
        assert self._batches is not None
        saturated = asyncio.ensure_future(self._saturation.wait())
        try:
            await asyncio.wait({self._batches, saturated}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            saturated.cancel()
        return self._saturated()

    async def _follow(self, wake: CommitWake, interval: float) -> None:
        """Full drives every `interval` and the rows other connections' commits change in
        between, until the backlog loop is saturated."""
        while True:
            try:
                await self.drive_pending_processes()
            except LashError as error:
                self._failed("drive", error)
            deadline = time.monotonic() + interval
            retry: float | None = None  # after a failed read of the changes: when to try again
            while (left := deadline - time.monotonic()) > 0:
                if self._saturated():
                    return
                woke = await wake.wait(left if retry is None else min(left, retry))
                if not woke and (retry is None or wake.cursor is None):
                    continue  # the interval ran out, or the loop has just saturated
                try:
                    await self._drive_changed(wake)
                    retry = None
                except LashError as error:
                    # Tried again soon, not at the next wake: the commit that woke it may
                    # be the last for a while (a start after an outage waited the interval).
                    self._failed("drive after a commit", error)
                    retry = RETRY_CHANGED_S if retry is None else min(retry * 2, interval)
            if self._saturated():
                return

    @contextlib.asynccontextmanager
    async def waking_waiters(self) -> AsyncIterator[None]:
        """For the block, tick this worker's awaiters whenever another connection commits,
        driving nothing (`_tick_on_commits`): what `worker --once` does while it waits for
        the runs its pass started. It did not follow commits at all, so a run it parked on
        a signal read its log again only at its awaiter's backoff poll (up to a second
        apart): `lashtui signal` from another shell resumed it ~0.5-1 s later, where a
        running worker's wake (`_drive_changed`) resumes it within milliseconds."""
        ticking = asyncio.create_task(self._tick_on_commits(), name="lashtui-waking-waiters")
        try:
            yield
        finally:
            ticking.cancel()
            await asyncio.gather(ticking, return_exceptions=True)

    async def _tick_on_commits(self) -> None:
        """`ChangeHub.tick_waiting` on each commit of another connection, through the watch
        a running worker's wake uses (without `work_only`: a terminal another worker writes
        under its lease may be what a run here awaits). A watch that fails is said once;
        the waiters then read at their own polls, as before."""
        interval = self.timings.renew_interval_ms / 1000
        changes = registry_changes(self.registry, poll_s=interval, others_only=True)
        try:
            async with contextlib.aclosing(changes):
                async for _ in changes:
                    self._rt.hub.tick_waiting()
        except LashError as error:
            log.warning(
                "watching the registry failed: runs waiting on a signal read it at their own "
                "polls, up to 1 s apart: %s", error,
            )  # fmt: skip

    def _saturated(self) -> bool:
        """Whether the backlog loop is claiming full batches, `SATURATED_AFTER` in a row."""
        return self._saturation.is_set()

    async def _drive_changed(self, wake: CommitWake) -> None:
        """Drive the rows another connection's commit changed (and any others that changed
        since the last wake): new work, abandon requests, released leases."""
        self.stats.wakes += 1
        # The commit may be a signal or a terminal a run or a host here waits on: their
        # awaiters read again now, not at their backoff poll (hub.py `tick_waiting`).
        self._rt.hub.tick_waiting()
        async with contextlib.aclosing(wake.changed()) as pages:
            async for items in pages:
                now = self._rt.clock.now_ms()
                wanted = [item for item in items if self._wants(item, now)]
                await self._say_skipped()
                for item in self._hand_to_batches(wanted, now):
                    self._spawn(item)


# How soon a worker reads the changes again after that read failed (doubling, up to its
# drive interval): the commit that woke it may be the last for a while.
RETRY_CHANGED_S = 0.5
