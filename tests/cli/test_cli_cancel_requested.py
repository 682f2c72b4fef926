"""`lashtui ls` and `lashtui show` say that a live row has a pending cancel request
(`ObservedProcess.cancel_requested`): `ls` said `running` and `show` `● running` of it, the
request only on `show`'s `cancel` line further down."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

from lashtui.registry.sqlite import SqliteProcessRegistry
from tests.builders import ob
from tests.cli.test_cli import LASHTUI


def run(db: Path, *args: str) -> str:
    result = subprocess.run(
        [LASHTUI, "--db", str(db), *args], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_ls_and_show_say_a_cancel_was_requested(tmp_path: Path) -> None:
    db = tmp_path / "r.db"

    async def seed() -> None:
        registry = await SqliteProcessRegistry.open(str(db))
        for pid in ("asked", "quiet"):
            await registry.register_process(ob(pid))
        await registry.close()

    asyncio.run(seed())
    run(db, "cancel", "asked")  # requested: no worker holds it, so it runs on
    rows = {line.split()[0]: line for line in run(db, "ls").splitlines()[1:]}
    assert "  running, cancel requested  " in rows["asked"]
    assert "cancel" not in rows["quiet"]
    assert run(db, "show", "asked").startswith("asked  ● running · cancel requested  ")
    assert run(db, "show", "quiet").startswith("quiet  ● running  ")
