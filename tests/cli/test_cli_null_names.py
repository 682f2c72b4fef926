"""Rows whose `process_id` is NULL named apart everywhere a row is named, on real SQLite files
seeded with raw SQL: three NULL rows beside a text row `NULL`, a text row `NULL#2` (the name
the NULL row at rowid 2 would have) and ordinary rows (tests/lash/test_lash_null_rows.py:
the same in registries lash wrote).

Before: `sweep`, `worker --once` and a worker's drive named every NULL row `NULL` in their
"skipped" lines (three rows read as one; a drive listed the backlog's first two rows, both
NULL ones, so `worker --once` ran none of it); and the text row `NULL#2` took that name from
the NULL row at rowid 2 (`ls` listed two rows `NULL#2`, `show 'NULL#2'` and `check`'s hint
led to the text row, `--after 'NULL#2'` went on from it). Now a NULL row is `NULL#<rowid>`,
with one `#` more while a text row has that id
(registry/sql/blob_id.py `null_name_sql`): the text row keeps its id, and every name listed
is one row's, which every command takes back to that row."""

from __future__ import annotations

import json
import re
import shlex
import sqlite3
from pathlib import Path

import pytest

from lashtui.cli import main
from tests.cli.template import in_process
from tests.cli.test_cli_blob_id import run
from tests.raw import copy_row

# rowids: good 1, the NULL rows 2 to 4, then `NULL`, `NULL#2` and `other`
NAMES = ["NULL##2", "NULL#3", "NULL#4"]
EVERY = [*NAMES, "NULL", "NULL#2", "good", "other"]
NULL_WHY = "its process_id column is NULL, not text"


def registry(tmp_path: Path, no_state: bool = False) -> Path:
    """`good` as lashtui starts it (rerunnable, running); then with raw SQL three NULL
    rows, a text row `NULL`, a text row `NULL#2` and `other`, each a copy of `good`'s
    row; with `no_state`, the NULL row at rowid 2 in no state (`zombie`). (`good` is
    started in this process: tests/cli/template.py says why.)"""
    db = tmp_path / "reg.db"
    in_process(db, "start", "good", "--engine", "echo", "--disposition", "rerunnable")
    for stored in (None, None, None, "NULL", "NULL#2", "other"):
        copy_row(db, "good", stored)
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE processes SET updated_at_ms = updated_at_ms + rowid * 1000")
        if no_state:
            conn.execute("UPDATE processes SET status = 'zombie' WHERE rowid = 2")
    stored_ids = conn.execute("SELECT rowid, process_id FROM processes ORDER BY rowid").fetchall()
    conn.close()
    assert [pid for _, pid in stored_ids] == ["good", None, None, None, "NULL", "NULL#2", "other"]
    return db


def skipped(err: str) -> list[str]:
    """The rows a pass's log says it skipped for a NULL id, in the order logged."""
    return re.findall(rf"skipped (\S+): {NULL_WHY}", err)


def test_the_sweep_and_the_worker_name_each_null_row_they_skip(tmp_path: Path) -> None:
    # They said "skipped NULL" of each (the sweep three times, the worker once: it logs a
    # name once), and the drive of `worker --once` listed two NULL rows of the backlog
    # and nothing else of it: "3 rows looked at: 3 skipped", none of the four run.
    db = registry(tmp_path)

    swept = run("sweep", db=db)
    assert swept.returncode == 0, swept.stderr
    assert swept.stdout == (
        "sweep: one pass, 7 rows looked at: 4 runnable, left for a worker, "
        "3 skipped (undecodable)\n"
    )
    assert sorted(skipped(swept.stderr)) == sorted(NAMES), swept.stderr

    once = run("worker", "--once", db=db)
    assert once.returncode == 0, once.stderr
    assert once.stdout == "worker: one pass, 7 rows looked at: 4 ran, 3 skipped (undecodable)\n"
    assert sorted(skipped(once.stderr)) == sorted(NAMES), once.stderr
    # Each name it logged is the row `show` finds by it.
    for name in NAMES:
        shown = run("show", name, db=db)
        assert shown.stdout.startswith(f"{name}  ") and NULL_WHY in shown.stdout, shown


def listed(capsys: pytest.CaptureFixture[str], db: Path, *flags: str) -> tuple[list[str], str]:
    """`lashtui ls --status any --json` in-process (`main`, as the console script): the
    ids and stderr."""
    code = main(["--db", str(db), "ls", "--status", "any", "--json", *flags])
    out, err = capsys.readouterr()
    assert code == 0, (flags, err)
    return [p["process_id"] for p in json.loads(out)], err


def walk(
    capsys: pytest.CaptureFixture[str], db: Path, *flags: str, pages: int = len(EVERY) + 2
) -> list[str]:
    """`ls --limit 1` page after page, each from the `--after` the last one's note names,
    to the last page (at most `pages`: a guard, as paging must end)."""
    seen: list[str] = []
    after: list[str] = []
    for _ in range(pages):
        page, err = listed(capsys, db, "--limit", "1", *flags, *after)
        seen += page
        found = re.search(r"--after (.*) for the next page", err)
        if found is None:
            return seen
        after = ["--after", *shlex.split(found.group(1))]
    return seen


def test_a_text_row_keeps_its_id_and_the_null_row_it_shadows_is_named_apart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The text row `NULL#2` took that name from the NULL row at rowid 2: `ls` listed two
    # rows `NULL#2`, `check` said "first NULL#2 (`lashtui show 'NULL#2'` says why)" of the
    # NULL row and `show 'NULL#2'` showed the text row, which decodes; nothing named the
    # NULL row, and a page ending on it went on from the text row.
    db = registry(tmp_path, no_state=True)

    assert listed(capsys, db)[0] == EVERY
    assert listed(capsys, db, "--desc")[0] == EVERY[::-1]
    for sort in ("id", "updated", "label"):
        for desc in ([], ["--desc"]):
            whole = listed(capsys, db, "--sort", sort, *desc)[0]
            assert sorted(whole) == sorted(EVERY), (sort, desc)
            assert walk(capsys, db, "--sort", sort, *desc) == whole, (sort, desc)
    assert listed(capsys, db, "--after", "NULL##2")[0] == EVERY[1:]
    assert listed(capsys, db, "--after", "NULL#2")[0] == ["good", "other"]  # the text row's
    assert listed(capsys, db, "--desc", "--after", "NULL#3")[0] == ["NULL##2"]

    check = run("check", db=db)
    assert "1 row whose state is unknown, first NULL##2 (`lashtui show 'NULL##2'` says why)" in (
        check.stdout
    ), check.stdout
    null_row = run("show", "NULL##2", db=db)
    assert null_row.returncode == 0, null_row.stderr
    head = null_row.stdout.partition("\n")[0]
    assert head.startswith("NULL##2  ") and " no state  undecodable: its process_id" in head
    text_row = run("show", "NULL#2", db=db)
    assert text_row.returncode == 0, text_row.stderr
    assert text_row.stdout.startswith("NULL#2  ● running  echo"), text_row.stdout  # decoded
    assert (
        "also           the row whose process_id column is NULL at rowid 2 is listed as "
        "NULL##2, since this row has its name; `lashtui show 'NULL##2'` shows it"
    ) in text_row.stdout
    unshadowed = run("show", "NULL#3", db=db)  # (no text row has its name: nothing to add)
    assert unshadowed.stdout.startswith("NULL#3  ") and "also  " not in unshadowed.stdout

    refused = run("cancel", "NULL##2", db=db)
    assert refused.returncode == 1, refused
    assert refused.stdout.startswith(
        "NULL##2: refused: process `NULL##2` has an id that is not text (its process_id "
        "column is NULL)"
    ), refused.stdout
    conn = sqlite3.connect(db)  # nothing written
    assert conn.execute("SELECT count(*) FROM process_events").fetchone() == (0,)
    conn.close()

