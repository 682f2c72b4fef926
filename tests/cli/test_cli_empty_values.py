"""Empty flag values, through the installed `lashtui`: each is refused as a usage error
naming the flag (exit 2; `check`'s exit 3, Nagios's UNKNOWN), and nothing is written.

An empty value is what an unset shell variable gives (`--granted-to "$SESSION"`). Each flag
here read one as if it had been left out: `ls --granted-to ''` listed every process (the
security lens, off), `check --failed ''` turned that check off and said OK, `ls --status ''`
listed the running ones, `signal --signal-id ''` stored a signal again on each retry, and
`start --label ''`, `--grant ''` and `--originator ''` were dropped. Where an empty value has
a meaning of its own it is kept: `ls --after ''` is the first page, a level's empty part
(`--lapsed ,10`) is no level.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.cli.template import copy_registry
from tests.cli.test_cli import LASHTUI, WAIT_STEPS, digest

EMPTY = "must not be empty (an unset shell variable expands to nothing)"


def run(target: str, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [LASHTUI, "--db", target, *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


def started(target: str) -> None:
    """`job` granted to session:alice and `other` granted to no one, both running."""
    for args in (
        ("job", "--engine", "steps", "--disposition", "rerunnable", "--payload", WAIT_STEPS,
         "--grant", "session:alice"),
        ("other", "--external"),
    ):  # fmt: skip
        result = run(target, "start", *args)
        assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`started`'s registry, made once for the module by the installed command."""
    path = tmp_path_factory.mktemp("template") / "reg.db"
    started(str(path))
    return path


@pytest.fixture
def db(tmp_path: Path, template: Path) -> Path:
    """A copy of `template`, the test's own (tests/cli/template.py says why)."""
    return copy_registry(template, tmp_path)


def usage_error(result: subprocess.CompletedProcess[str], flag: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert result.stdout == ""
    assert result.stderr.strip().splitlines()[-1].endswith(f"argument {flag}: {EMPTY}")


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
@pytest.mark.parametrize("lens", ["--granted-to", "--originated-by"])
def test_an_empty_lens_is_refused_not_every_process(registry_target: str, lens: str) -> None:
    started(registry_target)
    granted = run(registry_target, "ls", "--granted-to", "session:alice")
    assert [line.split()[0] for line in granted.stdout.splitlines()[1:]] == ["job"]
    for output in ("table", "json"):  # (ls -o json has a read of its own on SQLite)
        usage_error(run(registry_target, "ls", lens, "", "-o", output), lens)


EMPTY_FLAGS = {
    "--status": ("ls", "--status", ""),
    "--sort": ("ls", "--sort", ""),
    "--signal-id": ("signal", "job", "approve", "--signal-id", ""),
    "--label": ("start", "new", "--external", "--label", ""),
    "--grant": ("start", "new", "--external", "--grant", ""),
    "--originator": ("start", "new", "--external", "--originator", ""),
    "--engine": ("start", "new", "--engine", "", "--disposition", "rerunnable"),
    "--disposition": ("start", "new", "--engine", "steps", "--disposition", ""),
    "--reason": ("cancel", "job", "--reason", ""),
    "abandon --reason": ("abandon", "job", "--reason", ""),
    "end-undecodable --reason": ("end-undecodable", "job", "--reason", ""),
    "--from": ("transfer", "--from", "", "--to", "session:b", "job"),
    "--to": ("transfer", "--from", "session:alice", "--to", "", "job"),
    "--by": ("audit", "--by", ""),
    "--action": ("audit", "--action", ""),
    "--outcome": ("audit", "--outcome", ""),
    "--process": ("audit", "--process", ""),
    "audit --before": ("audit", "--before", ""),
}


@pytest.mark.parametrize("name", EMPTY_FLAGS)
def test_an_empty_value_is_a_usage_error_naming_the_flag(db: Path, name: str) -> None:
    before = digest(db)
    usage_error(run(str(db), *EMPTY_FLAGS[name]), name.split()[-1])
    assert digest(db) == before


def test_an_empty_signal_id_no_longer_stores_a_retry_twice(db: Path) -> None:
    """The idempotency the flag exists for: the same id twice is one event."""
    for _ in range(2):
        usage_error(run(str(db), "signal", "job", "approve", "--signal-id", ""), "--signal-id")
        sent = run(str(db), "signal", "job", "approve", "--signal-id", "r-1", "--payload", "1")
        assert sent.returncode == 0, sent.stderr
    events = json.loads(run(str(db), "events", "job", "--json").stdout)
    assert [e["event_type"] for e in events].count("signal.approve") == 1


CHECK_LEVELS = ["--silent", "--lapsed", "--abandon-age", "--failed", "--renewal-age",
                "--unknown-state", "--long-ids"]  # fmt: skip


@pytest.mark.parametrize("flag", CHECK_LEVELS)
@pytest.mark.parametrize("value", ["", ",", " "])
def test_check_refuses_an_empty_level_as_unknown(db: Path, flag: str, value: str) -> None:
    """Exit 3 (a usage error is UNKNOWN to a monitor), where it turned the check off and
    said OK; `off` still turns it off, and an empty part is still no level."""
    result = run(str(db), "check", flag, value)
    assert result.returncode == 3, (result.stdout, result.stderr)
    assert result.stdout.strip() == (
        f"LASHTUI UNKNOWN - usage: argument {flag}: levels are WARN[,CRIT] "
        f"(`off` turns the check off), got `{value}`"
    )
    for kept in ("off", ",1h" if flag.endswith("-age") else ",10"):
        assert run(str(db), "check", flag, kept, "--json").returncode in (0, 1, 2)


def test_an_empty_after_is_kept_it_is_the_first_page(db: Path) -> None:
    """`--after "$CURSOR"` with no cursor yet reads from the start, as a script paging
    through `ls` wants: every id is after the empty one."""
    listed = run(str(db), "ls", "--after", "", "--json")
    assert [p["process_id"] for p in json.loads(listed.stdout)] == ["job", "other"]


def test_start_with_an_empty_id_is_a_usage_error(tmp_path: Path, db: Path) -> None:
    """`start "$ID" --external` with $ID unset: exit 2 naming the argument, where the
    registry refused it with exit 1 (`process id must be a non-empty string`); a registry
    it would have created is not created."""
    before = digest(db)
    usage_error(run(str(db), "start", "", "--external"), "id")
    assert digest(db) == before
    fresh = tmp_path / "fresh.db"
    steps = ("--engine", "steps", "--disposition", "rerunnable")
    usage_error(run(str(fresh), "start", "", *steps), "id")
    assert not fresh.exists()


# Every command that takes process ids, with its id left empty (`"$ID"` unset) and the
# other arguments it needs; the flag named in the usage error is `id`, or `ID` for a list.
EMPTY_IDS = {
    "show": ("show", ""),
    "events": ("events", ""),
    "events --follow": ("events", "", "--follow"),
    "await": ("await", "", "--timeout", "0"),
    "cancel": ("cancel", ""),
    "signal": ("signal", "", "approve"),
    "abandon": ("abandon", "", "--reason", "r"),
    "end-undecodable": ("end-undecodable", "", "--reason", "r"),
    "rerun": ("rerun", ""),
    "rerun among others": ("rerun", "job", ""),
    "transfer": ("transfer", "--from", "session:alice", "--to", "session:b", "job", ""),
}


@pytest.mark.parametrize("name", EMPTY_IDS)
@pytest.mark.parametrize("output", [[], ["--json"]])
def test_an_empty_process_id_is_a_usage_error(db: Path, name: str, output: list[str]) -> None:
    """As `start ''` is: each exited 1 with `unknown process ``` (and `transfer job ''`
    printed job's line first), as if the registry had been asked about an id no process
    can have (semantics §2.1)."""
    before = digest(db)
    args = EMPTY_IDS[name]
    usage_error(run(str(db), *args, *output), "ID" if args[0] in ("rerun", "transfer") else "id")
    assert digest(db) == before


BLANK_IDS = {**EMPTY_IDS, "start": ("start", "", "--external")}


@pytest.mark.parametrize("name", BLANK_IDS)
@pytest.mark.parametrize("blank", [" ", "\t", " \u3000"])
def test_a_blank_process_id_is_the_same_usage_error(db: Path, name: str, blank: str) -> None:
    """An id of only blanks names no process either (registration refuses one, semantics
    §2.1): `show ' '` exited 1 as an unknown process and `start ' '` with the registry's
    sentence; each is now the usage error an empty id is, naming the argument and the
    value, before any registry is opened."""
    before = digest(db)
    args = tuple(blank if arg == "" else arg for arg in BLANK_IDS[name])
    result = run(str(db), *args)
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert result.stdout == ""
    flag = "ID" if args[0] in ("rerun", "transfer") else "id"
    assert result.stderr.strip().splitlines()[-1].endswith(
        f"argument {flag}: must not be only blanks (no process can have such an id), "
        f"got {blank!r}"
    )
    assert digest(db) == before
