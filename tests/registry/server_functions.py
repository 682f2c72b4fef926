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
