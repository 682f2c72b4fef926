"""A lease owner id another program stored past the limits (the write path refuses one:
tests/registry/test_lease_limits.py) is clipped in `ls`'s table, visibly, so one row cannot
stretch the table by 100,000 columns; `show` still prints it whole."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

from lashtui.registry.sqlite import SqliteProcessRegistry
from tests.builders import ob
from tests.cli.test_cli import LASHTUI
from tests.raw import raw_connection
from tests.tui.scene import far

TTL_MS = 60_000


def test_ls_clips_an_over_long_lease_owner(tmp_path: Path) -> None:
    db = tmp_path / "r.db"

    async def seed() -> None:
        registry = await SqliteProcessRegistry.open(str(db))
        await registry.register_process(ob("p"))
        assert (await registry.claim_process_lease("p", far("w-1"), TTL_MS)).acquired()
        await registry.close()

    asyncio.run(seed())
    with raw_connection(str(db)) as conn:
        conn.execute("UPDATE process_leases SET lease_owner_id = ?", ("o" * 100_000 + "\x1b",))
    result = subprocess.run(
        [LASHTUI, "--db", str(db), "ls"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    row = result.stdout.splitlines()[1]
    assert "o" * 47 + "…" in row and "o" * 48 not in row and "\x1b" not in row
    assert len(row) < 200
