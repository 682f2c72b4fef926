"""`lashtui audit --before`, through the installed command on both stores: the next-page
hint is one shell word on stderr (an events cursor holds a process id another program
wrote), and a cursor past what the stores keep (signed 64-bit) is a usage error naming it,
where SQLite refused the query naming nothing and PostgreSQL listed every entry."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest

from tests.cli.template import in_process
from tests.cli.test_cli import lashtui


def acted(target: str, *ids: str) -> None:
    """`start` then `cancel` each id, in order: one recorded cancel each, the last newest
    (set up in this process: tests/cli/template.py says why)."""
    for pid in ids:
        in_process(target, "start", pid, "--external")
        in_process(target, "cancel", pid)


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


@pytest.mark.parametrize(
    ("source", "cursor"),
    [
        ("recorded", "9223372036854775808"),
        ("recorded", "-9223372036854775809"),
        ("events", "99999999999999999999:a:1"),
        ("events", "1:a:9223372036854775808"),
    ],
)
def test_a_cursor_past_64_bits_is_a_usage_error_on_both_stores(
    registry_target: str, source: str, cursor: str
) -> None:
    acted(registry_target, "a")
    result = lashtui(
        "--db", registry_target, "audit", "--source", source, "--before", cursor
    )
    assert (result.returncode, result.stdout) == (2, ""), (result.stdout, result.stderr)
    kind = "row" if source == "recorded" else "event"
    assert f"argument --before: not an audit {kind} cursor: `{cursor}`" in result.stderr
    # The largest cursor each store keeps still reads the page (every entry is before it).
    largest = "9223372036854775807" if source == "recorded" else "9223372036854775807:a:1"
    result = lashtui("--db", registry_target, "audit", "--source", source, "--before", largest)
    assert result.returncode == 0 and " cancel  a  " in result.stdout, result.stderr


def test_an_empty_page_is_said_on_stderr(tmp_path: Path) -> None:
    """`audit` with nothing to list printed nothing at all, as if it had not run."""
    target = str(tmp_path / "reg.db")
    in_process(target, "start", "a", "--external")
    for argv, said in [
        ([], "no operator action is recorded in this registry"),
        (["--by", "nobody"], "no recorded operator action matches"),
        (["--source", "events"], "the event log holds no cancel request or re-run"),
    ]:
        result = lashtui("--db", target, "audit", *argv)
        assert (result.returncode, result.stdout) == (0, ""), result.stderr
        assert result.stderr == f"lashtui: {said}\n"
    acted(target, "b")
    result = lashtui("--db", target, "audit", "--by", "nobody", "--source", "events")
    assert result.stderr == "lashtui: no cancel request or re-run in the event log matches\n"


@pytest.mark.parametrize("outcome", ["refused", "unchanged"])
def test_an_outcome_lashtui_never_records_says_why_it_finds_nothing(
    tmp_path: Path, outcome: str
) -> None:
    """A refused or unchanged target writes nothing, so `--outcome refused` never matches
    lashtui's own entries: it said only "no recorded operator action matches", which reads
    as if no action had been refused, right after one was."""
    target = str(tmp_path / "reg.db")
    acted(target, "a")
    assert lashtui("--db", target, "abandon", "nosuch", "--reason", "x").returncode == 1
    result = lashtui("--db", target, "audit", "--outcome", outcome)
    assert (result.returncode, result.stdout) == (0, ""), result.stderr
    target_was = "a refused target" if outcome == "refused" else "a target left unchanged"
    assert result.stderr == (
        "lashtui: no recorded operator action matches; lashtui records only targets an action "
        f"changed (done or requested): {target_was} "
        f"writes nothing, so the trail holds no {outcome} entry unless another program wrote one\n"
    )
    # An outcome it does record keeps the plain sentence.
    result = lashtui("--db", target, "audit", "--outcome", "done")
    assert result.stderr == "lashtui: no recorded operator action matches\n"
