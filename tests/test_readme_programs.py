"""The whole programs the README's "From Python" section prints run as printed, the way a
user runs them: copied into a file in an empty folder, run by the installed Python, with
nothing on stderr, and printing what the README's comments on their `print` lines say.
tests/test_typed.py checks that they type-check; nothing ran them."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.test_typed import readme_python_programs


def printed_as_commented(program: str) -> list[str]:
    """What the README says each `print(...)` line prints: the comment after it, in order
    (each of the README's prints runs once, its loop over one event included)."""
    said = []
    for line in program.splitlines():
        if line.strip().startswith("print("):
            found = re.search(r"\)\s+# (.+)$", line)
            assert found, f"the README does not say what this prints: {line.strip()}"
            said.append(found.group(1).strip())
    return said


def test_each_readme_program_runs_and_prints_what_its_comments_say(tmp_path: Path) -> None:
    programs = readme_python_programs()
    assert len(programs) >= 2  # the facade's and the registry's
    for number, program in enumerate(programs):
        folder = tmp_path / f"program{number}"
        folder.mkdir()
        (folder / "app.py").write_text(program)
        ran = subprocess.run(
            [sys.executable, "app.py"], cwd=folder, capture_output=True, text=True, timeout=120
        )
        assert (ran.returncode, ran.stderr) == (0, ""), program + ran.stderr
        assert ran.stdout.splitlines() == printed_as_commented(program), program + ran.stdout
        assert (folder / "registry.db").is_file()
