"""An id given twice to a command that takes several, through the installed `lashtui` on
each store: it is acted on once and a note on stderr says so. `rerun s1 s1` started two
re-runs (`s1~rerun-1` and `s1~rerun-2`); `transfer` merged the two unsaid. The commands that
take one id (`cancel`, `abandon`, `signal`) refuse a second as an unrecognized argument.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.cli.test_cli import LASHTUI


def run(target: str, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [LASHTUI, "--db", target, *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


def ok(target: str, *args: str) -> subprocess.CompletedProcess[str]:
    result = run(target, *args)
    assert result.returncode == 0, result.stderr
    return result


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_rerun_runs_an_id_given_twice_once(registry_target: str) -> None:
    plan = json.dumps({"steps": [{"finish": 1}]})
    ok(registry_target, "start", "s1", "--engine", "steps", "--disposition", "rerunnable",
       "--payload", plan)  # fmt: skip
    ok(registry_target, "worker", "--once")
    rerun = ok(registry_target, "rerun", "s1", "s1", "s1")
    assert rerun.stderr == "lashtui: `s1` was given 3 times; rerun acts on it once\n"
    assert [line.split(":")[0] for line in rerun.stdout.splitlines()] == ["s1"]
    listed = json.loads(ok(registry_target, "ls", "--status", "any", "--json").stdout)
    assert [p["process_id"] for p in listed] == ["s1", "s1~rerun-1"]


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_transfer_says_it_moved_an_id_given_twice_once(registry_target: str) -> None:
    for pid in ("g1", "g2"):
        ok(registry_target, "start", pid, "--external", "--grant", "session:a")
    moved = ok(registry_target, "transfer", "--from", "session:a", "--to", "session:b",
               "g1", "g2", "g1", "--json")  # fmt: skip
    assert moved.stderr == "lashtui: `g1` was given 2 times; transfer acts on it once\n"
    assert [(o["process_id"], o["outcome"]) for o in json.loads(moved.stdout)] == [
        ("g1", "done"),
        ("g2", "done"),
    ]
    granted = json.loads(ok(registry_target, "ls", "--granted-to", "session:b", "--json").stdout)
    assert [p["process_id"] for p in granted] == ["g1", "g2"]


@pytest.mark.parametrize(
    "args", [("cancel", "g1", "g1"), ("abandon", "g1", "g1"), ("signal", "g1", "go", "g1")]
)
def test_a_command_of_one_id_refuses_a_second(tmp_path: Path, args: tuple[str, ...]) -> None:
    result = run(str(tmp_path / "reg.db"), *args)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == "lashtui: error: unrecognized arguments: g1"
