"""The `lashtui` command line's parser (api.md §7): `build_parser`. One module per family
of commands, named as the modules in `lashtui.command` that do what they parse: `read`
(ls, show, events, await, errors, audit), `action` (start, the operator's acts, prune,
index), `worker` (worker, sweep), `dashboard` (dash, demo), `check` (the Nagios-style
probe), `follow` (the streaming flags `ls --watch` and `events --follow`) and
`completion`; and what the families share: `command_parser` (the parser classes, which
route a usage error to its command), `subcommand` (how a subcommand is made), `argument`
(the argparse types several take) and `usage` (the usage errors found once the arguments
parse).

A package of its own rather than part of `lashtui.command`, which loads every command when
imported: `lashtui --help` builds the whole parser and loads neither asyncio nor the model
(tests/test_import_hygiene.py; S1 counts its start-up). So these modules import only the
standard library, lashtui.clock and lashtui.errors; a check that needs the model
imports it when it runs, after the arguments parse.
"""

from __future__ import annotations

import argparse

from lashtui.parser.action import add_actions, add_start
from lashtui.parser.check import add_check_parser
from lashtui.parser.command_parser import CommandParser, EntryParser
from lashtui.parser.completion import add_completion
from lashtui.parser.dashboard import add_dashboards
from lashtui.parser.follow import add_follow_flag
from lashtui.parser.read import add_ls, add_reads
from lashtui.parser.subcommand import EXIT_CODES, global_options
from lashtui.parser.worker import add_engine


def build_parser() -> EntryParser:
    parser = EntryParser(
        prog="lashtui",
        description="Run and watch lash's durable background processes.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    global_options(parser, suppress=False)
    # CommandParser (command_parser.py): `check`'s usage errors exit 3, as Nagios reads them.
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=CommandParser)
    add_dashboards(sub)
    add_start(sub)
    add_ls(sub)
    add_reads(sub)
    add_actions(sub)
    add_engine(sub)
    add_completion(sub)
    add_follow_flag(sub.choices["ls"], sub.choices["events"])
    add_check_parser(sub)
    # `check` is made by check.py with its own epilog (Nagios's exit codes); it takes
    # the global options after it as every other subcommand does.
    global_options(sub.choices["check"], suppress=True)
    parser.probe = sub.choices["check"]  # its usage errors, given before `check`, are check's
    parser.commands = dict(sub.choices)
    return parser
