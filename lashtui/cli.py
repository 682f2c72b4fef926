"""The `lashtui` command line (api.md §7): the argparse entry point.

Read commands take `--json` and then print exactly one JSON document in lash's wire shapes.
Errors are one line on stderr, `lashtui: <message>`, exit 1; usage errors exit 2 (argparse),
and so are number flags out of their range (checked here, by argparse types). The exit
codes are in `--help` (EXIT_CODES). Nothing here imports the dashboard, and the commands
themselves load only once the arguments parse: `lashtui --help` starts in a blink and never
loads textual, asyncio or the model (so the ranges below are plain numbers, not imports).
"""

from __future__ import annotations

import argparse
import math
import os
import sys

from lashtui.cli_probe import CommandParser, add_check_parser, add_follow_flag
from lashtui.errors import LashError

DEFAULT_DB = "lashtui.db"
DEMO_DB = "lashtui-demo.db"

DEFAULT_LIMIT = 1000

# Lease TTLs the command line accepts: a worker renews every third of it, and below a
# second a renewal every ~330 ms on a busy machine risks a live owner losing its lease;
# above a day, a dead owner's owner_bound work would wait a day to be recovered. (lash's
# LeaseTimings itself only needs >= 1 ms; this is the operator-facing range.)
TTL_MS_MIN = 1_000
TTL_MS_MAX = 86_400_000
# A prune cutoff: epoch milliseconds up to the end of year 9999 (admin.PRUNE_CUTOFF_MAX_MS,
# which the facade checks too; repeated here so `--help` loads no model).
CUTOFF_MS_MAX = 253_402_300_799_999

# `errors`: its window and group limit (lashtui.model.error's WINDOW_DEFAULT, WINDOW_MAX and
# GROUPS_MAX, which the model checks too; repeated here so `--help` loads no model).
WINDOW_DEFAULT = 20_000
WINDOW_MAX = 1_000_000
GROUPS_MAX = 10_000

# The commands that record an operator (in the audit trail; a cancel and an abandon
# request in lash's shapes too), and the dashboard, whose actions do.
OPERATOR_COMMANDS = ("cancel", "signal", "abandon", "rerun", "transfer", "prune", "dash", "demo")

EXIT_CODES = """exit status:
  0    done: every target done, requested or unchanged (each says which on stdout)
  1    refused or failed: a target was refused, a value was refused, or the registry could
       not serve; one line per problem on stderr, `lashtui: <sentence>`
  2    usage error: unknown command or flag, missing argument, or a number flag out of its
       range (--timeout, --ttl-ms, --before, --limit, --window); `dash` without a terminal
  130  interrupted (Ctrl-C)
  141  stdout was closed by its reader (`lashtui ls | head`): output stopped quietly
  143  `worker`: stopped at once by a second SIGTERM (130: a second SIGINT)
  `check` exits as a Nagios plugin instead: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN

operator: every action records who made it (see `lashtui audit`): --as NAME, else
$LASHTUI_OPERATOR, else user@host (1-128 printable characters, no spaces).
scopes are written as scope ids: host, session:ID, session:ID/frame:F (a session id has no /).
"""

LOG_LEVELS = ("debug", "info", "warning", "error")  # lashtui/command/log.py LEVELS

WORKER_STOP = """Claims and runs the registry's work until SIGINT or SIGTERM. Then it claims
nothing more, lets the runs in flight finish within --grace, stops the rest (they write
no terminal and release their leases, so another worker can take them), runs the owner
drain if --drain, and exits 0. A second signal stops at once: no more grace and no drain,
leases still released, exit 128 + the signal's number (130 SIGINT, 143 SIGTERM)."""

# --- the parser -----------------------------------------------------------------------------


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


def _whole(text: str, low: int, high: int, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(
            f"{what} is a whole number from {low} to {high}, got `{text}`"
        )
    return value


def _ttl_ms(text: str) -> int:
    """`worker --ttl-ms`, `sweep --ttl-ms`: 1 s to 24 h (see TTL_MS_MIN)."""
    return _whole(text, TTL_MS_MIN, TTL_MS_MAX, "a lease TTL in milliseconds")


def _cutoff_ms(text: str) -> int:
    """`prune --before`: epoch milliseconds, 0 to the end of year 9999."""
    return _whole(text, 0, CUTOFF_MS_MAX, "a cutoff in epoch milliseconds")


def _timeout(text: str) -> float:
    """`await --timeout`: a finite number of seconds >= 0; 0 looks once and does not wait
    (nan, inf and negatives would wait forever, or not at all, without saying so)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(
            f"a timeout is a finite number of seconds >= 0 (0: do not wait), got `{text}`"
        )
    return value


def _limit_audit(text: str) -> int:
    """`audit --limit`: 1 to 1,000 entries; argparse turns the error into a usage error."""
    value = int(text) if text.isascii() and text.isdigit() else 0
    if not 1 <= value <= 1000:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to 1000, got {text!r}")
    return value


def _add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json", action="store_true", help="print one JSON document (lash wire shapes)"
    )


def _grace(text: str) -> float:
    """`worker --grace`: a finite number of seconds >= 0 (0: stop the runs at once)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(
            f"a grace period is a finite number of seconds >= 0, got `{text}`"
        )
    return value


def _address(text: str) -> tuple[str, int]:
    """`worker --metrics`: HOST:PORT, an IPv6 host in brackets ([::1]:9100); port 0 takes
    any free port (the worker logs the one it bound)."""
    host, _, port = text.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not host or not port.isascii() or not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(
            f"a metrics address is HOST:PORT with a port from 0 to 65535, got `{text}`"
        )
    return host, int(port)


def _add_logging(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--log-level", choices=LOG_LEVELS, default="info", type=str.lower,
        help="log from this level up, to stderr (default: info; debug adds every verdict)",
    )  # fmt: skip
    parser.add_argument(
        "--log-format", choices=("text", "json"), default="text",
        help="text lines, or one JSON object per line (default: text)",
    )  # fmt: skip


def _add_worker_service(worker: argparse.ArgumentParser) -> None:
    """The options of a worker run as a service: its log, its stop, its metrics."""
    _add_logging(worker)
    worker.add_argument(
        "--grace", type=_grace, default=30.0, metavar="SECONDS",
        help="on SIGINT/SIGTERM, how long runs in flight may take to finish before they are "
        "stopped (default: 30)",
    )  # fmt: skip
    worker.add_argument(
        "--drain", action="store_true",
        help="after stopping, abandon the owner_bound work this worker started (owner drain)",
    )  # fmt: skip
    worker.add_argument(
        "--metrics", type=_address, metavar="HOST:PORT",
        help="serve Prometheus metrics at http://HOST:PORT/metrics",
    )  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lashtui",
        description="Run and watch lash's durable background processes.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--db",
        help="the registry: a SQLite file, or a postgresql:// URL (default: $LASHTUI_DB, "
        "else ./lashtui.db; `demo` uses ./lashtui-demo.db)",
    )
    parser.add_argument(
        "--as",
        dest="operator",
        metavar="NAME",
        help="who actions are recorded as (default: $LASHTUI_OPERATOR, else user@host)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=CommandParser)

    dash = sub.add_parser("dash", help="the live dashboard")
    dash.add_argument(
        "--read-only", action="store_true", help="open the registry read-only; no actions"
    )
    dash.add_argument(
        "--no-worker", action="store_true", help="observe only: no embedded worker or sweep"
    )
    sub.add_parser("demo", help="create (or reuse) a demo registry full of moving processes")

    start = sub.add_parser("start", help="start a process")
    start.add_argument("id")
    start.add_argument("--engine", metavar="KIND", help="engine kind, e.g. steps")
    start.add_argument("--payload", metavar="JSON", help="engine payload (or external metadata)")
    start.add_argument(
        "--disposition", metavar="D", help="rerunnable, owner_bound or externally_owned"
    )
    start.add_argument("--external", action="store_true", help="an externally-owned placeholder")
    start.add_argument("--originator", metavar="SCOPE", help="who starts it (default: host)")
    start.add_argument("--grant", metavar="SCOPE", help="grant a handle to this session scope")
    start.add_argument("--label", metavar="L")
    _add_json(start)

    ls = sub.add_parser("ls", help="list processes, in id order or --sort, a page at a time")
    ls.add_argument(
        "--status",
        metavar="S",
        help="running (default), completed, failed, cancelled, abandoned, any",
    )
    lens = ls.add_mutually_exclusive_group()
    lens.add_argument("--granted-to", metavar="SCOPE", help="the security lens")
    lens.add_argument("--originated-by", metavar="SCOPE", help="the lineage lens")
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
        type=_limit,
        default=DEFAULT_LIMIT,
        metavar="N",
        help=f"at most N processes (default {DEFAULT_LIMIT}; 0 for all); "
        "a note on stderr says when more match",
    )
    ls.add_argument(
        "--after", metavar="ID", help="only processes after ID in the order (the next page)"
    )
    ls.add_argument(
        "--sort",
        default="id",
        metavar="FIELD",
        help="the order: id (default), status, label, age, updated, lease_expiry; "
        "ties by id; age and updated list the newest first",
    )
    ls.add_argument("--desc", action="store_true", help="the order reversed")
    _add_json(ls)

    for name, text in (
        ("show", "one process"),
        ("events", "a process's event log"),
        ("await", "wait for a process to end"),
    ):
        command = sub.add_parser(name, help=text)
        command.add_argument("id")
        _add_json(command)
        if name == "events":
            command.add_argument("--after", type=int, default=0, metavar="N")
        if name == "await":
            command.add_argument(
                "--timeout",
                type=_timeout,
                metavar="S",
                help="give up after S seconds (exit 1); 0 looks once; default: wait",
            )

    errors = sub.add_parser(
        "errors",
        help="failed, cancelled and abandoned processes grouped by state, code and message",
    )
    errors.add_argument(
        "--window",
        type=lambda text: _whole(text, 1, WINDOW_MAX, "a window"),
        default=WINDOW_DEFAULT,
        metavar="N",
        help=f"group among the N most recently changed processes (default {WINDOW_DEFAULT:,})",
    )
    errors.add_argument(
        "--sort", choices=("count", "last_seen"), default="count", help="largest or latest first"
    )
    errors.add_argument(
        "--limit",
        type=lambda text: _whole(text, 1, GROUPS_MAX, "a group limit"),
        default=1000,
        metavar="N",
        help="at most N groups (default 1000)",
    )
    _add_json(errors)
    audit = sub.add_parser(
        "audit", help="what operators did, newest first (lashtui's record or the event log)"
    )
    audit.add_argument("--by", metavar="OPERATOR", help="only this operator's actions")
    audit.add_argument(
        "--action",
        metavar="A",
        help="cancel, signal, abandon, transfer, prune, rerun or end-undecodable",
    )
    audit.add_argument("--outcome", metavar="O", help="done, requested, unchanged or refused")
    audit.add_argument("--process", metavar="TEXT", help="process ids containing TEXT")
    audit.add_argument(
        "--source",
        choices=("recorded", "events"),
        default="recorded",
        help="recorded: every action lashtui made (default); events: the event log's cancel "
        "requests and re-run links",
    )
    audit.add_argument("--before", metavar="CURSOR", help="the next page (printed after a page)")
    audit.add_argument("--limit", type=_limit_audit, default=100, metavar="N", help="1-1000")
    _add_json(audit)

    cancel = sub.add_parser("cancel", help="ask a running process to stop")
    cancel.add_argument("id")
    cancel.add_argument("--reason", help="why; recorded as `requested by <operator>: <reason>`")
    _add_json(cancel)

    signal = sub.add_parser("signal", help="send a signal to a process")
    signal.add_argument("id")
    signal.add_argument("name")
    signal.add_argument("--signal-id", metavar="X", help="idempotency id (default: a fresh one)")
    signal.add_argument("--payload", metavar="JSON")
    _add_json(signal)

    abandon = sub.add_parser("abandon", help="request that the sweep abandon a process")
    abandon.add_argument("id")
    abandon.add_argument("--by", metavar="WHO", help="who asks (default: the operator, see --as)")
    abandon.add_argument("--reason")
    _add_json(abandon)

    end = sub.add_parser(
        "end-undecodable",
        help="end a process whose stored record cannot be decoded (it lists as undecodable)",
    )
    end.add_argument(
        "id",
        help="the id as `ls` shows it: bytes that are not UTF-8 may be given as they are or "
        "as `\\udcXX` escapes (tried only if no process has the id exactly as given)",
    )
    end.add_argument("--reason", required=True)
    end.add_argument(
        "--by", metavar="WHO", help="who ends it (default: $LASHTUI_OPERATOR, else user@host)"
    )
    _add_json(end)

    rerun = sub.add_parser(
        "rerun",
        help="run terminal processes again, each as a new process <id>~rerun-<n> with the same "
        "input, disposition, event types and grants",
    )
    rerun.add_argument("ids", nargs="+", metavar="ID")
    _add_json(rerun)

    transfer = sub.add_parser("transfer", help="move handle grants between session scopes")
    transfer.add_argument("--from", dest="from_scope", required=True, metavar="SCOPE")
    transfer.add_argument("--to", dest="to_scope", required=True, metavar="SCOPE")
    transfer.add_argument("ids", nargs="+", metavar="ID")
    _add_json(transfer)

    prune = sub.add_parser("prune", help="delete old terminal processes")
    cutoff = prune.add_mutually_exclusive_group(required=True)
    cutoff.add_argument("--before", type=_cutoff_ms, metavar="EPOCH_MS")
    cutoff.add_argument("--older-than", metavar="DURATION", help="e.g. 30m, 1h, 7d")
    prune.add_argument(
        "--dry-run", action="store_true", help="count what would be deleted; delete nothing"
    )
    _add_json(prune)

    index = sub.add_parser(
        "index",
        help="add the indexes this lashtui reads by to a registry an older one made",
        description=(
            "Create the indexes a registry made by an older lashtui lacks (sorted pages, the "
            "Health charts and the audit trail scan without them). Building them holds the "
            "registry's write lock meanwhile (seconds on a million rows): workers wait."
        ),
    )
    index.add_argument(
        "--dry-run", action="store_true", help="say which indexes are missing; write nothing"
    )
    _add_json(index)

    worker = sub.add_parser(
        "worker", help="run the worker and sweep headless", description=WORKER_STOP
    )
    worker.add_argument(
        "--once", action="store_true", help="one pass; wait for the runs it starts, exit"
    )
    worker.add_argument(
        "--ttl-ms",
        type=_ttl_ms,
        metavar="N",
        help=f"lease TTL, {TTL_MS_MIN} to {TTL_MS_MAX} (renew every third; default 30000)",
    )
    _add_worker_service(worker)
    sweep = sub.add_parser("sweep", help="one recovery pass that runs no work")
    sweep.add_argument("--once", action="store_true", required=True)
    sweep.add_argument(
        "--ttl-ms", type=_ttl_ms, metavar="N", help=f"lease TTL, {TTL_MS_MIN} to {TTL_MS_MAX}"
    )
    _add_logging(sweep)
    add_follow_flag(ls, sub.choices["events"])
    add_check_parser(sub)
    for name, command in sub.choices.items():  # `lashtui cancel --help` lists them too
        command.epilog = command.epilog or EXIT_CODES  # `check` has its own (Nagios's)
        command.formatter_class = argparse.RawDescriptionHelpFormatter
        if name in OPERATOR_COMMANDS:
            # Also after the command (`lashtui cancel ID --as dana`); SUPPRESS keeps a
            # global `--as` when this one is not given.
            command.add_argument(
                "--as", dest="operator", metavar="NAME", default=argparse.SUPPRESS,
                help="who this is recorded as (the same as the global --as)",
            )  # fmt: skip
    return parser


# Arguments that are paths, where any bytes are a name the OS can open.
_PATH_ARGUMENTS = frozenset({"db", "command"})
_POSITIONALS = frozenset({"id", "ids", "name"})
_FLAGS = {"from_scope": "--from", "to_scope": "--to"}  # where the flag is not the dest
# Whose ID may be bytes that are not UTF-8: an id another program stored that way
# (lashtui/command/argument.py says how such an ID is read).
RAW_ID_COMMANDS = frozenset({"show", "events", "end-undecodable"})


def not_utf8(args: argparse.Namespace) -> str | None:
    """One sentence naming the first argument that is not UTF-8, else None. Python hands
    argv bytes that are not UTF-8 over as lone surrogates, which no registry can store or
    even look up (sqlite3 and psycopg raise on them)."""
    for dest, value in vars(args).items():
        if dest in _PATH_ARGUMENTS or (dest == "id" and args.command in RAW_ID_COMMANDS):
            continue
        for text in value if isinstance(value, list) else [value]:
            if not isinstance(text, str) or text.isascii():
                continue
            try:
                text.encode("utf-8")
            except UnicodeEncodeError as error:
                code = ord(text[error.start])
                byte = f"byte 0x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else "a surrogate"
                name = _FLAGS.get(dest) or f"--{dest.replace('_', '-')}"
                name = dest.upper() if dest in _POSITIONALS else name
                return f"{name} is not valid UTF-8 ({byte} at character {error.start})"
    return None


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    problem = not_utf8(args)
    if problem is not None:
        print(f"lashtui: {problem}", file=sys.stderr)
        return 1
    # Imported only now: `--help` and usage errors exit above without loading asyncio or
    # the model.
    import asyncio

    from lashtui.command import COMMANDS

    command = COMMANDS[args.command or "dash"]
    if args.db is None:
        # The demo never seeds into the registry $LASHTUI_DB names: that one may be real.
        default = DEMO_DB if args.command == "demo" else DEFAULT_DB
        args.db = default if args.command == "demo" else os.environ.get("LASHTUI_DB", default)
    from lashtui.untrusted import visible

    try:
        return asyncio.run(command(args))
    except LashError as error:
        # An error quotes what it refused (an id, a label), which may come from a registry.
        print(visible(f"lashtui: {error}"), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`lashtui ls | head`): stop quietly, as a pipeline expects.
        # Python would try to flush stdout again at exit and print a second error, so it is
        # pointed at /dev/null first.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    raise SystemExit(main())
