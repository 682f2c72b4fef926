"""What each `lashtui` subcommand does, over the `Processes` facade (api.md §7).

Every command is an `async def cmd_<name>(args) -> exit status`. Bad values raise a
`LashError` naming the value (the entry point prints it and exits 1). Read commands open the
registry read-only and refuse a file that does not exist instead of creating one.

A package by what the commands do: `query` reads (ls, show, events, await), `audit`
reads the audit trail, `error` groups why rows ended badly (errors), `action` writes
(start and the operator's acts), `worker` runs the engine (worker, sweep), `dashboard`
draws (dash, demo) and `detail` is `show`'s human output; `argument`, `output`,
`facade` and `advice` (what a refusal's sentence gains on the command line) are what they
share (`completion`, the shell's, is lashtui.completion).

`COMMAND_PATHS` names each subcommand's module and function, and `command_for` imports only
the one a command line chose: importing every command module (and all they import: the
worker, the admin's modules, the steps engine) was ~20% of a one-row `show`'s instructions.
Importing this package loads no command module; the names below (`COMMANDS`, every
`cmd_*` and what the commands share) are imported on first use (`__getattr__`), for the
tests and benchmarks that import them from here.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from lashtui.lazy import on_first_use

if TYPE_CHECKING:
    from lashtui.command.action import (
        cmd_abandon,
        cmd_cancel,
        cmd_end_undecodable,
        cmd_prune,
        cmd_rerun,
        cmd_signal,
        cmd_start,
        cmd_transfer,
        operator,
        requester,
        start_request,
    )
    from lashtui.command.argument import parse_disposition, parse_json
    from lashtui.command.audit import cmd_audit
    from lashtui.command.check import cmd_check
    from lashtui.command.dashboard import cmd_dash, cmd_demo, without_terminal
    from lashtui.command.error import cmd_errors
    from lashtui.command.facade import facade
    from lashtui.command.follow import cmd_events_or_follow, cmd_ls_or_watch
    from lashtui.command.index import cmd_index
    from lashtui.command.output import (
        TABLE_LABEL_WIDTH,
        compact,
        emit_json,
        report,
        say,
        status_badge,
    )
    from lashtui.command.query import (
        Listing,
        cmd_await,
        cmd_events,
        cmd_ls,
        cmd_show,
        collector_paused,
        page_query,
        write_listing,
    )
    from lashtui.command.worker import cmd_sweep, cmd_worker, run_worker
    from lashtui.completion import cmd_completion
    from lashtui.listing import LS_PAGE

    COMMANDS: dict[str, Command]

Command = Callable[[argparse.Namespace], Coroutine[Any, Any, int]]

# Each subcommand's module and function.
COMMAND_PATHS: dict[str, tuple[str, str]] = {
    "ls": ("lashtui.command.follow", "cmd_ls_or_watch"),  # `ls`, or with --watch its stream
    "show": ("lashtui.command.query", "cmd_show"),
    "events": ("lashtui.command.follow", "cmd_events_or_follow"),  # or with --follow
    "await": ("lashtui.command.query", "cmd_await"),
    "errors": ("lashtui.command.error", "cmd_errors"),
    "audit": ("lashtui.command.audit", "cmd_audit"),
    "check": ("lashtui.command.check", "cmd_check"),
    "start": ("lashtui.command.action", "cmd_start"),
    "cancel": ("lashtui.command.action", "cmd_cancel"),
    "signal": ("lashtui.command.action", "cmd_signal"),
    "abandon": ("lashtui.command.action", "cmd_abandon"),
    "rerun": ("lashtui.command.action", "cmd_rerun"),
    "transfer": ("lashtui.command.action", "cmd_transfer"),
    "end-undecodable": ("lashtui.command.action", "cmd_end_undecodable"),
    "prune": ("lashtui.command.action", "cmd_prune"),
    "index": ("lashtui.command.index", "cmd_index"),
    "worker": ("lashtui.command.worker", "cmd_worker"),
    "sweep": ("lashtui.command.worker", "cmd_sweep"),
    "dash": ("lashtui.command.dashboard", "cmd_dash"),
    "demo": ("lashtui.command.dashboard", "cmd_demo"),
    "completion": ("lashtui.completion", "cmd_completion"),
}

# `ls` without --watch and `events` without --follow are query.py's reads, which is what
# follow.py's functions run then: going there directly spares them the streams' imports
# (the registry's file watch, the lease watch).
_UNLESS_STREAMED: dict[str, tuple[str, tuple[str, str]]] = {
    "ls": ("watch", ("lashtui.command.query", "cmd_ls")),
    "events": ("follow", ("lashtui.command.query", "cmd_events")),
}


def command_for(args: argparse.Namespace) -> Command:
    """The function of the subcommand `args` chose (none: `dash`), its module imported now."""
    name = args.command or "dash"
    module, function = COMMAND_PATHS[name]
    if name in _UNLESS_STREAMED:
        flag, plain = _UNLESS_STREAMED[name]
        if not getattr(args, flag, False):
            module, function = plain
    found: Command = getattr(importlib.import_module(module), function)
    return found


# Where each of the other names this package offers lives (the commands' own functions are
# in COMMAND_PATHS).
_SHARED: dict[str, str] = {
    "LS_PAGE": "lashtui.listing",
    "TABLE_LABEL_WIDTH": "lashtui.command.output",
    "Listing": "lashtui.command.query",
    "collector_paused": "lashtui.command.query",
    "compact": "lashtui.command.output",
    "emit_json": "lashtui.command.output",
    "facade": "lashtui.command.facade",
    "operator": "lashtui.command.action",
    "page_query": "lashtui.command.query",
    "parse_disposition": "lashtui.command.argument",
    "parse_json": "lashtui.command.argument",
    "report": "lashtui.command.output",
    "requester": "lashtui.command.action",
    "run_worker": "lashtui.command.worker",
    "say": "lashtui.command.output",
    "start_request": "lashtui.command.action",
    "status_badge": "lashtui.command.output",
    "without_terminal": "lashtui.command.dashboard",
    "write_listing": "lashtui.command.query",
    "cmd_events": "lashtui.command.query",
    "cmd_ls": "lashtui.command.query",
}


# Every name above, and each command's function (COMMAND_PATHS), imported on first use.
_ON_FIRST_USE = on_first_use(
    __name__, {**_SHARED, **{function: module for module, function in COMMAND_PATHS.values()}}
)


def __getattr__(name: str) -> Any:
    """`COMMANDS` (every subcommand's function, each module imported) and the names the
    command modules share, imported on first use."""
    if name == "COMMANDS":
        return {command: _ON_FIRST_USE(path[1]) for command, path in COMMAND_PATHS.items()}
    return _ON_FIRST_USE(name)


__all__ = [
    "COMMANDS",
    "COMMAND_PATHS",
    "LS_PAGE",
    "TABLE_LABEL_WIDTH",
    "Command",
    "Listing",
    "cmd_abandon",
    "cmd_audit",
    "cmd_await",
    "cmd_cancel",
    "cmd_check",
    "cmd_completion",
    "cmd_dash",
    "cmd_demo",
    "cmd_end_undecodable",
    "cmd_errors",
    "cmd_events",
    "cmd_events_or_follow",
    "cmd_index",
    "cmd_ls",
    "cmd_ls_or_watch",
    "cmd_prune",
    "cmd_rerun",
    "cmd_show",
    "cmd_signal",
    "cmd_start",
    "cmd_sweep",
    "cmd_transfer",
    "cmd_worker",
    "collector_paused",
    "command_for",
    "compact",
    "emit_json",
    "facade",
    "operator",
    "page_query",
    "parse_disposition",
    "parse_json",
    "report",
    "requester",
    "run_worker",
    "say",
    "start_request",
    "status_badge",
    "without_terminal",
    "write_listing",
]
