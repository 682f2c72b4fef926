"""The sort keys of the Processes view's orders, as SQL: one expression per order, shared by
the keyset pages (page.py) and the indexes that serve them (each store's schema.py).

An index serves an order only when its expression is the query's, character for character
(SQLite matches an expression index by the parsed expression, PostgreSQL by the same), so
both are built here from one function. Every order but id and lease expiry walks an index
(status, key, process_id): the status comes first so that a state filter walks one range
per status, and the unfiltered view merges the five stored statuses (page.py), which also
spares each order a second index without the status.
"""

from __future__ import annotations

from lashtui.model import NEWEST_FIRST, ProcessOrder, ProcessPageQuery
from lashtui.registry.sql.dialect import SQLITE, Dialect

# A lease is held while it has an owner and a token (lease.get_many reads the same rows).
HELD = "l.lease_owner_id IS NOT NULL AND l.lease_token IS NOT NULL"


def label_key(sql: Dialect, column: str = "p.record_json") -> str:
    """The label as the table shows it (the identity's label, else its kind), never NULL,
    so keyset comparisons need no NULL rules. On PostgreSQL compared as "C" (bytewise),
    as SQLite and Python compare it; the jsonb text would otherwise take the database's
    default collation, which could be anything."""
    label = sql.json_text(column, "identity.label")
    kind = sql.json_text(column, "identity.kind")
    key = f"coalesce(nullif({label}, ''), {kind}, '')"
    return key if sql is SQLITE else f'({key}) COLLATE "C"'


def key_sql(order: ProcessOrder, sql: Dialect) -> str:
    """The sort key of `order` over the processes row `p` (and for lease expiry, the lease
    row `l`)."""
    if order == "status":
        return "p.status"
    if order == "label":
        return label_key(sql)
    if order == "age":
        return "p.created_at_ms"
    if order == "updated":
        return "p.updated_at_ms"
    if order == "lease_expiry":
        return "l.lease_expires_at_ms"
    return "p.process_id"


def walks_down(query: ProcessPageQuery) -> bool:
    """Whether the page walks its key from high to low: descending, the newest-first
    orders, and a backwards page each turn it round once."""
    return (query.descending != (query.order in NEWEST_FIRST)) != query.backwards


def index_ddl(sql: Dialect) -> tuple[str, ...]:
    """The indexes the sorted pages walk (lease expiry has none: see schema.py)."""
    exists = "IF NOT EXISTS " if sql is SQLITE else ""
    return (
        f"CREATE INDEX {exists}processes_status_created_idx "
        "ON processes(status, created_at_ms, process_id)",
        f"CREATE INDEX {exists}processes_status_updated_idx "
        "ON processes(status, updated_at_ms, process_id)",
        f"CREATE INDEX {exists}processes_status_label_idx "
        f"ON processes(status, ({label_key(sql, 'record_json')}), process_id)",
    )
