"""`lashtui index`: give a registry an older lashtui made the indexes this one reads by
(lashtui/registry/sql/indexes.py says why that is the operator's act, never an open's).

It opens the registry itself, writable unless `--dry-run` (which writes nothing), and says
which indexes it created, which were already there, and how long the builds took.
"""

from __future__ import annotations

import argparse

from lashtui.command.output import emit_json, say
from lashtui.errors import StoreError


async def cmd_index(args: argparse.Namespace) -> int:
    from lashtui.registry import open_registry, refuse_writes_to_lash
    from lashtui.registry.sql.store import SqlProcessRegistry

    dry_run = bool(args.dry_run)
    async with open_registry(args.db, read_only=dry_run, create=False) as registry:
        if not isinstance(registry, SqlProcessRegistry):
            raise StoreError(f"registry `{args.db}` keeps no indexes to add")
        # Even the dry run: it says what a write would add, and no write may.
        refuse_writes_to_lash(registry, args.db)
        report = await registry.add_missing_indexes(dry_run=dry_run)
    dry = report.dry_run
    if args.json:
        emit_json(
            {
                "dry_run": dry,
                "created": [] if dry else report.created,
                "would_create": report.created if dry else [],
                "present": report.present,
                "added_columns": [] if dry else list(report.columns),
                "would_add_columns": list(report.columns) if dry else [],
                "filled": dict(report.filled),
                "dropped": [] if dry else list(report.dropped),
                "would_drop": list(report.dropped) if dry else [],
                "seconds": round(report.seconds, 3),
            }
        )
        return 0
    present = len(report.present)
    if not (report.created or report.columns or report.dropped):
        say(f"nothing to do: all {_indexes(present)} are there; nothing written")
        return 0
    # In the order they are made: the column the new index reads, the indexes, and the
    # superseded index they replace.
    steps = []
    if report.columns:
        filled = "".join(
            f" ({name} set on {rows} {'row' if rows == 1 else 'rows'})"
            for name, rows in report.filled
        )
        steps.append(("add", "added", f"column {', '.join(report.columns)}{filled}"))
    if report.created:
        steps.append(
            ("create", "created", f"{_indexes(len(report.created))} ({', '.join(report.created)})")
        )
    if report.dropped:
        steps.append(("drop", "dropped", f"{', '.join(report.dropped)} (replaced)"))
    if dry:
        are = "is" if present == 1 else "are"
        done = ", then ".join(f"{verb} {what}" for verb, _, what in steps)
        say(f"would {done}; {present} {are} there; nothing written")
    else:
        were = "was" if present == 1 else "were"
        done = ", then ".join(f"{verb} {what}" for _, verb, what in steps)
        say(f"{done} in {report.seconds:.1f} s; {present} {were} there")
    return 0


def _indexes(count: int) -> str:
    return f"{count} index" if count == 1 else f"{count} indexes"
