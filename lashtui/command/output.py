"""What the commands print: one JSON document (`--json`) or human lines, and the per-target
report of an action's outcomes with its exit status.

Stored text reaches the terminal only through lashtui.untrusted: human output shows each
control character as its escape (`visible`); JSON output writes the ones JSON's encoder
leaves raw as `\\uXXXX` escapes (`json_escaped`), so it parses to the same value. Every
command prints through here so that rule is kept in one place.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from lashtui.model import NO_STATE, ObservedProcess, ProcessActionOutcome, lease_lapsed_at
from lashtui.untrusted import SHOWN_CHARS, json_escaped, shown, visible, visible_clipped


def compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def emit_json(value: BaseModel | list[Any] | dict[str, Any]) -> None:
    def plain(item: Any) -> Any:
        return item.model_dump(mode="json") if isinstance(item, BaseModel) else item

    document = [plain(v) for v in value] if isinstance(value, list) else plain(value)
    print(json_escaped(compact(document)))


def say(line: str) -> None:
    """One line of human output that may quote stored text."""
    print(visible(line))


def status_badge(process: ObservedProcess) -> str:
    if process.no_state:  # (its stand-in's state is a placeholder: `ObservedProcess.no_state`)
        return NO_STATE
    # A live row with a pending cancel request says so (`ObservedProcess.cancel_requested`).
    asked = ", cancel requested" if process.cancel_requested else ""
    if process.lifecycle.value == "running" and process.wait is not None:
        return f"waiting:{process.wait.kind.name}{asked}"
    return f"{process.lifecycle.value}{asked}"


# A label is clipped in the table, and a lease's holder named as the dashboard names it
# (`lease_cell`); the whole of each is in `show` and in `-o wide`. Process ids are never
# clipped, because a script or a person copies them here.
# Only a stored value longer than any write allows is cut, in every column and `-o wide`
# (`bounded`: its first 4,096 characters and a count of the rest), so that one such value
# cannot pad every line of the table to its length.
TABLE_LABEL_WIDTH = 48

COLUMNS = ("ID", "STATUS", "LABEL", "DISPOSITION", "ORIGINATOR", "LEASE", "ABANDON")
# `-o wide`: every column the dashboard's Processes view has, nothing clipped.
WIDE_COLUMNS = (
    "ID", "STATUS", "LABEL", "WHY", "DISPOSITION", "ORIGINATOR", "LEASE", "EXPIRES",
    "STARTED BY", "ABANDON", "AGE", "UPDATED",
)  # fmt: skip


def process_row(p: ObservedProcess, now_ms: int, *, wide: bool) -> tuple[str, ...]:
    """One process as the table's cells, each made visible (and clipped unless `wide`)."""
    from lashtui.tui import format as fmt  # pure formatting, shared with the dashboard

    if wide:  # the owner id as stored (bounded only), as `show` and the JSON hold it
        label = shown(p.label)
        owner = shown(p.lease_holder.owner_id) if p.lease_holder else "-"
    else:
        label = visible_clipped(p.label, TABLE_LABEL_WIDTH)
        owner = lease_cell(p, now_ms)
    pid, badge = shown(p.process_id), shown(status_badge(p))  # a wait's signal name
    abandon = fmt.abandon_column(p)
    origin = shown(p.originator.scope_id())
    if not wide:
        return (pid, badge, label, p.disposition_text(), origin, owner, abandon)
    started = p.first_started.owner.owner_id if p.first_started else "-"
    return (
        pid, badge, label, shown(fmt.why(p, now_ms)) or "-",
        p.disposition_text(), origin, owner,
        fmt.countdown(p.lease_expires_at_ms, now_ms) if p.lease_holder else "-",
        shown(started), abandon, fmt.age(p.created_at_ms, now_ms),
        fmt.ago(p.updated_at_ms, now_ms),
    )  # fmt: skip


def lease_cell(p: ObservedProcess, now_ms: int) -> str:
    """The table's LEASE cell: the holder as the dashboard's HOLDER column and every action's
    sentence name it (`w-1@host-b:4242`: model/owner.py, a recovery attempt's suffix left
    out), and, when the lease is not simply held, what the dashboard's LEASE column says of
    it: `w-1@host-b:4242 (lapsed 1m29s ago)`, `... (could not be decoded)`. It showed the
    stored owner id clipped, suffix and all, and `(lapsed)`, so `ls` and the dashboard named
    one holder two ways. A running countdown is not printed: the table has no EXPIRES
    column (`-o wide` has), and `ls --watch` would print every running row again at each
    renewal to keep it true; it prints the row again as the lease lapses (lease_watch.py)."""
    from lashtui.tui import format as fmt  # pure formatting, shared with the dashboard

    if p.lease_holder is None:
        return "-"
    if p.lease_undecodable is not None or lease_lapsed_at(p, now_ms):
        return fmt.lease(p, now_ms)  # (the detail's lease line: the holder and its state)
    return fmt.owner(p.lease_holder)


# A column is as wide as its widest cell up to this many characters; a longer cell (a label
# in `-o wide`, an id another program made long) runs past its column on its own line
# rather than padding every other line to its length.
ALIGNED_CHARS = 80


def column_widths(rows: Sequence[tuple[str, ...]]) -> list[int]:
    """Each column's width: its widest cell of at most `ALIGNED_CHARS` characters."""
    return [
        max((len(row[i]) for row in rows if len(row[i]) <= ALIGNED_CHARS), default=0)
        for i in range(len(rows[0]))
    ]


def print_rows(rows: Sequence[tuple[str, ...]]) -> None:
    """Rows of already-visible cells in aligned columns, the first row the header."""
    widths = column_widths(rows)
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def emit_jsonl(items: list[Any]) -> None:
    """`-o jsonl`: one compact JSON object a line (a process, an event, a group)."""
    for item in items:
        plain = item.model_dump(mode="json") if isinstance(item, BaseModel) else item
        print(json_escaped(compact(plain)))


def emit(value: BaseModel | list[Any] | dict[str, Any], output: str) -> bool:
    """`value` printed as `-o json` or `-o jsonl` (a list one item a line, anything else
    on one line); False, printing nothing, for the human formats."""
    if output == "json":
        emit_json(value)
    elif output == "jsonl":
        emit_jsonl(value if isinstance(value, list) else [value])
    else:
        return False
    return True


# How much of a long value a sentence quotes when the whole would not fit in what is shown
# (as registry/sql/long_id.py quotes a cut id: `CUT_QUOTED`).
QUOTED_CHARS = 64
_QUOTED = re.compile(rf"`([^`]{{{QUOTED_CHARS + 1},}})`")


def readable(sentence: str) -> str:
    """`sentence`, each value it quotes (`...`) cut to its first `QUOTED_CHARS` characters
    and `…` when the sentence is longer than what is shown (`SHOWN_CHARS`): `rerun` and
    `transfer` quoted an id another program stored, of 5,000 characters, whole, so the
    bounded line ended inside the id and never said why it was refused. The id is on the
    line's start (bounded on its own) and whole in `--json`."""
    if len(sentence) <= SHOWN_CHARS:
        return sentence
    return _QUOTED.sub(lambda found: f"`{found[1][:QUOTED_CHARS]}…`", sentence)


def report(outcomes: list[ProcessActionOutcome], as_json: bool, *, many: bool = False) -> int:
    """Print each target's outcome and return the exit status: 1 if any was refused.

    Human output is one line per target on stdout, `<id>: <outcome>: <sentence>`, a refused
    one too (`transfer --from a --to b s1 nope` printed a line for s1 alone, so a script
    reading stdout could not tell `nope` was ever looked at); each refusal is also one line
    on stderr, `lashtui: <sentence>` (naming the id). With `--json` stdout holds one
    document: the outcome object (`many`: a list of them)."""
    if as_json:
        emit_json(outcomes if many else outcomes[0])
    for outcome in outcomes:
        # The id and the sentence are each bounded (`shown`): an id typed past what is
        # shown (another program's, of 4,096 characters or more) filled the whole bounded
        # line, and the sentence saying why it was refused was cut off, here and on stderr.
        said = shown(readable(outcome.sentence))
        if not as_json:
            print(f"{shown(outcome.process_id)}: {outcome.outcome}: {said}")
        if outcome.refused:
            named = f"`{outcome.process_id}`" in outcome.sentence
            line = said if named else f"{shown(outcome.process_id)}: {said}"
            print(f"lashtui: {line}", file=sys.stderr)
    return 1 if any(outcome.refused for outcome in outcomes) else 0
