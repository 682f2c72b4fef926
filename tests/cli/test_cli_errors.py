"""`lashtui errors`: failed, cancelled and abandoned rows grouped, as the Errors view shows
them, from a real registry file read-only (the file is unchanged after)."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest

from lashtui.model import CancelledOutput, ProcessAwaitOutput, error, failure
from lashtui.parser import read
from lashtui.registry import open_registry
from tests.builders import ext
from tests.cli.test_cli import digest, lashtui


@pytest.fixture
def ended(tmp_path: Path) -> Path:
    path = tmp_path / "reg.db"

    async def build() -> None:
        async with open_registry(str(path)) as registry:
            endings: list[tuple[str, ProcessAwaitOutput]] = [
                ("f1", failure("upstream_timeout", "no answer in 30s")),
                ("f2", failure("upstream_timeout", "no answer in 30s")),
                ("c1", CancelledOutput(message="requested by dana: \x1b[2Jstale")),
            ]
            for pid, output in endings:
                await registry.register_process(ext(pid))
                await registry.complete_process(pid, output)
            await registry.register_process(ext("live"))

    asyncio.run(build())
    return path


def test_errors_prints_the_groups_and_what_they_cover(ended: Path) -> None:
    before = digest(ended)
    result = lashtui("errors", db=ended)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "failed, cancelled and abandoned among every process (4): 3 rows in 2 groups, "
        "largest first; codes and messages grouped on their first 200 characters"
    )
    assert lines[1].split() == [
        "STATE",
        "COUNT",
        "FIRST",
        "SEEN",
        "LAST",
        "SEEN",
        "CODE",
        "MESSAGE",
    ]
    assert lines[2].split()[:2] == ["failed", "2"] and "no answer in 30s" in lines[2]
    # The time as `show` prints one (a space, no T).
    first_seen = " ".join(lines[2].split()[2:4])
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}Z", first_seen)
    # The stored ESC is shown as the characters `\x1b`, never sent to the terminal.
    assert lines[3].split()[:2] == ["cancelled", "1"] and "\\x1b[2Jstale" in lines[3]
    assert "\x1b" not in result.stdout
    assert digest(ended) == before


def test_errors_json(ended: Path) -> None:
    result = lashtui("errors", "--json", "--sort", "last_seen", "--window", "2", db=ended)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["window"], summary["scanned"], summary["rows"]) == (2, 2, 1)
    # The last two changes: c1 and the live row.
    assert [(g["state"], g["code"], g["message"], g["count"]) for g in summary["groups"]] == [
        ("cancelled", "", "requested by dana: \x1b[2Jstale", 1)
    ]
    assert "\x1b" not in result.stdout  # written as \u001b, the same JSON value


@pytest.mark.parametrize("flag", [("--window", "0"), ("--limit", "10001"), ("--sort", "age")])
def test_a_bad_flag_is_a_usage_error(ended: Path, flag: tuple[str, str]) -> None:
    result = lashtui("errors", *flag, db=ended)
    assert result.returncode == 2 and flag[0] in result.stderr


def test_the_command_lines_ranges_are_the_models() -> None:
    assert (read.WINDOW_DEFAULT, read.WINDOW_MAX, read.GROUPS_MAX) == (
        error.WINDOW_DEFAULT,
        error.WINDOW_MAX,
        error.GROUPS_MAX,
    )


def test_one_row_in_one_group_is_said_in_the_singular(tmp_path: Path) -> None:
    path = tmp_path / "one.db"

    async def build() -> None:
        async with open_registry(str(path)) as registry:
            await registry.register_process(ext("f1"))
            await registry.complete_process("f1", failure("boom", "it broke"))

    asyncio.run(build())
    result = lashtui("errors", db=path)
    assert result.returncode == 0, result.stderr
    assert ": 1 row in 1 group, largest first;" in result.stdout.splitlines()[0], result.stdout
