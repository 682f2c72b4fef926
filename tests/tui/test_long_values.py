"""The real dashboard (Pilot, real SQLite) over stored values far longer than any write
allows (tests/long_values.py): each is shown as its first `SHOWN_CHARS` characters and a
count of the rest, so no view escapes, measures or wraps a value whole. Before, a lease
incarnation id of 50 MB in a process's facts held the event loop for ~10 s while Textual
wrapped it, and a grant's scope of 50 MB for ~20 s (1.8 GB).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.command import CommandPalette
from textual.widgets import Input

from lashtui.admin import Processes
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.tui.app import make_app
from lashtui.tui.screens.abandon import AbandonRequestsScreen
from lashtui.tui.screens.detail import ProcessDetailScreen
from lashtui.tui.screens.leases import LeasesScreen
from lashtui.tui.screens.processes import ProcessesScreen
from lashtui.untrusted import SHOWN_CHARS
from tests.long_values import CUT_ID, LABELLED, LEASED, SHOWN_WHOLE, long_values_registry
from tests.tui.scene import until
from tests.tui.test_hostile_app import check_screen, loaded, screen_text, view

SIZE = (200, 60)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "long.db"
    long_values_registry(path)  # outside the test's event loop: it runs the command line
    return path


def cut_everywhere(text: str, at_least: int) -> None:
    """`text` holds no stored value whole, and at least `at_least` of them cut: read whole
    and shown cut, or read cut (a plain-text column past what a reader takes:
    registry/sql/stored_text.py)."""
    found = SHOWN_WHOLE.search(text)
    assert found is None, f"a stored value shown whole, at {found.span() if found else None}"
    cut = text.count("more characters)") + text.count("characters: not read)")
    assert cut >= at_least, cut


async def facts(pilot: Any, home: ProcessesScreen, process_id: str) -> str:
    """The detail's facts for `process_id`, as drawn (the summary's whole text)."""
    home.action_open(process_id)
    await pilot.pause()
    detail = pilot.app.screen
    assert isinstance(detail, ProcessDetailScreen)
    await loaded(detail)
    await until(pilot, lambda: detail._facts is not None)
    assert detail._facts is not None
    return detail._facts.plain


async def test_every_view_shows_a_long_stored_value_cut(db: Path) -> None:
    registry = await SqliteProcessRegistry.open(str(db))
    try:
        app = make_app(Processes(registry))
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            home = app.screen
            assert isinstance(home, ProcessesScreen)
            await loaded(home)
            await pilot.pause()
            check_screen(app)

            # The lease's owner and host (clipped as ever), its incarnation (those two read
            # cut, so the lease is a stand-in that says why), the first
            # start's owner, the wait's signal name, the grant's scope and label: each cut,
            # the facts after each still there.
            leased = await facts(pilot, home, LEASED)
            cut_everywhere(leased, at_least=4)
            assert "grants session:y" in leased and "wait signal y" in leased
            lease = next(line for line in leased.splitlines() if line.startswith("lease "))
            assert lease.endswith(f"… (more than {SHOWN_CHARS:,} characters: not read)")
            assert len(leased) < 10 * SHOWN_CHARS  # against 2.4 MB of them stored
            check_screen(app)
            await pilot.press("escape")

            # The label, originator, abandon requester and reason, and the cancel.
            labelled = await facts(pilot, home, LABELLED)
            cut_everywhere(labelled, at_least=4)
            check_screen(app)
            await pilot.press("escape")

            # The long id, as the table lists it: its cut id's stand-in, which says what
            # was not read and offers no way to act on it.
            cut = await facts(pilot, home, CUT_ID)
            assert f"… (more than {SHOWN_CHARS:,} characters: not read)" in cut
            assert "not read: its lease, events, grants" in cut and "press E" not in cut
            assert SHOWN_WHOLE.search(cut) is None
            check_screen(app)
            await pilot.press("escape")

            for key, kind in (("2", LeasesScreen), ("3", AbandonRequestsScreen)):
                await view(pilot, key, kind)
                check_screen(app)
            await pilot.press("1")

            # The palette's id search: the hit names the cut id as cut.
            await pilot.press("ctrl+p")
            await until(pilot, lambda: isinstance(app.screen, CommandPalette))
            app.screen.query_one(Input).value = "yyy"
            await until(pilot, lambda: "characters: not read)" in screen_text(app))
            check_screen(app)
            await pilot.press("escape")
            assert app.is_running
    finally:
        await registry.close()
