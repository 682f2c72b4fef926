"""The parser's part for `lashtui check` (a Nagios-style probe) and for the streaming flags
`events --follow` and `ls --watch` (lashtui/command/check.py and follow.py do the work).

Kept out of lashtui/parser/ (the other commands' parser) so the probe's flags and its
usage rules sit together, and out of the `lashtui.command` package so `lashtui --help`
still loads neither asyncio nor the model: this module imports only the standard library.

`check` follows the Nagios plugin conventions: exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
A usage error there (a bad flag, a bad duration) is therefore exit 3, not argparse's 2,
which a monitoring system would read as CRITICAL; its parser class does that, and so does
the top-level parser's (`EntryParser`) for what comes before the command (`lashtui --db ''
check`). The usage error is the one line a monitor reads, or under `--json` the object.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from typing import Any, NoReturn

UNKNOWN = 3  # Nagios's UNKNOWN, also a `check` usage error's exit status

CHECK_EXIT_CODES = """exit status (Nagios plugin conventions):
  0    OK: every check is below its warning level
  1    WARNING: a check reached its warning level (and none its critical level)
  2    CRITICAL: a check reached its critical level
  3    UNKNOWN: the registry could not be read (missing, not a registry, ...), stdout
       could not be written (full or closed), or a usage error (a bad flag or value)

output: one line, `LASHTUI <STATUS> - <what> | <perfdata>`; the checks that reached a level
come first, worst first. --json (or -o json) prints one object instead: {"status",
"exit_status", "summary", "checked_at_ms", "checks": [{"name", "value", "unit", "warning",
"critical", "verdict", "sentence"}]} (times and durations in milliseconds).

levels: each check flag takes WARN[,CRIT]; a check alerts when its value reaches a level.
`off` (or an empty part) leaves a level unset: `--failed off` turns that check off,
`--lapsed ,10` keeps only the critical level; an empty value (`--failed ''`) is
refused. Durations are a number and a unit: 30s, 10m,
2h, 1d (or 500ms).
"""

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
DURATION_MAX_MS = 366 * 86_400_000


def duration_ms(text: str) -> int:
    """`30s`, `10m`, `2h`, `1d`, `500ms` as milliseconds, up to a year; argparse turns the
    error into a usage error that names the value."""
    match = _DURATION.match(text)
    value = round(float(match.group(1)) * _UNIT_MS[match.group(2)]) if match else -1
    if not 0 < value <= DURATION_MAX_MS:
        raise argparse.ArgumentTypeError(
            f"a duration is a number and a unit (ms, s, m, h or d) from 1ms to 366d, "
            f"e.g. 30s, 10m or 2h, got `{text}`"
        )
    return value


def _count(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise argparse.ArgumentTypeError(f"a level is a whole number >= 1, got `{text}`")
    return int(text)


def _levels(parse: Any, text: str) -> tuple[int | None, int | None]:
    """WARN[,CRIT] with `parse` for each part; `off` or an empty part is no level. A value
    with no part at all (`''`, `,`) is refused: it turned the check off unasked, as an unset
    shell variable does, where `off` says so."""
    parts = text.split(",")
    if all(not p.strip() for p in parts):
        raise argparse.ArgumentTypeError(
            f"levels are WARN[,CRIT] (`off` turns the check off), got `{text}`"
        )
    if len(parts) > 2:
        raise argparse.ArgumentTypeError(f"levels are WARN[,CRIT], got `{text}`")
    found = [None if p.strip() in ("", "off") else parse(p.strip()) for p in parts]
    warning, critical = found[0], found[1] if len(found) == 2 else None
    if warning is not None and critical is not None and critical < warning:
        raise argparse.ArgumentTypeError(
            f"the critical level must not be below the warning level, got `{text}`"
        )
    return warning, critical


def count_levels(text: str) -> tuple[int | None, int | None]:
    return _levels(_count, text)


def duration_levels(text: str) -> tuple[int | None, int | None]:
    return _levels(duration_ms, text)


class CommandParser(argparse.ArgumentParser):
    """The parser class of every subcommand (lashtui/parser/__init__.py passes it to
    `add_subparsers`): an ordinary ArgumentParser, except with `probe=True` (`check`), where
    a usage error is one line on stderr and Nagios's UNKNOWN (3). There, arguments it does
    not know are its own usage error too (argparse would hand them to the top-level parser,
    which exits 2).

    `checks` are rules between flags that argparse's groups cannot state (`start --external`
    with a `--disposition` other than its own): each returns the sentence of a usage error,
    or None, and a problem is this parser's usage error like any other. `given` holds the
    flags given so far in this parse (see `Once`)."""

    def __init__(self, *args: Any, probe: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.probe = probe
        self.checks: list[Callable[[argparse.Namespace], str | None]] = []
        self.given: set[str] = set()
        self.tokens: list[str] = []  # this parse's arguments (`--json` shapes a usage error)

    def error(self, message: str) -> NoReturn:
        if not self.probe:
            super().error(message)
        import json  # here, not at the top: `lashtui --help` need not load json (S1)

        from lashtui.untrusted import json_escaped, shown

        # The usage on stderr; the one line (or object) a monitoring system shows, on stdout.
        self.print_usage(sys.stderr)
        text = f"usage: {message}"
        if wants_json(self.tokens):  # the shape of lashtui/command/check.py `emit`
            document = {
                "status": "UNKNOWN", "exit_status": UNKNOWN, "summary": text,
                "checked_at_ms": None, "checks": [],
            }  # fmt: skip
            print(json_escaped(json.dumps(document, separators=(",", ":"))), flush=True)
        else:
            # `|` starts Nagios's performance data (check.py's PIPE_ESCAPE).
            print(f"LASHTUI UNKNOWN - {shown(text).replace('|', chr(92) + 'x7c')}", flush=True)
        sys.exit(UNKNOWN)

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        self.given = set()
        if args is not None:
            self.tokens = list(args)
        parsed, extras = super().parse_known_args(args, namespace)
        if self.probe and extras:
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        for check in self.checks:
            problem = check(parsed)
            if problem is not None:
                self.error(problem)
        return parsed, extras


class EntryParser(argparse.ArgumentParser):
    """The top-level parser. Its usage errors come before the command is parsed (`lashtui
    --db '' check`, an empty $LASHTUI_DB, a `--as` that is not UTF-8): when that command is
    `check`, they are `check`'s usage errors (exit 3, the UNKNOWN line or object), not
    argparse's exit 2, which a monitor reads as CRITICAL. `probe` is `check`'s parser."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.probe: CommandParser | None = None
        self.command: str | None = None
        # Each command's parser by name: a usage error found after parsing is its command's.
        self.commands: dict[str, argparse.ArgumentParser] = {}

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        self.command, after = command_word(argv)
        if self.probe is not None and self.command == "check":
            self.probe.tokens = after
        return super().parse_known_args(argv, namespace)

    def error(self, message: str) -> NoReturn:
        if self.probe is not None and self.command == "check":
            self.probe.error(message)
        super().error(message)


# The top-level options that take a value (`--db PATH`, `--as NAME`), as argparse reads
# them: written out, or as a prefix of one (`--d x`).
_GLOBAL_VALUED = ("--db", "--as")


def command_word(argv: list[str]) -> tuple[str | None, list[str]]:
    """The command `argv` names (its first word that is not an option or an option's
    value) and the arguments after it; (None, []) when it names none."""
    tokens = iter(argv)
    for token in tokens:
        if token == "--":
            token = next(tokens, "")
        elif token.startswith("-") and token != "-":
            takes = "=" not in token and len(token) > 2
            if takes and any(flag.startswith(token) for flag in _GLOBAL_VALUED):
                next(tokens, None)
            continue
        return token or None, list(tokens)
    return None, []


def wants_json(tokens: list[str]) -> bool:
    """Whether `check`'s arguments ask for JSON (`--json`, `-o json|jsonl`): read from the
    words, as a usage error may come before they parse. The last one given wins."""
    chosen, words = "text", iter(tokens)
    for token in words:
        if token == "--":
            break
        if token == "--json":
            chosen = "json"
        elif token in ("-o", "--output"):
            chosen = next(words, chosen)
        elif token.startswith("--output="):
            chosen = token.removeprefix("--output=")
        elif token.startswith("-o") and not token.startswith("--"):
            chosen = token.removeprefix("-o").removeprefix("=")
    return chosen in ("json", "jsonl")


class Once(argparse.Action):
    """A filter flag that takes one value (`ls --status`, `audit --by`): given twice, it is a
    usage error naming the flag. argparse keeps the last value and drops the others without a
    word, so `audit --by alice --by bob` listed bob's actions alone, where a reader expects
    either both or a refusal; the dashboard's Audit filter refuses a repeated key too. Works
    on a `CommandParser`, which forgets what was given at the start of each parse."""

    def __call__(
        self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
        option_string: str | None = None,
    ) -> None:  # fmt: skip
        given: set[str] = getattr(parser, "given", set())
        if self.dest in given:
            raise argparse.ArgumentError(
                self, "given more than once; it takes one value"
            )
        given.add(self.dest)
        setattr(namespace, self.dest, values)


def add_check_parser(sub: Any) -> None:
    """`lashtui check` on the subcommands `sub` (made with `parser_class=CommandParser`)."""
    check = sub.add_parser(
        "check",
        probe=True,
        help="a health probe for cron and Nagios: one line, exit 0 OK to 3 UNKNOWN",
        description="A probe for cron, Nagios and orchestrators: judge the registry's health "
        "against levels and print one line. Opens the registry read-only; writes nothing.",
        epilog=CHECK_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _check_flags(check)


def _check_flags(check: argparse.ArgumentParser) -> None:
    check.add_argument(
        "--silent", type=count_levels, default=(1, None), metavar="WARN[,CRIT]",
        help="silent-not-dead rows: started owner_bound work whose lease lapsed or was "
        "released, with no abandon request (only an operator can decide them) "
        "(default 1: warn at one)",
    )  # fmt: skip
    check.add_argument(
        "--lapsed", type=count_levels, default=(1, 10), metavar="WARN[,CRIT]",
        help="held leases past their expiry (default 1,10)",
    )  # fmt: skip
    check.add_argument(
        "--abandon-age", type=duration_levels, default=(600_000, 3_600_000),
        metavar="WARN[,CRIT]",
        help="the oldest pending abandon request's age (default 10m,1h)",
    )  # fmt: skip
    check.add_argument(
        "--failed", type=count_levels, default=(1, None), metavar="WARN[,CRIT]",
        help="processes that failed within --failed-window (default 1: warn at one)",
    )  # fmt: skip
    check.add_argument(
        "--failed-window", type=duration_ms, default=900_000, metavar="DURATION",
        help="how far back --failed counts (default 15m)",
    )  # fmt: skip
    check.add_argument(
        "--renewal-age", type=duration_levels, default=(300_000, 900_000),
        metavar="WARN[,CRIT]",
        help="time since any worker last claimed or renewed a lease, judged only while "
        "leases are held (default 5m,15m); a renewal is dated from its expiry less --ttl",
    )  # fmt: skip
    check.add_argument(
        "--unknown-state", type=count_levels, default=(1, None), metavar="WARN[,CRIT]",
        help="rows whose state is not known: their status column holds no state, or a live "
        "row's record says another state, is not JSON, or names twice a key readers read "
        "differently; nothing runs or recovers them, "
        "and only `end-undecodable` ends them (default 1: warn at one)",
    )  # fmt: skip
    check.add_argument(
        "--long-ids", type=count_levels, default=(1, None), metavar="WARN[,CRIT]",
        help="rows whose id is longer than any write allows (512 characters: another "
        "program stored it); every read takes an id whole, so a huge one slows them all "
        "(default 1: warn at one)",
    )  # fmt: skip
    check.add_argument(
        "--ttl", type=duration_ms, default=30_000, metavar="DURATION",
        help="the workers' lease TTL (`worker --ttl-ms`; default 30s)",
    )  # fmt: skip
    check.add_argument(
        "-o", "--output", choices=("text", "json", "jsonl"), default="text",
        help="text: one Nagios line (default); json or jsonl: one JSON object on one line",
    )  # fmt: skip
    check.add_argument(
        "--json", dest="output", action="store_const", const="json", help="the same as -o json"
    )


def _watch_output(args: argparse.Namespace) -> str | None:
    """`ls --watch` prints what `ls` prints in each format it can follow; `-o json` is one
    JSON document (an array), which a stream that never ends cannot close. It printed JSONL
    instead, another format than the one asked for: refused, naming the one that streams."""
    if args.watch and args.output == "json":
        return (
            "argument --watch: not with -o json (or --json), one JSON document, which a list "
            "that never ends cannot close: -o jsonl prints one JSON object a line"
        )
    return None


def add_follow_flag(ls: argparse.ArgumentParser, events: argparse.ArgumentParser) -> None:
    """`ls --watch` and `events --follow`: stream what commits until interrupted."""
    ls.add_argument(
        "--watch", action="store_true",
        help="print the list, then one line per process each time one that matches (or was "
        "printed) changes, until interrupted: the process as it is after that commit; "
        "with -o wide the wide table; with -o jsonl one JSON object per line, flushed per "
        "line (not -o json, one document, which a stream cannot close)",
    )  # fmt: skip
    ls.checks.append(_watch_output)  # type: ignore[attr-defined]  # (cli.py CommandParser)
    events.add_argument(
        "--follow", "-f", action="store_true",
        help="print the log, then each event as it is committed, until interrupted; with "
        "-o jsonl (or --json) one event object per line instead of one array, flushed per line",
    )  # fmt: skip
