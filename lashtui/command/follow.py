"""Streaming reads: `events ID --follow` and `ls --watch` print what is there, then what
commits from then on, until interrupted.

They are woken by commits, not by a timer: `registry_changes` (lashtui/registry/watch.py,
the engine-side watch the dashboard uses) wakes on a watch of the SQLite file and its WAL,
or on PostgreSQL's NOTIFY, with a `data_version` poll only as its safety net; each wake-up
reads only what is new (the event log after the last sequence printed, or the change feed
after its cursor). The watch is armed before the first read, so no commit falls between
what is printed first and what follows.

Output is one line per item, flushed per line so a pipe sees it at once: text as the plain
commands print it (stored text through `visible`), or with `-o jsonl` (or `-o json`,
`--json`: a stream has no one document) one JSON object per line (`json_escaped`).
Ctrl-C (SIGINT) and SIGTERM end the stream quietly with exit 0; a reader that goes away
ends it as any command ends on a closed pipe (exit 141, quiet).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Coroutine
from typing import Any

from lashtui.command.argument import named_process
from lashtui.command.facade import facade
from lashtui.command.lease_watch import LeaseWatch
from lashtui.command.output import COLUMNS, WIDE_COLUMNS, column_widths, compact, process_row
from lashtui.command.query import (
    EVENT_COLUMNS,
    Listing,
    cmd_events,
    cmd_ls,
    event_row,
    page_query,
    say_left_out,
)
from lashtui.errors import LashError
from lashtui.model import (
    ObservedProcess,
    ObservedProcessEvent,
    ProcessPageQuery,
    in_states,
)
from lashtui.registry.watch import registry_changes
from lashtui.untrusted import json_escaped

FEED_PAGE = 500  # change-feed rows read per step while catching up


def streams_json(args: argparse.Namespace) -> bool:
    """Whether a stream is JSONL: `-o jsonl`, and for `events --follow` `-o json` too (a
    stream that never ends cannot be one JSON document; `ls --watch` refuses it:
    parser/follow.py `_watch_output`); `-o table` and `wide` print the table's lines."""
    return bool(args.output in ("json", "jsonl"))


async def cmd_ls_or_watch(args: argparse.Namespace) -> int:
    return await until_interrupted(watch_ls(args)) if args.watch else await cmd_ls(args)


async def cmd_events_or_follow(args: argparse.Namespace) -> int:
    return await until_interrupted(follow_events(args)) if args.follow else await cmd_events(args)


async def until_interrupted(stream: Coroutine[Any, Any, None]) -> int:
    """Run `stream` until SIGINT or SIGTERM, then end it (its watch and registry closed in
    order) and exit 0: stopping a stream is how it is meant to end, not an error."""
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(stream)
    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, task.cancel)
    try:
        await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise  # cancelled from outside, not by a signal
    finally:
        for number in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(number)
    return 0


def write(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


# --- events --follow


def event_line(
    event: ObservedProcessEvent, args: argparse.Namespace, now_ms: int, widths: list[int]
) -> str:
    """One event: its JSON object, or its row of the events table (`query.event_row`: its
    sequence, time, age when printed, type and payload, cut as `events` cuts it, whole with
    `-o wide`) in the columns the log above it was printed in."""
    if streams_json(args):
        return json_escaped(compact(event.model_dump(mode="json")))
    return aligned(event_row(event, now_ms, args.output == "wide"), widths)


async def follow_events(args: argparse.Namespace) -> None:
    """The log as `events` prints it (its header, times and aligned columns; it printed the
    sequence, type and payload alone, no header, so an empty log printed nothing and no
    line said when its event happened), then each event as it commits, in those columns."""
    async with facade(args, writes=False) as processes:
        process_id = await named_process(processes, args.id)
        if await processes.get(process_id) is None:
            raise LashError(f"unknown process `{args.id}`")
        left_out = await processes.events_left_out(process_id)
        last, widths = args.after, None
        async with contextlib.aclosing(registry_changes(processes.registry)) as changes:
            async for _ in changes:  # once armed, then once per commit elsewhere
                if widths is None:  # the log so far, read whole as `events` reads it
                    last, widths = await write_log(processes, process_id, last, args)
                    say_left_out(left_out)
                    continue
                async for page in processes.event_pages(process_id, last):
                    now = processes.clock.now_ms()
                    for event in page:
                        write(event_line(event, args, now, widths))
                        last = event.sequence


async def write_log(
    processes: Any, process_id: str, after: int, args: argparse.Namespace
) -> tuple[int, list[int]]:
    """The events above `after`, as `events` prints them (the table's header first); returns
    the last sequence printed and the columns' widths (which JSONL does not use)."""
    as_json, wide = streams_json(args), args.output == "wide"
    rows: list[tuple[str, ...]] = [EVENT_COLUMNS]
    now = processes.clock.now_ms()
    async for page in processes.event_pages(process_id, after):
        for event in page:
            if as_json:
                write(json_escaped(compact(event.model_dump(mode="json"))))
            else:
                rows.append(event_row(event, now, wide))
            after = event.sequence
    # At least as wide as the events that follow mostly are (a timestamp, a short age, the
    # longest core event type), so that they stand under the header of a log that was empty.
    least = (3, len("2026-12-07 05:13:07.729Z"), 5, len("process.cancel_requested"), 0)
    widths = [max(w, m) for w, m in zip(column_widths(rows), least, strict=True)]
    for row in rows if not as_json else ():
        write(aligned(row, widths))
    return after, widths


# --- ls --watch


def process_cells(process: ObservedProcess, wide: bool, now_ms: int) -> tuple[str, ...]:
    """One process as `ls`'s table has it (`output.process_row`: the same cells, clipped
    the same), its wide table's under `-o wide` (it printed the narrow one whatever `-o`
    said); `now_ms` is when the line is printed, which `-o wide`'s times count from."""
    return process_row(process, now_ms, wide=wide)


def aligned(cells: tuple[str, ...], widths: list[int]) -> str:
    """A line of `ls --watch`: each cell padded to its column's width, as `ls` pads them
    (`output.print_rows`). A later row with a wider cell runs past that column on its own
    line rather than re-aligning what was printed. They were joined by two spaces with no
    padding, so no column stood under its header."""
    return "  ".join(cell.ljust(w) for cell, w in zip(cells, widths, strict=True)).rstrip()


async def belongs(processes: Any, query: ProcessPageQuery, process: ObservedProcess) -> bool:
    """Whether a changed row matches `ls`'s filters now (its state, its lens)."""
    if query.states is not None and not in_states(process, query.states):
        return False
    if query.lens is None or query.scope is None:
        return True
    if query.lens == "originated":
        from lashtui.admin import originated_by_scope

        return originated_by_scope(process.originator, query.scope)
    return bool(await processes.registry.has_handle_grant(query.scope, process.process_id))


async def watch_ls(args: argparse.Namespace) -> None:
    """The list as `ls` prints it (its filters, order and limit), then every change to a row
    that matches the filters or was printed (so a row that ends or leaves the filter shows
    its last state), in commit order; and a printed live row again when its lease is no
    longer as its line said it (lease_watch.py: a claim, a release, a takeover, with
    `-o wide` a renewal and an expiry passing), though its record did not change."""
    query = page_query(args)
    output = "jsonl" if streams_json(args) else args.output
    leases = LeaseWatch(output)
    async with (
        facade(args, writes=False) as processes,
        contextlib.aclosing(registry_changes(processes.registry)) as changes,
    ):
        await anext(changes)  # armed: what commits from here on wakes the loop below
        cursor = await processes.change_cursor()
        shown, widths = await write_list(Listing(processes, query, args.limit), args, leases)
        # The next commit's wake-up, awaited across the timer's wake-ups (an expiry passing):
        # `asyncio.wait` leaves it pending, where a timeout on `anext` would cancel it, and
        # with it the watch.
        commit = asyncio.ensure_future(anext(changes))
        try:
            while True:
                lapse = leases.next_lapse_s(processes.clock.now_ms())
                done, _ = await asyncio.wait({commit}, timeout=lapse)
                if commit in done:
                    commit.result()  # (a broken watch raises here)
                    commit = asyncio.ensure_future(anext(changes))
                    cursor = await write_changes(
                        processes, query, cursor, shown, widths, output, leases
                    )
                for process in await leases.changed(processes):
                    write_process(process, processes, widths, output, leases)
        finally:
            commit.cancel()
            with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                await commit  # ended before the watch it reads is closed


async def write_list(
    listing: Listing, args: argparse.Namespace, leases: LeaseWatch
) -> tuple[set[str], list[int]]:
    """The list as `ls` prints it, read whole before the first line as `ls` reads it, so
    the columns are as wide as `ls`'s; returns the ids printed and the columns' widths,
    which the changes after it are printed in."""
    shown: set[str] = set()
    as_json = streams_json(args)
    wide = args.output == "wide"
    rows: list[tuple[str, ...]] = [WIDE_COLUMNS if wide else COLUMNS]
    now = listing.processes.clock.now_ms()  # as `ls` reads it, once for the list
    async for page in listing.pages():
        for process in page:
            if as_json:
                write(json_escaped(process.to_json()))
            else:
                rows.append(process_cells(process, wide, now))
            shown.add(process.process_id)
            leases.printed(process, now)
    widths = column_widths(rows)
    for row in rows if not as_json else ():
        write(aligned(row, widths))
    if listing.cut:
        print(listing.notice(args.after), file=sys.stderr, flush=True)
    return shown, widths


async def write_changes(
    processes: Any,
    query: ProcessPageQuery,
    cursor: int,
    shown: set[str],
    widths: list[int],
    output: str,
    leases: LeaseWatch,
) -> int:
    """Print the feed after `cursor` (a row changed twice since shows once, as it is now)
    in `output` (jsonl, table or wide); returns the new cursor. A row changed while the
    list was read may show again here."""
    while True:
        changed, cursor = await processes.changes_since(cursor, FEED_PAGE)
        if not changed:
            return int(cursor)
        for process in changed:
            if process.process_id in shown or await belongs(processes, query, process):
                write_process(process, processes, widths, output, leases)
                shown.add(process.process_id)


def write_process(
    process: ObservedProcess, processes: Any, widths: list[int], output: str, leases: LeaseWatch
) -> None:
    """One row's line after the list, in `output` (jsonl, table or wide)."""
    now = processes.clock.now_ms()
    if output == "jsonl":
        write(json_escaped(process.to_json()))
    else:
        write(aligned(process_cells(process, output == "wide", now), widths))
    leases.printed(process, now)
