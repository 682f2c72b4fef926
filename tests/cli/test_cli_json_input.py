"""JSON arguments at the command line (`--payload` of start and signal) and undecodable rows,
through the installed `lashtui` run as a subprocess: deep JSON (over the limit, and past
what `json.loads` can read at all), bytes that are not UTF-8 in argv, and escapes of lone
surrogates each end in one sentence, exit 1, nothing written; a row another program wrote
that does not decode is listed, shown and ended by id."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.cli.template import copy_registry
from tests.cli.test_cli import LASHTUI, digest, one_line_error
from tests.raw import copy_row


def run(*args: str | bytes, db: Path) -> subprocess.CompletedProcess[str]:
    # bytes in argv: how a shell passes an argument that is not UTF-8
    argv: list[str | bytes] = [LASHTUI, "--db", str(db), *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


def brackets(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`job`, an external process labelled `job`, as the installed command starts it: made
    once for the module, where each test spent a spawn of its own on it."""
    path = tmp_path_factory.mktemp("template") / "reg.db"
    started = run("start", "job", "--external", "--label", "job", db=path)
    assert started.returncode == 0, started.stderr
    return path


@pytest.fixture
def db(tmp_path: Path, template: Path) -> Path:
    """A copy of `template`, the test's own (tests/cli/template.py says why)."""
    return copy_registry(template, tmp_path)


BAD_PAYLOADS = [
    ("over the limit", brackets(200), "--payload may nest at most 64 levels; this one nests 200"),
    (
        "past json.loads",
        brackets(5000),
        "--payload may nest at most 64 levels; this one nests 5000",
    ),
    ("a lone surrogate", '"\\ud800"', "--payload holds a lone surrogate (\\ud800)"),
    ("a NUL", '{"a": "\\u0000"}', "--payload holds the NUL character (\\u0000)"),
    (  # json.loads raised a ValueError of its own here: a traceback
        "a number Python does not read",
        "[" + "9" * 5000 + "]",
        "--payload is not valid JSON (a number of 5,000 digits is longer than the 4,300 "
        "Python reads)",
    ),
    (  # measuring its depth restarted at every quote: ~60 s, now a blink (argv's limit
        # for one argument, 128 KiB, keeps it from being longer; the dashboard's test is)
        "an unclosed string of escaped quotes",
        '"' + '\\"' * 65_000,
        "--payload is not valid JSON (Unterminated string starting at)",
    ),
]


@pytest.mark.parametrize(
    ("name", "payload", "sentence"), BAD_PAYLOADS, ids=[b[0] for b in BAD_PAYLOADS]
)
def test_a_bad_payload_is_one_sentence_and_writes_nothing(
    db: Path, name: str, payload: str, sentence: str
) -> None:
    before = digest(db)
    one_line_error(run("start", "deep", "--external", "--payload", payload, db=db), sentence)
    one_line_error(run("signal", "job", "go", "--payload", payload, db=db), sentence)
    assert digest(db) == before


NOT_JSON_NUMBERS = [
    ('{"a": NaN, "b": 1}', "NaN is not a JSON number"),
    ('{"b": Infinity}', "Infinity is not a JSON number"),
    ("[-Infinity]", "-Infinity is not a JSON number"),
    ("1e999", "1e999 is too large for a JSON number: it reads as infinity"),
    ('{"c": [-1E+400]}', "-1E+400 is too large for a JSON number: it reads as infinity"),
]


@pytest.mark.parametrize(("payload", "why"), NOT_JSON_NUMBERS, ids=[n[0] for n in NOT_JSON_NUMBERS])
def test_a_number_json_has_not_is_refused_not_stored_as_null(
    db: Path, payload: str, why: str
) -> None:
    """Python's `json` reads NaN, Infinity and -Infinity, and 1e999 as infinity; the
    registry then stored each as `null` and the command said `started`. Every flag that
    takes JSON (start's and signal's `--payload`) refuses them as it refuses other bad
    JSON, naming the flag and echoing the argument."""
    before = digest(db)
    sentence = f"lashtui: --payload is not valid JSON ({why}): `{payload}`"
    for args in (("start", "nn", "--external"), ("signal", "job", "go")):
        refused = run(*args, f"--payload={payload}", db=db)
        one_line_error(refused, sentence)
        assert refused.stderr.strip() == sentence
    assert digest(db) == before
    # A number JSON has, however large, is still taken as it was typed.
    large = "[1e308, 123456789012345678901]"
    started = run("start", "big", "--external", "--payload", large, db=db)
    assert started.returncode == 0, started.stderr
    shown = json.loads(run("show", "big", "--json", db=db).stdout)
    assert shown["input"]["metadata"] == [1e308, 123456789012345678901]


def test_argv_that_is_not_utf8_is_one_sentence(db: Path) -> None:
    """A usage error naming the flag and showing the value as a shell word (every command:
    tests/cli/test_cli_not_utf8.py)."""
    before = digest(db)
    payload = b'"caf\xe9"'  # Latin-1, as a misconfigured terminal sends it
    result = run("signal", "job", "go", "--payload", payload, db=db)
    assert result.returncode == 2, result
    assert result.stderr.strip().splitlines()[-1].endswith(
        "argument --payload: not valid UTF-8 (byte 0xe9 at character 4): $'\"caf\\xe9\"'"
    ), result.stderr
    assert digest(db) == before


def test_a_start_refused_before_any_file_is_created(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    one_line_error(
        run("start", "deep", "--external", "--payload", brackets(100), db=path),
        "--payload may nest at most 64 levels; this one nests 100",
    )
    assert not path.exists()


@pytest.mark.parametrize(
    ("args", "sentence"),
    [
        (("p" * 600, "--external"), "a process id may be at most 512 characters; this one has 600"),
        (("p", "--external", "--label", "l" * 2000), "a label may be at most 1,024 characters"),
        (("p", "--engine", "k" * 300, "--disposition", "rerunnable"), "an engine kind may be"),
    ],
    ids=["id", "label", "engine kind"],
)
def test_a_start_past_a_length_limit_creates_nothing(
    tmp_path: Path, args: tuple[str, ...], sentence: str
) -> None:
    path = tmp_path / "new.db"
    one_line_error(run("start", *args, db=path), sentence)
    assert not path.exists()


def test_an_undecodable_row_is_listed_shown_and_ended_by_id(db: Path) -> None:
    """A row another program wrote too deep to decode: `ls`, `show`, `cancel` and
    `end-undecodable` all answer (before, each was a traceback or "recursion limit
    exceeded"), and prune then removes it."""
    conn = sqlite3.connect(db)
    record = json.loads(conn.execute("SELECT record_json FROM processes").fetchone()[0])
    conn.close()
    record["id"] = "deep"
    record["input"]["metadata"] = "PLACEHOLDER"
    copy_row(db, "job", "deep", json.dumps(record).replace('"PLACEHOLDER"', brackets(300)))

    listed = run("ls", db=db)
    assert listed.returncode == 0, listed.stderr
    rows = {line.split()[0]: line for line in listed.stdout.splitlines()[1:]}
    assert set(rows) == {"deep", "job"} and "undecodable: " in rows["deep"]
    as_json = json.loads(run("ls", "--json", db=db).stdout)
    assert [p.get("undecodable") is not None for p in as_json] == [True, False]
    shown = run("show", "deep", db=db)
    assert shown.returncode == 0 and "undecodable: " in shown.stdout, shown.stderr
    one_line_error(run("cancel", "deep", db=db), "lashtui end-undecodable deep")

    env = {**os.environ, "LASHTUI_OPERATOR": "dana"}
    ended = subprocess.run(
        [LASHTUI, "--db", str(db), "end-undecodable", "deep", "--reason", "host retired"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
    assert ended.returncode == 0, ended.stderr
    assert ended.stdout.strip() == "deep: done: ended undecodable process: now failed"
    events = json.loads(run("events", "deep", "--json", db=db).stdout)
    message = events[-1]["payload"]["await_output"]["message"]
    assert message.endswith("; ended by dana: host retired")
    pruned = run("prune", "--before", str(253_402_300_799_999), db=db)  # the end of 9999
    assert pruned.returncode == 0 and "pruned 1 terminal process and " in pruned.stdout
