"""The PostgreSQL process registry: lash's table layout in one schema of a shared server."""

from lashtui.registry.postgres.store import PostgresProcessRegistry

__all__ = ["PostgresProcessRegistry"]
