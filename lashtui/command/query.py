"""The read commands: `ls`, `show`, `events` and `await`. They open the registry read-only
(a file that is not there is refused, never created) and change nothing.

`ls` is most of it: it reads in keyset pages, one row past its limit to say whether more
follow, and streams its JSON page by page, so `ls --json --limit 0` over a million rows
stays in bounded memory.
"""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from lashtui.command.argument import named_process
from lashtui.command.facade import facade
from lashtui.command.output import (
    COLUMNS,
    WIDE_COLUMNS,
    compact,
    emit,
    print_rows,
    process_row,
    say,
)
from lashtui.errors import LashError
from lashtui.listing import LS_PAGE, ls_states, notice
from lashtui.model import (
    ObservedProcess,
    ObservedProcessEvent,
    ProcessPageQuery,
    ProcessStatusFilter,
    SessionScope,
)
from lashtui.untrusted import json_escaped


def page_query(args: argparse.Namespace) -> ProcessPageQuery:
    """`ls`'s lens and filters as one keyset page query. `--status` and `--waiting` both
    become the state set (a waiting row is a running row with a wait: lashtui.listing
    `ls_states`), so every page the registry returns is already filtered and a page is full
    whenever enough rows match."""
    status = ProcessStatusFilter.decode(
        ProcessStatusFilter.RUNNING.value if args.status is None else args.status
    )
    states = ls_states(status.value, args.waiting)
    fields: dict[str, Any] = {
        "states": states,
        "after_id": args.after,
        "order": args.sort,
        "descending": args.desc,
    }
    # `is not None`: an empty scope is refused (lashtui/parser/argument.py `given`), never
    # read as no lens.
    if args.granted_to is not None:
        fields.update(lens="granted", scope=SessionScope.parse(args.granted_to))
    elif args.originated_by is not None:
        fields.update(lens="originated", scope=SessionScope.parse(args.originated_by))
    return ProcessPageQuery.model_validate(fields)


@dataclass
class Listing:
    """`ls`'s rows, read in keyset pages in the query's order until `limit` rows (0: every
    matching row). One row past the limit is read so `cut` can say whether the output
    stopped at the limit with more to come."""

    processes: Any
    query: ProcessPageQuery
    limit: int
    shown: int = 0
    last_id: str | None = None
    cut: bool = False

    async def pages(self) -> AsyncIterator[list[ObservedProcess]]:
        query = self.query  # `--after ID`: the registry reads ID's sort key
        while True:
            want = LS_PAGE
            if self.limit:
                want = min(want, self.limit - self.shown + 1)
            page, cut = await self.processes.page_within(query.model_copy(update={"limit": want}))
            full = cut or len(page) == want  # (cut: a page of large records ends early)
            if self.limit and self.shown + len(page) > self.limit:
                page, self.cut = page[: self.limit - self.shown], True
            if page:
                self.shown += len(page)
                self.last_id = page[-1].process_id
                query = query.after(page[-1])
                yield page
            if self.cut or not full:
                return

    def notice(self, after: str | None) -> str:
        """The stderr line when the output stopped at the limit: how to read on."""
        return notice(self.shown, self.last_id, after)


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while `ls` decodes its rows. Decoding a page makes
    thousands of objects, which triggers full collections that walk everything the imports
    made: measured here, 1,000 records decode in ~35 ms with it off and ~170 ms with it on
    (~100 ms with the import heap merely frozen). The records form no cycles, so reference
    counting frees each page; the long commands (`worker`, `await`, `dash`) never come here."""
    gc.freeze()
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


async def cmd_ls(args: argparse.Namespace) -> int:
    listing = Listing(None, page_query(args), args.limit)
    async with facade(args, writes=False) as processes:
        listing.processes = processes
        with collector_paused():
            await write_listing(listing, args.output, processes.clock.now_ms())
    if listing.cut:
        print(listing.notice(args.after), file=sys.stderr)
    return 0


async def write_listing(listing: Listing, output: str, now_ms: int = 0) -> None:
    if output in ("table", "wide"):
        # The table holds its rows' cells, not the records (a page of large ones is 16 MiB).
        wide = output == "wide"
        rows: list[tuple[str, ...]] = [WIDE_COLUMNS if wide else COLUMNS]
        async for page in listing.pages():
            rows += [process_row(p, now_ms, wide=wide) for p in page]
        print_rows(rows)
        return
    # Each row is the wire model's own compact JSON (what `emit_json` prints for it, in ~60%
    # of the time).
    async def documents() -> AsyncIterator[list[str]]:
        async for page in listing.pages():
            yield [json_escaped(process.to_json()) for process in page]

    await write_streamed(documents(), output)


async def write_streamed(pages: AsyncIterator[list[str]], output: str) -> None:
    """`-o json` (one array) or `-o jsonl` of JSON documents that come a page at a time,
    written as they come: never the whole list in memory. Prints what `emit` would."""
    out, lines = sys.stdout, output == "jsonl"
    opening, between, closing = ("", "\n", "\n") if lines else ("[", ",", "]\n")
    first = True
    async for page in pages:
        for document in page:
            out.write((opening if first else between) + document)
            first = False
    if not first or not lines:
        out.write(("[" if first else "") + closing)


async def cmd_show(args: argparse.Namespace) -> int:
    from lashtui.command.detail import Detail

    async with facade(args, writes=False) as processes:
        found = await processes.get(await named_process(processes, args.id))
        if found is None:
            raise LashError(f"unknown process `{args.id}`")
        if emit(found, args.output):
            return 0
        detail = await Detail.read(processes, found)
    for line in detail.lines():  # -o wide: the same, for show clips nothing
        print(line)
    return 0


# A payload the events table shows, in characters (`-o wide` shows all of it).
PAYLOAD_WIDTH = 80
EVENT_COLUMNS = ("SEQ", "AT", "AGO", "TYPE", "PAYLOAD")


def event_row(event: ObservedProcessEvent, now_ms: int, wide: bool) -> tuple[str, ...]:
    """One event as the events table shows it (`EVENT_COLUMNS`), the payload cut to its
    start unless `wide`; `events --follow` prints its lines with the same cells."""
    from lashtui.tui import format as fmt  # pure formatting, shared with the dashboard

    return (
        str(event.sequence),
        fmt.event_timestamp(event),
        "-" if event.time_unknown else fmt.age(event.occurred_at_ms, now_ms),
        fmt.event_type(event, wide=wide),
        fmt.payload(event, None if wide else PAYLOAD_WIDTH),
    )


async def cmd_events(args: argparse.Namespace) -> int:
    """The log read a page at a time (`Processes.event_pages`): JSON is written as it is
    read, and the table holds its rows' cells, each payload cut to its start unless
    `-o wide`, never the events (a log of mebibyte payloads held whole took a gigabyte)."""
    wide = args.output == "wide"
    rows: list[tuple[str, ...]] = [EVENT_COLUMNS]
    async with facade(args, writes=False) as processes:
        process_id = await named_process(processes, args.id)
        # Said on stderr (JSON output stays the events), read before the log's pages.
        left_out = await processes.events_left_out(process_id)
        pages = processes.event_pages(process_id, args.after)
        if args.output in ("json", "jsonl"):
            await write_streamed(event_documents(pages), args.output)
            say_left_out(left_out)
            return 0
        now = processes.clock.now_ms()
        async for page in pages:
            rows += [event_row(event, now, wide) for event in page]
    print_rows(rows)
    say_left_out(left_out)
    return 0


def say_left_out(count: int) -> None:
    if count:
        from lashtui.tui import format as fmt

        print(f"lashtui: {fmt.events_left_out(count)}", file=sys.stderr)


async def event_documents(
    pages: AsyncIterator[list[ObservedProcessEvent]],
) -> AsyncIterator[list[str]]:
    """Each event as `emit` prints it: its compact JSON, controls escaped."""
    async for page in pages:
        yield [json_escaped(compact(event.model_dump(mode="json"))) for event in page]


async def cmd_await(args: argparse.Namespace) -> int:
    # `--timeout 0` too: the facade looks once before its deadline starts, so a process that
    # has ended is returned and an unknown one refused as such, and one still running did
    # not finish within 0s.
    async with facade(args, writes=False) as processes:
        output = await processes.await_output(args.id, timeout=args.timeout)
    if not emit(output, args.output):
        say(f"{output.terminal_state().value}: {output.model_dump_json()}")
    return 0
