"""The parser of the read commands: `ls`, `show`, `events` and `await`
(lashtui/command/query.py, follow.py), `errors` (error.py) and `audit` (audit.py); the
words and ranges their flags take, and the check of an audit `--before` cursor.

The words and ranges are the model's, repeated here as plain values so that `--help` loads
no model (tests/cli/test_cli_usage_values.py and test_cli_errors.py check they agree).
"""

from __future__ import annotations

import argparse
from typing import Any, cast

from lashtui.errors import InvalidRequest
from lashtui.parser.argument import given, seconds, whole
from lashtui.parser.command_parser import CommandParser, Once
from lashtui.parser.subcommand import add_command, add_output, add_process_id
from lashtui.parser.usage import is_utf8, scope_check

DEFAULT_LIMIT = 1000

# The largest number either store keeps (SQLite integers and PostgreSQL BIGINT are signed
# 64-bit): an event sequence past it reached the store and was refused there, naming no flag.
INT64_MAX = (1 << 63) - 1

# The words a flag takes, from the model (a test checks they are the same), repeated here so
# `--help` loads no model: a word outside them is a usage error, as `errors --sort size` is.
STATUSES = ("running", "completed", "failed", "cancelled", "abandoned", "any")  # ls --status
ORDERS = ("id", "status", "label", "age", "updated", "lease_expiry")  # ls --sort
AUDIT_ACTIONS = ("cancel", "signal", "abandon", "transfer", "prune", "rerun", "end-undecodable")
OUTCOMES = ("done", "requested", "unchanged", "refused")  # audit --outcome

# `errors`: its window and group limit (lashtui.model.error's WINDOW_DEFAULT, WINDOW_MAX and
# GROUPS_MAX, which the model checks too; repeated here so `--help` loads no model).
WINDOW_DEFAULT = 20_000
WINDOW_MAX = 1_000_000
GROUPS_MAX = 10_000


def _limit(text: str) -> int:
    """`ls --limit`: a whole number >= 0; argparse turns the error into a usage error."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(
            f"a limit is a whole number of processes, 0 for no limit, got `{text}`"
        )
    return value


def _sequence(text: str) -> int:
    """`events --after`: an event sequence number, 0 (the default) to the stores' largest."""
    return whole(text, 0, INT64_MAX, "a sequence number")


def _timeout(text: str) -> float:
    """`await --timeout`: 0 looks once and does not wait."""
    return seconds(text, "a timeout", " (0: do not wait)")


def _limit_audit(text: str) -> int:
    """`audit --limit`: 1 to 1,000 entries; argparse turns the error into a usage error."""
    value = int(text) if text.isascii() and text.isdigit() else 0
    if not 1 <= value <= 1000:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to 1000, got {text!r}")
    return value


def _audit_cursor(args: argparse.Namespace) -> str | None:
    """`audit --before` in the form of its `--source`'s cursor, read as the registry will
    read it (a row id, or `<ms>:<process>:<sequence>`)."""
    if args.before is None or not is_utf8(args.before):
        return None
    from lashtui.model.audit import AuditQuery

    query = AuditQuery(source=args.source, before=args.before)
    try:
        query.row_cursor() if args.source == "recorded" else query.event_cursor()
    except InvalidRequest as error:
        return f"argument --before: {error}"
    return None


def add_ls(sub: Any) -> None:
    ls = add_command(sub, "ls", "list processes, in id order or --sort, a page at a time")
    ls.add_argument(
        "--status",
        action=Once,
        type=given,
        choices=STATUSES,
        metavar="S",
        help="running (default), completed, failed, cancelled, abandoned, any",
    )
    lens = ls.add_mutually_exclusive_group()
    lens.add_argument(
        "--granted-to", action=Once, type=given, metavar="SCOPE", help="the security lens"
    )
    lens.add_argument(
        "--originated-by", action=Once, type=given, metavar="SCOPE", help="the lineage lens"
    )
    waiting = ls.add_mutually_exclusive_group()
    waiting.add_argument(
        "--waiting",
        dest="waiting",
        action="store_const",
        const=True,
        help="only running processes parked on a wait",
    )
    waiting.add_argument(
        "--not-waiting",
        dest="waiting",
        action="store_const",
        const=False,
        help="leave out processes parked on a wait",
    )
    ls.add_argument(
        "--limit",
        action=Once,
        type=_limit,
        default=DEFAULT_LIMIT,
        metavar="N",
        help=f"at most N processes (default {DEFAULT_LIMIT}; 0 for all); "
        "a note on stderr says when more match",
    )
    ls.add_argument(
        "--after", action=Once, metavar="ID",
        help="only processes after ID in the order (the next page)",
    )  # fmt: skip
    ls.add_argument(
        "--sort",
        action=Once,
        type=given,
        choices=ORDERS,
        default="id",
        metavar="FIELD",
        help="the order: id (default), status, label, age, updated, lease_expiry; "
        "ties by id; age and updated list the newest first",
    )
    ls.add_argument("--desc", action="store_true", help="the order reversed")
    add_output(ls)
    cast(CommandParser, ls).checks.append(
        scope_check(granted_to="--granted-to", originated_by="--originated-by")
    )


def add_reads(sub: Any) -> None:
    show = add_command(sub, "show", "one process: its facts, then its input and output as JSON")
    add_process_id(show, "the process (as `ls` shows it)")
    add_output(show)
    events = add_command(sub, "events", "a process's event log, oldest first")
    add_process_id(events, "the process (as `ls` shows it)")
    events.add_argument(
        "--after", action=Once, type=_sequence, default=0, metavar="N",
        help="only events after sequence N",
    )  # fmt: skip
    add_output(events)
    wait = add_command(sub, "await", "wait for a process to end and print its output")
    add_process_id(wait, "the process to wait for")
    wait.add_argument(
        "--timeout",
        type=_timeout,
        metavar="S",
        help="give up after S seconds (exit 1); 0 looks once; default: wait",
    )
    add_output(wait)
    _add_errors(sub)
    _add_audit(sub)


def _add_errors(sub: Any) -> None:
    errors = add_command(
        sub,
        "errors",
        "failed, cancelled and abandoned processes grouped by state, code and message",
    )
    errors.add_argument(
        "--window",
        action=Once,
        type=lambda text: whole(text, 1, WINDOW_MAX, "a window"),
        default=WINDOW_DEFAULT,
        metavar="N",
        help=f"group among the N most recently changed processes (default {WINDOW_DEFAULT:,})",
    )
    errors.add_argument(
        "--sort", action=Once, choices=("count", "last_seen"), default="count",
        help="largest or latest first",
    )  # fmt: skip
    errors.add_argument(
        "--limit",
        action=Once,
        type=lambda text: whole(text, 1, GROUPS_MAX, "a group limit"),
        default=1000,
        metavar="N",
        help="at most N groups (default 1000)",
    )
    add_output(errors)


def _add_audit(sub: Any) -> None:
    audit = add_command(
        sub, "audit", "what operators did, newest first (lashtui's record or the event log)"
    )
    audit.add_argument(
        "--by", action=Once, type=given, metavar="OPERATOR", help="only this operator's actions"
    )
    audit.add_argument(
        "--action",
        action=Once,
        type=given,
        choices=AUDIT_ACTIONS,
        metavar="A",
        help="cancel, signal, abandon, transfer, prune, rerun or end-undecodable",
    )
    audit.add_argument(
        "--outcome", action=Once, type=given, choices=OUTCOMES, metavar="O",
        help="done, requested, unchanged or refused",
    )  # fmt: skip
    audit.add_argument(
        "--process", action=Once, type=given, metavar="TEXT", help="process ids containing TEXT"
    )
    audit.add_argument(
        "--source",
        action=Once,
        choices=("recorded", "events"),
        default="recorded",
        help="recorded: every action lashtui made (default); events: the event log's cancel "
        "requests and re-run links",
    )
    audit.add_argument(
        "--before", action=Once, type=given, metavar="CURSOR",
        help="the next page (printed after a page)",
    )  # fmt: skip
    audit.add_argument(
        "--limit", action=Once, type=_limit_audit, default=100, metavar="N",
        help="1-1000 entries (default 100)",
    )  # fmt: skip
    add_output(audit)
    cast(CommandParser, audit).checks.append(_audit_cursor)
