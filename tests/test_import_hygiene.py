"""Importing the engine loads no UI and opens nothing (conventions: dependency direction,
no import-time side effects). Checked in a fresh interpreter, like harlequin's hygiene test."""

from __future__ import annotations

import subprocess
import sys

import pytest

CHECK = """
import sys
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
