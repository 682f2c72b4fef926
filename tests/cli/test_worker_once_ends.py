"""A one-pass run (`worker --once`, `sweep`) returns as soon as its runs have ended. It
waited for its runs *and* a stop signal, so each pass sat out `ONCE_WAITING_SAY_S` (1 s)
after its work was done: every `sweep` and `worker --once` a script ran took a second more
than it needed (and the suite, which runs them a few hundred times, as long).

Run by the command's own entry point in this process (its stop signals' handlers need the
main thread), with that wait made 20 s: a pass that sits it out takes 20 s or more, one
that does not takes milliseconds (on a loaded machine, a second or two)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from lashtui.cli import main
from lashtui.command import worker as worker_command
from tests.cli.template import in_process

SAY_S = 20.0


@pytest.mark.parametrize("command", [["worker", "--once"], ["sweep"]])
def test_a_pass_returns_once_its_runs_have_ended(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    monkeypatch.setattr(worker_command, "ONCE_WAITING_SAY_S", SAY_S)
    db = str(tmp_path / "r.db")
    in_process(db, "start", "job", "--engine", "steps", "--disposition", "rerunnable",
               "--payload", '{"steps": []}')  # fmt: skip
    in_process(db, "start", "ext", "--external")
    began = time.monotonic()
    assert main(["--db", db, *command]) == 0
    took = time.monotonic() - began
    assert took < SAY_S / 2, f"{command} returned after {took:.1f}s: it waited out SAY_S"
