"""Putting a lash file's tables in lashtui's shape on one read-only connection (see the
package docstring): its version's decoder functions, then its TEMP views.

Run before `PRAGMA query_only` (which refuses CREATE, the temp schema's too). The temp schema
is kept in memory (`temp_store = MEMORY`): nothing lands beside the file or in a temp dir.
"""

from __future__ import annotations

import sqlite3

from lashtui.registry.lash import v6, v21
from lashtui.registry.lash.decode import Functions


def _layout(version: int) -> tuple[tuple[str, ...], Functions]:
    if version == 6:
        return v6.VIEWS, v6.FUNCTIONS
    return v21.VIEWS, v21.FUNCTIONS


def install(conn: sqlite3.Connection, version: int) -> None:
    """Give `conn` (read-only, on a file `detect.lash_version` judged `version`) the views."""
    views, functions = _layout(version)
    conn.execute("PRAGMA temp_store = MEMORY")
    for name, (arity, fn) in functions.items():
        conn.create_function(name, arity, fn, deterministic=True)
    for statement in views:
        conn.execute(statement)
