"""The dashboard's last stop of its embedded worker, once Textual has left the screen: said
on stderr, bounded, and cut short by Ctrl-C.

`q` stops the worker while the dashboard is still drawn (tui/app.py says so in a toast).
What is left then is stopped here: a start the demo's trickle made whose commit was queued
behind another program's write lock when the app ended (its claim followed to its end,
start.py `_end_orphan`), a run claimed while the first stop waited, or every run when the
app ended some other way. With the write lock held elsewhere each waited for that lock
(15 s a write) and then for its release's turn, and the terminal stayed blank for that long
(8 s and 15 s measured after `q` in `demo`), Ctrl-C unheard, nothing said.

So here: claiming stops first; a stop still going after `SAYS_AFTER_S` says on stderr what
it waits for and for how long at most; it waits no longer than a lease lives (`ttl_ms`,
and `LONGEST_WAIT_S`: tui/stop_wait.py, as the quit in the app does): a lease the registry
has not taken back by then would have lapsed anyway, so waiting more only keeps the
operator. Past that, or at Ctrl-C (SIGINT, or
SIGTERM), the stop is hurried (`ProcessWorker.hurried_by`, as `lashtui worker`'s second
signal): each release waits `HURRIED_RELEASE_S` more at most, and the stop is waited for
`HURRIED_STOP_S` at most (tui/stop_wait.py: its two waits), the last line names the
leases left to lapse at their TTL, and closing the registry gets `CLOSE_S` before the
process exits regardless (a write still waiting for the lock would hold it). Ids in these
lines are stored data: shown visible, never as control characters.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal as os_signal
import sys
import threading
from typing import Any

from lashtui.tui.stop_wait import HURRIED_STOP_S, longest_wait_s
from lashtui.untrusted import visible_clipped
from lashtui.worker import ProcessWorker
from lashtui.worker.runtime import log as worker_log

# A stop still going this long after the screen is gone says what it waits for.
SAYS_AFTER_S = 0.5
# (How long the stop is waited for before it is hurried, and how long a hurried one takes:
# tui/stop_wait.py `HURRIED_STOP_S`, which the quit in the app waits by too.)
# After a hurried stop, how long closing the registry may take before the process exits
# regardless: a write still waiting for the lock holds the close for the rest of its busy
# timeout (4.5 s measured after the 6 s wait in `demo`), as `lashtui worker` found
# (command/worker.py HURRIED_EXIT_S).
CLOSE_S = 1.0
NAMED = 5  # ids named in a line; the rest are counted
ID_CHARS = 60  # of each id named


def named(ids: list[str]) -> str:
    """Ids as a line names them: visible, clipped, the first `NAMED` of them."""
    shown = ", ".join(visible_clipped(pid, ID_CHARS) for pid in ids[:NAMED])
    more = len(ids) - NAMED
    return f"{shown} and {more:,} more" if more > 0 else shown


def runs(count: int) -> str:
    return "1 run" if count == 1 else f"{count:,} runs"


def say(line: str) -> None:
    print(f"lashtui: {line}", file=sys.stderr, flush=True)


class _Quiet(logging.Handler):
    """Holds the worker's log lines while the stop runs: with no handler left on its logger
    (the dashboard's went with the app), Python printed its warnings raw on stderr, stored
    ids and all. What they say of the stop, the lines here say."""

    def emit(self, record: logging.LogRecord) -> None:
        pass


async def stop_after_screen(worker: ProcessWorker, status: int) -> int:
    """Stop `worker` as the module docstring says; returns the exit status: `status` (the
    app's), or 128 + the signal's number when Ctrl-C (130) or SIGTERM (143) cut the wait
    short, as a shell reports a process a signal ended (README's exit statuses)."""
    worker.stop_claiming()
    hurry, interrupted = asyncio.Event(), asyncio.Event()
    received: list[os_signal.Signals] = []
    worker.hurried_by(hurry)

    def interrupt(signum: os_signal.Signals) -> None:
        received.append(signum)
        interrupted.set()
        hurry.set()

    loop = asyncio.get_running_loop()
    signals = (os_signal.SIGINT, os_signal.SIGTERM)
    quiet = _Quiet()
    worker_log.addHandler(quiet)
    for signum in signals:
        loop.add_signal_handler(signum, interrupt, signum)
    try:
        in_flight = worker.in_flight
        stopping = asyncio.ensure_future(worker.stop())
        await asyncio.wait({stopping}, timeout=SAYS_AFTER_S)
        ttl_s = worker.timings.ttl_ms / 1000
        longest = longest_wait_s(worker.timings.ttl_ms)
        if not stopping.done():
            say(
                f"the embedded worker is stopping: waiting at most "
                f"{longest + HURRIED_STOP_S + CLOSE_S:.3g}s for the registry to take back "
                f"{waited_for(worker, in_flight)}; Ctrl-C stops waiting (they then lapse "
                f"within their {ttl_s:.3g}s TTL)"
            )
            await _until_done_or_hurried(stopping, hurry, longest)
        elif not interrupted.is_set():
            return status  # (stopped at once: nothing to say)
        cut = not stopping.done()
        hurry.set()  # (past the longest wait, or Ctrl-C: no longer than a hurried stop)
        # As long as a hurried stop takes (its two waits): given one, a stop hurried while
        # it waited for a start was cut short while its runs released their leases, and the
        # line said those leases were not handed back.
        await asyncio.wait({stopping}, timeout=HURRIED_STOP_S)
        if interrupted.is_set():
            name = "Ctrl-C" if received[0] == os_signal.SIGINT else received[0].name
            why, status = f"stopped waiting ({name})", 128 + received[0].value
        elif cut:
            why = f"stopped waiting after {longest:.3g}s"
        else:
            why = "the embedded worker stopped"
        left = left_by(worker, in_flight, stopping)
        say(said_stopped(why, left, worker.starts_followed, in_flight, ttl_s))
        # A hurried stop leaves writes waiting for the lock, which the close would wait for.
        exit_within(CLOSE_S, status)
        return status
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)
        worker_log.removeHandler(quiet)


async def _until_done_or_hurried(
    stopping: asyncio.Future[list[str]], hurry: asyncio.Event, seconds: float
) -> None:
    hurried: asyncio.Future[Any] = asyncio.ensure_future(hurry.wait())
    either: set[asyncio.Future[Any]] = {stopping, hurried}
    try:
        await asyncio.wait(either, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        hurried.cancel()


def exit_within(seconds: float, status: int) -> None:
    """End the process with `status` if it has not ended `seconds` from now: closing the
    registry waits for a write that is still waiting for the lock (the module docstring).
    What was said is flushed first; Textual has left the screen already."""

    def exit_now() -> None:
        sys.stderr.flush()
        os._exit(status)

    timer = threading.Timer(seconds, exit_now)
    timer.daemon = True
    timer.start()


def waited_for(worker: ProcessWorker, in_flight: list[str]) -> str:
    """What the stop waits for the registry to take back, in the waiting line."""
    parts = []
    if in_flight:
        parts.append(f"the leases of its {runs(len(in_flight))} in flight ({named(in_flight)})")
    if committing := worker.starts_followed:
        parts.append(f"the claim{'s' if committing > 1 else ''} of {committing:,} "
                     f"start{'s' if committing > 1 else ''} still committing")
    return " and ".join(parts) or "its leases"


def left_by(worker: ProcessWorker, in_flight: list[str], stopping: asyncio.Future[list[str]]
            ) -> list[str]:
    """The runs of `in_flight` whose leases were not handed back: not released (the
    registry refused or was not waited for), given up on by the stop, or still running."""
    left = set(worker.unreleased) | set(worker.in_flight)
    if stopping.done() and not stopping.cancelled() and stopping.exception() is None:
        left |= set(stopping.result())
    return sorted(left & set(in_flight))


def said_stopped(
    why: str, left: list[str], committing: int, in_flight: list[str], ttl_s: float
) -> str:
    """The last line: what was handed back, and what was left to lapse and why."""
    if not left and not committing:
        if not in_flight:
            return f"{why}: nothing was left holding a lease"
        return f"{why}: the registry took back the leases of its {runs(len(in_flight))}"
    parts = []
    if left:
        parts.append(f"the leases of {runs(len(left))} ({named(left)}) were not handed back")
    if committing:
        parts.append(f"{committing:,} start{'s were' if committing > 1 else ' was'} still "
                     "committing (a claim it commits is not handed back)")
    return (
        f"{why}: {'; '.join(parts)}; they lapse within {ttl_s:.3g}s (their TTL), when "
        "another worker may claim the rows"
    )
