"""What each `lashtui` subcommand does, over the `Processes` facade (api.md §7).

Every command is an `async def cmd_<name>(args) -> exit status`. Bad values raise a
`LashError` naming the value (the entry point prints it and exits 1). Read commands open the
registry read-only and refuse a file that does not exist instead of creating one.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import shlex
import signal as os_signal
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, JsonValue

from lashtui.clock import SystemClock, parse_duration_ms
from lashtui.errors import InvalidRequest, LashError
from lashtui.model import (
    PAGE_LIMIT_MAX,
    PROCESS_STATES,
    Engine,
    LeaseTimings,
    ObservedProcess,
    ProcessActionOutcome,
    ProcessHandleDescriptor,
    ProcessIdentity,
    ProcessPageQuery,
    ProcessStartGrant,
    ProcessStartRequest,
    ProcessState,
    ProcessStatusFilter,
    RecoveryDisposition,
    SessionScope,
    limit,
    originator_from_scope_id,
)
from lashtui.untrusted import clipped, json_escaped, visible, visible_json

# --- parsing values (errors are LashErrors: one sentence naming the value, exit 1) ----------


def parse_json(flag: str, text: str) -> JsonValue:
    """A JSON argument, held to the registry's limits (lashtui.model.limit) before it is
    parsed: argv bytes that are not UTF-8 (Python hands them over as lone surrogates), a
    document past the size or depth limit (past ~1,000 levels `json.loads` itself raises
    RecursionError), and `\\ud800`-style escapes that decode to a lone surrogate each end
    in one sentence, before any registry is opened."""
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as error:
            code = ord(text[error.start])
            byte = f"byte 0x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"\\u{code:04x}"
            raise InvalidRequest(
                f"{flag} is not valid UTF-8 ({byte} at character {error.start})"
            ) from None
    limit.encode_json(flag, text)
    depth = limit.text_depth(text)
    if depth > limit.MAX_JSON_DEPTH:
        raise InvalidRequest(
            f"{flag} may nest at most {limit.MAX_JSON_DEPTH} levels; this one nests {depth}"
        )
    try:
        value: JsonValue = json.loads(text)
    except json.JSONDecodeError as error:
        # The argument echoed back one line long, its control characters shown as escapes.
        shown = visible(text if len(text) <= 200 else f"{text[:200]}...")
        raise InvalidRequest(f"{flag} is not valid JSON ({error.msg}): `{shown}`") from None
    for string in limit.walk_strings(value):
        if not string.isascii():
            limit.check_text(flag, string, len(string))
    return value


def parse_disposition(text: str) -> RecoveryDisposition:
    try:
        return RecoveryDisposition(text)
    except ValueError:
        choices = ", ".join(d.value for d in RecoveryDisposition)
        raise InvalidRequest(f"a disposition is one of {choices}, got `{text}`") from None


# --- output ---------------------------------------------------------------------------------


# Stored text reaches the terminal only through lashtui.untrusted: human output shows each
# control character as its escape (`visible`); JSON output writes the ones JSON's encoder
# leaves raw as `\uXXXX` escapes (`json_escaped`), so it parses to the same value.


def compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def emit_json(value: BaseModel | list[Any] | dict[str, Any]) -> None:
    def plain(item: Any) -> Any:
        return item.model_dump(mode="json") if isinstance(item, BaseModel) else item

    document = [plain(v) for v in value] if isinstance(value, list) else plain(value)
    print(json_escaped(compact(document)))


def say(line: str) -> None:
    """One line of human output that may quote stored text."""
    print(visible(line))


def status_badge(process: ObservedProcess) -> str:
    if process.lifecycle.value == "running" and process.wait is not None:
        return f"waiting:{process.wait.kind.name}"
    return process.lifecycle.value


# A label is clipped in the table (the whole of it is in `show`); ids are never clipped,
# because a script or a person copies them from here.
TABLE_LABEL_WIDTH = 48


def print_table(processes: list[ObservedProcess]) -> None:
    rows = [("ID", "STATUS", "LABEL", "DISPOSITION", "ORIGINATOR", "LEASE", "ABANDON")]
    for p in processes:
        holder = p.lease_holder.owner_id if p.lease_holder else "-"
        rows.append(
            (
                visible(p.process_id),
                status_badge(p),
                clipped(visible(p.label), TABLE_LABEL_WIDTH),
                p.disposition.value,
                visible(p.originator.scope_id()),
                visible(holder),
                "requested" if p.abandon_request else "-",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )


# --- commands -------------------------------------------------------------------------------


@asynccontextmanager
async def facade(
    args: argparse.Namespace, *, writes: bool, create: bool = False
) -> AsyncIterator[Any]:
    from lashtui.admin import Processes
    from lashtui.registry import open_registry

    clock = SystemClock()
    async with open_registry(args.db, clock=clock, read_only=not writes, create=create) as registry:
        yield Processes(registry, clock=clock)


def page_query(args: argparse.Namespace) -> ProcessPageQuery:
    """`ls`'s lens and filters as one keyset page query. `--status` and `--waiting` both
    become the state set (a waiting row is a running row with a wait), so every page the
    registry returns is already filtered and a page is full whenever enough rows match."""
    status = ProcessStatusFilter.decode(args.status or ProcessStatusFilter.RUNNING.value)
    states = set(PROCESS_STATES) if status is ProcessStatusFilter.ANY else {ProcessState(status)}
    if ProcessState.RUNNING in states:
        states.add(ProcessState.WAITING)
    if args.waiting is not None:
        states &= (
            {ProcessState.WAITING} if args.waiting else set(PROCESS_STATES) - {ProcessState.WAITING}
        )
    fields: dict[str, Any] = {"states": states, "after_id": args.after}
    if args.granted_to:
        fields.update(lens="granted", scope=SessionScope.parse(args.granted_to))
    elif args.originated_by:
        fields.update(lens="originated", scope=SessionScope.parse(args.originated_by))
    return ProcessPageQuery.model_validate(fields)


# Rows per page read: the default `--limit` (1,000, plus the one row past it) in one page,
# and `--limit 0` on a million rows in bounded memory (measured: ~370 MB RSS with pages of
# 10,000 decoded records; a page costs one indexed query, so smaller pages cost little).
LS_PAGE = min(2_000, PAGE_LIMIT_MAX)


@dataclass
class Listing:
    """`ls`'s rows, read in keyset pages in process-id order until `limit` rows (0: every
    matching row). One row past the limit is read so `cut` can say whether the output
    stopped at the limit with more to come."""

    processes: Any
    query: ProcessPageQuery
    limit: int
    shown: int = 0
    last_id: str | None = None
    cut: bool = False

    async def pages(self) -> AsyncIterator[list[ObservedProcess]]:
        after = self.query.after_id
        while True:
            want = LS_PAGE
            if self.limit:
                want = min(want, self.limit - self.shown + 1)
            update = {"after_id": after, "limit": want}
            page = await self.processes.page(self.query.model_copy(update=update))
            full = len(page) == want
            if self.limit and self.shown + len(page) > self.limit:
                page, self.cut = page[: self.limit - self.shown], True
            if page:
                self.shown += len(page)
                self.last_id = after = page[-1].process_id
                yield page
            if self.cut or not full:
                return

    def notice(self, after: str | None) -> str:
        """The stderr line when the output stopped at the limit: how to read on."""
        since = f" after `{after}`" if after is not None else ""
        return visible(
            f"lashtui: showing the first {self.shown} matching processes{since}; "
            f"--after {shlex.quote(self.last_id or '')} for the next page, --limit 0 for all"
        )


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
            await write_listing(listing, args.json)
    if listing.cut:
        print(listing.notice(args.after), file=sys.stderr)
    return 0


async def write_listing(listing: Listing, as_json: bool) -> None:
    if not as_json:
        print_table([p async for page in listing.pages() for p in page])
        return
    # Streamed page by page: one JSON document, never the whole list in memory. Each row is
    # the wire model's own compact JSON (what `emit_json` prints for it, in ~60% of the time).
    out, opening = sys.stdout, "["
    async for page in listing.pages():
        for process in page:
            out.write(opening + json_escaped(process.to_json()))
            opening = ","
    out.write("[]\n" if opening == "[" else "]\n")


async def cmd_show(args: argparse.Namespace) -> int:
    async with facade(args, writes=False) as processes:
        found = await processes.get(args.id)
    if found is None:
        raise LashError(f"unknown process `{args.id}`")
    if args.json:
        emit_json(found)
    else:
        for key, value in found.model_dump(mode="json").items():
            print(f"{key}: {visible(value) if isinstance(value, str) else visible_json(value)}")
    return 0


async def cmd_events(args: argparse.Namespace) -> int:
    async with facade(args, writes=False) as processes:
        events = await processes.events(args.id, args.after)
    if args.json:
        emit_json(events)
    else:
        for event in events:
            shown = f"{visible(event.event_type)}  {visible_json(event.payload)}"
            print(f"{event.sequence:>4}  {shown}")
    return 0


async def cmd_await(args: argparse.Namespace) -> int:
    async with facade(args, writes=False) as processes:
        if args.timeout == 0:
            output = await look_once(processes, args.id)
        else:
            output = await processes.await_output(args.id, timeout=args.timeout)
    emit_json(output) if args.json else say(
        f"{output.terminal_state().value}: {output.model_dump_json()}"
    )
    return 0


async def look_once(processes: Any, process_id: str) -> Any:
    """`await --timeout 0`: the output if the process has ended, without waiting (an
    `asyncio.timeout(0)` would expire before even the first read)."""
    found = await processes.get(process_id)
    if found is None:
        raise LashError(f"unknown process `{process_id}`")
    if not found.terminal or found.status.await_output is None:
        raise LashError(f"process `{process_id}` did not finish within 0s")
    return found.status.await_output


def start_request(args: argparse.Namespace) -> ProcessStartRequest:
    fields: dict[str, Any] = {"id": args.id}
    payload = parse_json("--payload", args.payload) if args.payload is not None else None
    if args.originator:
        fields["originator"] = originator_from_scope_id(args.originator)
    if args.grant:
        descriptor = ProcessHandleDescriptor(label=args.label)
        fields["grant"] = ProcessStartGrant(
            session_scope=SessionScope.parse(args.grant), descriptor=descriptor
        )
    if args.external:
        metadata = (
            payload if payload is not None else ({"label": args.label} if args.label else None)
        )
        return ProcessStartRequest.external(
            args.id, metadata, **{k: v for k, v in fields.items() if k != "id"}
        )
    if args.engine is None or args.disposition is None:
        raise InvalidRequest("start needs --engine KIND and --disposition D (or --external)")
    from lashtui.worker import declared_event_types
    from lashtui.worker.steps import parse_plan

    process_input = Engine(kind=args.engine, payload=payload)
    fields.update(
        input=process_input,
        disposition=parse_disposition(args.disposition),
        identity=ProcessIdentity(kind=args.engine, label=args.label),
    )
    if args.engine == "steps":
        parse_plan(payload)  # a plan that is not one is refused before the registry opens
        fields["event_types"] = declared_event_types(payload)
    return ProcessStartRequest.model_validate(fields)


async def cmd_start(args: argparse.Namespace) -> int:
    request = start_request(args)
    request.into_registration(None).check_limits()  # refused before any file is created
    async with facade(args, writes=True, create=True) as processes:
        record = await processes.start(request)
    emit_json(record) if args.json else say(f"started {record.id} ({record.disposition.value})")
    return 0


def operator(args: argparse.Namespace) -> str:
    """Who this command's cancel or abandon is recorded as (`--as`, $LASHTUI_OPERATOR,
    user@host; see `admin.resolve_operator`)."""
    from lashtui.admin import resolve_operator

    return resolve_operator(getattr(args, "operator", None))


def requester(args: argparse.Namespace) -> str:
    """Who an abandon request or an end is recorded as: `--by`, else the operator."""
    from lashtui.admin import resolve_operator

    return resolve_operator(args.by, source="--by") if args.by is not None else operator(args)


def report(outcomes: list[ProcessActionOutcome], as_json: bool, *, many: bool = False) -> int:
    """Print each target's outcome and return the exit status: 1 if any was refused.

    Human output is one line per target on stdout, `<id>: <outcome>: <sentence>`; each
    refusal is also one line on stderr, `lashtui: <sentence>` (naming the id). With
    `--json` stdout holds one document: the outcome object (`many`: a list of them)."""
    if as_json:
        emit_json(outcomes if many else outcomes[0])
    for outcome in outcomes:
        if outcome.refused:
            named = f"`{outcome.process_id}`" in outcome.sentence
            line = outcome.sentence if named else f"{outcome.process_id}: {outcome.sentence}"
            print(visible(f"lashtui: {line}"), file=sys.stderr)
        elif not as_json:
            print(visible(outcome.line()))
    return 1 if any(outcome.refused for outcome in outcomes) else 0


async def cmd_cancel(args: argparse.Namespace) -> int:
    who = operator(args)
    async with facade(args, writes=True) as processes:
        outcome = await processes.cancel(args.id, args.reason, operator=who)
    return report([outcome], args.json)


async def cmd_signal(args: argparse.Namespace) -> int:
    payload = parse_json("--payload", args.payload) if args.payload is not None else None
    async with facade(args, writes=True) as processes:
        outcome = await processes.signal(
            args.id, args.name, args.signal_id or uuid.uuid4().hex, payload
        )
    return report([outcome], args.json)


async def cmd_abandon(args: argparse.Namespace) -> int:
    who = requester(args)
    async with facade(args, writes=True) as processes:
        outcome = await processes.request_abandon(args.id, who, args.reason)
    return report([outcome], args.json)


async def cmd_end_undecodable(args: argparse.Namespace) -> int:
    who = requester(args)
    async with facade(args, writes=True) as processes:
        observed = await processes.end_undecodable(args.id, who, args.reason)
    emit_json(observed) if args.json else say(
        f"ended undecodable process {args.id}: now {observed.lifecycle.value}"
    )
    return 0


async def cmd_transfer(args: argparse.Namespace) -> int:
    source, target = SessionScope.parse(args.from_scope), SessionScope.parse(args.to_scope)
    async with facade(args, writes=True) as processes:
        outcomes = await processes.transfer(source, target, args.ids)
    return report(outcomes, args.json, many=True)


async def cmd_prune(args: argparse.Namespace) -> int:
    from lashtui.admin import check_prune_cutoff

    if args.before is not None:
        cutoff = args.before
    else:
        age = parse_duration_ms(args.older_than)
        cutoff = SystemClock().now_ms() - age
        if cutoff < 0:
            raise InvalidRequest(f"--older-than {args.older_than} reaches back before 1970")
    check_prune_cutoff(cutoff)
    async with facade(args, writes=True) as processes:
        outcome = await processes.prune(cutoff)
    emit_json(outcome) if args.json else say(f"{outcome.outcome}: {outcome.sentence}")
    return 0


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
            print(json.dumps({k.value: v for k, v in worker.stats.verdicts.items()}))
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


async def cmd_worker(args: argparse.Namespace) -> int:
    return await run_worker(args, once=args.once)


async def cmd_sweep(args: argparse.Namespace) -> int:
    """One recovery pass that runs nothing: abandons what the rules say to abandon,
    reconciles requests, and leaves runnable work to the workers."""
    return await run_worker(args, once=True, run=False)


def without_terminal(command: str) -> bool:
    """Whether `command` (a dashboard) has no terminal to draw on, said in one sentence.
    Without one Textual would still start, draw to a pipe and spin a core, so the
    dashboards refuse (exit 2, a usage error) before they open anything."""
    missing = [name for name, stream in (("stdin", sys.stdin), ("stdout", sys.stdout))
               if not stream.isatty()]
    if not missing:
        return False
    print(
        f"lashtui: `{command}` draws a dashboard and needs a terminal, but "
        f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not one "
        "(use `lashtui ls`, `show` or `events` in scripts)",
        file=sys.stderr,
    )
    return True


async def cmd_dash(args: argparse.Namespace) -> int:
    """The dashboard. The registry is opened first, so a bad file is one line and exit 1
    before any screen is drawn. It never creates a registry: a mistyped --db is named."""
    if without_terminal("dash"):
        return 2
    from lashtui.admin import Processes
    from lashtui.registry import open_registry
    from lashtui.registry.display import redacted
    from lashtui.tui.app import make_app
    from lashtui.worker import ProcessWorker

    read_only = bool(getattr(args, "read_only", False))
    observer = read_only or bool(getattr(args, "no_worker", False))
    clock = SystemClock()
    async with open_registry(args.db, clock=clock, read_only=read_only, create=False) as registry:
        worker = None if observer else ProcessWorker(registry, clock=clock)
        processes = Processes(registry, worker=worker, clock=clock)
        app = make_app(
            processes,
            clock=clock,
            read_only=read_only,
            subtitle=redacted(args.db),
            operator=getattr(args, "operator", None),
        )
        await app.run_async()
        if worker is not None:
            await worker.stop()
    return app.return_code or 0


async def cmd_demo(args: argparse.Namespace) -> int:
    """Seed the demo registry (once) and open the dashboard on it, with the embedded worker
    and the demo's trickle of new work running as app workers."""
    if without_terminal("demo"):
        return 2
    from lashtui.demo import open_demo
    from lashtui.registry.display import redacted
    from lashtui.tui.app import make_app

    async with open_demo(args.db) as demo:
        clock = demo.processes.clock
        subtitle = f"{redacted(args.db)} (demo)"
        app = make_app(
            demo.processes,
            clock=clock,
            subtitle=subtitle,
            background=[demo.feed],
            operator=getattr(args, "operator", None),
        )
        await app.run_async()
    return app.return_code or 0


Command = Callable[[argparse.Namespace], Coroutine[Any, Any, int]]
COMMANDS: dict[str, Command] = {
    "ls": cmd_ls,
    "show": cmd_show,
    "events": cmd_events,
    "await": cmd_await,
    "start": cmd_start,
    "cancel": cmd_cancel,
    "signal": cmd_signal,
    "abandon": cmd_abandon,
    "transfer": cmd_transfer,
    "end-undecodable": cmd_end_undecodable,
    "prune": cmd_prune,
    "worker": cmd_worker,
    "sweep": cmd_sweep,
    "dash": cmd_dash,
    "demo": cmd_demo,
}
