"""The command line's parser classes: `EntryParser`, the top-level parser, and
`CommandParser`, every subcommand's, which route a usage error to the command it belongs
to (`check`'s exit 3, Nagios's UNKNOWN, where argparse exits 2) and check the rules
between flags that argparse cannot state; with `command_word`, the command an argv names,
and `Once`, the action of a flag that takes one value.

Apart from check.py, which makes `check`'s parser with `probe=True`, because every family
of commands is built with these (lashtui/parser/__init__.py passes `CommandParser` to
`add_subparsers`), and the command line reads `command_word` before any parse. Imports
only the standard library and check.py, so `lashtui --help` loads neither asyncio nor the
model; json only when `check` prints a usage error as JSON.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any, NoReturn

from lashtui.parser.check import UNKNOWN, wants_json


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
