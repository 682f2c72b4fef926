"""The `lashtui` command line (api.md §7): the argparse entry point.

Every subcommand is made by lashtui/parser/subcommand.py's `add_command`, so `--db` and `--as`
work before or after it (that module says how to add one; `build_parser` puts them
together). Read commands take `-o table|wide|json|jsonl` (`--json` is `-o json`: exactly one
JSON document in lash's wire shapes). Shell completion is argcomplete's, answered here before
anything else loads (lashtui/completion.py).
Errors are one line on stderr, `lashtui: <message>`, exit 1; usage errors exit 2 (argparse),
and so are number flags out of their range and malformed filter, scope and disposition
values (checked by the parser: argparse types and choices, the parsers' `checks`, and
lashtui/parser/usage.py once the arguments parse). The exit codes are in `--help`
(EXIT_CODES). Nothing here imports the dashboard, and the commands themselves load only
once the arguments parse: `lashtui --help` starts in a blink and never loads textual,
asyncio or the model (so the parser's ranges are plain numbers, not imports).

What is left here is the entry point itself: `main` (stdout that fails in one sentence),
the exit status of each way a command ends, and `_run`, which imports the command (and,
for `dash` and `demo`, the dashboard) only once the arguments parse.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import sys
from collections.abc import Iterator

from lashtui.errors import LashError
from lashtui.parser import build_parser
from lashtui.parser.check import UNKNOWN
from lashtui.parser.command_parser import EntryParser, command_word
from lashtui.parser.subcommand import which_registry
from lashtui.parser.usage import bad_operator, not_utf8

# `build_parser` too: tests and benchmarks build the command line's parser from here.
__all__ = ["build_parser", "main"]


def _run(args: argparse.Namespace) -> int:
    """The command. `ls -o json|jsonl` in its common case is read without asyncio or the
    models (lashtui/listing.py says when and why); everything else is imported only now, so
    `--help` and usage errors exit before loading asyncio or the model, a read's registry
    that cannot be opened is refused before them too (lashtui/command/registry_first.py),
    and only the chosen command's module is imported (lashtui/command/__init__.py
    `command_for`)."""
    if args.command == "ls":
        from lashtui.listing import list_plainly

        code = list_plainly(args)
        if code is not None:
            return code
    from lashtui.command.registry_first import refuse_unopenable

    refuse_unopenable(args)  # a missing or foreign file refused before the models load
    with _collector_off():
        import asyncio

        from lashtui.command import command_for

        command = command_for(args)
    return asyncio.run(command(args))


@contextlib.contextmanager
def _collector_off() -> Iterator[None]:
    """The cyclic garbage collector off while the command's modules import, and what they
    made frozen after (`gc.freeze`: never walked by a collection again), as `ls` freezes
    them before it decodes (command/query.py `collector_paused`). Importing the models,
    pydantic and asyncio makes ~100,000 objects, all alive until exit and in no garbage
    cycle, and the collector walked them over and over as they were made (~90 young
    collections in a one-row `show`): 1,235M -> 1,153M instructions (valgrind). Turning it
    off without the freeze bought nothing: the collections came after instead. Enabled
    again before the command runs, for the commands that run long (`worker`, `dash`,
    `await`, the streams)."""
    import gc

    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


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


@functools.cache
def _parser() -> EntryParser:
    """The parser, built once a process. Building it (20 subcommands, ~40 ArgumentParsers,
    ~100 gettext look-ups: ~10 ms) was most of an in-process `show`'s time, and tests call
    `main` a thousand times in one process. Reusing it is safe because a parse leaves
    nothing in it: argparse puts what it reads on a fresh Namespace, and what our parsers
    note during one parse (EntryParser.command, CommandParser.given and .tokens) is reset at
    the start of the next (tests/cli/test_cli_parser_reuse.py)."""
    return build_parser()


def _main(argv: list[str] | None) -> int:
    if "_ARGCOMPLETE" in os.environ:
        # The shell is completing (`lashtui completion`): argcomplete answers and exits.
        # Imported only then, so it costs nothing otherwise. It changes the classes of the
        # parser it is given, so it gets one of its own, never the shared one.
        import argcomplete

        parser = build_parser()
        argcomplete.autocomplete(parser)
    else:
        parser = _parser()
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
