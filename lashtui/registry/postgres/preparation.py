"""Preparing a registry's schema when a handle opens it: refused if it is not lash's, created
if it is new, checked for its version, and given lashtui's server-side functions that a
registry made before them lacks (`_add_function`). `SchemaPreparation` is mixed into
`PostgresConnection` (connection.py), which runs it once, on its first pooled connection.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import errors as pg_errors

from lashtui.errors import NotARegistry, RegistryMissing, StoreError
from lashtui.registry.postgres.privilege import reads_commit_counter, refuse_read_only_role
from lashtui.registry.postgres.schema import DDL, REPEATED_KEY_DDL, TRY_JSONB_DDL
from lashtui.registry.postgres.upgrade import check_version
from lashtui.registry.sql.dialect import TRY_JSONB
from lashtui.registry.sql.repeated import REPEATED_KEY


class SchemaPreparation:
    """The connection's method that checks, or creates, the schema at open."""

    # Set by PostgresConnection.__init__ (connection.py).
    display: str
    read_only: bool
    create: bool
    completes_in_server: bool
    repeated_key: bool
    reads_commit_counter: bool

    def _prepare(self, pg: psycopg.Connection[Any]) -> str:
        """Check the schema and, for a new registry, create it: in one transaction, under an
        advisory lock, so that concurrent first opens converge. Returns the schema's name.
        Refuses what is not ours before writing anything."""
        pg.execute("BEGIN")
        try:
            row = pg.execute("SELECT current_schema()").fetchone()
            schema = row[0] if row else None
            if schema is None:
                raise StoreError(
                    f"cannot open process registry `{self.display}`: no schema on its "
                    "search_path exists"
                )
            pg.execute(
                "SELECT pg_advisory_xact_lock(hashtext('lashtui registry ' || %s))", (schema,)
            )
            tables = {
                name
                for (name,) in pg.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,)
                )
            }
            if "process_registry_meta" in tables:
                if not self.read_only:  # (asked before anything is written: privilege.py)
                    refuse_read_only_role(pg, schema, self.display)
                self.completes_in_server = check_version(
                    pg, self.display, read_only=self.read_only
                )
                if not self.read_only:
                    _add_function(pg, schema, TRY_JSONB, TRY_JSONB_DDL)
                    _add_function(pg, schema, REPEATED_KEY, REPEATED_KEY_DDL)
                self.repeated_key = _has_function(pg, schema, REPEATED_KEY)
                self.reads_commit_counter = reads_commit_counter(pg, schema)
            elif tables:
                raise NotARegistry(
                    f"not a lash process registry: {self.display} (schema `{schema}` holds "
                    "other tables)"
                )
            elif self.read_only:
                raise RegistryMissing(
                    f"no process registry at `{self.display}` to open read-only"
                )
            elif not self.create:
                raise RegistryMissing(f"no process registry at `{self.display}`")
            else:
                for statement in DDL:
                    pg.execute(statement)
            pg.execute("COMMIT")
        except BaseException:
            if not pg.closed:
                pg.execute("ROLLBACK")
            raise
        return str(schema)


def _add_function(pg: psycopg.Connection[Any], schema: str, name: str, ddl: str) -> None:
    """One of lashtui's functions of one text argument (`name`, created by `ddl`), in a
    registry made before it existed (see schema.py). A role that may write rows but not
    create functions still opens the registry: without the try-cast its reads then fail
    over as a read-only handle's do; without `lashtui_repeated_key` they ask no record
    whether it names a read key twice (sql/repeated.py)."""
    if _has_function(pg, schema, name):
        return
    pg.execute(f"SAVEPOINT {name}")
    try:
        pg.execute(ddl)
    except pg_errors.InsufficientPrivilege:
        pg.execute(f"ROLLBACK TO SAVEPOINT {name}")
    pg.execute(f"RELEASE SAVEPOINT {name}")


def _has_function(pg: psycopg.Connection[Any], schema: str, name: str) -> bool:
    """Whether `schema` has lashtui's function `name` of one text argument."""
    exists = pg.execute(
        "SELECT to_regprocedure(quote_ident(%s) || %s) IS NOT NULL", (schema, f".{name}(text)")
    ).fetchone()
    return bool(exists and exists[0])
