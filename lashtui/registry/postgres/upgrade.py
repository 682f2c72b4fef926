"""The PostgreSQL registry's version check at open, and its migrations: from version 10,
which lashtui stamped before its change feed was ordered by transaction (change_feed.py), to 11;
from 11 to 12, which adds two server-side functions and nothing else: the leased
completion's (`lashtui_complete`, postgres/complete.py) and a write transaction's start
(`lashtui_begin_write`, connection.py); and from 12 to 13, which adds one more and nothing
else: a worker's start's (`lashtui_start`, postgres/start.py).

12 to 13 as 11 to 12, below: writers of version 12 still running write exactly what the
function writes (its statements are theirs), and a read-only open reads a version-12
registry as it is (the function only writes). This build takes a version-12 registry to 15
in one step (`_add_label` and `_add_mark`: the columns below and the start function that
fills them), so it never creates version 13's function, nor 14's.

13 to 14, on a writable open, in the opening transaction: the `processes` table gets the
nullable `sort_label` column (a catalogue change: it waits for the transactions using the
table to end, and holds the next ones off until the open commits, moments later), and (in
version 14's build) the start function that fills it, `lashtui_start_labelled`. Writers of
version 13 still running keep calling theirs, `lashtui_start`, which stays, and insert
without the column: their rows leave it NULL and sort by their JSON (order.py `label_key`).
The index that reads the column is `lashtui index`'s to build, as any index a registry
lacks: it replaces the JSON-only label index, whose cast of every edited record is what the
column saves (schema.py `SUPERSEDED`). A read-only open reads a version-13 registry as it
is.

14 to 15, on a writable open, in the opening transaction: the nullable `backlog_seq`
column (sql/backlog_mark.py: the mark of a row whose record lashtui wrote plainly the
backlog's; a catalogue change, as above), its trigger, and the start function that fills
it and `sort_label`, `lashtui_start_marked`. The rows already there stay unmarked, and a
drive reads them as rows it cannot tell, testing their records as before. Writers of
version 14 still running keep calling `lashtui_start_labelled`, which stays: their rows
are unmarked, and their saves of a marked row leave its mark stale (a new change
sequence) or, through the trigger, take it; a drive lists both. The two indexes the drive
reads are `lashtui index`'s to build; until then it tests every running row's record.

11 to 12, on a writable open, in the opening transaction and under the open's advisory
lock: the functions are created and the version stamped. Writers of version 11 still
running write exactly what this build writes (the functions' statements are theirs), so
nothing needs to wait for them; a lashtui of version 11 that opens the registry later
refuses version 12 in its own sentence. A read-only open of a version-11 registry reads it
as it is: reads need nothing the function adds.

Version 10 serialised every write on the meta row (each write transaction began with
`UPDATE process_registry_meta SET commits = commits + 1`) and took its sequences from the
clock row. Its writers and this build's must never write to one registry at the same time:
a clock sequence taken by an old writer would fall below the new horizon and be missed by
every reader. So the migration, in the opening transaction and under the open's advisory
lock:

1. locks the meta table exclusively: it waits for the old writers in flight (each holds the
   row's lock until it commits) and holds off the next ones;
2. drops the `commits` column that every old write transaction updates first, so an old
   writer still running fails its next write, whole, with nothing written ("column
   `commits` does not exist"), and an old build that opens the registry afterwards refuses
   the new version stamp in its own one sentence;
3. adds the base that puts every new sequence above every stored one (and above the clock
   row, which may be ahead of the rows when the newest were pruned), the commit counter and
   the horizon functions, and stamps 11.

A read-only open cannot migrate, so it refuses a version-10 registry in one sentence that
says what to do (a version-11 one it opens as it is, above); any other version is refused
untouched.
"""

from __future__ import annotations

from typing import Any

import psycopg

from lashtui.errors import UnsupportedSchema, WritableOpenNeeded
from lashtui.registry.postgres.schema import (
    BASE_FOR_STORED,
    BEGIN_WRITE_DDL,
    CHANGE_FEED_DDL,
    COMPLETE_DDL,
    COMPLETE_VERSION,
    FEED_VERSION,
    LABEL_VERSION,
    MIGRATES_FROM,
    SCHEMA_VERSION,
    START_DDL,
    START_VERSION,
    unsupported_schema_message,
)
from lashtui.registry.sql.backlog_mark import POSTGRES_TRIGGER_DDL


def check_version(pg: psycopg.Connection[Any], display: str, *, read_only: bool) -> bool:
    """Refuse what this build cannot open; migrate a version-10 to -14 registry (the
    caller holds the open's advisory lock, inside its transaction); on a writable open, move
    the base past the stored sequences if they are ahead (a registry restored onto another
    server). Returns whether the registry has the completion's function (a version-11
    registry opened read-only has not; a read-only handle never starts anything, so the
    start's function, which a version-12 one opened so lacks, is never asked for)."""
    row = pg.execute("SELECT schema_version FROM process_registry_meta").fetchone()
    found = int(row[0]) if row else 0
    if found == MIGRATES_FROM:
        if read_only:
            raise WritableOpenNeeded(
                f"process registry `{display}` was made by an earlier lashtui (PostgreSQL "
                f"schema version {MIGRATES_FROM}); open it writable once to migrate it to "
                f"version {SCHEMA_VERSION}"
            )
        _migrate(pg)
        for step in _STEPS[FEED_VERSION]:
            step(pg)
        return True
    if found in _STEPS:
        if read_only:  # read as it is: only a version-11 one lacks the completion's function
            return found != FEED_VERSION
        for step in _STEPS[found]:
            step(pg)
        _raise_base(pg)
        return True
    if found != SCHEMA_VERSION:
        raise UnsupportedSchema(unsupported_schema_message(found))
    if not read_only:
        _raise_base(pg)
    return True


def _add_completion(pg: psycopg.Connection[Any]) -> None:
    """Version 11 to 12 (see the module docstring)."""
    pg.execute(COMPLETE_DDL)
    pg.execute(BEGIN_WRITE_DDL)
    pg.execute("UPDATE process_registry_meta SET schema_version = %s", (COMPLETE_VERSION,))


def _add_label(pg: psycopg.Connection[Any]) -> None:
    """Version 12 or 13 to 14 (see the module docstring): the `sort_label` column. Its
    start function, version 14's, is not made: `_add_mark` follows in the same
    transaction with version 15's, which fills it too (a version-12 registry has no start
    function; a version-13 one keeps its own for its writers still running)."""
    pg.execute("ALTER TABLE processes ADD COLUMN IF NOT EXISTS sort_label TEXT")
    pg.execute("UPDATE process_registry_meta SET schema_version = %s", (LABEL_VERSION,))


def _add_mark(pg: psycopg.Connection[Any]) -> None:
    """Version 14 to 15 (see the module docstring): the `backlog_seq` column, its trigger
    and the start function that fills it and `sort_label` (a version-14 registry keeps its
    own for its writers still running)."""
    pg.execute("ALTER TABLE processes ADD COLUMN IF NOT EXISTS backlog_seq BIGINT")
    for statement in POSTGRES_TRIGGER_DDL:
        pg.execute(statement)
    pg.execute(START_DDL)
    pg.execute("UPDATE process_registry_meta SET schema_version = %s", (SCHEMA_VERSION,))


# From each version a writable open migrates, the steps to this build's, in order.
_STEPS = {
    FEED_VERSION: (_add_completion, _add_label, _add_mark),
    COMPLETE_VERSION: (_add_label, _add_mark),
    START_VERSION: (_add_label, _add_mark),
    LABEL_VERSION: (_add_mark,),
}


def _migrate(pg: psycopg.Connection[Any]) -> None:
    pg.execute("LOCK TABLE process_registry_meta IN ACCESS EXCLUSIVE MODE")
    pg.execute(
        "ALTER TABLE process_registry_meta DROP COLUMN IF EXISTS commits, "
        "ADD COLUMN change_base BIGINT NOT NULL DEFAULT 0"
    )
    for statement in CHANGE_FEED_DDL:
        pg.execute(statement)
    # Above the clock too: a reader's cursor may be there when the newest rows were pruned.
    clock = pg.execute("SELECT current_seq FROM process_change_clock").fetchone()
    pg.execute(
        "UPDATE process_registry_meta SET change_base = GREATEST(change_base, %s)",
        (int(clock[0]) + 1 if clock else 0,),
    )
    _raise_base(pg)
    pg.execute("UPDATE process_registry_meta SET schema_version = %s", (FEED_VERSION,))


def _raise_base(pg: psycopg.Connection[Any]) -> None:
    row = pg.execute(BASE_FOR_STORED).fetchone()
    assert row is not None  # (the meta row is there: its version was just read)
    pg.execute(
        "UPDATE process_registry_meta SET change_base = %s WHERE change_base < %s",
        (int(row[0]), int(row[0])),
    )
