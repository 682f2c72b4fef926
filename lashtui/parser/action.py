"""The parser of the commands that write (lashtui/command/action.py, index.py): `start`
and the checks that its flags agree, the operator's acts on one process (`cancel`,
`signal`, `abandon`, `end-undecodable`) and on many (`rerun`, `transfer`), `prune` (its
cutoff) and `index`.
"""

from __future__ import annotations

import argparse
from typing import Any, cast

from lashtui.clock import SystemClock, parse_duration_ms
from lashtui.errors import InvalidRequest
from lashtui.parser.argument import given, given_id, whole
from lashtui.parser.command_parser import CommandParser, Once
from lashtui.parser.subcommand import add_command, add_json, add_process_id, complete_process_id
from lashtui.parser.usage import scope_check

# A prune cutoff: epoch milliseconds up to the end of year 9999 (admin.PRUNE_CUTOFF_MAX_MS,
# which the facade checks too; repeated here so `--help` loads no model).
CUTOFF_MS_MAX = 253_402_300_799_999
# The words `--disposition` takes, from the model (a test checks they are the same), repeated
# here so `--help` loads no model: a word outside them is a usage error.
DISPOSITIONS = ("rerunnable", "owner_bound", "externally_owned")  # start --disposition


def _cutoff_ms(text: str) -> int:
    """`prune --before`: epoch milliseconds, 0 to the end of year 9999."""
    return whole(text, 0, CUTOFF_MS_MAX, "a cutoff in epoch milliseconds")


def _age(text: str) -> int:
    """`prune --older-than`: a duration (`7d`, `1h30m`) in milliseconds, reaching back no
    further than 1970 (a prune cutoff is epoch milliseconds >= 0)."""
    try:
        age = parse_duration_ms(text)
    except InvalidRequest as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    if age > SystemClock().now_ms():
        raise argparse.ArgumentTypeError(f"{text} reaches back before 1970")
    return age


def add_start(sub: Any) -> None:
    start = add_command(sub, "start", "start a process")
    start.add_argument("id", type=given_id, help="the new process's id")
    # An external placeholder has no engine: argparse refuses the two together.
    kind = start.add_mutually_exclusive_group()
    kind.add_argument(
        "--engine", type=given, metavar="KIND",
        help="engine kind, e.g. steps (with --disposition; steps takes its plan as --payload)",
    )  # fmt: skip
    kind.add_argument(
        "--external", action="store_true",
        help="an externally-owned placeholder (no --engine; its --payload is its metadata)",
    )  # fmt: skip
    start.add_argument("--payload", metavar="JSON", help="engine payload (or external metadata)")
    start.add_argument(
        "--disposition", type=given, choices=DISPOSITIONS, metavar="D",
        help="rerunnable, owner_bound or externally_owned",
    )  # fmt: skip
    start.add_argument(
        "--originator", type=given, metavar="SCOPE", help="who starts it (default: host)"
    )
    start.add_argument(
        "--grant", type=given, metavar="SCOPE", help="grant a handle to this session scope"
    )
    start.add_argument(
        "--label", type=given, metavar="L", help="a label people read (the table's LABEL)"
    )
    add_json(start)
    checks = cast(CommandParser, start).checks  # (`sub` makes them so)
    checks += [
        _external_disposition,
        _engine_and_disposition,
        scope_check(originator="--originator", grant="--grant"),
    ]


def _external_disposition(args: argparse.Namespace) -> str | None:
    """`--external` is externally_owned: another `--disposition` contradicts it (and was
    dropped without a word). A group cannot say this: `--disposition externally_owned` agrees."""
    if args.external and args.disposition not in (None, "externally_owned"):
        return (
            f"argument --disposition: `{args.disposition}` contradicts --external, which "
            "starts an externally_owned placeholder"
        )
    return None


def _engine_and_disposition(args: argparse.Namespace) -> str | None:
    """A start that is not `--external` names what runs it and how it recovers: without
    either it is a usage error like any missing argument (it exited 1, as if the registry
    had refused it)."""
    if args.external or (args.engine is not None and args.disposition is not None):
        return None
    missing = [f for f, v in (("--engine", args.engine), ("--disposition", args.disposition))
               if v is None]  # fmt: skip
    return (
        f"the following arguments are required: {', '.join(missing)} (or --external, an "
        "externally owned placeholder)"
    )


def add_actions(sub: Any) -> None:
    cancel = add_command(sub, "cancel", "ask a running process to stop")
    add_process_id(cancel, "the process to cancel")
    cancel.add_argument(
        "--reason", type=given,
        help="why; recorded as `requested by <operator>: <reason>` (left out: `requested by "
        "<operator>`)",
    )  # fmt: skip
    add_json(cancel)

    signal = add_command(sub, "signal", "send a signal to a process")
    add_process_id(signal, "the process to signal")
    signal.add_argument("name", help="the signal's name (a `wait_signal` step waits for one)")
    signal.add_argument(
        "--signal-id", type=given, metavar="X",
        help="idempotency id: the same id and payload again store nothing more (default: a "
        "fresh one, so a retry stores the signal again)",
    )  # fmt: skip
    signal.add_argument("--payload", metavar="JSON", help="the signal's JSON payload")
    add_json(signal)

    abandon = add_command(sub, "abandon", "request that the sweep abandon a process")
    add_process_id(abandon, "the process to abandon")
    abandon.add_argument("--by", metavar="WHO", help="who asks (default: the operator, see --as)")
    abandon.add_argument("--reason", type=given, help="why; stored with the request")
    add_json(abandon)

    end = add_command(
        sub,
        "end-undecodable",
        "end a process whose stored record cannot be decoded (it lists as undecodable)",
    )
    add_process_id(
        end,
        "the id as `ls` shows it: bytes that are not UTF-8 may be given as they are or "
        "as `\\udcXX` escapes (tried only if no process has the id exactly as given)",
    )
    end.add_argument(
        "--reason", type=given, required=True, help="why; stored in its terminal event"
    )
    end.add_argument(
        "--by", metavar="WHO", help="who ends it (default: $LASHTUI_OPERATOR, else user@host)"
    )
    add_json(end)
    _add_many(sub)
    _add_upkeep(sub)


def _add_many(sub: Any) -> None:
    """The actions on many processes: rerun and transfer."""
    rerun = add_command(
        sub,
        "rerun",
        "run terminal processes again, each as a new process <id>~rerun-<n> with the same "
        "input, disposition, event types and grants",
    )
    ids = rerun.add_argument(
        "ids", nargs="+", type=given_id, metavar="ID", help="the ended processes"
    )
    ids.completer = complete_process_id  # type: ignore[attr-defined]
    add_json(rerun)

    transfer = add_command(sub, "transfer", "move handle grants between session scopes")
    transfer.add_argument(
        "--from", dest="from_scope", type=given, required=True, metavar="SCOPE",
        help="the scope losing them",
    )  # fmt: skip
    transfer.add_argument(
        "--to", dest="to_scope", type=given, required=True, metavar="SCOPE",
        help="the scope gaining them",
    )  # fmt: skip
    ids = transfer.add_argument(
        "ids", nargs="+", type=given_id, metavar="ID", help="the processes"
    )
    ids.completer = complete_process_id  # type: ignore[attr-defined]
    add_json(transfer)
    cast(CommandParser, transfer).checks.append(scope_check(from_scope="--from", to_scope="--to"))


def _add_upkeep(sub: Any) -> None:
    """The registry's upkeep: prune (delete old terminal processes) and index."""
    prune = add_command(sub, "prune", "delete old terminal processes")
    cutoff = prune.add_mutually_exclusive_group(required=True)
    cutoff.add_argument(
        "--before", action=Once, type=_cutoff_ms, metavar="EPOCH_MS",
        help="last changed before this time",
    )  # fmt: skip
    cutoff.add_argument(
        "--older-than", action=Once, type=_age, metavar="DURATION",
        help="last changed longer ago than this: 30m, 1h, 7d, 1h30m",
    )  # fmt: skip
    prune.add_argument(
        "--dry-run", action="store_true", help="count what would be deleted; delete nothing"
    )
    add_json(prune)

    index = add_command(
        sub,
        "index",
        "add the indexes this lashtui reads by to a registry an older one made",
        description=(
            "Create the indexes a registry made by an older lashtui lacks (sorted pages, the "
            "Health charts and the audit trail scan without them), first adding the label's "
            "column an older SQLite file lacks, and then dropping the older label index the "
            "new one replaces. Building them holds the registry's write lock meanwhile "
            "(seconds on a million rows): workers wait."
        ),
    )
    index.add_argument(
        "--dry-run", action="store_true", help="say which indexes are missing; write nothing"
    )
    add_json(index)
