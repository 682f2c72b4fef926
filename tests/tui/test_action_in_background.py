"""The real dashboard (Pilot, a real SQLite file) acting while another program holds the
registry's write lock. An action ran in the handler of the dialog's answer, and a screen
handles no key while one of its handlers runs: every key waited until the action ended (15 s
a target here, the write's busy timeout; 12 s for 10,000 cancels without any lock). Now the
action runs in the background: the cursor moves at once, the action says after a second that
it is still in progress, and its outcome is reported when the lock is let go.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from lashtui.admin import Processes
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.tui.app import make_app
from lashtui.tui.screens.processes import ProcessesScreen
from tests.builders import ext
from tests.tui.scene import until
from tests.tui.test_actions import select, toasts
from tests.tui.test_hostile_app import loaded


async def test_the_view_stays_live_while_an_action_waits_for_the_write_lock(
    tmp_path: Path,
) -> None:
    db = tmp_path / "r.db"
    registry = await SqliteProcessRegistry.open(str(db))
    other = sqlite3.connect(db, isolation_level=None)
    try:
        for pid in ("a", "b", "c"):
            await registry.register_process(ext(pid))
        app = make_app(Processes(registry), operator="operator:dana", refresh_s=0.1)
        async with app.run_test(size=(160, 40)) as pilot:
            home = app.screen
            assert isinstance(home, ProcessesScreen)
            await loaded(home)
            table = await select(pilot, "a")
            other.execute("BEGIN IMMEDIATE")  # another program's write, in progress
            await pilot.press("c")
            await pilot.click("#yes")

            # The key is handled while the lock is still held, so while the action still
            # waits (its busy timeout is 15 s; the guard here 10): before, not until after.
            async with asyncio.timeout(10):
                await pilot.press("down")
                await until(pilot, lambda: table.cursor_row == 1)
            assert not any("requested" in toast for toast in toasts(app))
            said = "cancel: still in progress (1 process); the view stays live"
            await until(pilot, lambda: said in toasts(app))
            assert not any("requested" in toast for toast in toasts(app))

            other.execute("ROLLBACK")
            await until(pilot, lambda: any("cancel requested by" in t for t in toasts(app)))
            events = await registry.events_after("a", 0)
            assert [event.event_type for event in events] == ["process.cancel_requested"]
    finally:
        other.close()
        await registry.close()
