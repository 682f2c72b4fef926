"""Rows whose `process_id` is NULL in registries lash itself wrote (copies of the fixtures,
seeded with raw SQL, then opened read-only through lash's views), through `lashtui` itself.

lash's `processes` is a rowid table keyed by `TEXT PRIMARY KEY`, which takes NULL more
than once, as lashtui's does. lashtui reads lash's tables through views, which had no rowid
(SQLite read `p.rowid` as NULL there), so every NULL row read as one `NULL` where a
registry lashtui wrote names each by its rowid (`NULL#4`: registry/sql/blob_id.py). The
views now name the table's rowid (registry/lash/v21.py)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from lashtui.cli import main
from tests.lash.fixture import copied, listing

NULL_WHY = "its process_id column is NULL, not text"


def with_null_rows(version: int, folder: Path) -> tuple[Path, list[str], int]:
    """A copy of lash's fixture of `version` with two NULL rows (copies of its first row):
    the file, the names they are listed by, and how many rows it holds."""
    db = copied(version, folder)
    conn = sqlite3.connect(db)
    with conn:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(processes)")]
        rest = ", ".join(c for c in columns if c != "process_id")
        for _ in range(2):
            conn.execute(
                f"INSERT INTO processes (process_id, {rest}) SELECT NULL, {rest} "
                "FROM processes WHERE rowid = (SELECT min(rowid) FROM processes)"
            )
    rowids = [r for (r,) in conn.execute("SELECT rowid FROM processes WHERE process_id IS NULL")]
    (total,) = conn.execute("SELECT count(*) FROM processes").fetchone()
    conn.close()
    assert len(rowids) == 2
    return db, [f"NULL#{rowid}" for rowid in rowids], int(total)


def ls(capsys: pytest.CaptureFixture[str], db: Path, *flags: str) -> tuple[list[str], str]:
    """`lashtui ls --status any --json` in-process (`main`, as the console script): the
    ids and stderr."""
    code = main(["--db", str(db), "ls", "--status", "any", "--json", *flags])
    out, err = capsys.readouterr()
    assert code == 0, (flags, err)
    return [p["process_id"] for p in json.loads(out)], err


@pytest.mark.parametrize("version", [6, 24])
def test_each_null_row_is_a_row_of_its_own_named_by_its_rowid(
    tmp_path: Path, version: int, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before: one `NULL` for both (the first by rowid), `show NULL#n` unknown.
    db, names, total = with_null_rows(version, tmp_path)
    before = listing(tmp_path)

    ids, _ = ls(capsys, db, "--limit", "0")
    assert ids[:2] == names and len(ids) == total == len(set(ids))
    first, err = ls(capsys, db, "--limit", "1")
    assert first == names[:1] and f"--after '{names[0]}' for the next page" in err, err
    assert ls(capsys, db, "--limit", "1", "--after", names[0])[0] == names[1:]
    assert ls(capsys, db, "--desc", "--limit", "0")[0] == ids[::-1]
    for name in names:
        code = main(["--db", str(db), "show", name])
        out, err = capsys.readouterr()
        assert code == 0, err
        assert out.startswith(f"{name}  ") and NULL_WHY in out, out
    assert listing(tmp_path) == before  # read-only: no byte written, no file beside it
