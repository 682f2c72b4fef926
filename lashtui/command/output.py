"""What the commands print: one JSON document (`--json`) or human lines, and the per-target
report of an action's outcomes with its exit status.

Stored text reaches the terminal only through lashtui.untrusted: human output shows each
control character as its escape (`visible`); JSON output writes the ones JSON's encoder
leaves raw as `\\uXXXX` escapes (`json_escaped`), so it parses to the same value. Every
command prints through here so that rule is kept in one place.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from pydantic import BaseModel

from lashtui.model import ObservedProcess, ProcessActionOutcome
from lashtui.untrusted import clipped, json_escaped, visible


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
    if process.lifecycle.value == "running" and process.wait is not None:
        return f"waiting:{process.wait.kind.name}"
    return process.lifecycle.value


# A label and a lease owner are clipped in the table (the whole of each is in `show`);
# process ids are never clipped, because a script or a person copies them from here.
TABLE_LABEL_WIDTH = 48


def print_table(processes: list[ObservedProcess]) -> None:
    rows = [("ID", "STATUS", "LABEL", "DISPOSITION", "ORIGINATOR", "LEASE", "ABANDON")]
    for p in processes:
        owner = p.lease_holder.owner_id if p.lease_holder else "-"
        rows.append(
            (
                visible(p.process_id),
                visible(status_badge(p)),  # a wait's signal name is stored text
                clipped(visible(p.label), TABLE_LABEL_WIDTH),
                p.disposition.value,
                visible(p.originator.scope_id()),
                clipped(visible(owner), TABLE_LABEL_WIDTH),
                "requested" if p.abandon_request else "-",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )


def report(outcomes: list[ProcessActionOutcome], as_json: bool, *, many: bool = False) -> int:
    """Print each target's outcome and return the exit status: 1 if any was refused.

    Human output is one line per target on stdout, `<id>: <outcome>: <sentence>`; each
    refusal is also one line on stderr, `lashtui: <sentence>` (naming the id). With
    `--json` stdout holds one document: the outcome object (`many`: a list of them)."""
    if as_json:
        emit_json(outcomes if many else outcomes[0])
    for outcome in outcomes:
        if outcome.refused:
            named = f"`{outcome.process_id}`" in outcome.sentence
            line = outcome.sentence if named else f"{outcome.process_id}: {outcome.sentence}"
            print(visible(f"lashtui: {line}"), file=sys.stderr)
        elif not as_json:
            print(visible(outcome.line()))
    return 1 if any(outcome.refused for outcome in outcomes) else 0
