"""A row whose id another program stored as bytes that are not UTF-8, through the installed
`lashtui` run as a subprocess: `ls` lists it with each such byte escaped (`r\\udcffw`), and
`show`, `events` and `end-undecodable` take its ID either as those raw bytes in argv or as
that escaped text (exact match first: a row really named `r\\udcffw` wins), after which
`prune` removes it with its events, grants and lease. Before, argv that is not UTF-8 was
refused and the escaped form named no row, so such a row could be listed but never ended."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

import pytest

from lashtui.registry import open_registry
from tests.builders import rr
from tests.cli.test_cli import LASHTUI, one_line_error
from tests.raw import rows_keyed, store_id_as_bytes
from tests.registry.rows import claim

RAW = b"r\xffw"
ESCAPED = "r\\udcffw"  # what `ls` shows for it


def run(*args: str | bytes, db: Path) -> subprocess.CompletedProcess[str]:
    # bytes in argv: how a shell passes an argument that is not UTF-8
    argv: list[str | bytes] = [LASHTUI, "--db", str(db), *args]
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=60, check=False, errors="strict"
    )


async def _seed(db: Path, *extra: str) -> None:
    async with open_registry(str(db)) as registry:
        for pid in ("good", "raw", *extra):
            await registry.register_process(rr(pid))
        await claim(registry, "raw")


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "reg.db"
    asyncio.run(_seed(path))
    store_id_as_bytes(str(path), "raw", RAW)
    return path


def listed(db: Path) -> list[str]:
    result = run("ls", "--status", "any", "--json", db=db)
    assert result.returncode == 0, result.stderr
    return [p["process_id"] for p in json.loads(result.stdout)]


@pytest.mark.parametrize("named", [RAW, ESCAPED], ids=["raw argv bytes", "escaped"])
def test_end_undecodable_by_id_then_prune(db: Path, named: str | bytes) -> None:
    shown = run("ls", db=db)
    assert shown.returncode == 0 and ESCAPED in shown.stdout, shown.stderr
    assert listed(db) == ["good", "r\udcffw"]  # JSON: the `\udcff` escape

    looked = run("show", named, db=db)
    assert looked.returncode == 0, looked.stderr
    first, _, rest = looked.stdout.partition("\n")
    assert first.startswith(f"{ESCAPED}  ") and first.endswith(" (undecodable)")
    # The way out names the id as a shell reads it back: its byte 0xff, in ANSI-C quoting.
    assert "`lashtui end-undecodable $'r\\xffw' --reason R` changes it" in rest
    hint = subprocess.run(
        ["bash", "-c", f"{LASHTUI} --db {db} show $'r\\xffw'"], capture_output=True, timeout=60
    )
    assert hint.returncode == 0 and hint.stdout.startswith(ESCAPED.encode()), hint.stderr

    ended = run("--as", "dana", "end-undecodable", named, "--reason", "bad bytes", db=db)

    assert ended.returncode == 0, ended.stderr
    assert ended.stdout == f"{ESCAPED}: done: ended undecodable process: now failed\n"
    events = run("events", named, "--json", db=db)
    assert events.returncode == 0, events.stderr
    (event,) = json.loads(events.stdout)
    message = event["payload"]["await_output"]["message"]
    assert event["event_type"] == "process.failed" and message.endswith("dana: bad bytes")
    assert rows_keyed(str(db), RAW)["processes"] == 1

    pruned = run("prune", "--before", "253402300799999", db=db)

    assert pruned.returncode == 0, pruned.stderr
    assert listed(db) == ["good"]
    assert set(rows_keyed(str(db), RAW).values()) == {0}


def test_an_id_that_really_is_the_escape_text_wins(tmp_path: Path) -> None:
    """Exact match first: with a row named `r\\udcffw` (nine characters) beside the raw one,
    the escaped form names that row; the raw bytes still name the other."""
    db = tmp_path / "reg.db"
    asyncio.run(_seed(db, ESCAPED))
    store_id_as_bytes(str(db), "raw", RAW)

    literal = run("show", ESCAPED, "--json", db=tmp_path / "reg.db")
    assert literal.returncode == 0, literal.stderr
    assert json.loads(literal.stdout)["kind"] == "echo"  # the row that decodes
    one_line_error(
        run("end-undecodable", ESCAPED, "--reason", "x", db=db),
        f"process `{ESCAPED}` is not undecodable; cancel or abandon it instead",
    )
    ended = run("end-undecodable", RAW, "--reason", "x", db=db)
    assert ended.returncode == 0, ended.stderr


def test_an_escape_no_row_has_names_the_id_as_given(db: Path) -> None:
    one_line_error(run("show", "nope\\udcff", db=db), "unknown process `nope\\udcff`")
    one_line_error(
        run("end-undecodable", b"nope\xff", "--reason", "x", db=db),
        "unknown process `nope\\udcff`",
    )
    # Only these three commands take such bytes; the others still refuse them.
    refused = run("cancel", RAW, db=db)
    assert refused.returncode == 2, refused
    assert refused.stderr.strip().endswith(
        "argument id: not valid UTF-8 (byte 0xff at character 1): $'r\\xffw'"
    ), refused.stderr
