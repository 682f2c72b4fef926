"""A short write's outcome kept for a caller cancelled while it commits.

A short write joins a group that commits on the registry's thread (SQLite) or the server
(PostgreSQL); a caller cancelled once its write was taken into a committing group does not
stop the commit, and loses its outcome. Most callers can: a claim lost that way lapses with
its lease. A start that claims its row for this worker (`start_process_for_run`) cannot: its
row stays claimed, its first start recorded, with no run. Such a caller sets `KEEPING`
around its call: if it is cancelled there, its write is not dropped but commits in any case
(as it may have already), and `Kept.outcome` is where its outcome arrives.

Only the cancelled path does any work: the normal one costs setting a context variable
(`KEEPING.set(Kept())`, then its reset: no context manager, whose generator costs more).
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable, Iterable
from typing import Any, Protocol


class Kept:
    """Where the outcome of a write whose caller was cancelled arrives: None until then."""

    __slots__ = ("outcome",)

    def __init__(self) -> None:
        self.outcome: asyncio.Future[Any] | None = None


# Set (to a fresh `Kept`) around the one short write whose outcome its caller keeps.
KEEPING: contextvars.ContextVar[Kept | None] = contextvars.ContextVar(
    "lashtui_keeping", default=None
)


def keep(future: asyncio.Future[Any], taken: bool) -> asyncio.Future[Any] | None:
    """The future a cancelled caller's write settles from now on, in place of `future`
    (its own, cancelled with it), when the caller keeps its outcome; None when it does not,
    the write then being dropped if it was not yet `taken` into a group. A `future`
    already settled (the caller was cancelled after its outcome arrived) is kept as it
    is; a write dropped before this ran (not `taken`, and no longer queued) is kept as a
    cancelled future: it wrote nothing."""
    kept = KEEPING.get()
    if kept is None:
        return None
    if future.done() and not future.cancelled():
        kept.outcome = future
        return future
    kept.outcome = future.get_loop().create_future()
    if not taken:
        kept.outcome.cancel()
    return kept.outcome


class KeptWrite(Protocol):
    """A queued short write as both stores' group commits hold one."""

    future: asyncio.Future[Any]
    taken: bool
    settled: tuple[Any, BaseException | None] | None  # its outcome, once `deliver` ran


def deliver(write: KeptWrite, result: Any = None, error: BaseException | None = None) -> None:
    """Hand `write`'s outcome to its caller, and keep it on the write. A caller cancelled
    in the same turn as its group settled has its future cancelled first (the cancel), then
    finds it settled by nothing: the group came before its `keep_write`, to a future already
    done. Kept here, `keep_write` settles the kept future from it; without it the kept
    outcome never arrived, and a start cancelled so waited for ever (its run never spawned:
    a worker's `idle()` hung, found under load in a test of exactly this)."""
    write.settled = (result, error)
    if not write.future.done():
        if error is not None:
            write.future.set_exception(error)
        else:
            write.future.set_result(result)


def keep_write(write: KeptWrite, future: asyncio.Future[Any], queued: Iterable[object]) -> None:
    """`keep` for `write`, whose caller was cancelled while waiting on `future`: a write
    still in `queued` commits as well (the group takes it), as one already `taken` does in
    any case; if the caller keeps its outcome, the write settles the kept future instead."""
    taken = write.taken or any(queue is write for queue in queued)
    if (kept := keep(future, taken)) is not None:
        if write.settled is not None and not kept.done():  # settled before this ran
            result, error = write.settled
            if error is not None:
                kept.set_exception(error)
            else:
                kept.set_result(result)
        write.future = kept


def convert_kept(convert: Callable[[Any], Any]) -> None:
    """Have the outcome kept in this context (if any) arrive as `convert` of the write's
    result, as the caller would have made it (PostgreSQL's start answers a `StartOutcome`)."""
    kept = KEEPING.get()
    if kept is None or kept.outcome is None:
        return
    source, target = kept.outcome, kept.outcome.get_loop().create_future()

    def settle(done: asyncio.Future[Any]) -> None:
        if done.cancelled():
            target.cancel()
        elif (failed := done.exception()) is not None:
            target.set_exception(failed)
        else:
            try:
                target.set_result(convert(done.result()))
            except Exception as error:
                target.set_exception(error)

    source.add_done_callback(settle)
    kept.outcome = target
