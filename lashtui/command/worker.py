"""The commands that run the engine: `worker` (the loop, until a stop signal; or one
pass with `--once`) and `sweep` (one recovery pass that runs nothing).

They open the registry themselves, not through the facade: a worker is the engine, not
an observer of it.

Stopping (lashtui/worker/shutdown.py): the first SIGINT, SIGTERM or SIGHUP stops claiming,
lets the runs in flight finish within `--grace` seconds, stops the rest (no terminal
written, leases released) and, with `--drain`, runs the owner drain; then exit 0. A second
signal ends the grace period at once, skips the drain, releases the leases the registry takes
within 1 s (`HURRIED_RELEASE_S`; the rest lapse), and exits
128 + that signal's number (130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP), as a shell
reports a process a signal ended: the stop was not the orderly one. What the worker does
goes to stderr as log lines (lashtui/command/log.py); `--metrics` serves Prometheus series
(lashtui/worker/metric.py). What a one-pass run (`--once`, `sweep`) prints and logs is
lashtui/command/pass_report.py's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal as os_signal
import sys
import threading
import time
from typing import TYPE_CHECKING

from lashtui.command.log import configure_logging, unconfigure_logging
from lashtui.command.output import emit
from lashtui.command.pass_report import (
    TIMED_OUT,
    lost_leases,
    lost_sentence,
    pass_counts,
    pass_line,
    say_timed_out,
    say_waiting,
)
from lashtui.model import LeaseTimings
from lashtui.tui.heap import worker_heap

if TYPE_CHECKING:
    from lashtui.registry import ProcessRegistry
    from lashtui.worker import ProcessWorker

# SIGHUP too: a worker started from a terminal or an ssh session gets it when that closes,
# and its default action killed the worker at once (exit 129, not a line logged, its
# leases held until their TTL), where a stop lets its runs finish and releases the rest.
STOP_SIGNALS = (os_signal.SIGINT, os_signal.SIGTERM, os_signal.SIGHUP)


class StopSignals:
    """The stop signals on the running loop: the first sets `stop`, the next `hurry`. The
    same signal again before the stop has begun (`begin`), or within `SAME_DELIVERY_S` of
    the first, is the first one delivered twice, not an operator's second: GNU `timeout`
    sends its signal to the worker and then to the worker's process group, which holds the
    worker too (the second kill often a few milliseconds later, once the worker has taken
    the CPU and begun its stop), so `timeout 8h lashtui worker --drain` hurried every stop
    it made: no grace, no drain, exit 143, its log saying `SIGTERM again`, sometimes before
    `stopping`. A different signal hurries the stop at once."""

    def __init__(self) -> None:
        self.stop = asyncio.Event()
        self.hurry = asyncio.Event()
        self.received: list[os_signal.Signals] = []
        self.begun = False
        self._first_at = 0.0

    def begin(self) -> str:
        """The stop begins (its `stopping` line is next): from here a signal hurries it.
        Returns the name of the signal that asked for it."""
        self.begun = True
        return self.received[0].name

    def __enter__(self) -> StopSignals:
        loop = asyncio.get_running_loop()
        for signum in STOP_SIGNALS:
            loop.add_signal_handler(signum, self._received, signum)
        return self

    def __exit__(self, *exc: object) -> None:
        loop = asyncio.get_running_loop()
        for signum in STOP_SIGNALS:
            loop.remove_signal_handler(signum)

    def _received(self, signum: os_signal.Signals) -> None:
        now = time.monotonic()
        twin = not self.begun or now - self._first_at < SAME_DELIVERY_S
        if self.stop.is_set() and signum == self.received[0] and twin:
            return  # (the first signal delivered twice: see the class docstring)
        if not self.received:
            self._first_at = now
        self.received.append(os_signal.Signals(signum))
        if not self.stop.is_set():
            self.stop.set()
        elif not self.hurry.is_set():
            self._hurry()

    def _hurry(self) -> None:
        """The second signal: said in one line, and the exit made certain. The hurried
        stop is bounded (shutdown.py), but closing a registry that cannot be reached waits
        for its connection threads (PostgreSQL's 10 s connect timeout): the exit took 20-25
        s, with nothing said."""
        from lashtui.worker.runtime import HURRIED_RELEASE_S, log

        self.hurry.set()
        status, name = self.exit_status(), self.received[1].name
        log.warning(
            "%s again: stopping at once (no more grace, no drain); a lease not released "
            "within %.3gs is left to lapse; exiting %d within %.3gs", name,
            HURRIED_RELEASE_S, status, HURRIED_EXIT_S,
            extra={"fields": {"event": "hurried", "signal": name, "exit_status": status}},
        )  # fmt: skip
        timer = threading.Timer(HURRIED_EXIT_S, _exit_now, args=(status,))
        timer.daemon = True
        timer.start()

    def exit_status(self) -> int:
        """0 for an orderly stop; 128 + the second signal's number for a hurried one."""
        return 128 + self.received[1].value if self.hurry.is_set() else 0


# The same stop signal again within this long of the first is the first delivered twice
# (`StopSignals`): a sender's two kills, never an operator's second Ctrl-C, which comes later.
SAME_DELIVERY_S = 0.5

# How long a hurried stop may take before the process exits regardless (`StopSignals`).
HURRIED_EXIT_S = 3.0


def _exit_now(status: int) -> None:
    """End the process with `status` from the hurry's timer thread, what was logged flushed
    first: the loop is still waiting on a registry that does not answer."""
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.flush()
        sys.stdout.flush()
    os._exit(status)


async def run_worker(args: argparse.Namespace, *, once: bool, run: bool = True) -> int:
    """`worker` (which may create the registry: it is how a fleet starts) and `sweep`
    (which runs nothing, so has nothing to do on a registry that is not there)."""
    from lashtui.registry import open_registry, refuse_writes_to_lash
    from lashtui.worker import ProcessWorker

    handler = configure_logging(
        getattr(args, "log_level", "info"), getattr(args, "log_format", "text")
    )
    try:
        timings = LeaseTimings.from_ttl(args.ttl_ms) if args.ttl_ms else LeaseTimings()
        async with open_registry(args.db, create=run) as registry:
            refuse_writes_to_lash(registry, args.db)
            worker = ProcessWorker(registry, timings=timings)
            if once:
                return await _once(args, worker, run=run)
            return await _serve(args, worker, registry)
    finally:
        unconfigure_logging(handler)


# How long a `--once` pass waits for the runs it started before it says it is still waiting.
ONCE_WAITING_SAY_S = 1.0


async def _once(args: argparse.Namespace, worker: ProcessWorker, *, run: bool) -> int:
    """One pass, then wait for the runs it started (a run parked on a wait ends only when
    its signal comes). The stop signals stop it as they stop `worker`: runs in flight get
    `--grace` seconds, the rest are stopped with their leases released, and the exit status
    says whether the stop was orderly. A signal used to end it at once (143), leaving the
    leases it held to lapse, and nothing said what it waited for. `--timeout` bounds the
    pass and the wait: at the bound the runs still in flight are stopped at once (no grace:
    the bound was theirs), as a stop does, and it exits `TIMED_OUT`."""
    # A run it parks on a signal resumes as another connection commits it, as a running
    # worker's does, not at its awaiter's poll (follow.py `waking_waiters`).
    following = worker.waking_waiters() if run else contextlib.nullcontext()
    async with following:
        return await _once_pass(args, worker, run=run)


async def _once_pass(args: argparse.Namespace, worker: ProcessWorker, *, run: bool) -> int:
    from lashtui.worker.shutdown import shut_down

    timeout_s: float | None = getattr(args, "timeout", None)
    loop = asyncio.get_running_loop()
    deadline = None if timeout_s is None else loop.time() + timeout_s
    with StopSignals() as signals:
        await worker.drive_pending_processes(run=run, count_every_row=True)
        idle = asyncio.create_task(worker.idle(), name="lashtui-once-idle")
        timed_out = not await _runs_ended(worker, idle, signals, deadline, timeout_s)
        if signals.stop.is_set():
            await shut_down(
                worker, grace_s=getattr(args, "grace", 0.0), hurry=signals.hurry,
                drain=getattr(args, "drain", False), why=signals.begin(),
            )  # fmt: skip
        elif timed_out:
            assert timeout_s is not None
            say_timed_out(worker, timeout_s)
            await shut_down(
                worker, grace_s=0.0, hurry=signals.hurry, drain=getattr(args, "drain", False),
                why=f"--timeout {timeout_s:g}s",
            )  # fmt: skip
        await idle
        return _pass_status(args, worker, signals, timed_out=timed_out, run=run)


async def _runs_ended(
    worker: ProcessWorker,
    idle: asyncio.Task[None],
    signals: StopSignals,
    deadline: float | None,
    timeout_s: float | None,
) -> bool:
    """Wait until the pass's runs have ended (`idle`) or a stop signal came, saying what it
    waits for once `ONCE_WAITING_SAY_S` has gone by; False when `deadline` (the loop's
    time, from `timeout_s`; None: no bound) came first."""
    loop = asyncio.get_running_loop()
    stop = asyncio.create_task(signals.stop.wait(), name="lashtui-once-stop")
    say_s = ONCE_WAITING_SAY_S
    if deadline is not None:
        say_s = min(say_s, max(deadline - loop.time(), 0.0))
    # FIRST_COMPLETED: by default `wait` waits for both, and `stop` comes only with a
    # signal, so every pass (each `sweep` too) waited out `say_s` after its runs had ended.
    done, _ = await asyncio.wait({idle, stop}, timeout=say_s, return_when=asyncio.FIRST_COMPLETED)
    if not done and (deadline is None or loop.time() < deadline):
        say_waiting(worker, timeout_s)
        left_s = None if deadline is None else max(deadline - loop.time(), 0.0)
        done, _ = await asyncio.wait(
            {idle, stop}, timeout=left_s, return_when=asyncio.FIRST_COMPLETED
        )
    stop.cancel()
    return bool(done)


def _pass_status(
    args: argparse.Namespace, worker: ProcessWorker, signals: StopSignals, *,
    timed_out: bool, run: bool,
) -> int:  # fmt: skip
    """Once the pass and its runs are over: print what it did (its counts under `-o json`,
    else its line) and give its exit status, or raise what failed it (the registry's
    error, a run's lost lease)."""
    from lashtui.errors import LeaseLost
    from lashtui.worker.runtime import RunEnd

    failed = worker.stats.registry_error
    if failed is not None and not signals.hurry.is_set():
        # The registry could not serve part of the pass (a claim, a write): exit 1 with
        # the store's sentence. Counted as Busy, a pass on a locked file said "1 busy
        # (held by a live lease)" of a row no one held, and exited 0.
        raise failed
    counts = pass_counts(worker)
    # The runs that lost their leases, named only when there are some (the pass then
    # fails, below): every other value is a count, which scripts sum.
    lost = {"lost_leases": lost_leases(worker)} if worker.stats.lost_named else {}
    if not emit({**counts, **lost}, args.output):
        print(pass_line(counts, run=run))
    if timed_out and not signals.hurry.is_set():
        return TIMED_OUT
    status = signals.exit_status()
    if status == 0 and worker.stats.runs[RunEnd.LEASE_LOST]:
        # A run that lost its lease did not do what the pass claimed of it: a lease
        # that lapsed (to a renewal that was slow, not refused: one lapsed after
        # refusals is the registry's failure, above), or one the registry refused a
        # renewal or a write under (another worker took it). Each exited 0.
        raise LeaseLost(lost_sentence(worker))
    return status


async def _serve(args: argparse.Namespace, worker: ProcessWorker, registry: ProcessRegistry) -> int:
    """Run until a signal, then stop well (see the module docstring)."""
    from lashtui.registry.display import redacted
    from lashtui.worker.runtime import log
    from lashtui.worker.shutdown import shut_down

    with StopSignals() as signals:
        async with contextlib.AsyncExitStack() as stack:
            if args.metrics is not None:
                from lashtui.worker.metric import serving_metrics

                host, port = await stack.enter_async_context(
                    serving_metrics(worker, registry, *args.metrics)
                )
                url = f"http://{_bracketed(host)}:{port}/metrics"
                fields = {"event": "metrics", "metrics": url}
                log.info("serving metrics at %s", url, extra={"fields": fields})
            # What start-up made (modules, pydantic's schemas, the registry's handles) lives
            # as long as the worker: out of the collector's sight, its full passes walk only
            # what the runs make, as the dashboard's do (tui/heap.py). Four workers draining
            # 10,000 rows: ~3-5% less CPU a row, ~5% more rows a second. And the runs' young
            # objects are collected every 50,000 allocations, not 700: +5% more (heap.py).
            stack.enter_context(worker_heap())
            await stack.enter_async_context(worker.running())
            where, owner = redacted(args.db), worker.owner
            # The pid and incarnation tell apart the workers one host runs on one registry
            # (their owner ids are alike), as their leases name them.
            log.info(
                "worker %s (pid %d, incarnation %s) on %s", owner.owner_id, os.getpid(),
                owner.incarnation_id, where,
                extra={"fields": {"event": "started", "owner": owner.owner_id,
                                  "pid": os.getpid(), "incarnation": owner.incarnation_id,
                                  "db": where}},
            )  # fmt: skip
            await _say_missing_indexes(registry)
            if not await _until_stopped(signals, worker):
                return 1  # leaving the block stops the runs in flight
            await shut_down(
                worker, grace_s=args.grace, hurry=signals.hurry, drain=args.drain,
                why=signals.begin(),
            )  # fmt: skip
        return signals.exit_status()


async def _until_stopped(signals: StopSignals, worker: ProcessWorker) -> bool:
    """Until a stop signal (True) or the registry's file is found no longer at its path
    (False, said in one line): that handle can never serve the registry at the path again.
    The worker logged "drive failed: ... was replaced by another file" every renew interval
    and ran nothing more, the new file at the path unserved; exiting 1 lets a supervisor
    start a worker on it."""
    from lashtui.worker.runtime import log

    stop = asyncio.ensure_future(signals.stop.wait())
    gone = asyncio.ensure_future(worker.until_gone())
    try:
        await asyncio.wait({stop, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stop.cancel()
        gone.cancel()
    if signals.stop.is_set() or worker.gone is None:
        return True
    in_flight = worker.in_flight
    log.error(
        "the registry can no longer be served: %s; exiting (1) so that a supervisor starts "
        "a worker on the file now at that path; %d run%s in flight stopped, their leases "
        "moot (they are in the file that is gone)", worker.gone,
        len(in_flight), "" if len(in_flight) == 1 else "s",
        extra={"fields": {"event": "registry_gone", "error": str(worker.gone),
                          "in_flight": in_flight}},
    )  # fmt: skip
    return False


async def _say_missing_indexes(registry: ProcessRegistry) -> None:
    """Say at start which of this build's indexes the registry lacks (a read that writes
    nothing), and that `lashtui index` adds them: opening a registry never does (an
    index build holds writers off), and without the drive's two a worker's drive tests
    every running row's record, every renew interval (sql/backlog_mark.py)."""
    from lashtui.errors import LashError
    from lashtui.registry.sql.backlog_mark import STALE_INDEX, UNMARKED_INDEX
    from lashtui.registry.sql.store import SqlProcessRegistry
    from lashtui.worker.runtime import log

    if not isinstance(registry, SqlProcessRegistry):
        return
    try:
        missing = (await registry.add_missing_indexes(dry_run=True)).created
    except LashError as error:  # a hiccup at start-up: a note, not the worker's end
        log.warning(
            "could not tell which indexes the registry lacks: %s", error,
            extra={"fields": {"event": "indexes_unknown", "error": str(error)}},
        )  # fmt: skip
        return
    if not missing:
        return
    drive = {UNMARKED_INDEX, STALE_INDEX} & set(missing)
    why = (
        "; without the drive's, each drive tests every running row's record"
        if drive else ""
    )
    log.info(
        "the registry lacks %d of this build's indexes (%s): `lashtui index` adds them%s",
        len(missing), ", ".join(missing), why,
        extra={"fields": {"event": "indexes_missing", "indexes": missing}},
    )  # fmt: skip


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host


async def cmd_worker(args: argparse.Namespace) -> int:
    return await run_worker(args, once=args.once)


async def cmd_sweep(args: argparse.Namespace) -> int:
    """One recovery pass that runs nothing: abandons what the rules say to abandon,
    reconciles requests, and leaves runnable work to the workers."""
    return await run_worker(args, once=True, run=False)
