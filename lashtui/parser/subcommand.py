"""How a subcommand is made, so that each gets the same global options, exit codes and
output flags: `add_command` (the global options `--db` and `--as`, before or after the
command's name, and the exit codes in its `--help`), `add_output` (a read's `-o`),
`add_json` (an action's `--json`) and `add_process_id` (a process id positional, completed
from the registry). `which_registry` is what a left-out `--db` means, for the commands and
for completion alike.

One module because these are what every command family's parser is built of (the comment
"How a subcommand is added" below); the families sit beside it, one module each.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from lashtui.parser.argument import given, given_id

DEFAULT_DB = "lashtui.db"
DEMO_DB = "lashtui-demo.db"


EXIT_CODES = """exit status:
  0    done: every target done, requested or unchanged (each says which on stdout)
  1    refused or failed: a target was refused (its line on stdout says so, as every
       target's does), a value was refused, the registry could not serve, or stdout could
       not be written (full or closed); one line per problem on stderr, `lashtui: <sentence>`
  2    usage error: unknown command or flag, missing argument, flags that contradict each
       other, a filter flag given twice (each takes one value), an empty flag value, an
       empty or blank process id, an argument that is not UTF-8 (shown as a shell word),
       an operator name that is not one (--as, --by of abandon and end-undecodable),
       a value that is not one of its flag's words (--status, --sort, --action, --outcome,
       --disposition) or not in its flag's form (a scope, an audit --before cursor), a
       number flag out of its range (--timeout, --ttl-ms, --before, --after, --limit,
       --window) or a bad --older-than; `dash` or `demo` without a terminal
  124  `worker --once --timeout`: the bound came with runs still in flight; they were
       stopped (the `stopped` log line says what became of their leases)
  129  `worker`: stopped at once by a second SIGHUP (the first stops it well)
  130  interrupted (Ctrl-C); `worker`: stopped at once by a second SIGINT
  141  stdout was closed by its reader (`lashtui ls | head`): output stopped quietly
  143  `worker`: stopped at once by a second SIGTERM
  `check` exits as a Nagios plugin instead: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN

operator: every action records who made it (see `lashtui audit`): --as NAME, else
$LASHTUI_OPERATOR, else user@host (1-128 printable characters, no spaces).
scopes are written as scope ids: host, session:ID, session:ID/frame:F (a session id has no /).
"""


# How a subcommand is added (every one goes through these helpers, so each gets the same
# global options, exit codes and output flags):
#   command = add_command(sub, "name", "what it does")  # --db and --as, before or after NAME
#   add_output(command)                       # a read: -o table|wide|json|jsonl, --json
#   add_json(command)                         # an action: --json only
#   command.add_argument(..., help="...")     # every argument has help (a test checks)
# in the module of its family (lashtui/parser/__init__.py lists them), whose `add_*` function
# `build_parser` calls, and its module and function go into lashtui.command.COMMAND_PATHS under
# the same name.

# What a read prints (`-o`): table (the default, made for people), wide (every column, no
# clipping), json (one document in lash's wire shapes), jsonl (one JSON object a line: a
# process, an event, a group, an entry).
OUTPUTS = ("table", "wide", "json", "jsonl")


def global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """`--db` and `--as`, on the top-level parser (default None) and on every subcommand.
    A subcommand's copy defaults to SUPPRESS, so a subcommand that is not given one keeps
    the global value (`lashtui --db x ls`), one that is given one sets it (`lashtui ls --db
    x`), and given both, the later one (the subcommand's) wins."""
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument(
        "--db",
        type=given,
        default=default,
        metavar="PATH",
        help="the registry: a SQLite file, or a postgresql:// URL (default: $LASHTUI_DB, "
        "else ./lashtui.db; `demo` uses ./lashtui-demo.db)",
    )
    parser.add_argument(
        "--as",
        dest="operator",
        default=default,
        metavar="NAME",
        help="who actions are recorded as (default: $LASHTUI_OPERATOR, else user@host)",
    )


def _subcommand_options() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    global_options(parent, suppress=True)
    return parent


def add_command(
    sub: Any, name: str, text: str, *, description: str | None = None
) -> argparse.ArgumentParser:
    """A subcommand with the global options and the exit codes in its `--help`."""
    command: argparse.ArgumentParser = sub.add_parser(
        name,
        help=text,
        description=description or text,
        parents=[_subcommand_options()],
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return command


def add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json", action="store_true", help="print one JSON document (lash wire shapes)"
    )


def add_output(parser: argparse.ArgumentParser) -> None:
    """A read's `-o FORMAT` (into `args.output`), and `--json`, short for `-o json`."""
    parser.add_argument(
        "-o",
        "--output",
        choices=OUTPUTS,
        default="table",
        metavar="FORMAT",
        help="table (default), wide (every column, nothing clipped), json (one document, "
        "lash wire shapes) or jsonl (one JSON object a line)",
    )
    parser.add_argument(
        "--json", dest="output", action="store_const", const="json", help="the same as -o json"
    )


def add_process_id(command: argparse.ArgumentParser, text: str) -> None:
    """A process id positional, completed from the registry (`lashtui completion`). An empty
    or blank one is a usage error, as `start ''` is: no process can have it (semantics
    §2.1), and an empty one is what an unset `"$ID"` gives (`show ''` and the rest exited
    1, `unknown process ```)."""
    action = command.add_argument("id", type=given_id, help=text)
    action.completer = complete_process_id  # type: ignore[attr-defined]


def complete_process_id(prefix: str, parsed_args: argparse.Namespace, **_: Any) -> list[str]:
    """Process ids for shell completion, read from the registry `--db` names (else the
    default); argcomplete calls it only while completing."""
    from lashtui.completion import process_ids

    return process_ids(which_registry(parsed_args), prefix)


def which_registry(args: argparse.Namespace) -> str:
    """The registry a command uses: --db, else $LASHTUI_DB, else ./lashtui.db (the demo:
    ./lashtui-demo.db, never $LASHTUI_DB, which may name a real one)."""
    db: str | None = getattr(args, "db", None)
    if db is not None:
        return db
    if getattr(args, "command", None) == "demo":
        return DEMO_DB
    return os.environ.get("LASHTUI_DB", DEFAULT_DB)
