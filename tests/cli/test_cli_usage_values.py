"""Messages and exit statuses the auditor found unclear, through the installed `lashtui`:
a bad flag value is a usage error (exit 2) naming the flag and the value as typed, a hint
is a command that works when followed, and a refusal says what is true.

- `events --after 99999999999999999999999` reached the store, which refused it (exit 1) as
  "a number is too large for the registry", naming neither flag nor value.
- `prune --older-than 1x` exited 1 where `prune --before abc` exited 2.
- `--db ''` (and an empty $LASHTUI_DB) said "<cwd> is a directory".
- A write refused on an undecodable row hinted `lashtui end-undecodable ID`, which exits 2
  without the `--reason` it requires.
- `end-undecodable` on an ended row said "cancel or abandon it instead": both are refused
  on an ended row.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.cli.template import copy_registry
from tests.cli.test_cli import LASHTUI, digest
from tests.raw import copy_row

INT64_MAX = 2**63 - 1
FINISH = json.dumps({"steps": [{"finish": 1}]})


def run(
    target: str | Path, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    argv = [LASHTUI, "--db", str(target), *args]
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=60, check=False, env=env, cwd=cwd
    )


def usage_error(result: subprocess.CompletedProcess[str], last_line: str) -> None:
    assert result.returncode == 2 and result.stdout == "", result
    assert result.stderr.strip().splitlines()[-1] == last_line


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`s1`, an external process, as the installed command starts it: made once for the
    module, where each of its usage-error tests spent a spawn of its own on it."""
    db = tmp_path_factory.mktemp("template") / "reg.db"
    started = run(db, "start", "s1", "--external")
    assert started.returncode == 0, started.stderr
    return db


@pytest.fixture
def db(tmp_path: Path, template: Path) -> Path:
    """A copy of `template`, the test's own (tests/cli/template.py says why)."""
    return copy_registry(template, tmp_path)


def ended(target: str) -> None:
    """`s1`, a steps process run to completion."""
    start = ("start", "s1", "--engine", "steps", "--disposition", "rerunnable", "--payload")
    assert run(target, *start, FINISH).returncode == 0
    assert run(target, "worker", "--once").returncode == 0


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_events_after_is_a_usage_error_past_what_a_store_holds(registry_target: str) -> None:
    ended(registry_target)
    for value in ("99999999999999999999999", str(INT64_MAX + 1), "-1", "abc"):
        usage_error(
            run(registry_target, "events", "s1", "--after", value),
            "lashtui events: error: argument --after: a sequence number is a whole number "
            f"from 0 to {INT64_MAX}, got `{value}`",
        )
    last = run(registry_target, "events", "s1", "--after", str(INT64_MAX), "--json")
    assert (last.returncode, last.stdout) == (0, "[]\n")


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("1x", "a duration is a number with a unit (ms, s, m, h, d) such as `30m` or `1h`, "
               "got `1x`"),
        ("3 weeks", "a duration is a number with a unit (ms, s, m, h, d) such as `30m` or "
                    "`1h`, got `3 weeks`"),
        ("99999999d", "99999999d reaches back before 1970"),
    ],
)  # fmt: skip
def test_a_bad_older_than_is_a_usage_error_as_a_bad_before_is(
    db: Path, value: str, says: str
) -> None:
    before = digest(db)
    for dry_run in ((), ("--dry-run",)):
        result = run(db, "prune", "--older-than", value, *dry_run)
        usage_error(result, f"lashtui prune: error: argument --older-than: {says}")
    assert run(db, "prune", "--before", "abc").returncode == 2
    assert digest(db) == before


def test_an_empty_registry_path_is_a_usage_error(tmp_path: Path) -> None:
    usage_error(
        run("", "ls", cwd=tmp_path),
        "lashtui: error: argument --db: must not be empty (an unset shell variable expands "
        "to nothing)",
    )
    env = {k: v for k, v in os.environ.items() if k != "LASHTUI_DB"}
    argv = [LASHTUI, "start", "x", "--external"]
    result = subprocess.run(
        argv, capture_output=True, text=True, timeout=60, check=False,
        env={**env, "LASHTUI_DB": ""}, cwd=tmp_path,
    )  # fmt: skip
    usage_error(
        result,
        "lashtui: error: $LASHTUI_DB is empty: set it to a registry, or unset it for "
        "./lashtui.db",
    )
    assert os.listdir(tmp_path) == []  # no ./lashtui.db made


def undecodable_row(db: Path) -> None:
    """`deep`: a copy of `job`'s row, its record nested too deep to decode."""
    conn = sqlite3.connect(db)
    record = json.loads(conn.execute("SELECT record_json FROM processes").fetchone()[0])
    conn.close()
    record["id"], record["input"]["metadata"] = "deep", "PLACEHOLDER"
    copy_row(db, "job", "deep", json.dumps(record).replace('"PLACEHOLDER"', "[" * 300 + "]" * 300))


def test_the_way_out_of_an_undecodable_row_is_a_command_that_works(tmp_path: Path) -> None:
    db = tmp_path / "reg.db"
    assert run(db, "start", "job", "--external").returncode == 0
    undecodable_row(db)
    refused = run(db, "cancel", "deep")
    assert refused.returncode == 1
    hint = re.search(r"nothing can change it but ending it: `([^`]*)`$", refused.stderr.strip())
    assert hint is not None, refused.stderr
    assert hint.group(1) == "lashtui end-undecodable deep --reason R"
    argv = shlex.split(hint.group(1))
    followed = run(db, *argv[1:])
    assert followed.returncode == 0, followed.stderr
    assert followed.stdout == "deep: done: ended undecodable process: now failed\n"


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_end_undecodable_on_an_ended_row_says_it_has_ended(registry_target: str) -> None:
    ended(registry_target)
    result = run(registry_target, "end-undecodable", "s1", "--reason", "x")
    sentence = (
        "process `s1` is not undecodable: it has already ended (completed), so there is "
        "nothing to end"
    )
    assert (result.returncode, result.stdout) == (1, f"s1: refused: {sentence}\n")
    assert result.stderr == f"lashtui: {sentence}\n"
    # A live one that decodes is still pointed at cancel and abandon, which work on it.
    assert run(registry_target, "start", "live", "--external").returncode == 0
    live = run(registry_target, "end-undecodable", "live", "--reason", "x")
    assert live.stderr == (
        "lashtui: process `live` is not undecodable; cancel or abandon it instead\n"
    )
    assert run(registry_target, "cancel", "live").returncode == 0


# Each filter flag given twice: argparse kept the last value and dropped the first without a
# word (`audit --by alice --by bob` listed bob's actions alone).
REPEATED = [
    ("ls", "--status", "failed", "--status", "any"),
    ("ls", "--granted-to", "session:a", "--granted-to", "session:b"),
    ("ls", "--originated-by", "session:a", "--originated-by", "session:b"),
    ("ls", "--after", "a", "--after", "b"),
    ("ls", "--sort", "label", "--sort", "age"),
    ("ls", "--limit", "1", "--limit", "2"),
    ("events", "s1", "--after", "1", "--after", "2"),
    ("audit", "--by", "alice@h", "--by", "bob@h"),
    ("audit", "--action", "cancel", "--action", "signal"),
    ("audit", "--outcome", "done", "--outcome", "requested"),
    ("audit", "--process", "a", "--process", "b"),
    ("audit", "--source", "recorded", "--source", "events"),
    ("audit", "--before", "9", "--before", "8"),
    ("audit", "--limit", "1", "--limit", "2"),
    ("errors", "--window", "10", "--window", "20"),
    ("errors", "--sort", "count", "--sort", "last_seen"),
    ("errors", "--limit", "1", "--limit", "2"),
    ("prune", "--before", "1", "--before", "2"),
    ("prune", "--older-than", "7d", "--older-than", "1d", "--dry-run"),
]


@pytest.mark.parametrize("args", REPEATED, ids=" ".join)
def test_a_filter_given_twice_is_a_usage_error_naming_it(
    db: Path, args: tuple[str, ...]
) -> None:
    before = digest(db)
    command, flag = args[0], next(a for a in args if a.startswith("--"))
    usage_error(
        run(db, *args),
        f"lashtui {command}: error: argument {flag}: given more than once; it takes one value",
    )
    assert digest(db) == before


def test_audit_by_two_operators_is_refused_not_the_last_one_alone(tmp_path: Path) -> None:
    db = tmp_path / "reg.db"
    for n, operator in enumerate(("alice@h", "bob@h")):
        started = run(db, "start", f"p{n}", "--external")
        assert started.returncode == 0, started.stderr
        assert run(db, "--as", operator, "cancel", f"p{n}").returncode == 0
    alice = run(db, "audit", "--by", "alice@h", "-o", "jsonl")
    assert [json.loads(line)["process_id"] for line in alice.stdout.splitlines()] == ["p0"]
    usage_error(
        run(db, "audit", "--by", "alice@h", "--by", "bob@h", "-o", "jsonl"),
        "lashtui audit: error: argument --by: given more than once; it takes one value",
    )


SCOPE = "a session scope is written `session:ID` or `session:ID/frame:F`, got"


# A malformed filter (or scope, or disposition) value: it was refused with exit 1, as if the
# registry had refused it, where an empty one, a number out of range or `errors --sort size`
# was a usage error.
@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("ls", "--status", "bogus"), "argument --status: invalid choice: 'bogus' (choose "
         "from 'running', 'completed', 'failed', 'cancelled', 'abandoned', 'any')"),
        (("ls", "--status", "waiting"), "argument --status: invalid choice: 'waiting' (choose "
         "from 'running', 'completed', 'failed', 'cancelled', 'abandoned', 'any')"),
        (("ls", "--sort", "size"), "argument --sort: invalid choice: 'size' (choose from 'id', "
         "'status', 'label', 'age', 'updated', 'lease_expiry')"),
        (("ls", "--granted-to", "alice"), f"argument --granted-to: {SCOPE} `alice`"),
        (("ls", "--originated-by", "session:"), f"argument --originated-by: {SCOPE} `session:`"),
        (("ls", "--granted-to", "session:a/b"), "argument --granted-to: session id `a/b` "
         "contains `/`, so its scope id `session:a/b` could name another session's frame; a "
         "session id has no `/`"),
        (("audit", "--action", "reboot"), "argument --action: invalid choice: 'reboot' (choose "
         "from 'cancel', 'signal', 'abandon', 'transfer', 'prune', 'rerun', 'end-undecodable')"),
        (("audit", "--outcome", "ok"), "argument --outcome: invalid choice: 'ok' (choose from "
         "'done', 'requested', 'unchanged', 'refused')"),
        (("audit", "--before", "xyz"), "argument --before: not an audit row cursor: `xyz`"),
        (("audit", "--source", "events", "--before", "12"),
         "argument --before: not an audit event cursor: `12`"),
        (("transfer", "--from", "bob", "--to", "session:b", "s1"),
         f"argument --from: {SCOPE} `bob`"),
        (("transfer", "--from", "session:a", "--to", "host", "s1"),
         f"argument --to: {SCOPE} `host`"),
        (("start", "x", "--engine", "steps", "--disposition", "sometimes", "--payload", FINISH),
         "argument --disposition: invalid choice: 'sometimes' (choose from 'rerunnable', "
         "'owner_bound', 'externally_owned')"),
        (("start", "x", "--external", "--originator", "web"), "argument --originator: a scope "
         "is written `host`, `session:ID` or `session:ID/frame:F`, got `web`"),
        (("start", "x", "--external", "--grant", "bob"), f"argument --grant: {SCOPE} `bob`"),
    ],
)  # fmt: skip
def test_a_malformed_value_is_a_usage_error_naming_it(
    db: Path, args: tuple[str, ...], says: str
) -> None:
    before = digest(db)
    usage_error(run(db, *args), f"lashtui {args[0]}: error: {says}")
    assert digest(db) == before


def test_well_formed_values_still_read(tmp_path: Path) -> None:
    """The other side of the usage errors above: each form the command reads is taken."""
    db = tmp_path / "reg.db"
    start = ("start", "s1", "--external", "--originator", "host:web", "--grant", "session:a")
    assert run(db, *start).returncode == 0
    for args in (
        ("ls", "--granted-to", "session:a/frame:f", "--status", "any", "--sort", "label"),
        ("ls", "--originated-by", "session:a"),
        ("transfer", "--from", "session:a", "--to", "session:b", "s1"),
        ("audit", "--before", "12", "--action", "transfer", "--outcome", "done"),
        ("audit", "--source", "events", "--before", "1:s1:2"),
    ):
        result = run(db, *args)
        assert result.returncode == 0, (args, result.stderr)
    moved = run(db, "ls", "--granted-to", "session:b", "-o", "jsonl")
    assert [json.loads(line)["process_id"] for line in moved.stdout.splitlines()] == ["s1"]


def test_the_command_lines_words_are_the_models() -> None:
    from lashtui.model import PROCESS_ORDERS, ProcessStatusFilter, RecoveryDisposition
    from lashtui.model.audit import AUDIT_ACTIONS
    from lashtui.model.outcome import OUTCOMES
    from lashtui.parser import action, read

    assert tuple(s.value for s in ProcessStatusFilter) == read.STATUSES
    assert read.ORDERS == PROCESS_ORDERS
    assert read.AUDIT_ACTIONS == AUDIT_ACTIONS
    assert read.OUTCOMES == OUTCOMES
    assert tuple(d.value for d in RecoveryDisposition) == action.DISPOSITIONS
