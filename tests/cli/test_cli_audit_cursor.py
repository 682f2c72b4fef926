"""`lashtui audit --before`, through the installed command: the next-page hint is one shell
word on stderr (an events cursor holds a process id another program wrote)."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

from tests.cli.test_cli import lashtui


def acted(target: str, *ids: str) -> None:
    """`start` then `cancel` each id, in order: one recorded cancel each, the last newest."""
    for pid in ids:
        assert lashtui("--db", target, "start", pid, "--external").returncode == 0
        assert lashtui("--db", target, "cancel", pid).returncode == 0


def hint(result: subprocess.CompletedProcess[str]) -> list[str]:
    """The `--before` hint's words, as a shell reads them back."""
    assert result.returncode == 0, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("lashtui: more: "), line
    return shlex.split(line.removeprefix("lashtui: more: "))


def test_the_next_page_hint_is_one_shell_word_on_stderr(tmp_path: Path) -> None:
    target = str(tmp_path / "reg.db")
    planted = tmp_path / "PWNED"
    hostile = f"$(touch {planted})"
    acted(target, "a b", hostile, "zz")
    seen = []
    argv = ["--source", "events", "--limit", "1"]
    for _ in range(3):
        result = lashtui("--db", target, "audit", *argv)
        (row,) = result.stdout.splitlines()  # stdout holds the rows alone (`| wc -l`)
        seen.append(row.split("  ")[3])
        words = hint(result)
        assert words[0] == "--before" and len(words) == 2, words
        argv = ["--source", "events", "--limit", "1", *words]
    assert seen == ["zz", hostile, "a b"]
    assert not planted.exists()
    recorded = lashtui("--db", target, "audit", "--limit", "1")
    assert len(recorded.stdout.splitlines()) == 1 and hint(recorded)[0] == "--before"
