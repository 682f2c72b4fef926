"""The process registry: the `ProcessRegistry` Protocol and `open_registry`, the one factory
that picks a concrete store from a target (a SQLite path today)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from lashtui.clock import Clock
from lashtui.errors import InvalidRequest
from lashtui.registry.protocol import ProcessRegistry

__all__ = ["ProcessRegistry", "open_registry"]


@contextlib.asynccontextmanager
async def open_registry(
    target: str, *, clock: Clock | None = None, read_only: bool = False, create: bool = True
) -> AsyncIterator[ProcessRegistry]:
    """Open the registry at `target` (a SQLite file path, or ":memory:") for the duration of
    the `async with` block. `create=False` refuses a target that does not exist yet."""
    if target.startswith(("postgresql://", "postgres://")):
        raise InvalidRequest(
            f"PostgreSQL registries are not supported by this version of lashtui, got `{target}`"
        )
    # Imported here so that importing lashtui.registry opens nothing and loads no driver.
    from lashtui.registry.sqlite import SqliteProcessRegistry

    registry = await SqliteProcessRegistry.open(
        target, clock=clock, read_only=read_only, create=create
    )
    try:
        yield registry
    finally:
        await registry.close()
