"""`lashtui check`: a probe for cron, Nagios and orchestrators. It reads the registry's
health facts (lashtui.model.probe) in one read-only snapshot, judges each against the
levels given as flags (lashtui/parser/check.py), and prints one line, Nagios-style:

    LASHTUI CRITICAL - 12 lapsed leases (critical at 10); ... | lapsed_leases=12;1;10;0 ...

exiting 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN. The checks that reached a level come first,
worst first; when none did, every check's value is named. After `|` is Nagios performance
data, one `name=value[unit];warn;crit;0` per check (`U` for a value there is none of).
`--json` prints one object with the same facts instead.

UNKNOWN is a probe that could not look: the registry is missing, unreadable, not a
registry... (one sentence, as every command words it). Nothing here writes: the registry is
opened read-only, which on SQLite writes no byte and creates no file.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict, dataclass
from enum import IntEnum

from lashtui.command.advice import for_the_command_line
from lashtui.command.facade import facade
from lashtui.command.output import compact
from lashtui.errors import LashError
from lashtui.model import ProbeFacts
from lashtui.model.limit import MAX_ID_CHARS
from lashtui.untrusted import json_escaped, shell_word, shown

PIPE_ESCAPE = "\\x7c"  # `|` in the line's text, as `visible` writes a control character


class Status(IntEnum):
    """Nagios's plugin states; the value is the exit status."""

    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3


@dataclass(frozen=True)
class Check:
    """One judged fact: `value` (None: nothing to judge, e.g. no abandon request pending)
    against its levels; it alerts when the value reaches a level."""

    name: str
    value: int | None
    unit: str  # "ms" for a duration, else what is counted
    warning: int | None
    critical: int | None
    sentence: str

    @property
    def verdict(self) -> Status:
        if self.value is None:
            return Status.OK
        if self.critical is not None and self.value >= self.critical:
            return Status.CRITICAL
        if self.warning is not None and self.value >= self.warning:
            return Status.WARNING
        return Status.OK

    def alert(self) -> str:
        """The sentence with the level it reached."""
        verdict = self.verdict
        level = self.critical if verdict is Status.CRITICAL else self.warning
        shown = ago(level) if self.unit == "ms" and level is not None else str(level)
        return f"{self.sentence} ({verdict.name.lower()} at {shown})"

    def perfdata(self) -> str:
        """`name=value[s];warn;crit;0` (durations in seconds, Nagios's unit)."""

        def number(value: int | None) -> str:
            if value is None:
                return ""
            if self.unit != "ms":
                return str(value)
            return f"{value / 1000:.3f}".rstrip("0").rstrip(".")  # never 1e+07

        value = (
            "U" if self.value is None else number(self.value) + ("s" if self.unit == "ms" else "")
        )
        return f"{self.name}={value};{number(self.warning)};{number(self.critical)};0"


def ago(ms: int) -> str:
    """A duration as the flags take it, to the unit that reads best: 45s, 12m, 3h, 2d."""
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if ms >= size or unit == "s":
            return f"{ms // size}{unit}"
    raise AssertionError("unreachable")


def plural(count: int, word: str, words: str | None = None) -> str:
    return f"{count} {word if count == 1 else (words or word + 's')}"


def levels(flag: tuple[int | None, int | None]) -> tuple[int | None, int | None]:
    """A WARN[,CRIT] flag's value (parser/check.py `_levels`), typed for the checks."""
    return flag[0], flag[1]


def judge(facts: ProbeFacts, args: argparse.Namespace) -> list[Check]:
    """Every check, in the order the flags are listed."""
    now = facts.now_ms
    oldest = facts.oldest_abandon_request_ms
    abandon_age = None if oldest is None else max(0, now - oldest)
    window = ago(args.failed_window)
    return [
        Check(
            "silent_not_dead", facts.silent_not_dead, "rows", *levels(args.silent),
            plural(facts.silent_not_dead, "silent-not-dead row"),
        ),
        Check(
            "lapsed_leases", facts.lapsed_leases, "leases", *levels(args.lapsed),
            # (the one check that says none is held: `renewal` then says only what it did)
            ("no lease held" if not facts.held_leases else
             f"{plural(facts.lapsed_leases, 'lapsed lease')} of {facts.held_leases} held")
            + unread_leases(facts),
        ),
        Check(
            "abandon_request_age", abandon_age, "ms", *levels(args.abandon_age),
            "no abandon request pending" if abandon_age is None else
            f"oldest of {plural(facts.abandon_requests, 'abandon request')} {ago(abandon_age)} old",
        ),
        Check(
            "failed", facts.failed_since, "processes", *levels(args.failed),
            f"{facts.failed_since} failed in the last {window}",
        ),
        renewal(facts, args),
        unknown_state(facts, args),
        long_ids(facts, args),
    ]  # fmt: skip


def unread_leases(facts: ProbeFacts) -> str:
    """What the lease counts left out, said, not judged: the leases of rows keyed by no
    text, which `show` and `ls` do not read either (`ProbeFacts.unread_leases`)."""
    unread = facts.unread_leases
    if not unread:
        return ""
    return f" ({plural(unread, 'lease')} of a row keyed by a blob or NULL left out: not read)"


def unknown_state(facts: ProbeFacts, args: argparse.Namespace) -> Check:
    """Rows whose state is not known (`ProbeFacts.unknown_state`), naming the first, so
    that the operator can look at it (`lashtui show`) and end it (`end-undecodable`)."""
    count, first = facts.unknown_state, facts.unknown_state_first
    sentence = f"{plural(count, 'row')} whose state is unknown"
    if first is not None:
        sentence += f", first {first} (`lashtui show {shell_word(first)}` says why)"
    return Check("unknown_state", count, "rows", *levels(args.unknown_state), sentence)


def long_ids(facts: ProbeFacts, args: argparse.Namespace) -> Check:
    """Rows whose id is longer than any write allows (`ProbeFacts.long_ids`), naming the
    start of the first: every read takes such an id whole, so a huge one slows them all
    (`prune` removes the row once it has ended)."""
    count, first = facts.long_ids, facts.long_ids_first
    sentence = f"{plural(count, 'row')} whose id is over {MAX_ID_CHARS} characters"
    if first is not None:
        sentence += f", first {first}..."
    return Check("long_ids", count, "rows", *levels(args.long_ids), sentence)


def renewal(facts: ProbeFacts, args: argparse.Namespace) -> Check:
    """Time since any worker last claimed or renewed a lease. A renewal moves only the
    expiry, so it is dated `expiry - ttl`; with no lease held there is nothing that should
    be renewed (a worker that stopped cleanly released its leases; a dead one's stay held,
    and age)."""
    ahead = facts.future_leases
    # (said, not judged: a clock ahead or another program's row is no renewal that happened)
    aside = f" ({plural(ahead, 'lease')} dated ahead of now left out)" if ahead else ""
    if facts.newest_expiry_ms is None or facts.newest_claim_ms is None:
        only = f"only {plural(ahead, 'lease')} dated ahead of now: not judged"
        words = only if ahead else "no lease renewal to judge"  # (`lapsed_leases` says why)
        return Check("renewal_age", None, "ms", *levels(args.renewal_age), words)
    last = max(facts.newest_claim_ms, facts.newest_expiry_ms - args.ttl)
    age = max(0, facts.now_ms - last)
    words = f"last lease renewal {ago(age)} ago{aside}"
    return Check("renewal_age", age, "ms", *levels(args.renewal_age), words)


def summary(checks: list[Check]) -> tuple[Status, str]:
    alerts = sorted((c for c in checks if c.verdict is not Status.OK), key=lambda c: -c.verdict)
    if not alerts:
        return Status.OK, ", ".join(c.sentence for c in checks)
    return alerts[0].verdict, "; ".join(c.alert() for c in alerts)


def emit(status: Status, text: str, checks: list[Check], now_ms: int | None, as_json: bool) -> int:
    if as_json:
        document = {
            "status": status.name,
            "exit_status": int(status),
            "summary": text,
            "checked_at_ms": now_ms,
            "checks": [asdict(c) | {"verdict": c.verdict.name} for c in checks],
        }
        print(json_escaped(compact(document)), flush=True)
    else:
        perfdata = " ".join(c.perfdata() for c in checks)
        # `|` starts Nagios's performance data: one in the text (a path) is escaped.
        line = f"LASHTUI {status.name} - {shown(text).replace('|', PIPE_ESCAPE)}"
        print(f"{line} | {perfdata}" if perfdata else line, flush=True)
    return int(status)


async def cmd_check(args: argparse.Namespace) -> int:
    as_json = args.output != "text"
    try:
        async with facade(args, writes=False) as processes:
            facts = await processes.probe_facts(args.failed_window)
    except LashError as error:  # missing, unreadable, not a registry...: UNKNOWN, one sentence
        return emit(Status.UNKNOWN, for_the_command_line(error), [], None, as_json)
    except Exception as error:  # a probe never ends in a traceback a monitor cannot read
        print(shown(f"lashtui: {type(error).__name__}: {error}"), file=sys.stderr)
        return emit(Status.UNKNOWN, f"the check failed: {error}", [], None, as_json)
    checks = judge(facts, args)
    status, text = summary(checks)
    return emit(status, text, checks, facts.now_ms, as_json)
