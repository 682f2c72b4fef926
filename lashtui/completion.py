"""Shell completion (`lashtui completion bash|zsh|fish`): the script argcomplete writes for
each shell, and the process ids it offers, read from the registry.

argcomplete (a maintained library, not a hand-written script) completes every subcommand
and flag from the parser itself; the shell script runs `lashtui` with `_ARGCOMPLETE` set,
and `cli.main` hands over to argcomplete before anything else. A process id (`lashtui show
<TAB>`) is completed from the registry `--db` names (else $LASHTUI_DB, else ./lashtui.db):
opened read-only, so completing never creates or writes a file, and read as one keyset page
of at most `CAP` ids from the prefix typed, so it takes the same time on a million rows.

A module of its own below `lashtui.command` (the import-linter layers): completing an id
imports only the registry and the model, not every command, since a shell waits on it.
"""

from __future__ import annotations

import argparse
import asyncio

from lashtui.errors import LashError
from lashtui.untrusted import is_visible

# Ids offered at most: a shell lists them all, and a person narrows by typing more.
CAP = 200


async def cmd_completion(args: argparse.Namespace) -> int:
    from argcomplete.shell_integration import shellcode

    print(shellcode(["lashtui"], shell=args.shell), end="")
    return 0


def process_ids(db: str, prefix: str) -> list[str]:
    """Up to `CAP` process ids starting with `prefix`, in id order; none when the registry
    cannot be read (missing, not a registry): a completion must never fail loudly."""
    try:
        return asyncio.run(_read(db, prefix))
    except (LashError, OSError, ValueError):
        # Missing, not a registry, unreadable, a prefix no query takes: offer nothing. The
        # shell shows whatever argcomplete prints, so a completion must never raise.
        return []


async def _read(db: str, prefix: str) -> list[str]:
    from lashtui.model import PAGE_CHARS, PROCESS_STATES, ProcessPageQuery
    from lashtui.registry import open_registry

    async with open_registry(db, read_only=True, create=False) as registry:
        exact = [prefix] if prefix and await registry.get_process(prefix) else []
        query = ProcessPageQuery(
            states=set(PROCESS_STATES), after_id=prefix or None, order="id", limit=CAP
        )
        page, _ = await registry.page_processes_within(query, PAGE_CHARS)  # (a cut: fewer)
    ids = exact + [record.id for record in page]
    # Ids run in order from the prefix, so the first that does not start with it ends them.
    # An id a shell would obey rather than show (a control character) is not offered.
    matching = []
    for pid in ids:
        if not pid.startswith(prefix):
            break
        if is_visible(pid):
            matching.append(pid)
    return matching[:CAP]
