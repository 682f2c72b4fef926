"""The parser's part for `lashtui check`, a Nagios-style probe (lashtui/command/check.py
does the work): its flags, the levels and durations they take, and the shape its usage
errors are printed in.

`check` follows the Nagios plugin conventions: exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
A usage error there (a bad flag, a bad duration) is therefore exit 3, not argparse's 2,
which a monitoring system would read as CRITICAL; its parser class does that
(command_parser.py `CommandParser` with `probe=True`), and so does the top-level parser's
(`EntryParser`) for what comes before the command (`lashtui --db '' check`). The usage
error is the one line a monitor reads, or under `--json` the object (`wants_json` says
which).

Like every module of lashtui/parser/, this one imports only the standard library, so
`lashtui --help` still loads neither asyncio nor the model.
"""

from __future__ import annotations

import argparse
import re
from typing import Any

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
