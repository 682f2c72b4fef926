"""Several rows whose `process_id` is NULL, beside a text row spelled `NULL`, a blob and
ordinary rows, through the installed `lashtui` on a real SQLite file seeded with raw SQL
(lash's layout and lashtui's key the table by a rowid table's `TEXT PRIMARY KEY`, which
takes NULL more than once).

Before, every NULL row read as `NULL`: `ls` in every order listed the first by rowid alone
(`ls --status any` listed 6 of these 8 rows) while the census and `check` counted each,
and `ls --limit 1 --after NULL` went on from the text row `NULL` (it wins that spelling),
passing over the text row itself. Now each NULL row reads as `NULL#<rowid>`
(registry/sql/blob_id.py), one row of its own in every order, page size and output."""

from __future__ import annotations

import json
import re
import shlex
import sqlite3
from pathlib import Path

import pytest

from tests.cli.template import copy_registry
from tests.cli.test_cli_blob_id import run
from tests.cli.test_cli_hostile import run_cli
from tests.raw import copy_row

SORTS = ["id", "status", "label", "age", "updated", "lease_expiry"]
# rowids: good 1, other 2, zed 3, then the copies in `registry`'s order
NULLS = ["NULL#4", "NULL#5", "NULL#6"]
EVERY = [*NULLS, "NULL", "good", "other", "zed", "b'zz'"]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`good`, `other` and `zed` as lashtui starts them; then with raw SQL three NULL rows
    (each its own record: a copy of `good`'s with its own label, one in no state, one
    failed), a text row `NULL` and a blob `zz`, each changed after the last. Built once
    for the module: its three `lashtui start` spawns were a tenth of each test's."""
    db = tmp_path_factory.mktemp("template") / "reg.db"
    for pid in ("good", "other", "zed"):
        started = run("start", pid, "--engine", "echo", "--disposition", "rerunnable", db=db)
        assert started.returncode == 0, started.stderr
    conn = sqlite3.connect(db)
    good = conn.execute("SELECT record_json FROM processes WHERE process_id = 'good'").fetchone()
    conn.close()
    for n, stored in enumerate((None, None, None, "NULL", b"zz")):
        record = json.loads(good[0])
        record["identity"]["label"] = f"copy {n}"
        copy_row(db, "good", stored, json.dumps(record))
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE processes SET change_seq = rowid * 10")
        conn.execute("UPDATE processes SET updated_at_ms = updated_at_ms + rowid * 1000")
        conn.execute("UPDATE processes SET status = 'zombie' WHERE rowid = 5")
        conn.execute("UPDATE processes SET status = 'failed' WHERE rowid = 6")
    kinds = [kind for (kind,) in conn.execute(
        "SELECT typeof(process_id) FROM processes ORDER BY rowid"
    )]  # fmt: skip
    conn.close()
    assert kinds == ["text"] * 3 + ["null"] * 3 + ["text", "blob"]
    return db


@pytest.fixture
def db(tmp_path: Path, template: Path) -> Path:
    """A copy of `template`, the test's own (tests/cli/template.py says why)."""
    return copy_registry(template, tmp_path)


def ids(db: Path, *args: str) -> list[str]:
    status = [] if "--status" in args else ["--status", "any"]
    listed = run("ls", *status, "--json", *args, db=db)
    assert listed.returncode == 0, listed.stderr
    return [p["process_id"] for p in json.loads(listed.stdout)]


def test_ls_lists_each_null_row_in_id_order_and_json(db: Path) -> None:
    assert ids(db) == EVERY
    assert ids(db, "--desc") == EVERY[::-1]
    text = run("ls", "--status", "any", db=db)
    assert [line.split()[0] for line in text.stdout.splitlines()[1:]] == EVERY
    rows = {p["process_id"]: p for p in json.loads(run("ls", "--status", "any", "-o", "json",
                                                         db=db).stdout)}  # fmt: skip
    assert [rows[pid]["lifecycle"] for pid in NULLS] == ["running", "failed", "failed"]
    assert rows["NULL#5"]["no_state"] is True and "no_state" not in rows["NULL#4"]
    assert rows["NULL"]["label"] == "copy 3"  # the text row, decoded
    assert all(rows[pid]["kind"] == "undecodable" for pid in NULLS)
    # Filtered by state, each NULL row is in its own state's arm (it read the first).
    assert ids(db, "--status", "failed") == ["NULL#6"]
    assert ids(db, "--status", "running")[:2] == ["NULL#4", "NULL"]


def walk(db: Path, limit: str, *args: str) -> list[str]:
    """`ls --limit N` page after page, each from the `--after` the last one's note names.
    Each page is the command's entry point run in this process (`run_cli`): the same
    parser, query and note as the installed command, whose whole listing in the same order
    each test still spawns (`ids`). A spawn a page was 150 spawns, most of the file's time."""
    seen: list[str] = []
    after: list[str] = []
    for _ in range(12):  # (a guard: paging must end)
        argv = ("ls", "--status", "any", "--json", "--limit", limit, *args, *after)
        code, out, err = run_cli("--db", str(db), *argv)
        assert code == 0, err
        seen += [p["process_id"] for p in json.loads(out)]
        found = re.search(r"--after (.*) for the next page", err.decode())
        if found is None:
            return seen
        after = ["--after", *shlex.split(found.group(1))]
    raise AssertionError(f"paging did not end: {seen}")


@pytest.mark.parametrize("sort", SORTS)
def test_every_order_lists_and_pages_each_row_once(db: Path, sort: str) -> None:
    for flags in ([], ["--desc"]):
        listed = ids(db, "--sort", sort, *flags)
        assert sorted(listed) == sorted(EVERY), (sort, flags, listed)
        assert walk(db, "1", "--sort", sort, *flags) == listed, (sort, flags)
        assert walk(db, "3", "--sort", sort, *flags) == listed, (sort, flags)


def test_after_names_each_null_row_and_the_text_row_apart(db: Path) -> None:
    assert ids(db, "--after", "NULL#4") == EVERY[1:]
    assert ids(db, "--after", "NULL#5", "--limit", "1") == ["NULL#6"]
    assert ids(db, "--after", "NULL") == EVERY[4:]  # the text row's spelling: it wins
    assert ids(db, "--desc", "--after", "NULL#6") == ["NULL#5", "NULL#4"]
    assert ids(db, "--desc", "--after", "NULL") == ["NULL#6", "NULL#5", "NULL#4"]
    first = run("ls", "--status", "any", "--limit", "1", db=db)
    assert "--after 'NULL#4' for the next page" in first.stderr, first.stderr


def test_check_and_show_name_the_null_row_meant(db: Path) -> None:
    # `check` said "first NULL (`lashtui show NULL` says why)", and `show NULL` is the
    # text row `NULL`, which decodes: the hint pointed at a row with nothing wrong.
    check = run("check", db=db)
    assert "1 row whose state is unknown, first NULL#5 (`lashtui show 'NULL#5'` says why)" in (
        check.stdout
    ), check.stdout
    for named, state in (("NULL#4", "running"), ("NULL#5", "no state"), ("NULL#6", "failed")):
        shown = run("show", named, db=db)
        assert shown.returncode == 0, shown.stderr
        head = shown.stdout.partition("\n")[0]
        assert head.startswith(f"{named}  ") and f" {state}  undecodable: its process_id" in head
    refused = run("cancel", "NULL#5", db=db)
    assert refused.returncode == 1 and "(its process_id column is NULL)" in refused.stdout
    gone = run("show", "NULL#9", db=db)  # no row has that rowid with a NULL id
    assert gone.returncode != 0 and "NULL#9" in gone.stderr, gone
