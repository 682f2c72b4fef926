"""The registry layout's version, which both stores stamp and check: lash's version 10.
There is no migration chain, so a store refuses, untouched, a database of any other."""

from __future__ import annotations

SCHEMA_VERSION = 10


def unsupported_schema_message(found: int) -> str:
    return (
        "Unsupported lash process registry schema: this binary supports schema version "
        f"{SCHEMA_VERSION}, but the database reports version {found}. There is no migration "
        "chain — delete the process registry database and start fresh."
    )
