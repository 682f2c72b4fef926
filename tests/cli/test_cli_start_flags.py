"""`start`'s flags that contradict each other, through the installed `lashtui`: each
combination is a usage error naming the flags (exit 2) and nothing is created. Before,
`start s7 --external --disposition rerunnable --engine steps --payload ...` printed
`started s7 (externally_owned)`, dropping two of the flags without a word. A steps start
without its plan named neither flag (`a steps plan is ..., got `null``): now it names
`--payload`. A start missing `--engine` or `--disposition` exited 1, as if the registry
had refused it: it is a usage error naming them.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.cli.test_cli import LASHTUI

PLAN = '{"steps": []}'
HINT = 'a steps plan is {"steps": [...]}'


def run(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [LASHTUI, "--db", str(db), "start", "s7", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


CONTRADICTIONS = {
    "external and engine": (
        ("--external", "--engine", "steps", "--payload", PLAN),
        "argument --engine: not allowed with argument --external",
    ),
    "the auditor's": (
        ("--external", "--disposition", "rerunnable", "--engine", "steps", "--payload", PLAN),
        "argument --engine: not allowed with argument --external",
    ),
    "no disposition": (
        ("--engine", "steps", "--payload", PLAN),
        "the following arguments are required: --disposition (or --external, an externally "
        "owned placeholder)",
    ),
    "neither engine nor disposition": (
        (),
        "the following arguments are required: --engine, --disposition (or --external, an "
        "externally owned placeholder)",
    ),
    "external and another disposition": (
        ("--disposition", "owner_bound", "--external"),
        "argument --disposition: `owner_bound` contradicts --external, which starts an "
        "externally_owned placeholder",
    ),
}


@pytest.mark.parametrize("name", CONTRADICTIONS)
def test_contradictory_flags_are_a_usage_error_and_create_nothing(
    tmp_path: Path, name: str
) -> None:
    args, sentence = CONTRADICTIONS[name]
    result = run(tmp_path / "new.db", *args)
    assert result.returncode == 2 and result.stdout == "", result
    assert result.stderr.strip().splitlines()[-1] == f"lashtui start: error: {sentence}"
    assert not (tmp_path / "new.db").exists()


def test_flags_that_agree_still_start(tmp_path: Path) -> None:
    agreed = run(tmp_path / "new.db", "--external", "--disposition", "externally_owned")
    assert (agreed.returncode, agreed.stdout) == (0, "started s7 (externally_owned)\n")


def test_an_external_start_keeps_its_label_beside_a_payload(tmp_path: Path) -> None:
    """`--label` rides in an external row's metadata; given a `--payload` (the metadata),
    it was dropped without a word. It names the row now, the payload kept as given."""
    db = tmp_path / "new.db"
    started = run(db, "--external", "--payload", '{"ticket": 7}', "--label", "nightly import")
    assert started.returncode == 0, started.stderr
    shown = subprocess.run(
        [LASHTUI, "--db", str(db), "show", "s7", "--json"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    row = json.loads(shown.stdout)
    assert row["label"] == "nightly import" and row["input"]["metadata"] == {"ticket": 7}


@pytest.mark.parametrize(
    ("payload", "sentence"),
    [
        (None, f"lashtui: --engine steps needs its plan as --payload: {HINT}"),
        ('{"x": 1}', f'lashtui: --payload is not a steps plan: {HINT}, got `{{"x": 1}}`'),
    ],
    ids=["no payload", "not a plan"],
)
def test_a_steps_start_without_its_plan_names_payload(
    tmp_path: Path, payload: str | None, sentence: str
) -> None:
    given = ("--payload", payload) if payload is not None else ()
    for disposition in ("externally_owned", "rerunnable"):
        result = run(tmp_path / "new.db", "--engine", "steps", "--disposition", disposition, *given)
        assert (result.returncode, result.stderr.strip()) == (1, sentence)
        assert not (tmp_path / "new.db").exists()
