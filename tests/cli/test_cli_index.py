"""`lashtui index` gives a registry an older lashtui made the indexes this one reads by:
`--dry-run` names the missing ones and writes nothing, a run creates exactly those (and the
sorted page then seeks by them), a second run has nothing to do; on both stores. In-process
through `main([...])`, as the console script runs it."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path

import pytest

from lashtui.cli import main
from lashtui.model import ProcessPageQuery
from lashtui.registry import open_registry
from lashtui.registry.sql.backlog_mark import STALE_INDEX, UNMARKED_INDEX
from lashtui.registry.sql.dialect import SQLITE, SQLITE_LABELLED, Dialect
from lashtui.registry.sql.order import label_key, sorted_statements
from tests.raw import raw_connection

# What an older build did not make: the sorted orders' and the charts' indexes.
OLDER = ("processes_status_created_idx", "processes_status_updated_idx", "processes_created_idx")
# Every index a registry of this build has, with the drive's two (sql/backlog_mark.py) and
# the cancel requests' (sql/log_read.py CANCEL_REQUESTED_INDEX); PostgreSQL has two more:
# the waiting rows', which its census reads (postgres/schema.py WAITING_INDEX), and the
# held leases' (sql/filter.py HELD_INDEX).
ALL = {"sqlite": 16, "postgres": 18}


def run(capsys: pytest.CaptureFixture[str], target: str, *args: str) -> tuple[int, str, str]:
    code = main(["--db", target, *args])
    out, err = capsys.readouterr()
    return code, out, err


def files(target: str) -> str:
    path = Path(target)
    return "".join(
        f"{p.name}:{hashlib.sha256(p.read_bytes()).hexdigest()}"
        for p in sorted(path.parent.iterdir())
        if p.name.startswith(path.name)
    )


@pytest.fixture
def older(registry_target: str, capsys: pytest.CaptureFixture[str]) -> str:
    """A registry with rows, as a build without three of today's indexes left it."""
    for pid in ("a", "b"):
        assert run(capsys, registry_target, "start", pid, "--external")[0] == 0
    with raw_connection(registry_target) as conn:
        for name in OLDER:
            conn.execute(f"DROP INDEX {name}")
    return registry_target


def test_dry_run_names_what_is_missing_and_writes_nothing(
    older: str, backend: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = files(older) if backend == "sqlite" else ""
    code, out, err = run(capsys, older, "index", "--dry-run")
    assert (code, err) == (0, "")
    assert out.startswith("would create 3 indexes (") and out.endswith("nothing written\n")
    assert all(name in out for name in OLDER)
    if backend == "sqlite":
        assert files(older) == before
    code, out, _ = run(capsys, older, "index", "--dry-run", "--json")
    report = json.loads(out)
    assert (report["dry_run"], report["created"]) == (True, [])
    assert sorted(report["would_create"]) == sorted(OLDER)
    assert len(report["present"]) == ALL[backend] - len(OLDER)


def test_index_creates_the_missing_ones_then_has_nothing_to_do(
    older: str, backend: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, older, "index", "--json")
    assert (code, err) == (0, "")
    report = json.loads(out)
    assert sorted(report["created"]) == sorted(OLDER) and report["dry_run"] is False
    assert (report["added_columns"], report["filled"]) == ([], {})
    code, out, _ = run(capsys, older, "index")
    assert out == f"nothing to do: all {ALL[backend]} indexes are there; nothing written\n"
    if backend == "sqlite":  # the age order seeks by its index again
        (select, params), *_ = sorted_statements(ProcessPageQuery(order="age"), SQLITE)[0]
        with raw_connection(older) as conn:
            plan = " ".join(
                str(row) for row in conn.execute(f"EXPLAIN QUERY PLAN {select}", params)
            )
        assert "processes_status_created_idx" in plan
    code, out, _ = run(capsys, older, "ls", "--sort", "age", "--json")
    assert code == 0 and [p["process_id"] for p in json.loads(out)] == ["b", "a"]  # newest first


def test_a_registry_that_is_not_there_is_one_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = str(tmp_path / "none.db")
    code, out, err = run(capsys, missing, "index")
    assert code == 1 and out == "" and err.count("\n") == 1 and "none.db" in err
    assert not Path(missing).exists()


def test_an_older_sqlite_registry_gets_the_label_column_and_its_index_replaced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file an older build made has no `sort_label` column and a label index on the
    JSON alone: it is read and written as it is (inserts leave the column out, a label page
    sorts by the JSON index), `index --dry-run` names the column, the new index and the one
    it replaces and writes nothing, and `index` makes all three changes in one go; the rows
    it had sort by their JSON, the ones inserted after by the column."""
    db = str(tmp_path / "old.db")
    for pid, label in (("a", "mike"), ("b", "alpha")):
        assert run(capsys, db, "start", pid, "--external", "--label", label)[0] == 0
    with raw_connection(db) as conn:
        conn.execute("DROP INDEX processes_status_sort_label_idx")
        conn.execute("ALTER TABLE processes DROP COLUMN sort_label")
        conn.execute(
            "CREATE INDEX processes_status_label_idx ON processes"
            f"(status, ({label_key(SQLITE, 'record_json')}), process_id)"
        )
    assert run(capsys, db, "start", "c", "--external", "--label", "zulu")[0] == 0

    def labelled() -> list[str]:
        code, out, _ = run(capsys, db, "ls", "--sort", "label", "--json")
        assert code == 0
        return [p["process_id"] for p in json.loads(out)]

    def plan(dialect: Dialect) -> str:
        query = ProcessPageQuery(order="label", states=frozenset({"running"}))
        (select, params), *_ = sorted_statements(query, dialect)[0]
        with raw_connection(db) as conn:
            return " ".join(str(r) for r in conn.execute(f"EXPLAIN QUERY PLAN {select}", params))

    assert labelled() == ["b", "a", "c"] and "processes_status_label_idx" in plan(SQLITE)
    before = files(db)
    code, out, err = run(capsys, db, "index", "--dry-run", "--json")
    report = json.loads(out)
    assert (code, err, files(db)) == (0, "", before)
    assert report["would_add_columns"] == ["sort_label"]
    assert report["would_create"] == ["processes_status_sort_label_idx"]
    assert report["would_drop"] == ["processes_status_label_idx"]

    code, out, err = run(capsys, db, "index")
    assert (code, err) == (0, "")
    assert out.startswith(
        "added column sort_label, then created 1 index (processes_status_sort_label_idx), "
        "then dropped processes_status_label_idx (replaced) in "
    )
    assert run(capsys, db, "start", "d", "--external", "--label", "echo")[0] == 0
    with raw_connection(db) as conn:
        stored = dict(conn.execute("SELECT process_id, sort_label FROM processes"))
        gone = conn.execute(
            "SELECT count(*) FROM sqlite_master WHERE name = 'processes_status_label_idx'"
        ).fetchone()[0]
    assert stored == {"a": None, "b": None, "c": None, "d": "echo"} and gone == 0
    assert labelled() == ["b", "d", "a", "c"]
    assert "processes_status_sort_label_idx" in plan(SQLITE_LABELLED)
    code, out, _ = run(capsys, db, "index")
    assert out == f"nothing to do: all {ALL['sqlite']} indexes are there; nothing written\n"


async def _drive(db: str) -> list[str]:
    async with open_registry(db) as registry:
        return [item.process_id for item in await registry.list_drive_work_items(10**13)]


def test_an_older_sqlite_registry_gets_the_backlog_mark_filled_and_the_drive_index(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file an older build made has no `backlog_seq` column, its trigger or the drive's
    indexes: a worker's drive tests every running row there, as before. `index` adds them
    all, and marks the running rows already there whose records are plainly the
    backlog's, so the drive reads the index alone and lists what it listed before."""
    db = str(tmp_path / "old.db")
    rerunnable = ("--disposition", "rerunnable", "--engine", "echo")
    for pid in ("a", "b", "c"):
        assert run(capsys, db, "start", pid, *rerunnable)[0] == 0
    assert run(capsys, db, "start", "x", "--external")[0] == 0
    with raw_connection(db) as conn:
        conn.execute(f"DROP INDEX {UNMARKED_INDEX}")
        conn.execute(f"DROP INDEX {STALE_INDEX}")
        conn.execute("DROP TRIGGER processes_backlog_seq_stale")
        conn.execute("ALTER TABLE processes DROP COLUMN backlog_seq")
    assert run(capsys, db, "start", "d", *rerunnable)[0] == 0  # leaves the column out
    before = asyncio.run(_drive(db))
    assert before == ["a", "b", "x"]  # the backlog's first two, and the external row

    code, out, err = run(capsys, db, "index", "--dry-run", "--json")
    report = json.loads(out)
    assert (code, err) == (0, "")
    assert (report["would_add_columns"], report["would_create"]) == (
        ["backlog_seq"], [UNMARKED_INDEX, STALE_INDEX],
    )
    code, out, err = run(capsys, db, "index")
    assert (code, err) == (0, "")
    assert out.startswith(
        "added column backlog_seq (backlog_seq set on 4 rows), "
        f"then created 2 indexes ({UNMARKED_INDEX}, {STALE_INDEX})"
    )
    with raw_connection(db) as conn:
        marked = conn.execute(
            "SELECT process_id FROM processes WHERE backlog_seq = change_seq ORDER BY 1"
        ).fetchall()
        triggers = conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        ).fetchall()
    assert [pid for (pid,) in marked] == ["a", "b", "c", "d"]  # not the external row
    assert triggers == [("processes_backlog_seq_stale",)]
    assert asyncio.run(_drive(db)) == before
    assert run(capsys, db, "start", "e", *rerunnable)[0] == 0
    with raw_connection(db) as conn:
        (mark,) = conn.execute(
            "SELECT backlog_seq = change_seq FROM processes WHERE process_id = 'e'"
        ).fetchone()
    assert mark == 1  # this build's inserts mark the rows they start
