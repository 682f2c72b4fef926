"""Short writes on the loop's thread: each joins the group made in its turn of the loop,
committed by a callback (or a task, when the group has to wait for the write lock another
process holds or for the writer's thread), or commits at once when no other write could
join it (`_lone`). `ShortWrites` is mixed into `SqliteConnection` (connection.py), whose
class docstring tells why short transactions run on the loop and the rules that keep that
safe; the group's transaction itself is group.py's.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Concatenate, ParamSpec, TypeVar

from lashtui.registry.kept import deliver, keep_write
from lashtui.registry.sqlite.checkpoint import Checkpoints, _checkpointed
from lashtui.registry.sqlite.group import PendingWrite, run_group
from lashtui.registry.sqlite.lock_wait import _retry_pauses

P = ParamSpec("P")
T = TypeVar("T")


class ShortWrites(Checkpoints):
    """The handle's short writes and their group commits (see the module docstring)."""

    # Set by SqliteConnection.__init__ and open (connection.py).
    YIELD_EVERY_S: float
    busy_timeout_ms: int
    _loop_thread: int | None
    _writer_queued: int
    _writer_idle: asyncio.Event
    _group: list[PendingWrite]
    _flusher: asyncio.Task[None] | None
    _flush_soon_armed: bool
    _yielded_at: float

    if TYPE_CHECKING:
        async def write(
            self, fn: Callable[Concatenate[sqlite3.Connection, P], T], *args: P.args,
            **kwargs: P.kwargs,
        ) -> T: ...

        async def _inline_ok(self) -> bool: ...

        def _commit_here(self, group: list[PendingWrite], last: bool = False) -> bool: ...

        def _refuse_read_only(self) -> None: ...

        def _translate(self, error: Exception) -> Exception: ...

    async def short_write(
        self, fn: Callable[Concatenate[sqlite3.Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """`write` for a transaction that touches one process's rows. It joins the group of
        short writes made in this turn of the loop, which commit as one transaction, each
        in a savepoint of its own (group.py); the call returns once that has committed."""
        self._refuse_read_only()
        if self._loop_thread != threading.get_ident():
            return await self.write(fn, *args, **kwargs)
        loop = asyncio.get_running_loop()
        write = PendingWrite(fn, args, kwargs)
        if self._lone(loop) and self._commit_here([write]):
            self._checkpoint_due()  # counted; False, as no restart was due
            if write.error is not None:
                raise self._translate(write.error)
            return write.result  # type: ignore[no-any-return]
        self._yielded_at = time.monotonic()  # this caller now lets the loop run others
        future: asyncio.Future[T] = loop.create_future()
        write.future = future
        self._group.append(write)
        if self._flusher is None and not self._flush_soon_armed:
            self._flush_soon_armed = True
            loop.call_soon(self._flush_soon)
        try:
            return await future
        except asyncio.CancelledError:
            keep_write(write, future, self._group)  # (kept.py; `_take_group` keeps it)
            raise

    def _lone(self, loop: asyncio.AbstractEventLoop) -> bool:
        """Whether a short write made now would commit alone in its group: none is queued
        or committing, and nothing else is left to run in this turn of the loop. A group
        commits in a callback at the next turn, before that turn's I/O callbacks and the
        tasks this turn wakes, so the only writes that can join it are those made by the
        callbacks still ready in this one. With none ready (asyncio's own loop keeps them
        in `_ready`; another loop says nothing and always groups), the write commits here
        at once: a caller making one write at a time (a claim, then its release) then
        waits for no turn of the loop, two per write otherwise (~50 us of a ~100 us
        claim-and-release, measured for P2). `YIELD_EVERY_S` still lets the loop run."""
        ready = getattr(loop, "_ready", None)
        if ready is None or ready or self._group or self._flusher is not None:
            return False
        if self._flush_soon_armed or self._writer_queued or self._restart_due:
            return False
        if self._checkpoint_late():
            return False
        return time.monotonic() - self._yielded_at <= self.YIELD_EVERY_S

    def _flush_soon(self) -> None:
        """The usual way a group commits: in a callback, not a task (a task per group was
        ~3% of P1), when nothing can make it wait; else a task commits it, which can."""
        self._flush_soon_armed = False
        if self._flusher is not None or not self._group:
            return  # the task commits what is queued
        late = self._checkpoint_late()
        if self._writer_queued or self._restart_due or late or self._loop_thread is None:
            self._flusher = asyncio.create_task(self._flush_groups(), name="lashtui-group-commit")
            return
        group = self._take_group()
        try:
            if not self._commit_here(group):  # the write lock is held by another process
                self._group[:0] = group  # the task counts it when it commits
                self._flusher = asyncio.create_task(
                    self._flush_groups(), name="lashtui-group-commit"
                )
                return
        except Exception as error:
            self._settle(group, error)
            return
        self._checkpoint_due()  # counted; False, as no restart was due
        self._settle(group)

    def _take_group(self) -> list[PendingWrite]:
        group = [write for write in self._group if not write.future.done()]
        self._group = []
        for write in group:
            write.taken = True  # commits (or fails) now: a cancelled caller's `keep` asks
        return group

    def _settle(self, group: list[PendingWrite], error: Exception | None = None) -> None:
        """Each caller's outcome; `error` when the group failed as a whole."""
        for write in group:
            if error is None:
                write.settle(self._translate)
            else:
                deliver(write, error=error)

    async def _flush_groups(self) -> None:
        """Commit the queued groups until none is left. A group runs here when it cannot
        wait (see the class docstring), else on the writer's thread; a group that fails as
        a whole commits nothing and fails each of its callers with the same error."""
        try:
            while self._group:
                while self._writer_queued:
                    await self._writer_idle.wait()
                await self._checkpoint_caught_up()
                group = self._take_group()
                try:
                    if group:
                        await self._commit_group(group)
                except Exception as error:
                    self._settle(group, error)
                    continue
                except asyncio.CancelledError:
                    for write in group:
                        write.future.cancel()
                    raise
                self._settle(group)
        except asyncio.CancelledError:
            for write in self._group:  # the loop is going away: nothing more commits
                write.future.cancel()
            self._group = []
            raise
        finally:
            self._flusher = None

    async def _commit_group(self, group: list[PendingWrite]) -> None:
        if self._checkpoint_due():
            await self._hop(self._writer, _checkpointed, run_group, group)
            return
        # The write lock held by another process: wait for it here, between turns of the
        # loop, with `_retrying`'s short jittered tries, rather than on the writer's thread.
        # There, four worker processes draining one file ran nearly every group (~97%) on
        # their threads, whose GIL hand-offs with the busy loop cost CPU in each process, and
        # whose queued hop held the loop's reads behind the wait (`_inline_ok`). Here the
        # writes of the wait's turns join the next group. (asyncio sleeps at least ~1 ms
        # once nothing else is ready: its selector counts in milliseconds.)
        deadline = time.monotonic() + self.busy_timeout_ms / 1000
        pauses = _retry_pauses()
        while await self._inline_ok():
            if self._commit_here(group, last=time.monotonic() >= deadline):
                return
            await asyncio.sleep(next(pauses))
        await self._hop(self._writer, run_group, group)  # called off the loop's thread
