"""Unknown fields in the dashboard (issue 21): the models keep fields lashtui has no name
for, so a row another program wrote with hostile ones opens in the detail like any other,
and its input tree (`i`) shows them as stored text: markup literally, escapes as escapes,
a click running nothing. Real SQLite (the row patched in SQL, as another writer would have
left it), the real app driven by Pilot.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from lashtui.admin import Processes
from lashtui.clock import ManualClock
from lashtui.model import (
    External,
    ProcessEventAppendRequest,
    ProcessEventType,
    SuccessOutput,
)
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.tui.screens.detail import ProcessDetailScreen
from lashtui.tui.screens.payload import PayloadScreen
from lashtui.tui.widgets.payload_tree import PayloadTree
from tests.builders import registration
from tests.raw import patch_stored_json
from tests.tui.scene import START_MS, until
from tests.tui.test_hostile_app import check_screen, click_on
from tests.tui.test_payload import CLICK_QUIT, EXTERNAL, app_for, detail, labels

CLEAR = "\x1b[2J"
RECORD_PATCH = {
    "input": {CLICK_QUIT: CLEAR},
    "status": {"await_output": {"[b]later[/b]": "\x9b31m"}},
    "future\x1b]0;x\x07": {"n": 1},
}
EVENT_PATCH = {"invocation": {"scope": {"turn_id": CLEAR}, "extra": CLICK_QUIT}}


@pytest.fixture
async def processes(tmp_path: Path) -> AsyncIterator[Processes]:
    clock = ManualClock(START_MS)
    path = tmp_path / "p.db"
    registry = await SqliteProcessRegistry.open(str(path), clock=clock)
    types = [ProcessEventType.plain(t) for t in ("a", "b", "c", "d")]
    await registry.register_process(
        registration("p", External(metadata={"label": "importer"}), EXTERNAL, event_types=types)
    )
    for event_type in ("a", "b", "c", "d"):
        await registry.append_event("p", ProcessEventAppendRequest.new(event_type, {}))
    await registry.complete_process("p", SuccessOutput(value=1))
    await registry.close()
    patch_stored_json(str(path), RECORD_PATCH, EVENT_PATCH)  # what another writer left
    registry = await SqliteProcessRegistry.open(str(path), clock=clock)
    yield Processes(registry, clock=clock)
    await registry.close()


async def test_unknown_hostile_fields_show_as_stored_text(
    processes: Processes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = await processes.registry.get_process("p")
    assert record is not None and record.undecodable is None
    assert record.input.model_extra == {CLICK_QUIT: CLEAR}
    monkeypatch.chdir(tmp_path)
    app = app_for(processes)
    async with app.run_test(size=(120, 30)) as pilot:
        await detail(pilot)
        check_screen(app)  # the detail itself, its output and timeline included
        await pilot.press("i")
        await until(pilot, lambda: isinstance(app.screen, PayloadScreen))
        tree = app.screen.query_one(PayloadTree)
        assert f'{CLICK_QUIT}: "\\u001b[2J"' in labels(tree)
        check_screen(app, CLICK_QUIT, "\\u001b[2J")
        assert await click_on(pilot, CLICK_QUIT) == 1
        await pilot.pause()
        assert app.is_running and isinstance(app.screen, PayloadScreen)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ProcessDetailScreen))
        await pilot.press("o")
        await until(pilot, lambda: isinstance(app.screen, PayloadScreen))
        check_screen(app, "[b]later[/b]")
