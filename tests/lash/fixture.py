"""The registries lash itself wrote (tests/lash/fixtures/, copied byte for byte from the
project's shared fixtures; its README says where each comes from), copied into a test's
folder before use, and the folder's listing that proves a read wrote nothing."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

# In the repository, so a clean clone runs every test that reads them (none is skipped).
FIXTURES = Path(os.environ.get("LASHTUI_LASH_FIXTURES", Path(__file__).parent / "fixtures"))
FILES = {
    6: "v6-agent-workbench.db",
    21: "v21-durable-read.db",
    24: "v24-durable-read.db",
}


def copied(version: int, folder: Path) -> Path:
    """The fixture of `version` copied into `folder`, writable like a file lash left behind
    (the fixtures are read-only files: a test must not pass because of that)."""
    source = FIXTURES / FILES[version]
    assert source.exists(), f"lash's fixture {source} is missing from the repository"
    target = folder / FILES[version]
    shutil.copyfile(source, target)
    target.chmod(0o644)
    return target


def listing(folder: Path) -> dict[str, str]:
    """Every entry of `folder` with the sha256 of its bytes and its mode."""
    return {
        entry.name: f"{hashlib.sha256(entry.read_bytes()).hexdigest()} {entry.stat().st_mode:o}"
        for entry in sorted(folder.iterdir())
    }
