"""Importing the engine loads no UI and opens nothing (conventions: dependency direction,
no import-time side effects). Checked in a fresh interpreter, like harlequin's hygiene test."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

CHECK = """
import sys
from pathlib import Path
import {module}
loaded = sorted(m for m in ("textual", "rich", {extra}) if m in sys.modules)
print(",".join(loaded))
"""


@pytest.mark.parametrize(
    ("module", "forbidden"),
    [
        ("lashtui.model", ("aiosqlite",)),
        ("lashtui.registry", ("aiosqlite",)),  # the store's driver loads only when opened
        ("lashtui.cli", ()),
        ("lashtui.command", ()),  # the dashboard loads only inside `dash` and `demo`
    ],
)
def test_engine_modules_do_not_load_the_ui(module: str, forbidden: tuple[str, ...]) -> None:
    extra = ", ".join(repr(name) for name in forbidden)
    code = CHECK.format(module=module, extra=extra)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "", f"{module} loaded {result.stdout.strip()}"


# Packages only the `test` and `bench` extras install: `pip install -e .` (the README's run
# command) has none of them, so nothing the dashboard or the demo runs may import one.
TEST_ONLY = ("pytest", "hypothesis", "huey", "pyinstrument", "syrupy", "psycopg", "ruff", "mypy")
BLOCKED_RUN = """
import sys
from pathlib import Path

class Blocked:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ImportError(f"{{name}} is installed only by the test extras")
        return None

sys.meta_path.insert(0, Blocked())
import lashtui.cli, lashtui.command, lashtui.completion, lashtui.demo, lashtui.tui.app
from lashtui.cli import main
for argv in (["--help"], ["demo", "--help"], ["completion", "bash"]):
    try:
        main(argv)
    except SystemExit as exit_:
        assert exit_.code == 0, (argv, exit_.code)
"""


def test_the_run_path_needs_only_the_base_dependencies() -> None:
    code = BLOCKED_RUN.format(blocked=set(TEST_ONLY))
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "usage: lashtui demo" in result.stdout


HELP = """
import sys
from pathlib import Path
from lashtui.cli import main
try:
    main(["--help"])
except SystemExit:
    pass
print(",".join(sorted(m for m in {heavy!r} if m in sys.modules)), file=sys.stderr)
"""


def test_help_loads_no_command_model_asyncio_or_json() -> None:
    # `lashtui --help` builds the whole parser (lashtui/parser/) and nothing a command runs
    # with: S1 counts its start-up, and json alone was ~3% of its instructions.
    heavy = ("asyncio", "pydantic", "lashtui.model", "lashtui.command", "json", "lashtui.admin")
    result = subprocess.run(
        [sys.executable, "-c", HELP.format(heavy=heavy)],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    assert "usage: lashtui" in result.stdout
    assert result.stderr.strip() == "", f"`lashtui --help` loaded {result.stderr.strip()}"


COMMAND_RUN = """
import sys
from pathlib import Path
from lashtui.cli import main
code = main({argv!r})
print(code, ",".join(sorted(m for m in {modules!r} if m in sys.modules)), file=sys.stderr)
"""


def command_loads(argv: list[str], modules: tuple[str, ...]) -> tuple[int, str, str]:
    """Run `main(argv)` in a fresh interpreter: its exit status, which of `modules` it
    loaded, and what it printed on stderr before that."""
    result = subprocess.run(
        [sys.executable, "-c", COMMAND_RUN.format(argv=argv, modules=modules)],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    *said, last = result.stderr.strip().splitlines()
    code, _, loaded = last.partition(" ")
    return int(code), loaded, "\n".join(said)


# What only other commands need: `ls` (its table) imported every command module until the
# forty-second session (lashtui/command/__init__.py `command_for`).
OTHER_COMMANDS = (
    "lashtui.command.action",
    "lashtui.command.audit",
    "lashtui.command.check",
    "lashtui.command.dashboard",
    "lashtui.command.error",
    "lashtui.command.follow",
    "lashtui.command.index",
    "lashtui.command.worker",
)


def one_process(tmp_path: Path) -> str:
    """A registry holding one process, `p1`."""
    db = str(tmp_path / "r.db")
    assert command_loads(["--db", db, "start", "--external", "p1"], ())[0] == 0
    return db


def test_ls_imports_only_its_own_command(tmp_path: Path) -> None:
    db = one_process(tmp_path)
    code, loaded, said = command_loads(["--db", db, "ls"], OTHER_COMMANDS)
    assert (code, said) == (0, "")
    assert loaded == "", f"`lashtui ls` loaded {loaded}"
    # ...and `events` without --follow is query.py's read, not follow.py's stream.
    code, loaded, said = command_loads(["--db", db, "events", "p1"], OTHER_COMMANDS)
    assert (code, said) == (0, "")
    assert loaded == "", f"`lashtui events` loaded {loaded}"


def test_every_subcommand_names_its_module_and_function() -> None:
    import importlib
    import inspect

    from lashtui.cli import build_parser
    from lashtui.command import COMMAND_PATHS

    assert set(build_parser().commands) == set(COMMAND_PATHS)
    for module, function in COMMAND_PATHS.values():
        assert inspect.iscoroutinefunction(getattr(importlib.import_module(module), function))


@pytest.mark.parametrize("command", [["ls"], ["show", "p1"], ["events", "p1"], ["errors"]])
@pytest.mark.parametrize("kind", ["missing", "directory", "not SQLite"])
def test_a_registry_that_cannot_open_is_refused_before_the_models(
    tmp_path: Path, command: list[str], kind: str
) -> None:
    # The store's own sentence (tests/cli say which), without asyncio, pydantic or the model:
    # such a refusal cost as much as reading a row (~1.2G instructions against --help's 170M).
    db = tmp_path / "r.db"
    if kind == "directory":
        db.mkdir()
    elif kind == "not SQLite":
        db.write_text("not a database\n")
    heavy = ("asyncio", "pydantic", "lashtui.model", "lashtui.admin")
    code, loaded, said = command_loads(["--db", str(db), *command], heavy)
    expected = {
        "missing": f"lashtui: no process registry at `{db}`: no such file",
        "directory": f"lashtui: not a lash process registry: {db} is a directory",
        "not SQLite": f"lashtui: not a lash process registry: {db} is not a SQLite database",
    }[kind]
    assert code == 1
    assert said.startswith(expected), said
    assert loaded == "", f"{command[0]} on a registry {kind} loaded {loaded}"


COLLECTOR_AT_IMPORT = """
import gc, io, contextlib, sys

class Watch:
    seen = {{}}
    def find_spec(self, name, path=None, target=None):
        if name in {watched!r}:
            self.seen[name] = gc.isenabled()
        return None

sys.meta_path.insert(0, Watch())
from lashtui.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    code = main({argv!r})
on = sorted(name for name, enabled in Watch.seen.items() if enabled)
print(code, len(Watch.seen), gc.isenabled(), gc.get_freeze_count() > 0, ",".join(on))
"""


WATCHED = ("lashtui.model", "lashtui.model.record", "pydantic", "pydantic.main", "asyncio")


def test_a_command_imports_its_modules_with_the_collector_off(tmp_path: Path) -> None:
    # The collector walked the ~100,000 objects the imports make over and over as they
    # were made (lashtui/cli.py `_collector_off`): off while they import, on again after.
    db = one_process(tmp_path)
    argv = ["--db", db, "show", "p1"]
    result = subprocess.run(
        [sys.executable, "-c", COLLECTOR_AT_IMPORT.format(argv=argv, watched=WATCHED)],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    code, imported, enabled_after, frozen, on = result.stdout.split(" ")
    assert (code, enabled_after, frozen) == ("0", "True", "True")
    assert int(imported) == len(WATCHED)  # each was imported by the command
    assert on.strip() == "", f"imported with the collector on: {on.strip()}"


# The worker itself: the facade needs its change hub, awaiter and argument checks only.
WORKER_ONLY = (
    "lashtui.worker.worker",
    "lashtui.worker.drain",
    "lashtui.worker.sweep",
    "lashtui.worker.runtime",
)


def test_show_imports_no_worker(tmp_path: Path) -> None:
    db = one_process(tmp_path)
    code, loaded, said = command_loads(["--db", db, "show", "p1"], WORKER_ONLY)
    assert (code, said) == (0, "")
    assert loaded == "", f"`lashtui show` loaded {loaded}"
