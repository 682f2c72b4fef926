"""A lease owner id another program stored past the limits (the write path refuses one:
tests/registry/test_lease_limits.py) is clipped in `ls`'s table, visibly, so one row cannot
stretch the table by 100,000 columns; `show` still prints it whole. The sentences of
`signal` and `cancel` name the holder as the table does (lashtui/model/owner.py)."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import time
from pathlib import Path

import pytest

from lashtui.model import ProcessEventType
from lashtui.registry.sqlite import SqliteProcessRegistry
from tests.builders import ob
from tests.cli.test_cli import LASHTUI
from tests.raw import raw_connection
from tests.registry.rows import wait_state
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


# Owner ids another program stored, and what the dashboard's tables and every sentence show
# of each (model/owner.py): one of 4,000 characters (a reader takes up to 4,096) clipped; a
# terminal title sequence and markup as text.
HOSTILE_OWNERS = [
    ("o" * 4_000, "o" * 47 + "…@host-b:4242"),
    ("w-\x1b]0;PWNED\x07[bold]", "w-\\x1b]0;PWNED\\x07[bold]@host-b:4242"),
]
HOLDERS_IDS = ["long", "hostile"]


async def seed_held(db: Path, owner_id: str) -> None:
    """`p` parked on a wait for `ready`, its lease held for an hour by a worker whose
    stored owner id is `owner_id` (written as another program could, past the limits)."""
    registry = await SqliteProcessRegistry.open(str(db))
    try:
        ready = [ProcessEventType.plain("signal.ready")]
        await registry.register_process(ob("p", event_types=ready))
        assert (await registry.claim_process_lease("p", far("w-1"), 3_600_000)).acquired()
        await registry.set_process_wait("p", wait_state("p", 1))
    finally:
        await registry.close()
    with raw_connection(str(db)) as conn:
        conn.execute("UPDATE process_leases SET lease_owner_id = ?", (owner_id,))


def said_by(db: Path) -> dict[str, str]:
    """What `signal p ready`, then `cancel p`, print."""
    said = {}
    for action in (["signal", "p", "ready"], ["cancel", "p"]):
        result = subprocess.run(
            [LASHTUI, "--db", str(db), *action],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        said[action[0]] = result.stdout
    return said


@pytest.mark.parametrize(("owner_id", "named"), HOSTILE_OWNERS, ids=HOLDERS_IDS)
def test_a_signal_and_a_cancel_name_the_holder_as_the_tables_do(
    tmp_path: Path, owner_id: str, named: str
) -> None:
    """`signal` said `... resumes (<the stored owner id, whole> holds it)`, and `cancel`
    `the worker holding it (<id>) stops it`: a recovery attempt's suffix and all, thousands
    of characters of another program's id on one line, where the tables show a clipped
    name."""
    db = tmp_path / "r.db"
    asyncio.run(seed_held(db, owner_id))
    said = said_by(db)
    assert f"; the run waiting on it resumes ({named} holds it)\n" in said["signal"]
    assert f"the worker holding it ({named}) stops it within its next poll\n" in said["cancel"]
    for out in said.values():
        assert len(out) < 400 and "\x1b" not in out and "\x07" not in out


def test_a_holder_no_reader_takes_is_not_said_to_be_no_worker(tmp_path: Path) -> None:
    """An owner id of 100,000 characters leaves the lease undecodable (read cut: nothing acts
    on it). `signal` said "no worker is running it now: the next one to claim it runs it",
    which no worker would; it now says what `cancel` says of such a lease. Neither quotes
    the id."""
    db = tmp_path / "r.db"
    asyncio.run(seed_held(db, "o" * 100_000))
    unknown = (
        "its lease could not be decoded (its lease row's lease_owner_id is over 4,096 "
        "characters, more than any reader takes), so whether a worker is running it is not "
        "known; no worker or sweep takes it until end-undecodable ends it\n"
    )
    said = said_by(db)
    assert said["signal"].endswith(f"; {unknown}"), said["signal"]
    assert said["cancel"].endswith(unknown), said["cancel"]
    assert all(len(out) < 400 for out in said.values())


RECOVERY_OWNER = "w-1:recovery:" + "0123456789abcdef" * 2  # a recovery attempt's (identity.py)


def ls(db: Path, *args: str) -> str:
    result = subprocess.run(
        [LASHTUI, "--db", str(db), "ls", *args],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize(
    ("owner_id", "named"),
    [(RECOVERY_OWNER, "w-1@host-b:4242"), *HOSTILE_OWNERS],
    ids=["recovery", *HOLDERS_IDS],
)
def test_ls_names_the_holder_as_the_dashboard_and_the_sentences_do(
    tmp_path: Path, owner_id: str, named: str
) -> None:
    """`ls`'s LEASE cell showed the stored owner id clipped, a recovery attempt's suffix
    and all (`w-1:recovery:0123456789abcdef0123456789ab…`), and `(lapsed)`, where the
    dashboard's HOLDER column and `signal`'s and `cancel`'s sentences name the holder
    `w-1@host-b:4242` (model/owner.py) and its LEASE column says `lapsed 1m29s ago`. Now the
    table names it as they do; `-o wide` and the JSON keep the stored id."""
    db = tmp_path / "r.db"
    asyncio.run(seed_held(db, owner_id))
    row = ls(db).splitlines()[1]
    assert f"  {named}  " in row, row  # LEASE, between ORIGINATOR and ABANDON
    assert "recovery" not in row and "\x1b" not in row
    ran_out = int(time.time() * 1000) - 89_000  # the holder's lease ran out 89 s ago
    with raw_connection(str(db)) as conn:
        conn.execute("UPDATE process_leases SET lease_expires_at_ms = ?", (ran_out,))
    lapsed = ls(db).splitlines()[1]  # (the command takes a few seconds on a loaded machine)
    assert re.search(rf"  {re.escape(named)} \(lapsed 1m\d+s ago\)  ", lapsed), lapsed
    if owner_id == RECOVERY_OWNER:  # the stored id, whole, where a script reads it
        assert f"  {RECOVERY_OWNER}  " in ls(db, "-o", "wide").splitlines()[1]
        listed = json.loads(ls(db, "--json"))
        assert listed[0]["lease_holder"]["owner_id"] == RECOVERY_OWNER
