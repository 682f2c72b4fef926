"""A registry the installed `lashtui` builds once for a module, copied to each test.

Several files start the same few processes before each test with `lashtui start`: those
spawns were most of their time (each an interpreter and lashtui's imports, on 2 busy
vCPUs). A copy of the file is byte for byte what the test would have built, and its own."""

from __future__ import annotations

import shutil
from pathlib import Path


def copy_registry(template: Path, folder: Path) -> Path:
    """`template`'s file (and its WAL, if one was left) copied into `folder`."""
    for each in template.parent.iterdir():
        shutil.copyfile(each, folder / each.name)
    return folder / template.name
