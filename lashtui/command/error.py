"""The `errors` command: why processes ended badly, grouped, as the dashboard's Errors view
shows it (lashtui/model/error.py says what a group is and which rows a summary covers).

It opens the registry read-only. The human output is a table with a first line saying what
the summary covers (`-o wide`: messages unclipped); `-o json` prints the summary as one
JSON document, `-o jsonl` one group a line.
"""

from __future__ import annotations

import argparse

from lashtui.command.facade import facade
from lashtui.command.output import emit, emit_jsonl, print_rows
from lashtui.model import CLIP_CHARS, ErrorGroupQuery, ErrorSummary
from lashtui.model.outcome import counted
from lashtui.untrusted import shown, visible_clipped

MESSAGE_WIDTH = 80  # characters of a message the table shows (--json has the clip whole)


async def cmd_errors(args: argparse.Namespace) -> int:
    query = ErrorGroupQuery(window=args.window, order=args.sort, limit=args.limit)
    async with facade(args, writes=False) as processes:
        summary = await processes.error_groups(query)
    if args.output == "jsonl":
        emit_jsonl(summary.groups)  # one group a line; what they cover is in -o json
    elif not emit(summary, args.output):
        print_groups(summary, query, wide=args.output == "wide")
    return 0


def utc(epoch_ms: int | None) -> str:
    """`2026-05-28 14:06:40.000Z`, as `show`, `events` and `audit` print a time (it was
    `2026-05-28T14:06:40.000Z`, another format beside theirs; `--json` has the epoch
    milliseconds); `unknown` for a group whose rows hold no time that is a whole number
    (`ErrorGroup.first_seen_ms`)."""
    if epoch_ms is None:
        return "unknown"
    from lashtui.tui import format as fmt  # pure formatting, shared with the dashboard

    return fmt.timestamp(epoch_ms)


def print_groups(summary: ErrorSummary, query: ErrorGroupQuery, *, wide: bool = False) -> None:
    first = (
        f", the first {len(summary.groups):,} shown"
        if len(summary.groups) < summary.total_groups
        else ""
    )
    order = "largest first" if query.order == "count" else "most recent first"
    print(
        f"failed, cancelled and abandoned among {summary.covers()}: "
        f"{counted(summary.rows, 'row', 'rows')} in "
        f"{counted(summary.total_groups, 'group', 'groups')}{first}, "
        f"{order}; codes and messages grouped on their "
        f"first {CLIP_CHARS} characters"
    )
    if not summary.groups:
        return
    rows = [("STATE", "COUNT", "FIRST SEEN", "LAST SEEN", "CODE", "MESSAGE")]
    for g in summary.groups:
        rows.append(
            (
                g.state.value,
                str(g.count),
                utc(g.first_seen_ms),
                utc(g.last_seen_ms),
                shown(g.code) or "-",
                (shown(g.message) if wide else visible_clipped(g.message, MESSAGE_WIDTH)) or "-",
            )
        )
    print_rows(rows)
