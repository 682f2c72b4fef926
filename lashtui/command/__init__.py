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
`COMMANDS` maps each subcommand's name to its function. Importing it loads neither the
facade's store nor the dashboard: each command imports those when it runs.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Coroutine
from typing import Any

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

Command = Callable[[argparse.Namespace], Coroutine[Any, Any, int]]
COMMANDS: dict[str, Command] = {
    "ls": cmd_ls_or_watch,  # `ls`, or with --watch its stream (follow.py)
    "show": cmd_show,
    "events": cmd_events_or_follow,
    "await": cmd_await,
    "errors": cmd_errors,
    "audit": cmd_audit,
    "check": cmd_check,
    "start": cmd_start,
    "cancel": cmd_cancel,
    "signal": cmd_signal,
    "abandon": cmd_abandon,
    "rerun": cmd_rerun,
    "transfer": cmd_transfer,
    "end-undecodable": cmd_end_undecodable,
    "prune": cmd_prune,
    "index": cmd_index,
    "worker": cmd_worker,
    "sweep": cmd_sweep,
    "dash": cmd_dash,
    "demo": cmd_demo,
    "completion": cmd_completion,
}

__all__ = [
    "COMMANDS",
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
    "cmd_events",
    "cmd_index",
    "cmd_ls",
    "cmd_prune",
    "cmd_rerun",
    "cmd_show",
    "cmd_signal",
    "cmd_start",
    "cmd_sweep",
    "cmd_transfer",
    "cmd_worker",
    "collector_paused",
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
