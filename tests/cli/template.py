"""Setup for tests of the installed `lashtui` that need not spawn it: a registry the
installed command builds once for a module, copied to each test (`copy_registry`), or the
command's own entry point run in the test's process (`in_process`).

Several files start the same few processes before each test with `lashtui start`: those
spawns were most of their time (each an interpreter and lashtui's imports, on 2 busy
vCPUs). A copy of the file is byte for byte what the test would have built, and its own.
Where a test's registry cannot be copied (a PostgreSQL schema) or differs test by test, its
setup runs `lashtui.cli.main` here: the same parser and command code the installed command
runs, without the interpreter's start. What the test checks still runs as its own process."""

from __future__ import annotations

import asyncio
import io
import shutil
import threading
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

from lashtui.cli import main


def copy_registry(template: Path, folder: Path) -> Path:
    """`template`'s file (and its WAL, if one was left) copied into `folder`."""
    for each in template.parent.iterdir():
        shutil.copyfile(each, folder / each.name)
    return folder / template.name


def in_process(target: str | Path, *argv: str) -> str:
    """`lashtui --db TARGET ARGV...` for a test's setup, run by `lashtui.cli.main` in this
    process: its stdout. It must succeed (exit 0), as the setup's spawn was checked to.
    Called from a coroutine (an async test), it runs on a thread of its own, since the
    command runs its own event loop; the caller waits for it, as it waited for the spawn."""
    out, err = io.StringIO(), io.StringIO()
    ended: list[int | BaseException] = []

    def command() -> None:
        try:
            ended.append(main(["--db", str(target), *argv]))
        except BaseException as error:  # (SystemExit too: a usage error is the test's bug)
            ended.append(error)

    with redirect_stdout(out), redirect_stderr(err):
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            command()
        else:
            thread = threading.Thread(target=command)
            thread.start()
            thread.join()
    (code,) = ended
    if isinstance(code, BaseException):
        raise AssertionError((argv, err.getvalue())) from code
    assert code == 0, (argv, code, err.getvalue())
    return out.getvalue()
