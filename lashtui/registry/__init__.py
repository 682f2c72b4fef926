"""The process registry: the `ProcessRegistry` Protocol and `open_registry`, the one factory
that picks a concrete store from a target: a PostgreSQL URL, or else a SQLite file path."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from lashtui.clock import Clock
from lashtui.errors import InvalidRequest, StoreError
from lashtui.registry.display import keyword_form_problem

if TYPE_CHECKING:
    from lashtui.registry.protocol import ProcessRegistry
    from lashtui.registry.sql.store import SqlProcessRegistry

__all__ = [
    "ProcessRegistry",
    "lash_version_of",
    "open_registry",
    "records_dispositions",
    "refuse_writes_to_lash",
    "registry_files",
]


def __getattr__(name: str) -> object:
    """`ProcessRegistry` on first use: the Protocol's annotations import every model, and
    the command line's `ls --json` read imports modules of this package without them
    (lashtui/cli_listing.py)."""
    if name == "ProcessRegistry":
        from lashtui.registry.protocol import ProcessRegistry

        return ProcessRegistry
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@contextlib.asynccontextmanager
async def open_registry(
    target: str | os.PathLike[str],
    *,
    clock: Clock | None = None,
    read_only: bool = False,
    create: bool = True,
) -> AsyncIterator[ProcessRegistry]:
    """Open the registry at `target` for the duration of the `async with` block: a
    `postgresql://` (or `postgres://`) URL, or a SQLite file path (or ":memory:"), as text
    or as a path object (`pathlib.Path`). `create=False` refuses a target that does not
    exist yet."""
    target = _target_text(target)
    registry: SqlProcessRegistry
    if target.startswith(("postgresql://", "postgres://")):
        # Imported here so that importing lashtui.registry opens nothing and loads no driver.
        try:
            from lashtui.registry.postgres import PostgresProcessRegistry
        except ImportError as error:
            raise StoreError(
                f"a PostgreSQL registry needs psycopg ({error.name} is missing): "
                "pip install 'lashtui[postgres]'"
            ) from None

        registry = await PostgresProcessRegistry.open(
            target, clock=clock, read_only=read_only, create=create
        )
    else:
        # libpq's key=value string was opened (or created) as a file, its password then
        # printed in the message naming it; a file really named so still opens.
        problem = keyword_form_problem(target)
        if problem is not None and not await _exists(target):
            raise InvalidRequest(problem)
        from lashtui.registry.sqlite import SqliteProcessRegistry

        registry = await SqliteProcessRegistry.open(
            target, clock=clock, read_only=read_only, create=create
        )
    try:
        yield registry
    finally:
        await registry.close()


def _target_text(target: object) -> str:
    """`target` as the text the stores take: a path object (any `os.PathLike`, as
    `open()` takes) by its file system path; anything else but text is refused naming it,
    where a string's method on it raised an `AttributeError`."""
    if isinstance(target, str):
        return target
    if isinstance(target, os.PathLike):
        # fsdecode: a bytes path (os.PathLike[bytes]) decodes as the file system would.
        return os.fsdecode(target)
    raise InvalidRequest(
        "a registry target is a file path or a postgresql:// URL, "
        f"got {type(target).__name__} `{target!r}`"
    )


def lash_version_of(registry: ProcessRegistry) -> int | None:
    """The lash version of a registry lash itself wrote, open read-only through views
    (registry/lash/); None for lashtui's own registries (and every PostgreSQL one)."""
    version = getattr(registry, "lash_version", None)
    return version if isinstance(version, int) else None


# What SQLite keeps beside a database file: its write-ahead log, the log's shared-memory
# index, and a rollback journal.
SIDECARS = ("-wal", "-shm", "-journal")


def registry_files(registry: ProcessRegistry) -> tuple[str, ...]:
    """The paths of the files a registry is kept in, whether or not each exists now: a
    SQLite file and the files SQLite keeps beside it; none for a PostgreSQL registry or
    SQLite's `:memory:`. What a program writing files of its own (the dashboard's export)
    must never write over."""
    path = getattr(registry, "path", None)
    if not isinstance(path, str) or path == ":memory:":
        return ()
    return (path, *(path + suffix for suffix in SIDECARS))


# The first lash registry version whose records hold a recovery disposition (v6 has none).
DISPOSITIONS_SINCE = 10


def records_dispositions(registry: ProcessRegistry) -> bool:
    """Whether the registry's records hold their disposition: every registry but one lash
    wrote before version 10, whose rows the views show as "not recorded" (lash/v6.py)."""
    version = lash_version_of(registry)
    return version is None or version >= DISPOSITIONS_SINCE


def refuse_writes_to_lash(registry: ProcessRegistry, target: str) -> None:
    """For a command that writes: refuse a registry lash wrote before it starts, in the
    sentence every write to it gets (the worker would otherwise run and claim nothing)."""
    version = lash_version_of(registry)
    if version is not None:
        import os

        from lashtui.registry.lash.detect import read_only_refusal

        raise read_only_refusal(os.path.abspath(target), version)


async def _exists(path: str) -> bool:
    # (asyncio imported here: `ls --json`'s model-free read imports this package, and keeps
    # asyncio out of its start-up, tests/cli/test_cli_listing.py)
    import asyncio

    return await asyncio.to_thread(os.path.exists, path)
