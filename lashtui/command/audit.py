"""`lashtui audit`: the audit trail of operator actions (lashtui.model.audit), newest
first, one page at a time. It opens the registry read-only and changes nothing.

Human output is one line per entry, `<UTC time>  <operator>  <action>  <process>
<outcome>: <sentence>`; when more entries follow, the `--before` that reads them is said on
stderr (as `ls` says its `--after`), quoted as one shell word: an events cursor holds a
process id, which another program wrote (`$(...)` in it ran when the hint was pasted). An
empty page says so on stderr (it printed nothing at all, as if it had not run). A
registry without lashtui's audit table says in one line that nothing was recorded there
(exit 0: that is an answer, not a failure). `-o json` prints the page as one document,
`-o jsonl` one entry a line (the next page's cursor on stderr too).
"""

from __future__ import annotations

import argparse
import sys

from lashtui.command.facade import facade
from lashtui.command.output import compact, emit, emit_jsonl, say
from lashtui.model.audit import AUDIT_TABLE, AuditQuery, OperatorAction, unwritten_outcome
from lashtui.untrusted import bounded, shell_word, visible


def audit_query(args: argparse.Namespace) -> AuditQuery:
    """The flags as one query, refused in one sentence before anything is opened."""
    return AuditQuery.model_validate(
        {
            "source": args.source,
            "operator": args.by,
            "action": args.action,
            "outcome": args.outcome,
            "text": "" if args.process is None else args.process,
            "before": args.before,
            "limit": args.limit,
        }
    )


def line(entry: OperatorAction, *, wide: bool = False) -> str:
    """One entry; `wide` adds what the action named (a signal's name, a prune's cutoff)."""
    from lashtui.tui import format as fmt  # pure formatting, shared with the dashboard

    # The time as every human output prints one (`2026-05-28 14:06:40.000Z`, `show`'s).
    at = "unknown" if entry.at_ms is None else fmt.timestamp(entry.at_ms)
    # Another program may have written any of these at any length: each is cut on its own
    # past what a write allows (`bounded`), so a long one cannot hide the others.
    who, action = bounded(entry.operator or "-"), bounded(entry.action)
    target, sentence = bounded(entry.process_id or "(registry)"), bounded(entry.sentence)
    named = f"  {bounded(compact(entry.detail))}" if wide and entry.detail else ""
    return f"{at}  {who}  {action}  {target}  {bounded(entry.outcome)}: {sentence}{named}"


async def cmd_audit(args: argparse.Namespace) -> int:
    query = audit_query(args)
    async with facade(args, writes=False) as processes:
        page = await processes.registry.operator_actions(query)
    if args.output == "jsonl":
        # One entry a line; the cursor of the next page goes to stderr, out of the stream.
        emit_jsonl(page.entries)
        more(page.next_before)
        return 0
    if emit(page, args.output):
        return 0
    if not page.recorded:
        say(
            f"nothing is recorded in this registry: it has no {AUDIT_TABLE} table (lash wrote "
            "it, or lashtui has not acted on it yet); `--source events` reads the event log's "
            "cancel requests and re-runs"
        )
        return 0
    for entry in page.entries:
        say(line(entry, wide=args.output == "wide"))
    if not page.entries:
        print(f"lashtui: {nothing_found(args)}", file=sys.stderr)
    more(page.next_before)
    return 0


def nothing_found(args: argparse.Namespace) -> str:
    """What an empty page means, on stderr (stdout stays the rows): it printed nothing at
    all, as if the command had not run."""
    given = (args.by, args.action, args.outcome, args.process, args.before)
    filtered = any(value is not None for value in given)
    if args.source == "events":
        if filtered:
            return "no cancel request or re-run in the event log matches"
        return "the event log holds no cancel request or re-run"
    if filtered:
        why = unwritten_outcome(args.outcome)
        return "no recorded operator action matches" + (f"; {why}" if why else "")
    return "no operator action is recorded in this registry"


def more(next_before: str | None) -> None:
    """The stderr line that reads the next page, its cursor one shell word."""
    if next_before is not None:
        print(visible(f"lashtui: more: --before {shell_word(next_before)}"), file=sys.stderr)
