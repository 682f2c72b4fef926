"""The commands that run the engine: `worker` (the loop, until SIGINT or SIGTERM, then a
drain of its owner-bound work; or one pass with `--once`) and `sweep` (one recovery pass
that runs nothing).

They open the registry themselves, not through the facade: a worker is the engine, not
an observer of it.
"""

from __future__ import annotations

import argparse
import asyncio
import signal as os_signal
import sys

from lashtui.command.output import emit
from lashtui.model import LeaseTimings
from lashtui.untrusted import visible


async def run_worker(args: argparse.Namespace, *, once: bool, run: bool = True) -> int:
    """`worker` (which may create the registry: it is how a fleet starts) and `sweep`
    (which runs nothing, so has nothing to do on a registry that is not there)."""
    from lashtui.registry import open_registry
    from lashtui.registry.display import redacted
    from lashtui.worker import ProcessWorker

    timings = LeaseTimings.from_ttl(args.ttl_ms) if args.ttl_ms else LeaseTimings()
    async with open_registry(args.db, create=run) as registry:
        worker = ProcessWorker(registry, timings=timings)
        if once:
            await worker.drive_pending_processes(run=run)
            await worker.idle()
            verdicts = {k.value: v for k, v in worker.stats.verdicts.items()}
            if not emit(verdicts, args.output):
                print(pass_line(verdicts, run=run))
            return 0
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (os_signal.SIGINT, os_signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        async with worker.running():
            print(f"lashtui worker {worker.owner.owner_id} on {redacted(args.db)}", file=sys.stderr)
            await stop.wait()
        report = await worker.drain_owner_bound_work()
        if report.abandoned:
            print(visible(f"drained: abandoned {', '.join(report.abandoned)}"), file=sys.stderr)
    return 0


def pass_line(verdicts: dict[str, int], *, run: bool) -> str:
    """A `--once` pass for people: what it decided for how many rows, e.g. `one pass: 2
    ran, 1 abandoned (owner provably dead)`. `-o json` prints the counts by verdict."""
    what = "worker" if run else "sweep"
    decided = [f"{count} {VERDICT_WORDS.get(name, name)}" for name, count in verdicts.items()]
    return f"{what}: one pass: {', '.join(decided) if decided else 'nothing to recover or run'}"


# What each recovery verdict (lashtui.worker.runtime.Verdict) means, for `--once`'s line.
VERDICT_WORDS = {
    "ran": "ran",
    "abandoned_by_sweep": "abandoned (owner provably dead)",
    "abandoned_reconciled": "abandoned (abandon request honoured)",
    "left_running": "left running (owner may be alive)",
    "busy": "busy (held by a live lease)",
    "already_terminal": "already ended",
    "untouched": "untouched",
    "deferred": "runnable, left for a worker",
    "skipped_undecodable": "skipped (undecodable)",
}


async def cmd_worker(args: argparse.Namespace) -> int:
    return await run_worker(args, once=args.once)


async def cmd_sweep(args: argparse.Namespace) -> int:
    """One recovery pass that runs nothing: abandons what the rules say to abandon,
    reconciles requests, and leaves runnable work to the workers."""
    return await run_worker(args, once=True, run=False)
