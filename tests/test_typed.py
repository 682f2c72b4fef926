"""Code that uses lashtui type-checks against lashtui's own hints (PEP 561: the package
ships `py.typed`), under `mypy --strict` with pydantic's plugin, as the README's "From
Python" section says. Checked the way a user's project checks it: mypy run on a script in
a directory of its own, so lashtui is found installed, not as a source folder beside it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"

USER_SCRIPT = """
import asyncio

from lashtui.admin import Processes
from lashtui.model import Engine, ProcessEventType, ProcessStartRequest, RecoveryDisposition
from lashtui.registry import open_registry
from lashtui.worker import ProcessContext, ProcessWorker


async def greet(ctx: ProcessContext, payload: object) -> str:
    await ctx.append_event("greet.sent", {"to": str(payload)})
    return f"hello {payload}"


async def main() -> None:
    async with open_registry("registry.db") as registry:
        worker = ProcessWorker(registry)
        worker.engines.register("greet", greet)
        processes = Processes(registry, worker=worker)
        async with worker.running():
            await processes.start(
                ProcessStartRequest(
                    id="greet-1",
                    input=Engine(kind="greet", payload={"name": "ada"}),
                    disposition=RecoveryDisposition.RERUNNABLE,
                    event_types=[ProcessEventType.plain("greet.sent")],
                )
            )
            print(await processes.await_output("greet-1", timeout=10))


asyncio.run(main())
"""


def mypy_strict(
    project: Path, *, plugin: bool, script: str = USER_SCRIPT
) -> subprocess.CompletedProcess[str]:
    (project / "app.py").write_text(script)
    plugins = 'plugins = ["pydantic.mypy"]\n' if plugin else ""
    (project / "pyproject.toml").write_text(f"[tool.mypy]\nstrict = true\n{plugins}")
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(project / "cache"), "app.py"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_users_script_passes_mypy_strict_with_the_pydantic_plugin(tmp_path: Path) -> None:
    checked = mypy_strict(tmp_path, plugin=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_without_the_plugin_the_models_constructors_need_it(tmp_path: Path) -> None:
    # Why the README names the plugin: the models declare `__pydantic_extra__` without a
    # default (lashtui/model/wire.py says why), which plain mypy reads as an argument.
    checked = mypy_strict(tmp_path, plugin=False)
    assert 'Missing named argument "__pydantic_extra__"' in checked.stdout, checked.stdout
    assert "py.typed" not in checked.stdout, checked.stdout


def readme_python_programs() -> list[str]:
    """The whole programs (those that call `asyncio.run`) the README's "From Python"
    section prints, in order."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## From Python\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    return [block for block in blocks if "asyncio.run(" in block]


def test_the_readmes_python_programs_pass_mypy_strict_as_printed(tmp_path: Path) -> None:
    # The README promises `mypy --strict` checks code against lashtui's hints; its own first
    # program failed it (`async def greet(ctx, payload):`, no-untyped-def), so a user who
    # copied it and turned the check on started from an error.
    programs = readme_python_programs()
    assert len(programs) >= 2  # the facade's and the registry's
    for number, program in enumerate(programs):
        project = tmp_path / f"program{number}"
        project.mkdir()
        checked = mypy_strict(project, plugin=True, script=program)
        assert checked.returncode == 0, program + checked.stdout + checked.stderr
