"""Every stored string of a registry another program wrote made hostile, one field a row
(tests/hostile/registry.py), on SQLite and on PostgreSQL, read by every reading command,
by every view of the real dashboard (Pilot), and logged by the sweep and a worker's pass.

Whatever field holds it, no output carries a byte a terminal would obey (ESC, BEL, CR, BS,
C1 CSI, a bidi override; human output no zero-width joiner either: it is shown as its
escape), no command fails or prints a traceback, and markup is shown as its characters.
Regression tests: nothing here failed when written, and each fails with `visible()`
(lashtui/untrusted.py) made to pass text through unchanged."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lashtui.admin import Processes
from lashtui.registry import open_registry
from lashtui.tui.app import make_app
from lashtui.tui.screens.detail import ProcessDetailScreen
from lashtui.tui.screens.processes import ProcessesScreen
from lashtui.untrusted import visible
from tests.cli.test_cli import LASHTUI
from tests.cli.test_cli_hostile import assert_nothing_obeyed, assert_nothing_unseen, run_cli
from tests.hostile.registry import HOSTILE, hostile_registry
from tests.tui.test_hostile_app import check_screen
from tests.tui.test_processes_view import until

SHOWN = visible(HOSTILE)
FORMATS = ("table", "wide", "json", "jsonl")


def read(target: str, *argv: str) -> str:
    """The command's stdout, checked: exit 0, no traceback, nothing a terminal obeys (and
    in human output nothing drawn as nothing)."""
    code, out, err = run_cli("--db", target, *argv)
    assert code == 0, (argv, err)
    text = assert_nothing_obeyed(out)
    assert_nothing_obeyed(err)
    assert b"Traceback" not in err
    if not {"json", "jsonl", "--json"} & set(argv):
        assert_nothing_unseen(text)
    return text


def test_every_reading_command(registry_target: str) -> None:
    made = asyncio.run(hostile_registry(registry_target))
    assert len(made) > 100  # every field of five rows, each in a row of its own

    for output in FORMATS:
        for order in ("id", "label", "status", "age", "updated", "lease_expiry"):
            text = read(registry_target, "ls", "--status", "any", "--limit", "0",
                        "--sort", order, "-o", output)  # fmt: skip
            if output == "wide":
                assert "[bold]x[/]|[@click=app.quit]x|[/]|\\x1b]0;PWNED\\x07" in text
        listed = read(registry_target, "ls", "--status", "any", "--limit", "0", "--json")
        assert {p["process_id"] for p in json.loads(listed)} >= set(made)
    for output in FORMATS:
        read(registry_target, "errors", "-o", output)
        read(registry_target, "audit", "-o", output)
        read(registry_target, "audit", "--source", "events", "-o", output)
    assert SHOWN in read(registry_target, "audit", "-o", "wide")
    for output in ("text", "json"):
        code, out, err = run_cli("--db", registry_target, "check", "-o", output)
        assert code in (0, 1, 2), err  # a Nagios status, not UNKNOWN (3: could not judge)
        assert_nothing_obeyed(out)
    for pid in made:
        for output in ("table", "json"):
            read(registry_target, "show", "-o", output, "--", pid)
            read(registry_target, "events", "-o", output, "--", pid)
    assert SHOWN in read(registry_target, "show", "--", made[-1])


def _another_view_read(app: Any, before: Any) -> Callable[[], bool]:
    """Whether a view other than `before` is current with its first read on screen (each
    view, the home view too, sets its `loaded` then)."""

    def read() -> bool:
        loaded = getattr(app.screen, "loaded", None)
        return app.screen is not before and isinstance(loaded, asyncio.Event) and loaded.is_set()

    return read


def _filtered(home: ProcessesScreen, text: str) -> Callable[[], bool]:
    """Whether the home view's filter is `text` and the rows it holds were read for it."""
    window = home.window
    return lambda: home.page_query.text == text and window.read_for == window.query


async def _views(app: Any, pilot: Any, made: list[str]) -> None:
    home = app.screen
    assert isinstance(home, ProcessesScreen)
    async with asyncio.timeout(30):
        await home.loaded.wait()
    await pilot.pause()
    assert "[bold]x[/]" in check_screen(app)
    for _ in range(12):
        await pilot.press("pagedown")
        await pilot.pause()
        check_screen(app)
    for key in "234561":
        before = app.screen
        await pilot.press(key)
        # (Waited for, where a fixed half second was slept: a view slower than that was
        # checked before its rows were on screen.)
        await until(pilot, _another_view_read(app, before), 30)
        await pilot.pause()
        check_screen(app)
        for _ in range(4):
            await pilot.press("pagedown")
            await pilot.pause()
            check_screen(app)
    await pilot.press("colon", *"filter PWNED", "enter")
    await until(pilot, _filtered(home, "PWNED"), 30)  # (where half a second was slept)
    await pilot.pause()
    check_screen(app)
    await pilot.press("escape")
    # Each field's row in the detail: summary, lease, grants, timeline; input, output.
    for pid in made[::10]:  # (every tenth: each detail costs the run a second or more)
        screen = app.screen
        assert isinstance(screen, ProcessesScreen)
        screen.action_open(pid)
        await until(pilot, lambda: isinstance(app.screen, ProcessDetailScreen))
        detail = app.screen
        async with asyncio.timeout(30):
            await detail.loaded.wait()
        await pilot.pause()
        check_screen(app)
        for key in ("i", "o"):
            await pilot.press(key)
            await pilot.pause()
            check_screen(app)
            if app.screen is not detail:
                await pilot.press("escape")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ProcessesScreen))
    assert app.is_running


async def test_every_dashboard_view(registry_target: str, tmp_path: Path, monkeypatch: Any) -> None:
    cwd = tmp_path / "cwd"  # where a markup `@click` on export would write
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    made = await hostile_registry(registry_target)
    async with open_registry(registry_target) as registry:
        app = make_app(Processes(registry), read_only=True, refresh_s=0.1)
        async with app.run_test(size=(200, 50), notifications=True) as pilot:
            await _views(app, pilot, made)
    assert not list(cwd.iterdir())


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_worker_and_sweep_log_lines(registry_target: str, log_format: str) -> None:
    """The sweep and a worker's pass over every hostile row, debug logging on (each verdict
    and each skipped row named): their lines carry no byte a terminal obeys."""
    asyncio.run(hostile_registry(registry_target))
    log = ["--log-level", "debug", "--log-format", log_format]
    for argv in (["sweep", *log[2:]], ["worker", "--once", "--timeout", "5", *log]):
        result = subprocess.run(
            [LASHTUI, "--db", registry_target, *argv], capture_output=True, timeout=300,
            check=False,
        )  # fmt: skip
        assert result.returncode in (0, 124), result.stderr[-2000:]  # 124: runs stopped
        assert b"Traceback" not in result.stderr
        assert_nothing_obeyed(result.stdout)
        assert b"PWNED" in assert_nothing_obeyed(result.stderr).encode()
