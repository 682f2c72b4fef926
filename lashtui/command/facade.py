"""The `Processes` facade as a command opens it: on `--db`, read-only unless the command
writes, and creating the registry only where a command may (`start`).

Read commands open the registry read-only and refuse a file that does not exist instead of
creating one. A command that writes refuses a registry lash itself wrote (registry/lash/)
before it starts. The facade and the store are imported here, when a command runs, not when
`lashtui --help` imports the commands.
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from lashtui.clock import SystemClock


@asynccontextmanager
async def facade(
    args: argparse.Namespace, *, writes: bool, create: bool = False
) -> AsyncIterator[Any]:
    from lashtui.admin import Processes
    from lashtui.registry import open_registry, refuse_writes_to_lash

    clock = SystemClock()
    async with open_registry(args.db, clock=clock, read_only=not writes, create=create) as registry:
        if writes:
            refuse_writes_to_lash(registry, args.db)
        yield Processes(registry, clock=clock)
