"""The SQLite process registry: lash's table layout on one WAL-mode file."""

from lashtui.registry.sqlite.store import SqliteProcessRegistry

__all__ = ["SqliteProcessRegistry"]
