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


# --- issue 17 item 8: `lashtui audit`


def test_audit_lists_every_action_with_its_operator_and_filters(
    capsys: pytest.CaptureFixture[str], db: Path
) -> None:
    assert run(capsys, db, "rerun", "a", "--as", "dana@h")[0] == 0
    assert run(capsys, db, "--as", "eve@h", "cancel", "live", "--reason", "stale")[0] == 0
    assert run(capsys, db, "--as", "eve@h", "signal", "live", "go")[0] == 1  # undeclared
    assert run(capsys, db, "prune", "--older-than", "0s", "--as", "sam@h")[0] == 0
    code, out, err = run(capsys, db, "audit")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert [line.split("  ")[1:4] for line in lines] == [
        ["sam@h", "prune", "(registry)"],  # the refused signal wrote nothing: not recorded
        ["eve@h", "cancel", "live"],
        ["dana@h", "rerun", "a"],
    ]
    assert "  done: pruned 2 terminal processes and " in lines[0]  # a and b
    code, out, _ = run(capsys, db, "audit", "--by", "eve@h", "--action", "cancel", "--json")
    page = json.loads(out)
    assert code == 0 and page["source"] == "recorded" and page["recorded"] is True
    assert [
        (e["operator"], e["action"], e["process_id"], e["outcome"]) for e in page["entries"]
    ] == [("eve@h", "cancel", "live", "requested")]
    assert page["entries"][0]["detail"] == {"reason": "stale"}
    code, out, _ = run(capsys, db, "audit", "--source", "events")
    assert [line.split("  ")[1:5] for line in out.splitlines()] == [
        ["eve@h", "cancel", "live", "requested: requested by eve@h: stale"],
        ["dana@h", "rerun", "a~rerun-1", "done: re-runs `a`"],
    ]


def test_audit_pages_and_refuses_a_bad_action_in_one_sentence(
    capsys: pytest.CaptureFixture[str], db: Path
) -> None:
    assert run(capsys, db, "rerun", "a", "b", "--as", "dana@h")[0] == 0
    code, out, err = run(capsys, db, "audit", "--limit", "1")
    (first,), more = out.splitlines(), err.strip()  # the hint on stderr, as `ls` says it
    assert " b  done: " in first and more.startswith("lashtui: more: --before ")
    code, out, _ = run(capsys, db, "audit", "--limit", "1", "--before", more.split()[-1])
    assert code == 0 and " a  done: " in out.splitlines()[0]
    with pytest.raises(SystemExit) as refused:  # a usage error (tests/cli/test_cli_usage_values.py)
        run(capsys, db, "audit", "--action", "reboot")
    out, err = capsys.readouterr()
    assert refused.value.code == 2 and out == ""
    assert "argument --action: invalid choice: 'reboot' (choose from 'cancel'" in err


def test_audit_of_a_registry_without_the_table_says_nothing_was_recorded(
    capsys: pytest.CaptureFixture[str], db: Path
) -> None:
    from tests.raw import raw_connection

    with raw_connection(str(db)) as conn:
        conn.execute("DROP TABLE lashtui_operator_actions")
    code, out, err = run(capsys, db, "audit")
    assert (code, err) == (0, "")
    assert out.startswith("nothing is recorded in this registry: it has no ")
    code, out, _ = run(capsys, db, "audit", "--json")
    assert json.loads(out) == {
        "source": "recorded", "entries": [], "next_before": None, "recorded": False,
    }  # fmt: skip
