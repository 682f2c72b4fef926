"""The `lashtui` command line (api.md §7): the argparse entry point.

Every subcommand is made by `add_command`, so `--db` and `--as` work before or after it (the
section "the parser" says how to add one). Read commands take `-o table|wide|json|jsonl`
(`--json` is `-o json`: exactly one JSON document in lash's wire shapes). Shell completion
is argcomplete's, answered here before anything else loads (lashtui/completion.py).
Errors are one line on stderr, `lashtui: <message>`, exit 1; usage errors exit 2 (argparse),
and so are number flags out of their range and malformed filter, scope and disposition
values (checked here, by argparse types and choices, and by the parsers' `checks`). The exit
codes are in `--help` (EXIT_CODES). Nothing here imports the dashboard, and the commands
themselves load only once the arguments parse: `lashtui --help` starts in a blink and never
loads textual, asyncio or the model (so the ranges below are plain numbers, not imports).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from typing import Any, cast

from lashtui.cli_probe import (
    UNKNOWN,
    CommandParser,
    EntryParser,
    add_check_parser,
    add_follow_flag,
    command_word,
)
from lashtui.errors import LashError
from lashtui.parser.action import add_actions, add_start
from lashtui.parser.argument import seconds, whole
from lashtui.parser.read import add_ls, add_reads
from lashtui.parser.subcommand import (
    EXIT_CODES,
    add_command,
    add_output,
    global_options,
    which_registry,
)
from lashtui.parser.usage import bad_operator, not_utf8

# Lease TTLs the command line accepts: a worker renews every third of it, and below a
# second a renewal every ~330 ms on a busy machine risks a live owner losing its lease;
# above a day, a dead owner's owner_bound work would wait a day to be recovered. (lash's
# LeaseTimings itself only needs >= 1 ms; this is the operator-facing range.)
TTL_MS_MIN = 1_000
TTL_MS_MAX = 86_400_000


LOG_LEVELS = ("debug", "info", "warning", "error")  # lashtui/command/log.py LEVELS

WORKER_STOP = """Claims and runs the registry's work until SIGINT, SIGTERM or SIGHUP (its terminal
or ssh session closed). Then it claims nothing more, lets the runs in flight finish within
--grace, stops the rest (they write no terminal and release their leases, so another worker
can take them; a lease the registry does not take back is left to lapse, and said so), runs
the owner drain if --drain, and exits 0. A second signal stops at once: no more grace and no
drain, leases released if the registry takes them within 1 s (else left to lapse), exit 128
+ the signal's number (130 SIGINT, 143 SIGTERM, 129 SIGHUP).

With --once it exits 1 if the registry could not serve its pass (a claim or a write
refused, or a lease that lapsed after its renewals were refused), or if a run lost its
lease (it lapsed, or a renewal or write under it was refused: no longer this worker's),
naming each such run and how; a renewal refused and made good by
the next is logged, not a failure: the run went on under its lease."""

# --- argument types ----------------------------------------------------------------------


def _ttl_ms(text: str) -> int:
    """`worker --ttl-ms`, `sweep --ttl-ms`: 1 s to 24 h (see TTL_MS_MIN)."""
    return whole(text, TTL_MS_MIN, TTL_MS_MAX, "a lease TTL in milliseconds")


def _grace(text: str) -> float:
    """`worker --grace`: 0 stops the runs at once."""
    return seconds(text, "a grace period")


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


def build_parser() -> EntryParser:
    parser = EntryParser(
        prog="lashtui",
        description="Run and watch lash's durable background processes.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    global_options(parser, suppress=False)
    # CommandParser (cli_probe.py): `check`'s usage errors exit 3, as Nagios reads them.
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=CommandParser)
    _add_dashboards(sub)
    add_start(sub)
    add_ls(sub)
    add_reads(sub)
    add_actions(sub)
    _add_engine(sub)
    _add_completion(sub)
    add_follow_flag(sub.choices["ls"], sub.choices["events"])
    add_check_parser(sub)
    # `check` is made by cli_probe.py with its own epilog (Nagios's exit codes); it takes
    # the global options after it as every other subcommand does.
    global_options(sub.choices["check"], suppress=True)
    parser.probe = sub.choices["check"]  # its usage errors, given before `check`, are check's
    parser.commands = dict(sub.choices)
    return parser


def _add_dashboards(sub: Any) -> None:
    dash = add_command(sub, "dash", "the live dashboard")
    dash.add_argument(
        "--read-only", action="store_true", help="open the registry read-only; no actions"
    )
    dash.add_argument(
        "--no-worker", action="store_true", help="observe only: no embedded worker or sweep"
    )
    add_command(sub, "demo", "create (or reuse) a demo registry full of moving processes")


def _once_timeout(text: str) -> float:
    """`worker --once --timeout`: a finite number of seconds > 0 (0 is no bound to GNU
    `timeout`, and would stop every run the pass starts; refused rather than guessed)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(
            f"a timeout is a finite number of seconds > 0, got `{text}`"
        )
    return value


def _timeout_needs_once(args: argparse.Namespace) -> str | None:
    """`--timeout` bounds one pass: a worker without `--once` runs until it is stopped."""
    if args.timeout is not None and not args.once:
        return "argument --timeout: only with --once (without it the worker runs until stopped)"
    return None


def _once_metrics(args: argparse.Namespace) -> str | None:
    """`--once` exits after its pass: nothing would scrape metrics served that long (they
    were silently not served)."""
    if args.once and args.metrics is not None:
        return "argument --metrics: not allowed with --once (one pass serves no metrics)"
    return None


def _add_ttl(parser: argparse.ArgumentParser, note: str) -> None:
    parser.add_argument(
        "--ttl-ms", type=_ttl_ms, metavar="N", help=f"lease TTL, {TTL_MS_MIN} to {TTL_MS_MAX}{note}"
    )


def _add_engine(sub: Any) -> None:
    worker = add_command(
        sub, "worker", "run the worker and sweep headless", description=WORKER_STOP
    )
    worker.add_argument(
        "--once", action="store_true", help="one pass; wait for the runs it starts, exit"
    )
    worker.add_argument(
        "--timeout", type=_once_timeout, metavar="SECONDS",
        help="with --once: at most SECONDS for the pass and its runs; then the runs still "
        "in flight are stopped (no terminal; leases released, or left to lapse if the "
        "registry does not take them back) and it exits 124 (default: no bound)",
    )  # fmt: skip
    _add_ttl(worker, " (renew every third; default 30000)")
    _add_worker_service(worker)
    add_output(worker)
    cast(CommandParser, worker).checks += [_once_metrics, _timeout_needs_once]
    sweep = add_command(
        sub,
        "sweep",
        "one recovery pass that runs no work: abandon what the rules say to abandon (dead "
        "owners' owner_bound work, honoured abandon requests) and say how many rows it "
        "looked at and what it decided (-o json: `looked_at` and every verdict's count, 0 "
        "when none)",
    )
    sweep.add_argument(
        "--once", action="store_true", help="one pass and exit (the only mode; may be left out)"
    )
    _add_ttl(sweep, " (default 30000)")
    _add_logging(sweep)
    add_output(sweep)


SHELLS = ("bash", "zsh", "fish")


def _add_completion(sub: Any) -> None:
    completion = add_command(
        sub,
        "completion",
        'print the shell completion script: eval "$(lashtui completion bash)", '
        "or `lashtui completion fish | source`; process ids complete from the registry",
    )
    completion.add_argument("shell", choices=SHELLS, help="the shell the script is for")


def _run(args: argparse.Namespace) -> int:
    """The command. `ls -o json|jsonl` in its common case is read without asyncio or the
    models (lashtui/listing.py says when and why); everything else is imported only now, so
    `--help` and usage errors exit before loading asyncio or the model."""
    if args.command == "ls":
        from lashtui.listing import list_plainly

        code = list_plainly(args)
        if code is not None:
            return code
    import asyncio

    from lashtui.command import COMMANDS

    return asyncio.run(COMMANDS[args.command or "dash"](args))


def main(argv: list[str] | None = None) -> int:
    """The command line. Its stdout fails in one sentence (lashtui/stdout.py): exit 1, for
    `check` UNKNOWN (3); what argparse printed before it exits is flushed here too."""
    from lashtui.stdout import Stdout, StdoutFailed

    stdout = Stdout(sys.stdout)
    sys.stdout = stdout  # a TextIO in all that is used of it
    try:
        try:
            code = _main(argv)
        except SystemExit:
            stdout.check()  # `--help`, check's usage line: argparse has printed them
            raise
        stdout.check()
        return code
    except StdoutFailed as error:
        stdout.discard()
        print(f"lashtui: could not write to stdout: {error.strerror}", file=sys.stderr)
        command, _ = command_word(sys.argv[1:] if argv is None else argv)
        return UNKNOWN if command == "check" else 1
    finally:
        sys.stdout = stdout.stream


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    if "_ARGCOMPLETE" in os.environ:
        # The shell is completing (`lashtui completion`): argcomplete answers and exits.
        # Imported only then, so it costs nothing otherwise.
        import argcomplete

        argcomplete.autocomplete(parser)
    args = parser.parse_args(argv)
    if args.db is None and os.environ.get("LASHTUI_DB") == "":
        # As `--db ''`: an empty path opened the current directory ("... is a directory").
        parser.error("$LASHTUI_DB is empty: set it to a registry, or unset it for ./lashtui.db")
    args.db = which_registry(args)
    problem = not_utf8(args, args.db)
    if problem is not None:
        # A usage error of the command (exit 2; check's exit 3, as a monitor reads it),
        # where it exited 1 as if the registry had refused the value.
        parser.commands.get(args.command or "", parser).error(problem)
    problem = bad_operator(args)
    if problem is not None:
        parser.commands.get(args.command or "", parser).error(problem)
    from lashtui.untrusted import shown

    try:
        code = _run(args)
        sys.stdout.flush()  # here, so a reader that went away is caught below, not at exit
        return code
    except LashError as error:
        from lashtui.command.advice import for_the_command_line

        # An error quotes what it refused (an id, a label), which may come from a registry.
        print(shown(f"lashtui: {for_the_command_line(error)}"), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`lashtui ls | head`): stop quietly, as a pipeline expects
        # (Python's docs, "Note on SIGPIPE"). Python would try to flush stdout again at exit
        # and print a second error, so it is pointed at /dev/null first.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    raise SystemExit(main())
