"""Exporting a process's timeline (`e` in the detail) under the default file name, for any
id a write allows: the real app under Pilot on a real SQLite registry.

The name once held the whole id, and a legal id of 300 characters (writes allow 512) failed
the export with "File name too long"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from textual.notifications import Notification

from lashtui.clock import ManualClock
from lashtui.model import ProcessEventAppendRequest, ProcessEventType
from lashtui.model.limit import MAX_ID_CHARS
from lashtui.registry import open_registry
from lashtui.tui.export import NAMED_ID_CHARS, id_in_file_name
from tests.builders import ext
from tests.tui.scene import until
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
