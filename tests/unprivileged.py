"""Running `python -m lashtui.cli` as a user who may read a registry but not write it.

The suite runs as root, which may write anything, so these tests drop to `nobody` (65534)
in the child (`subprocess` `user=`/`group=`). That user must be able to run an interpreter
and import lashtui: the venv's `python` is often a link into root's home (0700 here), so the
first interpreter of the same minor version that `nobody` can run is used, with lashtui's
source and the venv's site-packages on PYTHONPATH (a compiled extension of one 3.x build
loads in another of the same 3.x). Where `nobody` cannot read the checkout or the venv (a
clone under a private home), what the read commands import is copied once to a directory
under /tmp it can read. The registries live in a directory made under /tmp (not pytest's
tmp_path, which is 0700 root) that `nobody` can enter but not write.

Not root: the same tests run as the current user, which the modes restrict the same way.
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pydantic
import pytest

import lashtui

NOBODY = 65534
_SOURCE = str(Path(lashtui.__file__).resolve().parent.parent)
_SITE = str(Path(pydantic.__file__).resolve().parent.parent)


def _identity() -> dict[str, object]:
    if os.geteuid() != 0:
        return {}
    return {"user": NOBODY, "group": NOBODY, "extra_groups": []}


def _env(paths: tuple[str, ...] = (_SOURCE, _SITE)) -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": os.pathsep.join(paths),
        "PYTHONDONTWRITEBYTECODE": "1",
        "HOME": "/nonexistent",
        "LANG": "C.UTF-8",
    }


# What the read commands and `dash` import (the CLI, the SQLite store, the facade, the
# dashboard): the top-level packages of these are what a staged copy needs.
_READ_PATH_MODULES = (
    "lashtui.cli", "lashtui.command", "lashtui.admin", "lashtui.registry.sqlite",
    "lashtui.tui.app",
)


@functools.cache
def _staged_paths() -> tuple[str, ...]:
    """A copy of lashtui and of the installed packages its read path imports, in a
    directory under /tmp that every user can read (made once per test run)."""
    import importlib

    for name in _READ_PATH_MODULES:
        importlib.import_module(name)
    staged = Path(tempfile.mkdtemp(prefix="lashtui-staged-"))
    atexit.register(shutil.rmtree, staged, True)
    shutil.copytree(Path(_SOURCE) / "lashtui", staged / "lashtui")
    site = Path(_SITE)
    for top in sorted({name.partition(".")[0] for name in sys.modules}):
        for entry in site.glob(f"{top}*"):
            if entry.name.split(".")[0].split("-")[0] != top or entry.name.endswith("-info"):
                continue
            target = staged / entry.name
            if entry.is_dir() and not target.exists():
                shutil.copytree(entry, target)
            elif entry.is_file():
                shutil.copy2(entry, target)
    for path in (staged, *staged.rglob("*")):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return (str(staged),)


@functools.cache
def interpreter() -> tuple[str, tuple[str, ...]] | None:
    """An interpreter the unprivileged user can run lashtui with, and the PYTHONPATH it
    needs, or None."""
    minor = f"{sys.version_info.major}.{sys.version_info.minor}"
    candidates = [sys.executable, f"/usr/bin/python{minor}", "/usr/bin/python3"]
    probe = (
        "import sys, lashtui.cli, aiosqlite; "
        f"sys.exit(0 if '%d.%d' % sys.version_info[:2] == '{minor}' else 3)"
    )
    direct: tuple[str, ...] = (_SOURCE, _SITE)
    for option in (direct, None):
        for candidate in dict.fromkeys(candidates):
            if not os.path.exists(candidate):
                continue
            paths = option or _staged_paths()
            try:
                done = subprocess.run(  # type: ignore[call-overload]
                    [candidate, "-c", probe], env=_env(paths), capture_output=True,
                    timeout=60, cwd="/", **_identity(),  # type: ignore[call-overload]
                )
            except (OSError, subprocess.SubprocessError):
                continue
            if done.returncode == 0:
                return candidate, paths
    return None


def lashtui_as_reader(
    db: Path, *args: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """`lashtui --db DB ARGS...` as the unprivileged user."""
    found = interpreter()
    if found is None:
        pytest.skip("no Python interpreter that user nobody may run lashtui with")
    python, paths = found
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        [python, "-m", "lashtui.cli", "--db", str(db), *args],
        env=_env(paths), capture_output=True, text=True, timeout=timeout, cwd="/",
        **_identity(),
    )


def popen_as_reader(db: Path, *args: str, **popen: Any) -> subprocess.Popen[bytes]:
    """`lashtui --db DB ARGS...` started as the unprivileged user (`popen`: its streams),
    with TERM set for a dashboard drawn on a pseudo-terminal."""
    found = interpreter()
    if found is None:
        pytest.skip("no Python interpreter that user nobody may run lashtui with")
    python, paths = found
    env = {**_env(paths), "TERM": "xterm-256color"}
    return subprocess.Popen(  # type: ignore[call-overload, no-any-return]
        [python, "-m", "lashtui.cli", "--db", str(db), *args],
        env=env, cwd="/", **_identity(), **popen,
    )


@contextmanager
def shared_directory() -> Iterator[Path]:
    """A directory under /tmp that the unprivileged user may enter (and not write, once
    `seal` has run): pytest's tmp_path is private to root."""
    path = Path(tempfile.mkdtemp(prefix="lashtui-reader-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        path.chmod(0o755)
        shutil.rmtree(path, ignore_errors=True)


def seal(directory: Path, file_mode: int = 0o644) -> None:
    """Every file in `directory` readable by all and written by its owner only (or by
    nobody, with 0o444), and the directory closed to writes by others."""
    for entry in directory.iterdir():
        entry.chmod(file_mode)
    directory.chmod(0o755 if os.geteuid() == 0 else 0o555)
