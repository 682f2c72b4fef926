"""The SQLite process registry: lash's table layout on one WAL-mode file."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lashtui.registry.sqlite.store import SqliteProcessRegistry

__all__ = ["SqliteProcessRegistry"]


def __getattr__(name: str) -> object:
    """`SqliteProcessRegistry` on first use: the store imports aiosqlite and every model,
    and the command line's `ls --json` read opens a file through this package's
    connect.py without them (lashtui/cli_listing.py)."""
    if name == "SqliteProcessRegistry":
        from lashtui.registry.sqlite.store import SqliteProcessRegistry

        return SqliteProcessRegistry
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
