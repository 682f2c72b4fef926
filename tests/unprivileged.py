"""Running `python -m lashtui.cli` as a user who may read a registry but not write it.

The suite runs as root, which may write anything, so these tests drop to `nobody` (65534)
in the child (`subprocess` `user=`/`group=`). That user must be able to run an interpreter
and import lashtui: the venv's `python` is often a link into root's home (0700 here), so the
first interpreter of the same minor version that `nobody` can run is used, with lashtui's
source and the venv's site-packages on PYTHONPATH (a compiled extension of one 3.x build
loads in another of the same 3.x). The files live in a directory made under /tmp (not
pytest's tmp_path, which is 0700 root) that `nobody` can enter but not write.

Not root: the same tests run as the current user, which the modes restrict the same way.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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


def _env() -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": os.pathsep.join((_SOURCE, _SITE)),
        "PYTHONDONTWRITEBYTECODE": "1",
        "HOME": "/nonexistent",
        "LANG": "C.UTF-8",
    }


@functools.cache
def interpreter() -> str | None:
    """An interpreter the unprivileged user can run lashtui with, or None."""
    minor = f"{sys.version_info.major}.{sys.version_info.minor}"
    candidates = [sys.executable, f"/usr/bin/python{minor}", "/usr/bin/python3"]
    for candidate in dict.fromkeys(candidates):
        if not os.path.exists(candidate):
            continue
        probe = (
            "import sys, lashtui.cli, aiosqlite; "
            f"sys.exit(0 if '%d.%d' % sys.version_info[:2] == '{minor}' else 3)"
        )
        try:
            done = subprocess.run(  # type: ignore[call-overload]
                [candidate, "-c", probe], env=_env(), capture_output=True, timeout=60,
                **_identity(),  # type: ignore[call-overload]
            )
        except (OSError, subprocess.SubprocessError):
            continue
        if done.returncode == 0:
            return candidate
    return None


def lashtui_as_reader(
    db: Path, *args: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """`lashtui --db DB ARGS...` as the unprivileged user."""
    python = interpreter()
    if python is None:
        pytest.skip("no Python interpreter that user nobody may run lashtui with")
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        [python, "-m", "lashtui.cli", "--db", str(db), *args],
        env=_env(), capture_output=True, text=True, timeout=timeout, cwd="/",
        **_identity(),
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
