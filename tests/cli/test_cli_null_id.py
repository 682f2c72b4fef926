"""A row whose `process_id` another program stored as NULL, through the installed `lashtui`
run as a subprocess on a real SQLite file (lash's layout and lashtui's declare the column
`TEXT PRIMARY KEY` on a rowid table, which takes NULL, and takes it more than once).

Before, `sweep`, `worker --once` and a long-running worker's drive failed whole ("failed to
decode process registry row: process_id: Input should be a valid string"): one row locked
the worker out of the registry. `ls` (text, --json) and the dashboard left the row out
unsaid (a page read the ids, then the rows `IN` them, which never matches NULL), and
`check` counted a row of unknown state that it could not name. Now the row reads as `NULL`,
a stand-in that says its id column is NULL (registry/sql/blob_id.py), listed first (where
SQLite sorts NULL), skipped and counted by the worker and the sweep, found by `show NULL`,
refused by every action and by `events` in one sentence.

A number cannot be stored there: the column's TEXT affinity stores 42 and 1.5 as text (a
test below checks it with typeof), which every reader takes as any other text id."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.cli.service import Worker, start, steps
from tests.cli.test_cli_blob_id import run, seeded, statuses
from tests.raw import copy_row

WHY = (
    "its process_id column is NULL, not text: no lashtui statement can name it, so "
    "nothing runs, recovers or ends it"
)
REFUSED = (
    "process `NULL` has an id that is not text (its process_id column is NULL), which no "
    "lashtui statement can name, so lashtui only lists and shows it: only another program "
    "(sqlite3) can delete or rewrite its row"
)


def with_null(tmp_path: Path, status: str | None = None) -> Path:
    """`seeded`'s registry (one rerunnable row `good`) with a copy of `good` keyed by NULL
    (its status column `status` when given)."""
    db = seeded(tmp_path, None)
    copy_row(db, "good", None)
    conn = sqlite3.connect(db)
    with conn:
        if status is not None:
            conn.execute("UPDATE processes SET status = ? WHERE process_id IS NULL", (status,))
    assert conn.execute(
        "SELECT count(*) FROM processes WHERE typeof(process_id) = 'null'"
    ).fetchone() == (1,)
    conn.close()
    return db


def test_sweep_and_worker_once_skip_it_and_go_on(tmp_path: Path) -> None:
    db = with_null(tmp_path)

    swept = run("sweep", db=db)
    assert swept.returncode == 0, swept.stderr
    assert swept.stdout == (
        "sweep: one pass, 2 rows looked at: 1 runnable, left for a worker, "
        "1 skipped (undecodable)\n"
    )
    assert f"skipped NULL: {WHY}" in swept.stderr
    cancel = run("cancel", "NULL", db=db)  # (it said "unknown process")
    assert cancel.returncode == 1 and cancel.stdout == f"NULL: refused: {REFUSED}\n", cancel

    once = run("worker", "--once", db=db)
    assert once.returncode == 0, once.stderr
    assert once.stdout == "worker: one pass, 2 rows looked at: 1 ran, 1 skipped (undecodable)\n"
    assert f"skipped NULL: {WHY}" in once.stderr
    assert statuses(db) == {"NULL": "running", "good": "failed"}  # (echo: no such engine)


def test_a_long_running_worker_drives_past_it(tmp_path: Path, workers: list[Worker]) -> None:
    db = with_null(tmp_path)
    worker = Worker(db)
    workers.append(worker)
    worker.until_event("run_ended", "good")
    start(db, "later", steps({"finish": "done"}))  # started while it runs: still driven
    assert worker.until_event("run_ended", "later")["outcome"] == "completed"
    assert any(f"skipped NULL: {WHY}" in line for line in worker.lines), worker.lines


def test_ls_show_events_check_and_actions_name_it_alike(tmp_path: Path) -> None:
    db = with_null(tmp_path, status="zombie")

    listed = run("ls", "--status", "any", "--json", db=db)
    assert listed.returncode == 0, listed.stderr
    rows = {p["process_id"]: p for p in json.loads(listed.stdout)}
    assert list(rows) == ["NULL", "good"]  # NULL first, where SQLite sorts it
    assert rows["NULL"]["kind"] == "undecodable" and WHY in rows["NULL"]["undecodable"]
    text = run("ls", "--status", "any", db=db)
    assert [line.split()[0] for line in text.stdout.splitlines()[1:]] == ["NULL", "good"]

    check = run("check", db=db)
    assert check.returncode == 1, check
    assert "1 row whose state is unknown, first NULL (`lashtui show NULL` says why)" in (
        check.stdout
    )
    shown = run("show", "NULL", db=db)
    assert shown.returncode == 0, shown.stderr
    first, _, rest = shown.stdout.partition("\n")
    assert first.startswith("NULL  ") and first.endswith(" (undecodable)"), first
    assert f"undecodable    {WHY}" in rest and "not read       its lease, events" in rest

    ended = run("end-undecodable", "NULL", "--reason", "x", db=db)
    assert ended.returncode == 1 and ended.stdout == f"NULL: refused: {REFUSED}\n", ended
    events = run("events", "NULL", db=db)
    assert events.returncode == 1 and events.stderr == f"lashtui: {REFUSED}\n"
    conn = sqlite3.connect(db)  # nothing written: the row as stored, no event of it
    assert conn.execute("SELECT status FROM processes WHERE process_id IS NULL").fetchall() == [
        ("zombie",)
    ]
    assert conn.execute("SELECT count(*) FROM process_events").fetchone() == (0,)
    conn.close()


def test_ls_pages_past_it_either_way(tmp_path: Path) -> None:
    db = with_null(tmp_path)
    copy_row(db, "good", "other")

    def ids(*args: str) -> list[str]:
        result = run("ls", "--status", "any", "--json", *args, db=db)
        assert result.returncode == 0, result.stderr
        return [p["process_id"] for p in json.loads(result.stdout)]

    assert ids("--after", "NULL") == ["good", "other"]
    assert ids("--desc") == ["other", "good", "NULL"]
    # A walk down from a text id meets the NULL row too (NULL < 'good' is not true in SQL).
    assert ids("--desc", "--after", "good") == ["NULL"]
    assert ids("--desc", "--after", "NULL") == []


def test_ls_of_every_row_ends_when_a_full_page_ends_on_it(tmp_path: Path) -> None:
    # 1,999 text ids and the NULL row: `ls --desc --limit 0` reads pages of 2,000
    # (listing.py `LS_PAGE`), and the first ends on the NULL row. Its cursor was the
    # column's None, which read as "no cursor": the listing started over, forever.
    db = with_null(tmp_path)
    conn = sqlite3.connect(db)
    with conn:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(processes)")]
        rest = ", ".join(c for c in columns if c != "process_id")
        conn.execute(
            f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1998) "
            f"INSERT INTO processes (process_id, {rest}) SELECT printf('p%04d', i), {rest} "
            "FROM n, processes WHERE process_id = 'good'"
        )
    conn.close()
    listed = run("ls", "--status", "any", "--json", "--desc", "--limit", "0", db=db)
    assert listed.returncode == 0, listed.stderr
    ids = [p["process_id"] for p in json.loads(listed.stdout)]
    assert len(ids) == 2000 and ids[0] == "p1998" and ids[-1] == "NULL"


def test_a_number_is_stored_as_text_and_read_as_any_text_id(tmp_path: Path) -> None:
    db = seeded(tmp_path, None)
    for number in (42, 1.5):
        copy_row(db, "good", number)  # type: ignore[arg-type]  # (as another program binds)
    conn = sqlite3.connect(db)
    stored = conn.execute("SELECT typeof(process_id), process_id FROM processes").fetchall()
    conn.close()
    assert sorted(stored) == [("text", "1.5"), ("text", "42"), ("text", "good")]
    assert statuses(db) == {"1.5": "running", "42": "running", "good": "running"}
    assert run("show", "42", db=db).stdout.startswith("42  ")


def test_prune_deletes_an_ended_one_it_counts(tmp_path: Path) -> None:
    # It said "pruned 2 terminal processes" and left the NULL row in place (`IN` never
    # matches NULL), still listed by the next `ls`.
    db = with_null(tmp_path, status="failed")
    assert run("worker", "--once", db=db).returncode == 0  # good fails (no engine `echo`)
    dry = run("prune", "--older-than", "0s", "--dry-run", db=db)
    assert dry.returncode == 0 and "2 terminal processes" in dry.stdout, dry

    pruned = run("prune", "--older-than", "0s", db=db)

    assert pruned.returncode == 0, pruned.stderr
    assert pruned.stdout.startswith("done: pruned 2 terminal processes"), pruned.stdout
    assert statuses(db) == {}
