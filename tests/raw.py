"""Reaching under the registry: a plain connection to a test registry's database, for tests
that write rows the way lash would or read what was stored, bypassing lashtui's store."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator

from lashtui.registry.sql.dialect import Tx


@contextlib.contextmanager
def raw_connection(target: str) -> Iterator[Tx]:
    """One transaction on `target` (a SQLite path or a PostgreSQL URL), committed when the
    block ends; statements use `?` placeholders either way."""
    if target.startswith("postgresql://"):
        import psycopg

        from lashtui.registry.postgres.connection import PgTx

        with psycopg.connect(target) as pg:  # commits on a clean exit
            yield PgTx(pg)
        return
    conn = sqlite3.connect(target)
    try:
        with conn:
            yield conn
    finally:
        conn.close()
