"""What the connecting role may do with a registry's tables, asked of the server when a
handle opens.

A fleet gives its monitors a role that may only read (`GRANT SELECT ON ALL TABLES IN
SCHEMA ...`). Two things went wrong for such a role, found running one:

- A writable open (`dash`, and every command that acts) failed on the first statement that
  writes, `permission denied for table process_registry_meta`: `dash` refused the registry
  (exit 1) where, on a SQLite file the user may only read, it opens read-only on its own and
  says why; the commands that act printed PostgreSQL's words. `refuse_read_only_role` asks
  first, before anything is written, and raises `RegistryNotWritable` naming the privilege
  missing, which `dash` answers by opening read-only.
- `GRANT SELECT ON ALL TABLES` does not cover sequences, and the change detection's version
  (`data_version`, store.py) read the commit counter, a sequence: every read-only dashboard
  showed `permission denied for sequence process_commit_counter` in its header for as long
  as it ran, and `ls --watch` and `events --follow` exited 1 at once. `reads_commit_counter`
  says whether the role may read it; store.py uses another version without it.
"""

from __future__ import annotations

from typing import Any

import psycopg

from lashtui.errors import RegistryNotWritable

# What a writer does to the tables every write transaction touches, in the words of
# `has_table_privilege` (one privilege a row: given a list, it answers whether ANY is held).
# The commit counter is a sequence every write transaction steps (`nextval`: USAGE).
_WRITES = (
    ("processes", "table", "INSERT"),
    ("processes", "table", "UPDATE"),
    ("processes", "table", "DELETE"),
    ("process_events", "table", "INSERT"),
    ("process_leases", "table", "INSERT"),
    ("process_leases", "table", "UPDATE"),
    ("process_registry_meta", "table", "UPDATE"),
    ("process_commit_counter", "sequence", "USAGE"),
)

_WORDS = {"INSERT": "insert into", "UPDATE": "update", "DELETE": "delete from", "USAGE": "use"}


def _missing(pg: psycopg.Connection[Any], schema: str) -> tuple[str, str, str] | None:
    """The first of `_WRITES` the role lacks, on an object the schema has (an older
    registry, migrated by this open, may lack the counter yet), or None."""
    values = ", ".join("(%s, %s, %s)" for _ in _WRITES)
    params: list[str] = [part for write in _WRITES for part in write]
    row = pg.execute(
        f"SELECT w.rel, w.kind, w.priv FROM (VALUES {values}) AS w(rel, kind, priv) "
        "CROSS JOIN LATERAL (SELECT to_regclass(quote_ident(%s) || '.' || w.rel) AS oid) r "
        "WHERE r.oid IS NOT NULL AND NOT CASE w.kind "
        "WHEN 'sequence' THEN has_sequence_privilege(r.oid, w.priv) "
        "ELSE has_table_privilege(r.oid, w.priv) END LIMIT 1",
        [*params, schema],
    ).fetchone()
    return None if row is None else (str(row[0]), str(row[1]), str(row[2]))


def refuse_read_only_role(pg: psycopg.Connection[Any], schema: str, display: str) -> None:
    """Raise `RegistryNotWritable` if the role may not write the registry in `schema`."""
    missing = _missing(pg, schema)
    if missing is None:
        return
    row = pg.execute("SELECT current_user").fetchone()
    role = str(row[0]) if row else "?"
    relation, kind, privilege = missing
    raise RegistryNotWritable(
        f"cannot write process registry `{display}`: role `{role}` may not "
        f"{_WORDS[privilege]} {kind} `{relation}`; only read-only access is possible",
        f"role `{role}` may not write",
    )


def reads_commit_counter(pg: psycopg.Connection[Any], schema: str) -> bool:
    """Whether the role may read the commit counter (a registry without one: False)."""
    row = pg.execute(
        "SELECT CASE WHEN r.oid IS NULL THEN false "
        "ELSE has_sequence_privilege(r.oid, 'SELECT') END "
        "FROM (SELECT to_regclass(quote_ident(%s) || '.process_commit_counter') AS oid) r",
        (schema,),
    ).fetchone()
    return bool(row and row[0])
