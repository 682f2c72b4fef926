"""The parser's part for the streaming flags, `ls --watch` and `events --follow`
(lashtui/command/follow.py does the work), with the usage rule `ls --watch` adds: no
`-o json`, one document, which a stream cannot close.

A module of its own, as the command's: read.py makes `ls` and `events`, and
lashtui/parser/__init__.py adds these flags to them.
"""

from __future__ import annotations

import argparse


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
    ls.checks.append(_watch_output)  # type: ignore[attr-defined]  # (command_parser.py CommandParser)
    events.add_argument(
        "--follow", "-f", action="store_true",
        help="print the log, then each event as it is committed, until interrupted; with "
        "-o jsonl (or --json) one event object per line instead of one array, flushed per line",
    )  # fmt: skip
