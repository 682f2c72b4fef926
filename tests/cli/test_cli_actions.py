"""Issue 16 on the command line: each action prints what happened to each target (done,
requested, unchanged, refused) on stdout and in `--json`, records the operator (`--as`,
$LASHTUI_OPERATOR, user@host), refuses colliding scopes and bad plans, and refuses
out-of-range flags in one sentence with the documented exit status. In-process through
`main([...])`, as the console script runs it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from lashtui.cli import main

CANCEL = "process.cancel_requested"
WAIT = json.dumps({"steps": [{"wait_signal": "approve"}]})


def run(capsys: pytest.CaptureFixture[str], db: Path, *args: str) -> tuple[int, str, str]:
    code = main(["--db", str(db), *args])
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def cancel_reasons(capsys: pytest.CaptureFixture[str], db: Path, pid: str) -> list[str]:
    """The reasons of the process's cancel requests, as `lashtui events --json` shows them."""
    code, out, _ = run(capsys, db, "events", pid, "--json")
    assert code == 0
    return [e["payload"]["reason"] for e in json.loads(out) if e["event_type"] == CANCEL]


@pytest.fixture
def db(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("LASHTUI_OPERATOR", raising=False)
    path = tmp_path / "reg.db"
    assert run(capsys, path, "start", "ext", "--external", "--grant", "session:a")[0] == 0
    assert run(capsys, path, "start", "ext2", "--external", "--grant", "session:a")[0] == 0
    return path


# --- item 6 and 7: outcomes and operators ----------------------------------------------------


def test_cancel_of_an_external_row_says_requested_and_records_the_operator(
    capsys: pytest.CaptureFixture[str], db: Path
) -> None:
    code, out, err = run(capsys, db, "--as", "dana@h", "cancel", "ext", "--reason", "stale")
    assert (code, err) == (0, "")
    assert out == (
        "ext: requested: cancel requested by dana@h; externally owned: its owner must end it\n"
    )
    assert cancel_reasons(capsys, db, "ext") == ["requested by dana@h: stale"]
    code, out, _ = run(capsys, db, "cancel", "ext", "--as", "eve@h")  # after the command too
    assert code == 0 and out.startswith("ext: unchanged: a cancel was already requested ")
    assert "(requested by dana@h: stale)" in out
    assert cancel_reasons(capsys, db, "ext") == ["requested by dana@h: stale"]


def test_the_operator_comes_from_the_environment_else_user_at_host(
    capsys: pytest.CaptureFixture[str], db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LASHTUI_OPERATOR", "ops-bot")
    assert run(capsys, db, "cancel", "ext")[0] == 0
    monkeypatch.delenv("LASHTUI_OPERATOR")
    assert run(capsys, db, "cancel", "ext2")[0] == 0
    assert cancel_reasons(capsys, db, "ext") == ["requested by ops-bot"]
    (reason,) = cancel_reasons(capsys, db, "ext2")
    assert reason.startswith("requested by ") and "@" in reason


def test_a_bad_operator_name_is_one_sentence_and_writes_nothing(
    capsys: pytest.CaptureFixture[str], db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A bad `--as` is a usage error (exit 2), as one that is not UTF-8 is; it exited 1.
    with pytest.raises(SystemExit) as usage:
        run(capsys, db, "--as", "dana smith", "cancel", "ext")
    out, err = capsys.readouterr()
    assert (usage.value.code, out) == (2, "")
    assert "error: argument --as must be 1 to 128 printable characters" in err
    monkeypatch.setenv("LASHTUI_OPERATOR", "\x1b]0;pwned\x07")
    code, _, err = run(capsys, db, "abandon", "ext")
    assert code == 1 and "\x1b" not in err and "$LASHTUI_OPERATOR must be" in one_line(err)
    assert cancel_reasons(capsys, db, "ext") == []


def test_abandon_twice_is_requested_then_unchanged_naming_the_first(
    capsys: pytest.CaptureFixture[str], db: Path
) -> None:
    code, out, _ = run(capsys, db, "--as", "dana@h", "abandon", "ext", "--reason", "gone")
    assert code == 0 and out.startswith("ext: requested: abandon requested by dana@h; will")
    code, out, _ = run(capsys, db, "abandon", "ext", "--by", "eve@h", "--reason", "other", "--json")
    document = json.loads(out)
    assert code == 0 and document["outcome"] == "unchanged"
    assert document["sentence"].startswith("already requested by dana@h just now (gone); ")
    assert document["process"]["abandon_request"]["requested_by"] == "dana@h"


def test_json_outcome_shape_and_a_refusal_exits_1_with_one_line(
    capsys: pytest.CaptureFixture[str], db: Path
) -> None:
    code, out, err = run(capsys, db, "cancel", "ext", "--json")
    document = json.loads(out)
    assert code == 0 and err == ""
    assert set(document) == {"process_id", "action", "outcome", "sentence", "process", "status"}
    assert (document["process_id"], document["status"], document["action"]) == (
        "ext",
        "running",
        "cancel",
    )
    code, out, err = run(capsys, db, "cancel", "nope", "--json")
    assert code == 1 and json.loads(out)["outcome"] == "refused"
    assert one_line(err) == "lashtui: unknown process `nope`"


def test_transfer_reports_each_id_all_or_none(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    code, out, err = run(
        capsys, db, "transfer", "--from", "session:a", "--to", "session:b", "ext", "nope"
    )
    assert code == 1
    assert out.startswith("ext: unchanged: not moved: a transfer moves all its grants or none")
    assert one_line(err) == "lashtui: unknown process `nope`"
    code, out, _ = run(
        capsys, db, "transfer", "--from", "session:a", "--to", "session:b", "ext", "--json"
    )
    assert code == 0 and [d["outcome"] for d in json.loads(out)] == ["done"]
    code, out, _ = run(capsys, db, "transfer", "--from", "session:a", "--to", "session:b", "ext")
    assert (code, out) == (0, "ext: unchanged: the grant is already in session:b\n")


# --- item 3: colliding scopes ---------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("ls", "--granted-to", "session:v/x"),
        ("start", "p", "--external", "--grant", "session:v/x/frame:f"),
        ("transfer", "--from", "session:a", "--to", "session:a/b", "ext"),
    ],
)
def test_a_session_id_with_a_slash_is_refused_at_the_command_line(
    capsys: pytest.CaptureFixture[str], db: Path, args: tuple[str, ...]
) -> None:
    before = db.read_bytes()
    with pytest.raises(SystemExit) as refused:  # a usage error, naming the flag
        run(capsys, db, *args)
    err = capsys.readouterr().err
    assert refused.value.code == 2 and "contains `/`" in err.strip().splitlines()[-1]
    assert db.read_bytes() == before


# --- item 9: flags, one sentence each --------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("await", "ext", "--timeout", "nan"), "a timeout is a finite number of seconds"),
        (("await", "ext", "--timeout", "inf"), "got `inf`"),
        (("await", "ext", "--timeout", "-1"), "got `-1`"),
        (("worker", "--ttl-ms", "0"), "a lease TTL in milliseconds is a whole number from 1000"),
        (("worker", "--ttl-ms", "-5"), "got `-5`"),
        (("worker", "--ttl-ms", str(2**70)), f"got `{2**70}`"),
        (("sweep", "--once", "--ttl-ms", "0"), "got `0`"),
        (("prune", "--before", "-1"), "a cutoff in epoch milliseconds is a whole number"),
        (("prune", "--before", str(2**70)), f"got `{2**70}`"),
        (("prune", "--older-than", "1x"), "argument --older-than: a duration is a number"),
        (("prune", "--older-than", "99999999d"), "99999999d reaches back before 1970"),
        (("events", "ext", "--after", str(2**70)), "--after: a sequence number is a whole"),
        (("events", "ext", "--after", "-1"), "argument --after: a sequence number"),
    ],
)
def test_out_of_range_flags_are_usage_errors_naming_the_value(
    capsys: pytest.CaptureFixture[str], db: Path, args: tuple[str, ...], needle: str
) -> None:
    before = db.read_bytes()
    with pytest.raises(SystemExit) as usage:
        main(["--db", str(db), *args])
    assert usage.value.code == 2
    assert needle in capsys.readouterr().err
    assert db.read_bytes() == before


def test_await_timeout_zero_looks_once(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    code, _, err = run(capsys, db, "await", "ext", "--timeout", "0")
    assert code == 1 and one_line(err) == "lashtui: process `ext` did not finish within 0s"
    plan = json.dumps({"steps": [{"finish": 7}]})
    start = ("start", "p", "--engine", "steps", "--disposition", "rerunnable", "--payload", plan)
    assert run(capsys, db, *start)[0] == 0
    assert run(capsys, db, "worker", "--once")[0] == 0
    code, out, err = run(capsys, db, "await", "p", "--timeout", "0", "--json")
    assert (code, err, json.loads(out)) == (0, "", {"type": "success", "value": 7})


def test_a_steps_plan_that_is_not_one_is_refused_before_a_file_is_made(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    fresh = tmp_path / "fresh.db"
    bad = json.dumps({"steps": [{"wait_signal": "approve"}, {"sleeep_ms": 5}]})
    code, _, err = run(
        capsys, fresh, "start", "p", "--engine", "steps", "--disposition", "rerunnable",
        "--payload", bad,
    )  # fmt: skip
    sentence = "lashtui: --payload is not a steps plan: step 2 has `sleeep_ms`"
    assert code == 1 and one_line(err).startswith(sentence)
    assert not fresh.exists()
    ok = ("start", "p", "--engine", "steps", "--disposition", "rerunnable", "--payload", WAIT)
    assert run(capsys, fresh, *ok)[0] == 0


def test_help_documents_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for line in ("exit status:", "  0 ", "  1 ", "  2 ", "  130 ", "--as NAME"):
        assert line in out, line
    # `demo` draws the dashboard too and exits 2 without a terminal, as README's table
    # says; the help named `dash` alone.
    assert "`dash` or `demo` without a terminal" in out


def test_help_lists_every_exit_status_the_readme_lists() -> None:
    """The installed `lashtui --help` and README's table agree: 129 (a second SIGHUP to
    `worker`) was in the README alone."""
    from tests.cli.test_cli import lashtui

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    table = readme.split("| exit status | meaning |", 1)[1].split("\n\n", 1)[0]
    listed = re.findall(r"^\| (\d+) \|", table, re.M)
    assert "129" in listed and len(listed) >= 7, listed
    shown = lashtui("--help").stdout
    assert [s for s in listed if f"\n  {s} " not in shown] == []
