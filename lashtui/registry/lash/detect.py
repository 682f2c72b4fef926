"""Which lash layout a SQLite file has: its `user_version` and its tables, read in the
opener's snapshot. lashtui reads its own version 10 read-write, and these versions of lash's
own store read-only; a file stamped any other version is refused in one sentence that names
its version and the ones lashtui reads, and is never advised to be deleted (it may be the
only copy of a lash deployment's history)."""

from __future__ import annotations

import sqlite3

from lashtui.errors import NotARegistry, StoreError, UnsupportedSchema
from lashtui.registry.sql.version import SCHEMA_VERSION

# The tables each readable version's views read: a file stamped the version without them
# is another application's.
_V6_TABLES = frozenset(
    {"processes", "process_events", "process_handle_grants", "process_leases", "process_wake_acks"}
)
_V21_TABLES = frozenset(
    {
        "processes",
        "process_events",
        "process_observers",
        "process_leases",
        "process_change_clock",
        "process_tombstones",
    }
)
TABLES: dict[int, frozenset[str]] = {6: _V6_TABLES, **{v: _V21_TABLES for v in range(21, 25)}}
READABLE = tuple(TABLES)


def _tables(conn: sqlite3.Connection) -> set[str]:
    rows = conn.execute("SELECT name FROM main.sqlite_master WHERE type = 'table'").fetchall()
    return {str(row[0]) for row in rows}


def lash_layout(conn: sqlite3.Connection) -> int | None:
    """The readable lash version the file `conn` has open has, by stamp and tables; None
    for anything else (which the opener's own check then judges). Never raises a verdict:
    the pre-open probe (sqlite/file.py) uses it."""
    version = int(conn.execute("PRAGMA main.user_version").fetchone()[0])
    needed = TABLES.get(version)
    return version if needed is not None and needed <= _tables(conn) else None


def lash_version(conn: sqlite3.Connection, path: str) -> int | None:
    """The lash version of the file `conn` has open when it is one lashtui reads read-only;
    None when it is stamped lashtui's own version (or 0). Raises `NotARegistry` for a file
    stamped a lash version without that version's tables, `UnsupportedSchema` for any other
    version. Call it inside a read transaction: the stamp and the tables are one snapshot."""
    version = int(conn.execute("PRAGMA main.user_version").fetchone()[0])
    if version in (0, SCHEMA_VERSION):
        return None
    needed = TABLES.get(version)
    if needed is None:
        raise UnsupportedSchema(unreadable_message(path, version))
    if not needed <= _tables(conn):
        raise NotARegistry(
            f"not a lash process registry: {path} is stamped version {version} "
            "but has no process registry tables"
        )
    return version


def unreadable_message(path: str, version: int) -> str:
    """semantics §15's schema sentence up to the version found (so what matches on it still
    does), then the versions read instead of its advice to delete the file: issue 21's rule
    for a file that may hold a lash deployment's only history."""
    return (
        "Unsupported lash process registry schema: this binary supports schema version "
        f"{SCHEMA_VERSION}, but the database reports version {version} — lashtui also reads "
        f"lash's versions 6 and 21 to 24, read-only; `{path}` was left untouched."
    )


def describe(version: int) -> str:
    """How the dashboard's header and the CLI name such a registry."""
    return f"lash registry v{version}, read-only"


def read_only_refusal(path: str, version: int) -> StoreError:
    """The one sentence for any write to a registry lash wrote (it is open read-only)."""
    return StoreError(
        f"process registry `{path}` was written by lash (version {version}) and is open "
        "read-only: nothing was changed"
    )
