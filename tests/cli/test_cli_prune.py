"""`lashtui prune` says its size: `--dry-run` counts what a prune would delete (processes and
events, human and `--json`) and writes nothing, and a prune says what it deleted. In-process
through `main([...])`, as the console script runs it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from lashtui.cli import main

END_OF_9999 = "253402300799999"
CUTOFF = "2100-01-01 00:00:00.000Z"  # after every row these tests write
CUTOFF_MS = "4102444800000"


def run(capsys: pytest.CaptureFixture[str], db: Path, *args: str) -> tuple[int, str, str]:
    code = main(["--db", str(db), *args])
    out, err = capsys.readouterr()
    return code, out, err


def digest(db: Path) -> str:
    return "".join(
        hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(db.parent.iterdir())
        if path.name.startswith(db.name)
    )


@pytest.fixture
def db(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """Two ended processes (one event each) and one still running."""
    path = tmp_path / "reg.db"
    for pid in ("a", "b", "live"):
        assert run(capsys, path, "start", pid, "--external")[0] == 0
    for pid in ("a", "b"):
        assert run(capsys, path, "cancel", pid)[0] == 0  # an external row: only requested
    return path


def end(db: Path, *pids: str) -> None:
    """Complete rows as their external owner would, through the registry (each gains its
    terminal event: with the cancel request, two events a row)."""
    import asyncio

    from lashtui.model import SuccessOutput
    from lashtui.registry import open_registry

    async def complete() -> None:
        async with open_registry(str(db)) as registry:
            for pid in pids:
                await registry.complete_process(pid, SuccessOutput(value=None))

    asyncio.run(complete())


def test_dry_run_counts_processes_and_events_and_writes_nothing(
    capsys: pytest.CaptureFixture[str], db: Path
) -> None:
    end(db, "a", "b")
    before = digest(db)

    code, out, err = run(capsys, db, "prune", "--before", CUTOFF_MS, "--dry-run")

    assert (code, err) == (0, "")
    assert out == (
        "unchanged: would prune 2 terminal processes and 4 events last changed before "
        f"{CUTOFF}; nothing was deleted (dry run)\n"
    )
    code, out, _ = run(capsys, db, "prune", "--before", CUTOFF_MS, "--dry-run", "--json")
    preview = json.loads(out)
    assert code == 0
    assert {k: preview[k] for k in ("action", "dry_run", "outcome", "processes", "events")} == {
        "action": "prune",
        "dry_run": True,
        "outcome": "unchanged",
        "processes": 2,
        "events": 4,
    }
    assert preview["cutoff_epoch_ms"] == int(CUTOFF_MS)
    assert digest(db) == before
    code, out, _ = run(capsys, db, "ls", "--status", "any", "--json")
    assert len(json.loads(out)) == 3


def test_a_prune_says_what_it_deleted(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    end(db, "a")

    code, out, _ = run(capsys, db, "prune", "--before", CUTOFF_MS)

    assert code == 0
    assert out == (f"done: pruned 1 terminal process and 2 events last changed before {CUTOFF}\n")
    code, out, _ = run(capsys, db, "prune", "--before", CUTOFF_MS)
    assert out == (
        f"unchanged: no terminal process was last changed before {CUTOFF}: nothing was deleted\n"
    )


def test_dry_run_on_a_missing_registry_creates_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "none.db"
    code, _, err = run(capsys, missing, "prune", "--before", END_OF_9999, "--dry-run")
    assert code == 1 and "none.db" in err
    assert list(tmp_path.iterdir()) == []
