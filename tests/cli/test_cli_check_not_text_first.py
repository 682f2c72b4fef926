"""`lashtui check` names the first row of unknown state as `ls` lists it: a NULL id before
every text id, a blob after them (registry/sql/blob_id.py), on a real SQLite file whose
odd rows are inserted with raw SQL.

It named a blob's row while NULL rows came first: each count's first was SQL's
`min(process_id)`, which skips NULL, and the firsts were then compared as the text they
are shown as (`b'zz'` among the text ids). A live NULL row whose record says another state
was counted and not named at all."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from lashtui.clock import ManualClock
from lashtui.registry import open_registry
from tests.builders import ext
from tests.cli.test_cli_blob_id import run, seeded
from tests.raw import copy_row


def with_rows(tmp_path: Path, *stored: str | bytes | None) -> Path:
    """`seeded`'s registry (one row `good`) with a copy of `good` under each of `stored`."""
    db = seeded(tmp_path, None)
    for value in stored:
        copy_row(db, "good", value)
    return db


def set_status(db: Path, where: str, status: str) -> None:
    conn = sqlite3.connect(db)
    with conn:
        conn.execute(f"UPDATE processes SET status = ? WHERE {where}", (status,))
    conn.close()


def test_check_names_a_null_row_before_a_blob_and_a_text_id(tmp_path: Path) -> None:
    db = with_rows(tmp_path, b"zz", None, None, "a")
    set_status(db, "process_id IS NOT 'good'", "zombie")  # every copy in no state
    check = run("check", db=db)
    assert check.returncode == 1, check
    assert "4 rows whose state is unknown, first NULL#3 (`lashtui show 'NULL#3'` says why)" in (
        check.stdout
    ), check.stdout  # (it named b'zz')
    listed = run("ls", "--status", "any", db=db)
    assert listed.stdout.splitlines()[1].split()[0] == "NULL#3"  # as `ls` lists them


def test_check_s_hint_reaches_the_null_row_beside_a_text_row_named_null(tmp_path: Path) -> None:
    # A text row `NULL` (which decodes, running) and NULL rows in no state: the hint said
    # `lashtui show NULL`, which shows the text row (it wins the spelling), not the row
    # meant. It names the NULL row by its rowid, and that `show` is its stand-in.
    db = with_rows(tmp_path, "NULL", None, None)
    set_status(db, "process_id IS NULL", "zombie")
    check = run("check", db=db)
    assert "2 rows whose state is unknown, first NULL#3 (`lashtui show 'NULL#3'` says why)" in (
        check.stdout
    ), check.stdout
    shown = run("show", "NULL#3", db=db)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("NULL#3  ? no state  undecodable: its process_id column is NULL")
    text = run("show", "NULL", db=db)
    assert text.stdout.startswith("NULL  ● running  echo"), text.stdout  # the text row


async def test_each_count_s_first_is_named_in_sqlite_s_order(tmp_path: Path) -> None:
    """The three counts of unknown state, each with a NULL row among them: a status column
    in no state, a live record that says it ended, and the two together with a blob."""
    db = str(tmp_path / "r.db")
    clock = ManualClock(1_000_000)
    async with open_registry(db, clock=clock) as registry:
        await registry.register_process(ext("good"))
    copy_row(db, "good", None)
    copy_row(db, "good", b"zz")
    conn = sqlite3.connect(db)
    with conn:  # the NULL row live, its record ended; the blob's in no state
        conn.execute(
            "UPDATE processes SET record_json = json_set(record_json, '$.status.state', "
            "'failed') WHERE process_id IS NULL"
        )
        conn.execute("UPDATE processes SET status = 'zombie' WHERE typeof(process_id) = 'blob'")
    conn.close()
    async with open_registry(db, clock=clock) as registry:
        facts = await registry.probe_facts(clock.now_ms(), 0)
        # (the NULL row was counted and not named: the blob's was)
        assert (facts.unknown_state, facts.unknown_state_first) == (2, "NULL#2")
    set_status(Path(db), "process_id IS NULL", "zombie")
    async with open_registry(db, clock=clock) as registry:
        facts = await registry.probe_facts(clock.now_ms(), 0)
        assert (facts.unknown_state, facts.unknown_state_first) == (2, "NULL#2")
    set_status(Path(db), "process_id IS NULL", "running")
    conn = sqlite3.connect(db)
    with conn:  # only the NULL row is left of unknown state
        conn.execute("DELETE FROM processes WHERE typeof(process_id) = 'blob'")
    conn.close()
    async with open_registry(db, clock=clock) as registry:
        facts = await registry.probe_facts(clock.now_ms(), 0)
        assert (facts.unknown_state, facts.unknown_state_first) == (1, "NULL#2")
