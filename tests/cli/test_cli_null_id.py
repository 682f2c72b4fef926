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
import shlex
import sqlite3
from pathlib import Path

import pytest

from lashtui.cli import main
from tests.cli.service import Worker, start, steps
from tests.cli.test_cli_blob_id import run, seeded, statuses
from tests.raw import copy_row

WHY = (
    "its process_id column is NULL, not text: no lashtui statement can name it, so "
    "nothing runs, recovers or ends it"
)
REFUSED = (
    "process `NULL` has an id that is not text (its process_id column is NULL), which no "
    "lashtui statement can name, so lashtui only lists and shows it, and `prune` deletes it "
    "once its status column says it ended: only another program (sqlite3) can rewrite its "
    "row, or delete it sooner"
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
    assert f"skipped NULL#2: {WHY}" in swept.stderr
    cancel = run("cancel", "NULL", db=db)  # (it said "unknown process")
    assert cancel.returncode == 1 and cancel.stdout == f"NULL: refused: {REFUSED}\n", cancel

    once = run("worker", "--once", db=db)
    assert once.returncode == 0, once.stderr
    assert once.stdout == "worker: one pass, 2 rows looked at: 1 ran, 1 skipped (undecodable)\n"
    assert f"skipped NULL#2: {WHY}" in once.stderr  # (by its rowid, as `ls` names it)
    assert statuses(db) == {"NULL#2": "running", "good": "failed"}  # (echo: no such engine)


def test_a_long_running_worker_drives_past_it(tmp_path: Path, workers: list[Worker]) -> None:
    db = with_null(tmp_path)
    worker = Worker(db)
    workers.append(worker)
    worker.until_event("run_ended", "good")
    start(db, "later", steps({"finish": "done"}))  # started while it runs: still driven
    assert worker.until_event("run_ended", "later")["outcome"] == "completed"
    assert any(f"skipped NULL#2: {WHY}" in line for line in worker.lines), worker.lines


def test_ls_show_events_check_and_actions_name_it_alike(tmp_path: Path) -> None:
    db = with_null(tmp_path, status="zombie")

    listed = run("ls", "--status", "any", "--json", db=db)
    assert listed.returncode == 0, listed.stderr
    rows = {p["process_id"]: p for p in json.loads(listed.stdout)}
    assert list(rows) == ["NULL#2", "good"]  # NULL first, where SQLite sorts it; its rowid
    assert rows["NULL#2"]["kind"] == "undecodable" and WHY in rows["NULL#2"]["undecodable"]
    text = run("ls", "--status", "any", db=db)
    assert [line.split()[0] for line in text.stdout.splitlines()[1:]] == ["NULL#2", "good"]

    check = run("check", db=db)
    assert check.returncode == 1, check
    assert "1 row whose state is unknown, first NULL#2 (`lashtui show 'NULL#2'` says why)" in (
        check.stdout
    )
    for named in ("NULL#2", "NULL"):  # (`NULL`: the first by rowid, while no row is so named)
        shown = run("show", named, db=db)
        assert shown.returncode == 0, shown.stderr
        first, _, rest = shown.stdout.partition("\n")
        assert first.startswith("NULL#2  ") and first.endswith(" (undecodable)"), first
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
    assert ids("--desc") == ["other", "good", "NULL#2"]
    # A walk down from a text id meets the NULL row too (NULL < 'good' is not true in SQL).
    assert ids("--desc", "--after", "good") == ["NULL#2"]
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
    assert len(ids) == 2000 and ids[0] == "p1998" and ids[-1] == "NULL#2"


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


@pytest.mark.parametrize("status", ["zombie", "cancelled"])
@pytest.mark.parametrize(("stored", "shown"), [(None, "NULL"), (b"abc", "b'abc'")])
def test_an_action_on_it_in_no_state_or_a_placeholder_s_says_its_id_is_not_text(
    tmp_path: Path, stored: bytes | None, shown: str, status: str
) -> None:
    # Its stand-in's state is a placeholder (the record is never read): with no state in
    # its status column the stand-in is `failed`, so `cancel` said "process `NULL` is
    # already terminal", `signal` the same and `abandon` "terminal process ... cannot
    # accept an abandon request"; with `cancelled` there, cancel said "already cancelled"
    # (unchanged). Each now says what is true: its id is not text.
    db = seeded(tmp_path, None)
    copy_row(db, "good", stored)
    conn = sqlite3.connect(db)
    with conn:
        conn.execute(
            "UPDATE processes SET status = ? WHERE typeof(process_id) != 'text'", (status,)
        )
    conn.close()
    column = "is NULL" if stored is None else "holds a blob"
    refused = (
        f"{shown}: refused: process `{shown}` has an id that is not text (its process_id "
        f"column {column}), which no lashtui statement can name"
    )
    for action in (["cancel", shown], ["signal", shown, "go"], ["abandon", shown]):
        acted = run(*action, db=db)
        assert acted.returncode == 1, acted
        assert acted.stdout.startswith(refused), acted.stdout
        assert "terminal" not in acted.stdout and "already" not in acted.stdout
    conn = sqlite3.connect(db)  # nothing written
    assert conn.execute("SELECT count(*) FROM process_events").fetchone() == (0,)
    conn.close()


def test_errors_groups_a_failed_row_whose_id_is_not_text_apart(tmp_path: Path) -> None:
    # Two NULL rows and a blob's, each a copy of a failed row: `errors` counted all four as
    # "process_engine_missing", the failure their records name, though every reader shows
    # them as stand-ins whose records are never read. They group apart, by what they are.
    db = seeded(tmp_path, None)
    assert run("worker", "--once", db=db).returncode == 0  # good fails (no engine `echo`)
    for stored in (None, None, b"abc"):
        copy_row(db, "good", stored)

    shown = run("errors", "--json", db=db)

    assert shown.returncode == 0, shown.stderr
    groups = {(g["code"], g["message"]): g["count"] for g in json.loads(shown.stdout)["groups"]}
    assert groups == {
        ("process_engine_missing", "no process engine is registered under `echo`"): 1,
        ("process_id_not_text", WHY): 2,
        ("process_id_not_text", WHY.replace("is NULL", "holds a blob")): 1,
    }



SORTS = ["id", "status", "label", "age", "updated", "lease_expiry"]


def paged_registry(tmp_path: Path) -> Path:
    """Two NULL rows, two blobs and three text ids, in three status arms (running, failed,
    no state), their times apart."""
    db = seeded(tmp_path, None)
    for stored in ("a", "m", None, None, b"abc", b"\xff"):
        copy_row(db, "good", stored)
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE processes SET updated_at_ms = updated_at_ms + rowid * 1000")
        conn.execute("UPDATE processes SET created_at_ms = created_at_ms + rowid * 1000")
        conn.execute("UPDATE processes SET status = 'failed' WHERE process_id IN ('a', x'616263')")
        conn.execute("UPDATE processes SET status = 'zombie' WHERE rowid % 3 = 0")
    conn.close()
    return db


def ls_json(capsys: pytest.CaptureFixture[str], db: Path, *flags: str) -> tuple[list[str], str]:
    """`lashtui ls --status any --json` in-process, as the console script runs it (`main`):
    the ids and stderr. In-process because a walk is some 140 runs of `ls` (a subprocess
    each took the test past two minutes)."""
    code = main(["--db", str(db), "ls", "--status", "any", "--json", *flags])
    out, err = capsys.readouterr()
    assert code == 0, (flags, err)
    return [p["process_id"] for p in json.loads(out)], err


def listed_and_paged(
    capsys: pytest.CaptureFixture[str], db: Path, sort: str, *flags: str
) -> tuple[list[str], dict[str, list[str]]]:
    """The ids `ls --limit 0` lists in this order, and those paged by `--limit 1` and 2,
    each page from the `--after` the last one's note names, until a page names none."""
    listed, _ = ls_json(capsys, db, "--limit", "0", "--sort", sort, *flags)
    paged: dict[str, list[str]] = {}
    for limit in ("1", "2"):
        ids: list[str] = []
        after: list[str] = []
        for _ in range(len(listed) + 2):  # (a guard: paging must end)
            page, err = ls_json(capsys, db, "--limit", limit, "--sort", sort, *flags, *after)
            ids += page
            if "--after " not in err:
                break
            word = err.split("--after ", 1)[1].split(" for the next page")[0]
            after = ["--after", *shlex.split(word)]
        else:
            raise AssertionError(f"paging did not end: {sort} {flags} {limit} {ids}")
        paged[limit] = ids
    return listed, paged


@pytest.mark.parametrize("desc", [False, True], ids=["asc", "desc"])
@pytest.mark.parametrize("sort", SORTS)
def test_ls_pages_across_null_and_blob_rows_in_every_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], sort: str, desc: bool
) -> None:
    # Paged one and two rows at a time by the `--after` each page's note names. Before:
    # `--sort` anything but id over such rows failed whole (the arms' merge compared a
    # NULL's or a blob's id with a text id on a tie of the key: a TypeError); `ls --limit
    # 1` over the two NULL rows said nothing of the rows after them (the walk's LIMIT
    # took both, which list as one: a short page reads as the last); and a page that ended
    # on a blob ended in a traceback (its note was asked of the bytes, not `b'abc'`).
    db = paged_registry(tmp_path)
    listed, paged = listed_and_paged(capsys, db, sort, *(["--desc"] if desc else []))
    # Each NULL row is a row of its own, named by its rowid (blob_id.py).
    assert sorted(listed) == sorted(["NULL#4", "NULL#5", "a", "good", "m", "b'abc'", "b'\\xff'"])
    assert paged == {"1": listed, "2": listed}
    # The console script itself lists the same (the walk above ran `main` in-process).
    whole = run("ls", "--status", "any", "--json", "--limit", "0", "--sort", sort,
                *(["--desc"] if desc else []), db=db)  # fmt: skip
    assert [p["process_id"] for p in json.loads(whole.stdout)] == listed, whole.stderr


def test_a_text_id_spelled_as_a_stand_in_and_the_row_that_reads_so_are_told_apart(
    tmp_path: Path,
) -> None:
    # Text ids `NULL` and `b'zz'` beside a NULL id's row and a blob `zz`'s: the text rows
    # win their spelling (every command names them), and `show` of either said nothing of
    # the other row that reads the same. It now says so, and the blob is named by SQLite's
    # own spelling of it, `X'7A7A'`, which `show` names.
    db = seeded(tmp_path, None)
    for stored in ("NULL", "b'zz'", None, b"zz"):
        copy_row(db, "good", stored)

    text_null = run("show", "NULL", db=db)
    assert text_null.returncode == 0, text_null.stderr
    first, _, rest = text_null.stdout.partition("\n")
    assert first.startswith("NULL  ● running  echo"), first  # the text row, decoded
    assert (
        "also           a row whose process_id column is NULL is listed as NULL#4, which "
        "`NULL` names while no row has that id; `lashtui show 'NULL#4'` shows it"
    ) in rest
    text_blob = run("show", "b'zz'", db=db)
    assert text_blob.returncode == 0, text_blob.stderr
    assert text_blob.stdout.startswith("b'zz'  ● running  echo"), text_blob.stdout
    assert (
        "also           a row whose process_id column holds a blob reads as b'zz' too; "
        "`lashtui show 'X'\"'\"'7A7A'\"'\"''` shows it"
    ) in text_blob.stdout
    # ...and the other way round: the spelling it names finds the blob's row, whose
    # detail is the stand-in's, and no text row's id is spelled so.
    blob = run("show", "X'7A7A'", db=db)
    assert blob.returncode == 0, blob.stderr
    assert blob.stdout.startswith("b'zz'  ") and "(undecodable)\n" in blob.stdout
    assert "its process_id column holds a blob" in blob.stdout and "also  " not in blob.stdout
    lower = run("show", "x'7a7a'", db=db)
    assert lower.stdout.partition("\n")[0] == blob.stdout.partition("\n")[0]
    cancel = run("cancel", "X'7A7A'", db=db)  # refused as the blob's, by that spelling
    assert cancel.returncode == 1 and "(its process_id column holds a blob)" in cancel.stdout
    listed = run("ls", "--status", "any", "--json", "--after", "X'7A7A'", db=db)
    assert json.loads(listed.stdout) == []  # the blob sorts last: nothing after it
    # With no text row of that spelling, the stand-in's own spelling finds it, as before.
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("DELETE FROM processes WHERE process_id IN ('NULL', 'b''zz''')")
    conn.close()
    for spelled, listed_as in (("NULL", "NULL#4"), ("b'zz'", "b'zz'")):
        alone = run("show", spelled, db=db)
        assert alone.returncode == 0, alone.stderr
        assert alone.stdout.startswith(f"{listed_as}  ") and "(undecodable)\n" in alone.stdout
        assert "also  " not in alone.stdout


def inserted_after_the_feed(db: Path, stored: bytes | str | None) -> None:
    """A running copy of `good` keyed by `stored`, inserted as another program would, its
    change the feed's next (so a worker woken by the commit reads it)."""
    copy_row(db, "good", stored)
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE process_change_clock SET current_seq = current_seq + 1")
        conn.execute(
            "UPDATE processes SET status = 'running', change_seq = "
            "(SELECT current_seq FROM process_change_clock) WHERE rowid = (SELECT max(rowid) "
            "FROM processes)"
        )
    conn.close()


def test_a_woken_worker_names_it_as_its_drive_does(tmp_path: Path, workers: list[Worker]) -> None:
    """A running worker woken by another program's commit reads what the change feed has
    after its cursor. It left a NULL id's row out unsaid (its read of the rows by id, `IN`,
    never matches NULL): not skipped, not counted, not named until the next full drive (a
    renew interval away: 8 hours here), while a blob's row, read the same way, was named at
    once. Now both are skipped and named as the drive names them."""
    db = seeded(tmp_path, None)
    copy_row(db, "good", "bad", "{not json")  # only a full drive lists it (not the backlog)
    worker = Worker(db, ttl_ms="86400000")  # full drives 8 hours apart: only wakes here
    workers.append(worker)

    def skipped() -> list[str]:
        said = [line.get("message", "") for line in worker.records()]
        return [m.split(":")[0].removeprefix("skipped ") for m in said if m.startswith("skipped ")]

    worker.until(lambda: "bad" in skipped(), "its first full drive")
    start(db, "later", steps({"finish": "done"}))  # run on a wake: the watch is armed
    worker.until_event("run_ended", "later")
    inserted_after_the_feed(db, None)
    inserted_after_the_feed(db, b"zz")  # a commit after the NULL row's
    worker.until(lambda: "b'zz'" in skipped(), "the blob's row skipped", guard_s=30)
    assert skipped() == ["bad", "NULL#4", "b'zz'"], worker.lines  # (rowid 4: after `later`)
