"""Group commit on PostgreSQL: the short writes made while the handle's previous group was
committing run as one transaction, as the SQLite store's do (sqlite/group.py).

A short write (one process's rows: a claim, a start, an append, a terminal, a release) is a
few statements; its BEGIN (the writer lock, the id and the NOTIFY, sent with its first
read) and its COMMIT are the statements that are not its own, and the COMMIT a round trip.
A worker finishing several runs at once, or claiming while it completes, makes several in
one moment: in one transaction they share those two, one NOTIFY wakes the listeners once,
and the server makes one commit. A handle has at most `in_flight` groups committing at once
(fewer than its pool of connections, so that reads still find one); the writes made while
that many are in flight wait for one to end and form the next group, so a busy handle makes
large groups and an idle one commits a lone write at once. (With one group in flight, a
one-worker drain ran 35% slower: a worker's claims and terminals, which had overlapped on
several connections, waited for each other.)

Nothing of one caller's write is visible to another's outcome. The writes run in one order
sorted by the process each names first, so two groups that lock the same rows lock them in
the same order (no deadlock between two handles' groups). When a write raises, the group is
rolled back whole, and each of its writes runs again as a transaction of its own, so the
failure is its caller's alone (a transaction function is a plain function over its
connection: running it again after a rollback is running it once). A caller's call returns
only once its write has committed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lashtui.registry.kept import deliver, keep_write


@dataclass(eq=False)
class PendingWrite:
    """One queued short write and where its caller waits for the outcome."""

    fn: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    future: asyncio.Future[Any]
    taken: bool = False  # into a group in flight, which commits it or fails it (`_flush`)
    settled: tuple[Any, BaseException | None] | None = None  # (kept.py `deliver`)

    def order(self) -> str:
        """The process the write names first (an id, or a lease's), to sort a group by."""
        first = self.args[0] if self.args else ""
        named = getattr(first, "process_id", first)
        return named if isinstance(named, str) else ""


def run_all(tx: Any, group: list[PendingWrite]) -> list[Any]:
    """The group's writes in one transaction function (the runner's), in lock order. What
    one write read ahead and did not use is forgotten before the next (fetch.py
    `read_ahead`)."""
    results = []
    for write in group:
        results.append(write.fn(tx, *write.args, **write.kwargs))
        tx.forget_read_ahead()
    return results


class GroupCommit:
    """A handle's queue of short writes and the one group in flight (see the module
    docstring). `commit(group)` runs a group as one write transaction; `alone(write)` runs
    one write as its own."""

    def __init__(
        self,
        commit: Callable[[list[PendingWrite]], Any],
        alone: Callable[[PendingWrite], Any],
        in_flight: int,
    ) -> None:
        self._commit = commit
        self._alone = alone
        self._in_flight = in_flight
        self._queued: list[PendingWrite] = []
        self._flushers: set[asyncio.Task[None]] = set()

    async def write(
        self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        write = PendingWrite(fn, args, kwargs, future)
        self._queued.append(write)
        if len(self._flushers) < self._in_flight:
            flusher = asyncio.create_task(self._flush(), name="lashtui-pg-group-commit")
            self._flushers.add(flusher)
            flusher.add_done_callback(self._flushers.discard)
        try:
            return await future
        except asyncio.CancelledError:
            keep_write(write, future, self._queued)  # (kept.py; `_flush` keeps it)
            raise

    async def settled(self) -> None:
        """Until no write is queued or in flight (before the handle closes)."""
        while self._flushers:
            await asyncio.gather(*self._flushers, return_exceptions=True)

    async def _flush(self) -> None:
        await asyncio.sleep(0)  # the writes of this turn of the loop join the first
        while self._queued:
            group = sorted(
                (write for write in self._queued if not write.future.done()),
                key=PendingWrite.order,
            )
            self._queued = []
            for write in group:
                write.taken = True  # a cancelled caller's `keep` asks
            if group:
                await self._run(group)

    async def _run(self, group: list[PendingWrite]) -> None:
        if len(group) > 1:
            try:
                results = await self._commit(group)
            except Exception:
                pass  # each write runs again alone, below: its failure is its own
            else:
                for write, result in zip(group, results, strict=True):
                    deliver(write, result)
                return
        await asyncio.gather(*(self._settle_alone(write) for write in group))

    async def _settle_alone(self, write: PendingWrite) -> None:
        try:
            result = await self._alone(write)
        except Exception as error:
            deliver(write, error=error)
        else:
            deliver(write, result)
