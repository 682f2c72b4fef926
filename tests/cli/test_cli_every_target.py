"""Every target an action names gets its line on stdout, `<id>: <outcome>: <sentence>`, a
refused one too, with or without `--json` (the installed `lashtui`, real subprocesses).

A refused target was said only on stderr: `transfer --from a --to b s1 nope` printed a line
for s1 and none for `nope`, so a script reading stdout (`while read id outcome rest`) never
learned `nope` had been looked at, and `rerun`, `cancel`, `signal` and `abandon` did the same.
`end-undecodable` printed nothing on stdout for a refusal (and under `--json` no document at
all), and its success line was not in the actions' form.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.cli.test_cli import LASHTUI, WAIT_STEPS

UNKNOWN = "unknown process `nope`"


def run(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [LASHTUI, "--db", str(db), *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """`job` (steps, waiting, granted to session:a) and `ext` (external, granted to
    session:a), both running."""
    path = tmp_path / "reg.db"
    for args in (
        ("job", "--engine", "steps", "--disposition", "rerunnable", "--payload", WAIT_STEPS,
         "--grant", "session:a"),
        ("ext", "--external", "--grant", "session:a"),
    ):  # fmt: skip
        started = run(path, "start", *args)
        assert started.returncode == 0, started.stderr
    return path


# Each action with one known id and `nope`, and what it says of the known one.
ACTIONS = {
    "transfer": (("transfer", "--from", "session:a", "--to", "session:b", "ext", "nope"),
                 "ext: unchanged: not moved: a transfer moves all its grants or none"),
    "rerun": (("rerun", "ext", "nope"), "ext: refused: process `ext` is running"),
}  # fmt: skip


@pytest.mark.parametrize("action", ACTIONS)
def test_a_refused_target_of_many_has_its_line_on_stdout(db: Path, action: str) -> None:
    args, known = ACTIONS[action]
    result = run(db, *args)
    assert result.returncode == 1, result
    lines = result.stdout.splitlines()
    assert len(lines) == 2, result.stdout
    assert lines[0].startswith(known), lines
    assert lines[1] == f"nope: refused: {UNKNOWN}"
    assert f"lashtui: {UNKNOWN}" in result.stderr.splitlines()
    document = json.loads(run(db, *args, "--json").stdout)
    assert [(o["process_id"], o["outcome"]) for o in document][1] == ("nope", "refused")


SINGLE = {
    "cancel": ("cancel", "nope"),
    "signal": ("signal", "nope", "approve"),
    "abandon": ("abandon", "nope", "--reason", "gone"),
    "end-undecodable": ("end-undecodable", "nope", "--reason", "gone"),
}


@pytest.mark.parametrize("action", SINGLE)
def test_a_refused_single_target_has_its_line_and_its_document(db: Path, action: str) -> None:
    result = run(db, *SINGLE[action])
    assert (result.returncode, result.stdout) == (1, f"nope: refused: {UNKNOWN}\n"), result
    assert result.stderr == f"lashtui: {UNKNOWN}\n"
    as_json = run(db, *SINGLE[action], "--json")
    assert as_json.returncode == 1, as_json
    document = json.loads(as_json.stdout)
    assert (document["process_id"], document["action"], document["outcome"]) == (
        "nope", action, "refused",
    )  # fmt: skip
    assert document["sentence"] == UNKNOWN


def test_end_undecodable_says_each_outcome_in_the_actions_form(db: Path) -> None:
    """A row that decodes is refused with the row attached; one that does not is ended,
    `<id>: done: ...`, and under `--json` the outcome object holds the row after."""
    refused = run(db, "end-undecodable", "ext", "--reason", "x", "--json")
    assert refused.returncode == 1
    document = json.loads(refused.stdout)
    assert (document["outcome"], document["status"]) == ("refused", "running")
    assert document["sentence"] == "process `ext` is not undecodable; cancel or abandon it instead"

    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE processes SET record_json = '{bad' WHERE process_id = 'ext'")
    ended = run(db, "end-undecodable", "ext", "--reason", "mended")
    assert (ended.returncode, ended.stderr) == (0, ""), ended
    assert ended.stdout == "ext: done: ended undecodable process: now failed\n"
