"""A stdout that cannot be written, through the installed command: a full disk under it
(`>/dev/full`) or none at all (`>&-`). Every command that prints says so in one sentence
and exits 1 (`check`: UNKNOWN, 3), where each ended in a traceback and exit 1 (WARNING to
`check`'s monitor). A reader that goes away (`| head`) stays the quiet 141
(tests/cli/test_cli_files.py)."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest

from tests.cli.service import Worker, steps
from tests.cli.template import copy_registry, in_process
from tests.cli.test_cli import LASHTUI, lashtui

STEPS = ["--engine", "steps", "--disposition", "rerunnable", "--payload", steps({"finish": 1})]
REDIRECTS = {
    "full": ('exec "$0" "$@" >/dev/full', "No space left on device"),
    "closed": ('exec "$0" "$@" >&-', "it is closed"),
}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`a` started and cancelled by the installed command, once for the module."""
    path = tmp_path_factory.mktemp("template") / "reg.db"
    for argv in (["start", "a", "--external"], ["cancel", "a"]):
        assert lashtui(*argv, db=path).returncode == 0
    return path


@pytest.fixture
def db(tmp_path: Path, template: Path) -> Path:
    """A copy of `template`, the test's own (tests/cli/template.py says why)."""
    return copy_registry(template, tmp_path)


@pytest.mark.parametrize("redirect", sorted(REDIRECTS))
@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["ls"], 1),
        (["ls", "-o", "json"], 1),
        (["show", "a"], 1),
        (["audit"], 1),
        (["events", "a"], 1),
        (["completion", "bash"], 1),
        (["--help"], 1),
        (["check"], 3),
        (["check", "--json"], 3),
        (["check", "--bogus"], 3),
    ],
)
def test_a_stdout_that_cannot_be_written_is_one_sentence(
    db: Path, redirect: str, argv: list[str], code: int
) -> None:
    shell, why = REDIRECTS[redirect]
    result = subprocess.run(
        ["sh", "-c", shell, LASHTUI, "--db", str(db), *argv],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == code, result.stderr
    last = result.stderr.splitlines()[-1]
    assert last == f"lashtui: could not write to stdout: {why}", result.stderr
    assert "Traceback" not in result.stderr and "Exception ignored" not in result.stderr


@pytest.mark.parametrize("redirect", sorted(REDIRECTS))
def test_an_action_done_says_its_line_was_not_written(db: Path, redirect: str) -> None:
    """`worker --once` runs what is runnable, then cannot print its pass line: exit 1 and
    the sentence, its run done all the same (said only as it happened)."""
    in_process(db, "start", *STEPS, "w")  # (setup, in this process: template.py says why)
    shell, why = REDIRECTS[redirect]
    result = subprocess.run(
        ["sh", "-c", shell, LASHTUI, "--db", str(db), "worker", "--once"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines()[-1] == f"lashtui: could not write to stdout: {why}"
    assert "Traceback" not in result.stderr
    assert '"completed"' in lashtui("show", "w", "--json", db=db).stdout


def test_the_worker_service_needs_no_stdout(db: Path, workers: list[Worker]) -> None:
    """A `lashtui worker` started with stdout closed prints nothing there, so nothing fails:
    it runs work and stops on SIGTERM with exit 0, saying nothing of stdout."""
    worker = Worker(db, wrapper=("sh", "-c", 'exec "$0" "$@" >&-'))
    workers.append(worker)
    in_process(db, "start", *STEPS, "w")
    worker.until(lambda: worker.events("run_ended"), "the run to end")
    worker.process.send_signal(signal.SIGTERM)
    assert worker.wait() == 0, worker.lines
    assert not any("stdout" in line for line in worker.lines), worker.lines
