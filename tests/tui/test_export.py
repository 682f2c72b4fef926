"""Exporting a process's timeline (`e` in the detail) under the default file name, for any
id a write allows: the real app under Pilot on a real SQLite registry.

The name once held the whole id, and a legal id of 300 characters (writes allow 512) failed
the export with "File name too long"."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from textual.notifications import Notification
from textual.pilot import Pilot
from textual.widgets import Label

from lashtui.admin import Processes
from lashtui.clock import ManualClock
from lashtui.model import ProcessEventAppendRequest, ProcessEventType
from lashtui.model.limit import MAX_ID_CHARS
from lashtui.registry import open_registry
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.tui.app import LashtuiApp, make_app
from lashtui.tui.export import NAMED_ID_CHARS, id_in_file_name
from lashtui.tui.screens.modals import ConfirmScreen
from tests.builders import ext
from tests.tui.scene import home_loaded, until
from tests.tui.test_typed_commands import typed
from tests.tui.test_view_reads import acting, open_detail
from tests.tui.test_views import SIZE

# As long as a write allows, made of what a file name cannot hold whole: a `/`, letters of
# several UTF-8 bytes each.
LONG_ID = ("batch/日本-" + "x" * MAX_ID_CHARS)[:MAX_ID_CHARS]


async def test_a_timeline_of_the_longest_id_a_write_allows_is_exported(
    tmp_path: Path, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # where `e` writes its export
    async with open_registry(str(tmp_path / "r.db"), clock=clock) as registry:
        await registry.register_process(ext(LONG_ID, event_types=[ProcessEventType.plain("n")]))
        for n in range(3):
            await registry.append_event(LONG_ID, ProcessEventAppendRequest.new("n", {"n": n}))
        app, _ = acting(registry, clock)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await open_detail(pilot, LONG_ID)
            await pilot.press("e")

            def exported() -> list[Notification]:
                return [n for n in app._notifications if n.title.startswith("export")]

            await until(pilot, exported)
            (said,) = exported()
            assert said.title == "export", said.message
            (written,) = tmp_path.glob("lashtui-events-*.jsonl")  # noqa: ASYNC240 - a test
            assert said.message == f"wrote 3 events to {written}"
            assert len(written.name.encode()) <= 255
            # Recognisable: the id's start, the characters a name cannot hold replaced.
            assert written.name.startswith("lashtui-events-batch_日本-xxx".replace("日本", "__"))
            lines = written.read_text().splitlines()
            assert [json.loads(line)["payload"] for line in lines] == [{"n": 0}, {"n": 1}, {"n": 2}]


def test_ids_that_read_the_same_once_cut_or_replaced_name_different_files() -> None:
    same_start = "a" * NAMED_ID_CHARS
    names = {id_in_file_name(pid) for pid in ("a/b", "a_b", same_start + "1", same_start + "2")}
    assert len(names) == 4
    assert all(len(name) <= NAMED_ID_CHARS + 9 and name.isascii() for name in names)


# --- what an export never writes over (the dashboard audit L, item 1)
#
# `:export PATH` renamed its file over whatever was at PATH: typed with the registry's own
# path it said `wrote 15 processes to …db`, the registry was JSONL (`lashtui ls`: "not a
# SQLite database") and the embedded worker went on writing to the file it held open; any
# other existing file was replaced without a word, and a `--read-only` dashboard, which
# "writes nothing at all", wrote all of it too.

SQLITE_HEADER = b"SQLite format 3\x00"


def listing(directory: Path) -> dict[str, bytes | None]:
    """Every file under `directory` with its bytes; a -shm by name only (SQLite's shared
    memory index, which every reader writes; the test's own handle of the scene writes)."""
    return {
        str(path.relative_to(directory)): None if path.name.endswith("-shm") else path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def app_on(scene: tuple[SqliteProcessRegistry, ManualClock], **kw: Any) -> LashtuiApp:
    registry, clock = scene
    return make_app(
        Processes(registry, clock=clock), clock=clock, operator="operator:dana",
        refresh_s=0.05, **kw,
    )


@pytest.fixture(autouse=True)
def notifications_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """`said` counts the notifications so far, and Textual forgets one 5 s after it came:
    on a loaded machine eight exports in a row took longer, the first was forgotten, and
    the count never reached eight (a timeout). Kept for each test's length."""
    monkeypatch.setattr(LashtuiApp, "NOTIFICATION_TIMEOUT", 3_600)


def exported(app: LashtuiApp) -> list[Notification]:
    return [n for n in app._notifications if n.title.startswith("export")]


async def said(pilot: Pilot[Any], app: LashtuiApp, count: int = 1) -> Notification:
    """The export's `count`-th notification, once it came."""
    await until(pilot, lambda: len(exported(app)) >= count)
    return exported(app)[count - 1]


async def test_an_export_to_the_registry_itself_is_refused_by_any_name(
    scene: tuple[SqliteProcessRegistry, ManualClock], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registry, _ = scene
    db = Path(registry.path)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "link.db").symlink_to(db)  # another name for it: a symlink,
    os.link(db, tmp_path / "hard.db")  # and a hard link
    names = [str(db), "scene.db", "./sub/../scene.db", "link.db", "hard.db", f"{db}-wal",
             f"{db}-shm", f"{db}-journal"]
    (tmp_path / "sub").mkdir()
    before = listing(tmp_path)
    app = app_on(scene)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await home_loaded(pilot)
        for n, name in enumerate(names, start=1):
            await typed(pilot, f"export {name}")
            refusal = await said(pilot, app, n)
            assert refusal.title == "export refused", (name, refusal.message)
            assert "is the open registry's own file" in refusal.message, name
            assert refusal.message.endswith("nothing was written"), refusal.message
            assert not isinstance(app.screen, ConfirmScreen)  # refused, not asked
        assert listing(tmp_path) == before
    assert (before["scene.db"] or b"").startswith(SQLITE_HEADER)  # (unchanged: the registry still)
    async with open_registry(str(db), read_only=True, create=False) as again:
        assert len(await again.list_processes()) == len(await registry.list_processes()) > 0


async def test_an_existing_file_is_replaced_only_after_a_question_that_names_it(
    scene: tuple[SqliteProcessRegistry, ManualClock], tmp_path: Path,
) -> None:
    kept = tmp_path / "x.jsonl"
    kept.write_text("an operator's own file\n")
    app = app_on(scene)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await home_loaded(pilot)
        await typed(pilot, f"export {kept}")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        question = app.screen.query_one("#question", Label)
        assert str(question.render()).startswith(f"Replace `{kept}`? The file exists")
        assert app.screen.focused is app.screen.query_one("#no")  # No is the default
        await pilot.press("enter")  # No
        answer = await said(pilot, app)
        assert answer.message == f"nothing exported: `{kept}` exists and was kept"
        assert kept.read_text() == "an operator's own file\n"

        await typed(pilot, f"export {kept}")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.click("#yes")
        done = await said(pilot, app, 2)
        lines = kept.read_text().splitlines()
        assert done.message == f"wrote {len(lines)} processes to {kept}"
        assert {"a-running", "d-failed"} <= {json.loads(line)["process_id"] for line in lines}


async def test_the_timeline_export_asks_before_replacing_a_file_too(
    tmp_path: Path, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    async with open_registry(str(tmp_path / "r.db"), clock=clock) as registry:
        await registry.register_process(ext("p", event_types=[ProcessEventType.plain("n")]))
        await registry.append_event("p", ProcessEventAppendRequest.new("n", {"n": 1}))
        # The default name, as the clock stands (a ManualClock: it does not move).
        taken = tmp_path / f"lashtui-events-{id_in_file_name('p')}-{clock.now_ms()}.jsonl"
        taken.write_text("kept\n")
        app, _ = acting(registry, clock)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await open_detail(pilot, "p")
            await pilot.press("e")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            await pilot.press("escape")  # No
            answer = await said(pilot, app)
            assert answer.message == f"nothing exported: `{taken}` exists and was kept"
            assert taken.read_text() == "kept\n"


async def test_a_read_only_dashboard_exports_nothing_and_says_how_to(
    scene: tuple[SqliteProcessRegistry, ManualClock], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registry, _ = scene
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.jsonl").write_text("kept\n")
    before = listing(tmp_path)
    app = app_on(scene, read_only=True)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        home = await home_loaded(pilot)
        assert "e" not in home.active_bindings  # not offered (and so not in the footer)
        for n, name in enumerate(["x.jsonl", "new.jsonl", registry.path, ""], start=1):
            await typed(pilot, f"export {name}")
            refusal = await said(pilot, app, n)
            assert refusal.message == (
                "export is not offered: a read-only dashboard writes no file; from a shell, "
                "lashtui ls --status any --limit 0 -o jsonl > FILE (with the same --db) "
                "writes the same processes"
            )
        detail = await open_detail(pilot, "c-done")
        assert "e" not in detail.active_bindings
        await pilot.press("e")
        await pilot.pause(0.3)
        palette = [c.title for c in app.get_system_commands(app.screen)]
        assert not any("Export" in title for title in palette)
    assert listing(tmp_path) == before  # no file written, none replaced, none made
