"""Issue 17 item 4 on the command line: `lashtui rerun ID... [--as OP] [--json]` prints one
outcome per target and starts each re-run under `<id>~rerun-<n>`; a live or unknown id is
refused with exit 1 and one line on stderr, the others still run again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.test_cli_actions import run

FINISH = json.dumps({"steps": [{"finish": "ok"}]})


@pytest.fixture
def db(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("LASHTUI_OPERATOR", raising=False)
    path = tmp_path / "reg.db"
    for pid in ("a", "b"):
        code = run(
            capsys, path, "start", pid, "--engine", "steps", "--disposition", "rerunnable",
            "--payload", FINISH, "--grant", "session:s",
        )[0]  # fmt: skip
        assert code == 0
    assert run(capsys, path, "worker", "--once")[0] == 0
    assert run(capsys, path, "start", "live", "--external")[0] == 0
    return path


def test_rerun_prints_each_outcome_and_the_worker_runs_the_new_rows(
    capsys: pytest.CaptureFixture[str], db: Path
) -> None:
    code, out, err = run(capsys, db, "rerun", "a", "b", "--as", "dana@h")
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "a: done: re-run as `a~rerun-1` by dana@h; 1 grant(s) copied; the next worker runs it",
        "b: done: re-run as `b~rerun-1` by dana@h; 1 grant(s) copied; the next worker runs it",
    ]
    assert run(capsys, db, "worker", "--once")[0] == 0
    code, out, _ = run(capsys, db, "show", "a~rerun-1", "--json")
    assert code == 0 and json.loads(out)["status"]["state"] == "completed"
    code, out, _ = run(capsys, db, "events", "a~rerun-1", "--json")
    first = json.loads(out)[0]
    assert (first["event_type"], first["payload"]) == (
        "lashtui.rerun_of",
        {"rerun_of": "a", "by": "dana@h"},
    )


def test_rerun_json_is_a_list_of_outcomes_with_the_started_row(
    capsys: pytest.CaptureFixture[str], db: Path
) -> None:
    code, out, err = run(capsys, db, "--as", "eve", "rerun", "a", "live", "nope", "--json")
    assert code == 1
    document = json.loads(out)
    assert [(o["process_id"], o["action"], o["outcome"]) for o in document] == [
        ("a", "rerun", "done"),
        ("live", "rerun", "refused"),
        ("nope", "rerun", "refused"),
    ]
    assert document[0]["started"]["process_id"] == "a~rerun-1"
    assert document[0]["status"] == "completed"  # the row it re-runs, unchanged
    assert "started" not in document[1]
    assert err.splitlines() == [
        "lashtui: process `live` is running: only a terminal process can be run again",
        "lashtui: unknown process `nope`",
    ]
