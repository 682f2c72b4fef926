"""Arguments that are not UTF-8 (a Latin-1 terminal, `$'\\xff'` in bash), through the
installed `lashtui`: each is a usage error of its command (exit 2; `check`'s UNKNOWN, 3)
in one sentence naming the argument and showing the value as a shell word that reads back
as the bytes given, never the raw bytes. They exited 1, as if the registry had refused the
value, and the sentence did not show it.

`show`, `events` and `end-undecodable` take such an ID as the bytes of an id another
program stored in a SQLite file (tests/cli/test_cli_raw_id.py): there it is looked up,
and an id no row has is `unknown process` (exit 1, as any id no row has). No PostgreSQL
registry can hold one (its text is UTF-8), so there it is the usage error too.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.cli.template import copy_registry
from tests.cli.test_cli import LASHTUI, digest
from tests.cli.test_cli_empty_values import started


def run(target: str, *args: str | bytes) -> subprocess.CompletedProcess[bytes]:
    argv = [LASHTUI.encode(), b"--db", target.encode(), *(
        a if isinstance(a, bytes) else a.encode() for a in args
    )]  # fmt: skip
    return subprocess.run(argv, capture_output=True, timeout=60, check=False)


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


BAD = b"a\xffb"
SAID = "not valid UTF-8 (byte 0xff at character 1): $'a\\xffb'"

# Each command with one argument that is not UTF-8, and the argument as the error names it.
COMMANDS = {
    "cancel": ((b"cancel", BAD), "id"),
    "cancel --reason": ((b"cancel", b"job", b"--reason", BAD), "--reason"),
    "signal": ((b"signal", BAD, b"go"), "id"),
    "signal NAME": ((b"signal", b"job", BAD), "name"),
    "signal --payload": ((b"signal", b"job", b"go", b"--payload", BAD), "--payload"),
    "abandon": ((b"abandon", BAD), "id"),
    "await": ((b"await", BAD, b"--timeout", b"0"), "id"),
    "rerun": ((b"rerun", b"job", BAD), "ID"),
    "transfer": ((b"transfer", b"--from", b"session:alice", b"--to", b"session:b", BAD), "ID"),
    "transfer --to": ((b"transfer", b"--from", b"session:alice", b"--to", BAD, b"job"), "--to"),
    "start": ((b"start", BAD, b"--external"), "id"),
    "start --label": ((b"start", b"new", b"--external", b"--label", BAD), "--label"),
    "ls --granted-to": ((b"ls", b"--granted-to", BAD), "--granted-to"),
    "ls --after": ((b"ls", b"--after", BAD), "--after"),
    "audit --process": ((b"audit", b"--process", BAD), "--process"),
    "--as": ((b"--as", BAD, b"ls"), "--as"),
}


def said_once(result: subprocess.CompletedProcess[bytes]) -> str:
    """The usage error's last line, checked to carry no byte that is not UTF-8."""
    assert result.stdout == b"", result
    assert b"\xff" not in result.stderr, result.stderr
    return result.stderr.decode().strip().splitlines()[-1]


# And with `--json`, where a command takes it: the usage error is still no document.
CASES = [(name, ()) for name in COMMANDS] + [
    (name, (b"--json",)) for name in COMMANDS if name not in ("start --label", "--as")
]


@pytest.mark.parametrize(("name", "output"), CASES)
def test_an_argument_that_is_not_utf8_is_a_usage_error(
    db: Path, name: str, output: tuple[bytes, ...]
) -> None:
    args, argument = COMMANDS[name]
    before = digest(db)
    result = run(str(db), *args, *output)
    assert result.returncode == 2, result
    assert said_once(result).endswith(f"error: argument {argument}: {SAID}")
    assert digest(db) == before


def test_a_long_value_is_shown_around_its_bad_byte(db: Path) -> None:
    payload = b'"' + b"x" * 100 + b"\xe9" + b"y" * 100 + b'"'
    result = run(str(db), "signal", "job", "go", "--payload", payload)
    assert result.returncode == 2, result
    line = said_once(result)
    assert line.endswith(
        "argument --payload: not valid UTF-8 (byte 0xe9 at character 101): "
        f"...$'{'x' * 32}\\xe9{'y' * 31}'..."
    ), line


def test_check_says_it_as_unknown(db: Path) -> None:
    result = run(str(db), "check", "--as", BAD)
    assert result.returncode == 3, result
    assert result.stdout.decode() == f"LASHTUI UNKNOWN - usage: argument --as: {SAID}\n"
    as_json = run(str(db), "--as", BAD, "check", "--json")
    assert as_json.returncode == 3, as_json
    assert json.loads(as_json.stdout)["summary"] == f"usage: argument --as: {SAID}"


@pytest.mark.parametrize("command", [b"show", b"events", b"end-undecodable"])
def test_a_raw_id_is_looked_up_in_sqlite_and_a_usage_error_in_postgres(
    db: Path, postgres_schema: str, command: bytes
) -> None:
    more = (b"--reason", b"r") if command == b"end-undecodable" else ()
    missing = run(str(db), command, BAD, *more)
    assert (missing.returncode, missing.stderr) == (1, b"lashtui: unknown process `a\\udcffb`\n")
    assert run(postgres_schema, "start", "job", "--external").returncode == 0
    refused = run(postgres_schema, command, BAD, *more)
    assert refused.returncode == 2, refused
    assert said_once(refused).endswith(f"error: argument id: {SAID}")
