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
    if args.json:
        emit_json(
            {
                "dry_run": report.dry_run,
                "created": [] if report.dry_run else report.created,
                "would_create": report.created if report.dry_run else [],
                "present": report.present,
                "seconds": round(report.seconds, 3),
            }
        )
        return 0
    names = ", ".join(report.created)
    created, present = _indexes(len(report.created)), len(report.present)
    if not report.created:
        say(f"nothing to do: all {_indexes(present)} are there; nothing written")
    elif report.dry_run:
        are = "is" if present == 1 else "are"
        say(f"would create {created} ({names}); {present} {are} there; nothing written")
    else:
        were = "was" if present == 1 else "were"
        say(f"created {created} in {report.seconds:.1f} s ({names}); {present} {were} there")
    return 0


def _indexes(count: int) -> str:
    return f"{count} index" if count == 1 else f"{count} indexes"
