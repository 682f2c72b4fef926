"""A row whose `process_id` another program stored as a BLOB (SQLite columns take any type;
its TEXT affinity leaves a blob a blob), through the installed `lashtui` run as a
subprocess on a real file: the blob's bytes not UTF-8 (`r\\xffw`) or UTF-8 (`abc`).

Before, with bytes that are not UTF-8, `sweep` and `worker --once` failed whole ("failed to
decode process registry row"; --once said "0 rows looked at" and ran nothing): one row
locked the worker out of the registry. With UTF-8 bytes, `ls` listed a row that `show`
called unknown and the sweep counted busy, though no lease was held. Now the row is read as
Python writes bytes (`b'abc'`), a stand-in that says its id is not text: the worker and the
sweep run or count every other row and skip it, saying so, and `ls`, `show` and `check`
name it alike (registry/sql/blob_id.py)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.cli.template import in_process
from tests.cli.test_cli import LASHTUI
from tests.raw import copy_row

BLOBS = {"not UTF-8": (b"r\xffw", "b'r\\xffw'"), "UTF-8": (b"abc", "b'abc'")}


def run(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LASHTUI, "--db", str(db), *args], capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip


def seeded(tmp_path: Path, blob: bytes | None, status: str | None = None) -> Path:
    """A registry with one rerunnable row `good`, and (unless `blob` is None) a copy of its
    row keyed by `blob`, as another program would insert it (its status column `status`
    when given). `good` is started by the command's own code in this process (setup:
    tests/cli/template.py says why)."""
    tmp_path.mkdir(exist_ok=True)
    db = tmp_path / "reg.db"
    in_process(db, "start", "good", "--engine", "echo", "--disposition", "rerunnable")
    if blob is not None:
        copy_row(db, "good", blob)
        conn = sqlite3.connect(db)
        with conn:
            if status is not None:
                conn.execute(
                    "UPDATE processes SET status = ? WHERE typeof(process_id) = 'blob'", (status,)
                )
        conn.close()
        assert sqlite3.connect(db).execute(
            "SELECT count(*) FROM processes WHERE typeof(process_id) = 'blob'"
        ).fetchone() == (1,)
    return db


def statuses(db: Path) -> dict[str, str]:
    result = run("ls", "--status", "any", "--json", db=db)
    assert result.returncode == 0, result.stderr
    return {p["process_id"]: p["lifecycle"] for p in json.loads(result.stdout)}


@pytest.mark.parametrize("blob", BLOBS, ids=list(BLOBS))
def test_sweep_counts_every_other_row_and_skips_it(tmp_path: Path, blob: str) -> None:
    raw, shown = BLOBS[blob]
    without = run("sweep", db=seeded(tmp_path / "without", None))
    assert without.returncode == 0, without.stderr
    assert without.stdout == "sweep: one pass, 1 row looked at: 1 runnable, left for a worker\n"

    db = seeded(tmp_path, raw)
    swept = run("sweep", db=db)

    assert swept.returncode == 0, swept.stderr
    assert swept.stdout == (
        "sweep: one pass, 2 rows looked at: 1 runnable, left for a worker, "
        "1 skipped (undecodable)\n"
    )
    assert f"skipped {shown}: " in swept.stderr and "busy" not in swept.stdout
    # An action on it is refused in one sentence that says why (it said "unknown process").
    cancel = run("cancel", shown, db=db)
    assert cancel.returncode == 1, cancel
    assert cancel.stdout == (
        f"{shown}: refused: process `{shown}` has an id that is not text (its process_id "
        "column holds a blob), which no lashtui statement can name, so lashtui only lists "
        "and shows it, and `prune` deletes it once its status column says it ended: only "
        "another program (sqlite3) can rewrite its row, or delete it sooner\n"
    )


@pytest.mark.parametrize("blob", BLOBS, ids=list(BLOBS))
def test_worker_once_runs_every_other_row_and_skips_it(tmp_path: Path, blob: str) -> None:
    raw, shown = BLOBS[blob]
    db = seeded(tmp_path, raw)

    once = run("worker", "--once", db=db)

    assert once.returncode == 0, once.stderr
    assert once.stdout == "worker: one pass, 2 rows looked at: 1 ran, 1 skipped (undecodable)\n"
    # Its log line names the real reason, its id column (it said "its record could not be
    # decoded", a record never read), as its stand-in does.
    assert f"skipped {shown}: its process_id column holds a blob, not text: " in once.stderr
    assert "could not be decoded" not in once.stderr, once.stderr
    # `good` ran (echo has no engine here, so it failed); the blob's row is left alone.
    assert statuses(db) == {"good": "failed", shown: "running"}
    again = run("worker", "--once", db=db)  # and it does not lock the next pass out either
    assert again.returncode == 0 and "1 skipped (undecodable)" in again.stdout, again


@pytest.mark.parametrize("blob", BLOBS, ids=list(BLOBS))
def test_ls_show_and_check_name_it_alike(tmp_path: Path, blob: str) -> None:
    raw, shown = BLOBS[blob]
    db = seeded(tmp_path, raw, status="zombie")  # (so that `check` names it: no state)

    listed = run("ls", "--status", "any", "--json", db=db)
    assert listed.returncode == 0, listed.stderr
    rows = {p["process_id"]: p for p in json.loads(listed.stdout)}
    assert set(rows) == {"good", shown}  # (never `abc`, which names no row)
    assert rows[shown]["kind"] == "undecodable"
    assert "process_id column holds a blob" in rows[shown]["undecodable"]

    check = run("check", db=db)
    assert check.returncode == 1, check
    # The command `check` suggests is a shell word: run as written, it finds the row.
    suggested = check.stdout.split("(`", 1)[1].split("`", 1)[0]
    assert suggested.startswith("lashtui show "), check.stdout
    looked = subprocess.run(
        ["bash", "-c", f"{LASHTUI} --db {db} {suggested.removeprefix('lashtui ')}"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert looked.returncode == 0, looked.stderr
    first, _, rest = looked.stdout.partition("\n")
    assert first.startswith(f"{shown}  ") and first.endswith(" (undecodable)")
    # No way out is suggested that could not find it (end-undecodable is keyed by text).
    assert "end-undecodable" not in looked.stdout
    assert "not read       its lease, events" in rest

    ended = run("end-undecodable", shown, "--reason", "x", db=db)
    assert ended.returncode == 1
    assert "has an id that is not text (its process_id column holds a blob)" in ended.stdout
    refused = run("events", shown, db=db)
    assert refused.returncode == 1 and "lashtui only lists and shows it" in refused.stderr
    if blob == "UTF-8":  # its bytes as text name no row: every reader agrees
        assert "unknown process `abc`" in run("show", "abc", db=db).stderr


def test_worker_once_names_it_behind_a_backlog_of_several(tmp_path: Path) -> None:
    # Three rows wait: the drive lists the backlog's first two (drive.py `BACKLOG_LISTED`)
    # and the batch claim takes the rest, so the blob, sorted after every text id, was
    # never listed: "3 rows looked at: 3 ran", the row that can never run unsaid.
    db = seeded(tmp_path, b"r\xffw")
    for more in ("good2", "good3"):
        copy_row(db, "good", more)

    once = run("worker", "--once", db=db)

    assert once.returncode == 0, once.stderr
    assert once.stdout == "worker: one pass, 4 rows looked at: 3 ran, 1 skipped (undecodable)\n"
    assert "skipped b'r\\xffw': its process_id column holds a blob, not text" in once.stderr


def test_a_batch_s_undecodable_record_is_skipped_with_pydantic_s_why(tmp_path: Path) -> None:
    """A rerunnable row whose record lacks its `id`, among others a pass claims as a batch
    (registry `claim_processes_for_run`): its skip line said "its record could not be
    decoded (its record could not be decoded)", the batch's words twice and no reason.
    It now says why, as its stand-in does (sweep.py `_skip_unread`)."""
    db = seeded(tmp_path, None)
    for pid in ("bad", "other"):
        started = run("start", pid, "--engine", "echo", "--disposition", "rerunnable", db=db)
        assert started.returncode == 0, started.stderr
    conn = sqlite3.connect(db)
    with conn:
        conn.execute(
            "UPDATE processes SET record_json = json_remove(record_json, '$.id') "
            "WHERE process_id = 'bad'"
        )
    conn.close()

    once = run("worker", "--once", db=db)

    assert once.returncode == 0, once.stderr
    assert once.stdout == "worker: one pass, 3 rows looked at: 2 ran, 1 skipped (undecodable)\n"
    assert "skipped bad: its record could not be decoded (id: Field required)\n" in once.stderr
    assert once.stderr.count("could not be decoded") == 1, once.stderr


def test_ls_after_a_blob_id_lists_the_rows_past_it(tmp_path: Path) -> None:
    # `--after b'abc'` was taken as that text: every text id above it ('good', 'zz') and
    # every blob, the row itself included, came back as "the rows after b'abc'".
    db = seeded(tmp_path, b"abc")
    copy_row(db, "good", "zz")
    copy_row(db, "good", b"abd")

    def ids(*args: str) -> list[str]:
        result = run("ls", "--status", "any", "--json", *args, db=db)
        assert result.returncode == 0, result.stderr
        return [p["process_id"] for p in json.loads(result.stdout)]

    assert ids() == ["good", "zz", "b'abc'", "b'abd'"]  # where SQLite sorts them
    assert ids("--after", "b'abc'") == ["b'abd'"]
    assert ids("--after", "b'abd'") == []
    assert ids("--after", "zz") == ["b'abc'", "b'abd'"]  # past the last text id
    assert ids("--desc", "--after", "b'abd'") == ["b'abc'", "zz", "good"]
    # A page that ends on it says how to go on: its shell word reads back as `b'abc'`.
    paged = run("ls", "--status", "any", "--limit", "3", db=db)
    word = paged.stderr.split("--after ", 1)[1].split(" for the next page", 1)[0]
    said = subprocess.run(["bash", "-c", f"printf %s {word}"], capture_output=True, text=True,
                          timeout=60, check=True)  # fmt: skip
    assert said.stdout == "b'abc'"
