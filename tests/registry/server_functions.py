"""Counting a PostgreSQL registry's server-side functions (postgres/schema.py), for the tests
that check a write took the function's path (test_postgres_complete.py,
test_postgres_start.py)."""

from __future__ import annotations

import time

from tests.raw import raw_connection


def counted(url: str) -> str:
    """`url` with the server counting calls of PL/pgSQL functions (`calls`)."""
    return url.replace("options=", "options=-ctrack_functions%3Dpl%20", 1)


def calls(url: str, function: str, expected: int) -> int:
    """How many times `function` ran in this schema, once the handles that called it have
    closed (a backend reports its counts as it exits: waited for, up to 10 s, while the
    count is not `expected`)."""
    deadline = time.monotonic() + 10
    while True:
        with raw_connection(url) as conn:
            row = conn.execute(
                "SELECT COALESCE(sum(calls), 0) FROM pg_stat_user_functions "
                "WHERE funcname = ? AND schemaname = current_schema()",
                (function,),
            ).fetchone()
        if int(row[0]) == expected or time.monotonic() > deadline:
            return int(row[0])
        time.sleep(0.05)


def as_version_14_layout(url: str) -> None:
    """Take from a registry of this build what version 15 added (postgres/upgrade.py):
    the `backlog_seq` column, its trigger and the drive's indexes on it, and the start
    function that fills it; and the held leases' index, which no build of version 14 made
    (an index, `lashtui index`'s to add). The version stamp is the caller's to set."""
    from lashtui.registry.postgres.schema import START_FUNCTION
    from lashtui.registry.sql.filter import HELD_INDEX

    with raw_connection(url) as conn:
        conn.execute(f"DROP INDEX {HELD_INDEX}")
        conn.execute("ALTER TABLE processes DROP COLUMN backlog_seq CASCADE")
        conn.execute("DROP FUNCTION lashtui_backlog_seq_stale()")
        conn.execute(f"DROP FUNCTION {START_FUNCTION}")


def as_version_13_layout(url: str) -> None:
    """Take from a registry of this build what versions 14 and 15 added
    (postgres/upgrade.py): `as_version_14_layout`, then the `sort_label` column and the
    index on it (back to version 13's on the JSON alone). The version stamp is the
    caller's to set."""
    from lashtui.registry.sql.dialect import POSTGRES_TRY
    from lashtui.registry.sql.order import SORT_LABEL_INDEX, label_key

    as_version_14_layout(url)
    with raw_connection(url) as conn:
        conn.execute(f"DROP INDEX {SORT_LABEL_INDEX}")
        conn.execute("ALTER TABLE processes DROP COLUMN sort_label")
        conn.execute(
            "CREATE INDEX processes_status_label_idx ON processes"
            f"(status, ({label_key(POSTGRES_TRY, 'record_json')}), process_id)"
        )
