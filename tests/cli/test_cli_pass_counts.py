"""What `lashtui sweep` (and `worker --once`) prints of a pass that decided nothing, through
the installed `lashtui`: the same document as a pass that decided something, every count 0,
and how many rows it looked at; in words, that nothing was decided. It printed `{}`, which
said neither that the pass had looked nor at what, and a script had to know every key to
read the one it wanted as 0."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.cli.service import Worker, start, steps
from tests.cli.test_cli import LASHTUI


def run(db: Path | str, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [LASHTUI, "--db", str(db), *args]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done
    return done


@pytest.mark.parametrize("output", [("-o", "json"), ("--json",), ("-o", "jsonl")])
def test_a_pass_that_decided_nothing_says_so_in_the_same_document(
    tmp_path: Path, output: tuple[str, ...]
) -> None:
    db = tmp_path / "r.db"
    run(db, "start", "ext", "--external")  # a live row no sweep acts on: untouched
    quiet = json.loads(run(db, "sweep", *output).stdout)
    assert quiet.pop("looked_at") == 1
    assert {k: v for k, v in quiet.items() if v} == {"untouched": 1}, quiet

    run(db, "abandon", "ext", "--reason", "retired")  # now the sweep honours the request
    decided = json.loads(run(db, "sweep", *output).stdout)
    assert decided.pop("looked_at") == 1
    assert list(decided) == list(quiet)  # the same fields, in the same order
    assert {k: v for k, v in decided.items() if v} == {"abandoned_reconciled": 1}

    # Nothing live at all: still the document, of no rows.
    empty = json.loads(run(db, "sweep", *output).stdout)
    assert empty.pop("looked_at") == 0 and list(empty) == list(quiet)
    assert set(empty.values()) == {0}


def test_a_pass_that_decided_nothing_says_so_in_words(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    run(db, "start", "ext", "--external")
    assert run(db, "sweep").stdout == "sweep: one pass, 1 row looked at: 1 untouched\n"
    # A running worker's drive leaves the externally owned rows it may not claim unread;
    # a pass reads them, to say what it saw (it said `0 rows looked at`).
    assert run(db, "worker", "--once").stdout == (
        "worker: one pass, 1 row looked at: 1 untouched\n"
    )
    run(db, "abandon", "ext", "--reason", "retired")
    assert run(db, "sweep").stdout == (
        "sweep: one pass, 1 row looked at: 1 abandoned (abandon request honoured)\n"
    )
    assert run(db, "sweep").stdout == (
        "sweep: one pass, 0 rows looked at: nothing decided (nothing to recover or run)\n"
    )


@pytest.fixture(params=["sqlite", "postgres"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """A registry file, or a fresh schema on the test server (tests/conftest.py)."""
    if request.param == "sqlite":
        return tmp_path / "r.db"
    return str(request.getfixturevalue("postgres_schema"))


def test_a_pass_beside_a_running_worker_counts_every_row_it_looked_at(
    target: Path | str, workers: list[Worker]
) -> None:
    """Every row a pass looked at is counted under a verdict: the rows a live worker holds
    `busy`, an externally-owned row without an abandon request `untouched`. `sweep` beside
    a running `lashtui worker` said `3 rows looked at: nothing decided (nothing to recover
    or run)` of two rows that worker was running and one externally owned, its counts all
    0; `worker --once` said `0 rows looked at` of them (its drive left them in SQL)."""
    db = target
    for held in ("a", "b"):
        start(db, held, steps({"sleep_ms": 600_000}))
    run(db, "start", "ext", "--external")
    worker = Worker(db)
    workers.append(worker)
    worker.until(lambda: len(worker.events("run_started")) == 2, "both runs")

    counts = json.loads(run(db, "sweep", "-o", "json").stdout)
    looked_at = counts.pop("looked_at")
    assert {k: v for k, v in counts.items() if v} == {"busy": 2, "untouched": 1}, counts
    assert looked_at == sum(counts.values()) == 3
    assert run(db, "sweep").stdout == (
        "sweep: one pass, 3 rows looked at: 2 busy (held by a live lease), 1 untouched\n"
    )
    for output in ((), ("-o", "json")):
        said = run(db, "worker", "--once", *output).stdout
        if not output:
            assert said == (
                "worker: one pass, 3 rows looked at: 2 busy (held by a live lease), "
                "1 untouched\n"
            )
            continue
        counts = json.loads(said)
        assert counts.pop("looked_at") == 3
        assert {k: v for k, v in counts.items() if v} == {"busy": 2, "untouched": 1}, counts
    # ... and took nothing: the live worker still runs both.
    assert not worker.events("run_ended") and worker.process.poll() is None
