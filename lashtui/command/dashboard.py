"""The commands that draw: `dash` (the dashboard on a registry) and `demo` (the dashboard
on a seeded demo registry).

The only commands that load Textual, and only once they run: `lashtui --help` and every
other command import this module without the TUI (tests/test_import_hygiene.py). Both
refuse before opening anything when there is no terminal to draw on.
"""

from __future__ import annotations

import argparse
import contextlib
import sys

from lashtui.clock import SystemClock


def without_terminal(command: str) -> bool:
    """Whether `command` (a dashboard) has no terminal to draw on, said in one sentence.
    Without one Textual would still start, draw to a pipe and spin a core, so the
    dashboards refuse (exit 2, a usage error) before they open anything."""
    missing = [name for name, stream in (("stdin", sys.stdin), ("stdout", sys.stdout))
               if not stream.isatty()]
    if not missing:
        return False
    print(
        f"lashtui: `{command}` draws a dashboard and needs a terminal, but "
        f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not one "
        "(use `lashtui ls`, `show` or `events` in scripts)",
        file=sys.stderr,
    )
    return True


async def cmd_dash(args: argparse.Namespace) -> int:
    """The dashboard. The registry is opened first, so a bad file is one line and exit 1
    before any screen is drawn. It never creates a registry: a mistyped --db is named.

    A registry file the user may read but not write opens read-only, as `--read-only` opens
    it, and the header says so and why (`read-only: no write permission on the file`): the
    dashboard refused it ("only read-only access is possible", exit 1) without naming
    `--read-only`, where a monitor (htop, k9s) shows what it may and offers no more."""
    if without_terminal("dash"):
        return 2
    from lashtui.admin import Processes
    from lashtui.command.dashboard_stop import stop_after_screen
    from lashtui.errors import RegistryNotWritable
    from lashtui.registry import lash_version_of, open_registry
    from lashtui.registry.display import redacted
    from lashtui.tui.app import make_app
    from lashtui.worker import ProcessWorker

    read_only = bool(getattr(args, "read_only", False))
    observer = read_only or bool(getattr(args, "no_worker", False))
    clock = SystemClock()
    read_only_why: str | None = None
    async with contextlib.AsyncExitStack() as stack:
        try:
            registry = await stack.enter_async_context(
                open_registry(args.db, clock=clock, read_only=read_only, create=False)
            )
        except RegistryNotWritable as error:  # (a read-only open never raises it)
            registry = await stack.enter_async_context(
                open_registry(args.db, clock=clock, read_only=True, create=False)
            )
            read_only = observer = True
            read_only_why = error.why
        # A registry lash itself wrote opens read-only whatever was asked (registry/lash/):
        # no worker, no actions.
        lash_version = lash_version_of(registry)
        if lash_version is not None:
            read_only = observer = True
        worker = None if observer else ProcessWorker(registry, clock=clock)
        processes = Processes(registry, worker=worker, clock=clock)
        app = make_app(
            processes,
            clock=clock,
            read_only=read_only,
            read_only_why=read_only_why,
            subtitle=redacted(args.db),
            operator=getattr(args, "operator", None),
            lash_version=lash_version,
        )
        await app.run_async()
        if worker is not None:
            return await stop_after_screen(worker, app.return_code or 0)
    return app.return_code or 0


async def cmd_demo(args: argparse.Namespace) -> int:
    """Seed the demo registry (once) and open the dashboard on it, with the embedded worker
    and the demo's trickle of new work running as app workers."""
    if without_terminal("demo"):
        return 2
    from lashtui.command.dashboard_stop import stop_after_screen
    from lashtui.demo import open_demo
    from lashtui.registry.display import redacted
    from lashtui.tui.app import make_app

    async with open_demo(args.db) as demo:
        clock = demo.processes.clock
        subtitle = f"{redacted(args.db)} (demo)"
        app = make_app(
            demo.processes,
            clock=clock,
            subtitle=subtitle,
            background=[demo.feed],
            operator=getattr(args, "operator", None),
        )
        await app.run_async()
        demo.stop.set()  # (the trickle starts nothing more)
        return await stop_after_screen(demo.worker, app.return_code or 0)
