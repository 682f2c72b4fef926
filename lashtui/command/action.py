"""The commands that write: `start`, and the operator's acts `cancel`, `signal`,
`abandon`, `end-undecodable`, `rerun`, `transfer` and `prune`.

Each act reports one outcome per target through `output.report` (exit 1 if any target
was refused). What is refused before a registry is opened (a bad JSON argument, a start
request past the limits, a prune cutoff out of range, an operator name that is not
printable) is refused here, so a mistyped command creates no file and writes nothing.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from collections import Counter
from typing import Any

from pydantic import JsonValue

from lashtui.clock import SystemClock
from lashtui.command.argument import named_process, parse_disposition, parse_json
from lashtui.command.facade import facade
from lashtui.command.output import emit_json, report, say
from lashtui.errors import InvalidRequest, ProcessConflict, UnknownProcess
from lashtui.model import (
    Engine,
    ProcessActionOutcome,
    ProcessHandleDescriptor,
    ProcessIdentity,
    ProcessPruneOutcome,
    ProcessPrunePreview,
    ProcessRecord,
    ProcessStartGrant,
    ProcessStartRequest,
    SessionScope,
    originator_from_scope_id,
    process_state,
)
from lashtui.untrusted import shown


def start_request(args: argparse.Namespace) -> ProcessStartRequest:
    fields: dict[str, Any] = {"id": args.id}
    payload = parse_json("--payload", args.payload) if args.payload is not None else None
    if args.originator is not None:
        fields["originator"] = originator_from_scope_id(args.originator)
    if args.grant is not None:
        descriptor = ProcessHandleDescriptor(label=args.label)
        fields["grant"] = ProcessStartGrant(
            session_scope=SessionScope.parse(args.grant), descriptor=descriptor
        )
    if args.external:
        metadata = (
            payload
            if payload is not None
            else ({"label": args.label} if args.label is not None else None)
        )
        if payload is not None and args.label is not None:
            # The label cannot ride in metadata the payload gives: it names the row itself
            # (it was dropped without a word).
            fields["identity"] = ProcessIdentity(kind="external", label=args.label)
        return ProcessStartRequest.external(
            args.id, metadata, **{k: v for k, v in fields.items() if k != "id"}
        )
    if args.engine is None or args.disposition is None:
        raise InvalidRequest("start needs --engine KIND and --disposition D (or --external)")
    from lashtui.worker import declared_event_types

    process_input = Engine(kind=args.engine, payload=payload)
    fields.update(
        input=process_input,
        disposition=parse_disposition(args.disposition),
        identity=ProcessIdentity(kind=args.engine, label=args.label),
    )
    if args.engine == "steps":
        steps_plan(args.payload, payload)  # refused before the registry opens
        fields["event_types"] = declared_event_types(payload)
    return ProcessStartRequest.model_validate(fields)


def steps_plan(text: str | None, payload: JsonValue) -> None:
    """The steps engine's plan is `--payload`: a plan that is not one is refused naming it."""
    from lashtui.worker.steps import PLAN_HINT, parse_plan

    if text is None:
        raise InvalidRequest(f"--engine steps needs its plan as --payload: {PLAN_HINT}")
    try:
        parse_plan(payload)
    except InvalidRequest as error:
        raise InvalidRequest(f"--payload is not a steps plan: {error}") from None


async def cmd_start(args: argparse.Namespace) -> int:
    request = start_request(args)
    request.into_registration(None).check_limits()  # refused before any file is created
    async with facade(args, writes=True, create=True) as processes:
        # Read first, so the line can say whether this start made the row or found it
        # (a start given again is an idempotent replay: it said "started" either way).
        before = await processes.registry.get_process(request.id)
        record = await processes.start(request)
    if args.json:
        emit_json(record)
    elif before is None:
        say(f"started {record.id} ({record.disposition.value})")
    else:
        say(replayed(record, request))
    return 0


def replayed(record: ProcessRecord, request: ProcessStartRequest) -> str:
    """What a start given again did: nothing started, and the grant it carries given again
    (semantics §5.2: a replay re-grants)."""
    state = process_state(record).value
    line = (
        f"unchanged: {record.id} was started before with the same registration and is "
        f"{state}: nothing started again"
    )
    if request.grant is not None:
        line += f"; granted to {request.grant.session_scope.id()} (a start given again grants)"
    return line


def operator(args: argparse.Namespace) -> str:
    """Who this command's action is recorded as (`--as`, $LASHTUI_OPERATOR,
    user@host; see `admin.resolve_operator`)."""
    from lashtui.admin import resolve_operator

    return resolve_operator(getattr(args, "operator", None))


def requester(args: argparse.Namespace) -> str:
    """Who an abandon request or an end is recorded as: `--by`, else the operator."""
    from lashtui.admin import resolve_operator

    return resolve_operator(args.by, source="--by") if args.by is not None else operator(args)


async def cmd_cancel(args: argparse.Namespace) -> int:
    who = operator(args)
    async with facade(args, writes=True) as processes:
        outcome = await processes.actions.cancel(args.id, args.reason, operator=who)
    return report([outcome], args.json)


async def cmd_signal(args: argparse.Namespace) -> int:
    payload = parse_json("--payload", args.payload) if args.payload is not None else None
    # Left out, a fresh id: each run stores the signal. An empty one is refused by the parser,
    # where it became a fresh one too, so a retried `--signal-id "$ID"` stored it twice.
    signal_id = uuid.uuid4().hex if args.signal_id is None else args.signal_id
    who = operator(args)
    async with facade(args, writes=True) as processes:
        outcome = await processes.actions.signal(
            args.id, args.name, signal_id, payload, operator=who
        )
    return report([outcome], args.json)


async def cmd_abandon(args: argparse.Namespace) -> int:
    who, acting = requester(args), operator(args)
    async with facade(args, writes=True) as processes:
        act = processes.actions
        outcome = await act.request_abandon(args.id, who, args.reason, operator=acting)
    return report([outcome], args.json)


async def cmd_end_undecodable(args: argparse.Namespace) -> int:
    who, acting = requester(args), operator(args)
    async with facade(args, writes=True) as processes:
        process_id = await named_process(processes, args.id)
        try:
            observed = await processes.end_undecodable(process_id, acting, args.reason, by=who)
        except (UnknownProcess, ProcessConflict, InvalidRequest) as error:
            # A refusal of the target is its line, as every action's is (it was stderr
            # alone, and `--json` printed nothing); a registry that cannot serve is not.
            # InvalidRequest: an id over 4,096 characters, which no read takes whole, or
            # a reason past its limit, as `cancel` and `abandon` report theirs.
            refused = ProcessActionOutcome(
                process_id=process_id, action="end-undecodable", outcome="refused",
                sentence=str(error), process=await processes.get(process_id),
            )  # fmt: skip
            return report([refused], args.json)
    ended = ProcessActionOutcome(
        process_id=process_id, action="end-undecodable", outcome="done",
        sentence=f"ended undecodable process: now {observed.lifecycle.value}", process=observed,
    )  # fmt: skip
    return report([ended], args.json)


def distinct(ids: list[str], action: str) -> list[str]:
    """The ids in the order given, each once, and a note on stderr for each given more than
    once: `rerun s1 s1` started two re-runs of s1, and `transfer` merged them unsaid."""
    counts = Counter(ids)
    for process_id, count in counts.items():
        if count > 1:
            note = f"lashtui: `{process_id}` was given {count} times; {action} acts on it once"
            print(shown(note), file=sys.stderr)
    return list(counts)


async def cmd_rerun(args: argparse.Namespace) -> int:
    ids = distinct(args.ids, "rerun")
    who = operator(args)
    async with facade(args, writes=True) as processes:
        outcomes = [await processes.actions.rerun(pid, operator=who) for pid in ids]
    return report(outcomes, args.json, many=True)


async def cmd_transfer(args: argparse.Namespace) -> int:
    source, target = SessionScope.parse(args.from_scope), SessionScope.parse(args.to_scope)
    ids = distinct(args.ids, "transfer")
    who = operator(args)
    async with facade(args, writes=True) as processes:
        outcomes = await processes.actions.transfer(source, target, ids, operator=who)
    return report(outcomes, args.json, many=True)


async def cmd_prune(args: argparse.Namespace) -> int:
    from lashtui.admin import check_prune_cutoff

    # --older-than is milliseconds, and no further back than 1970 (lashtui/parser/action.py `_age`).
    cutoff = args.before if args.before is not None else SystemClock().now_ms() - args.older_than
    check_prune_cutoff(cutoff)
    who = operator(args)
    # A dry run only reads, so it opens the registry read-only: it cannot write a byte.
    async with facade(args, writes=not args.dry_run) as processes:
        outcome: ProcessPruneOutcome | ProcessPrunePreview
        if args.dry_run:
            outcome = await processes.actions.prune_preview(cutoff)
        else:
            outcome = await processes.actions.prune(cutoff, operator=who)
    emit_json(outcome) if args.json else say(f"{outcome.outcome}: {outcome.sentence}")
    return 0
