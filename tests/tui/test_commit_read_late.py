"""The Processes view woken before another process's commit could be read: the view's feed
read found nothing new, and nothing more was written to wake it, so the commit reached
the counts and the feed only at the next timer (the watch's safety poll, a second; the
view's `refresh_s`). The watch now reads the version again after such a file event
(registry/watch.py `_Wakeups.recheck`) and wakes the view when the commit lands."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from lashtui.admin import Processes
from lashtui.model import ProcessStartRequest
from lashtui.registry import open_registry, watch
from lashtui.tui.app import make_app
from lashtui.tui.widgets.process_table import ProcessTable
from tests.late_commit import half_written, linked_elsewhere
from tests.tui.test_processes_view import Heard

MINUTE_S = 60.0
GUARD_S = 10.0  # a guard only: each step takes milliseconds


async def test_a_commit_readable_after_its_file_event_still_reaches_the_view_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Forced with real files (tests/late_commit.py): `half_written` is the commit's file
    event, which wakes the view's feed to read nothing new; then a start made through
    `linked_elsewhere`, which the watch does not see, is the commit becoming readable. Both
    timers are pushed out to a minute (`refresh_s`, and the watch's safety poll, whose
    second would otherwise land at a random point of the test), so only the watch's
    re-reads of the version can bring the row through the feed: the observer hears it,
    and the counts, which only the feed moves, include it. (The once-a-second re-read of
    the window may draw the row first; it moves no count and tells no observer.)"""
    monkeypatch.setattr(watch, "SAFETY_POLL_S", MINUTE_S)
    watched, elsewhere = tmp_path / "watched", tmp_path / "elsewhere"
    watched.mkdir()
    elsewhere.mkdir()
    path = str(watched / "registry.db")
    heard = Heard()
    async with open_registry(path) as registry:
        await Processes(registry).start(ProcessStartRequest.external("a-first"))
        app = make_app(Processes(registry), refresh_s=MINUTE_S, observer=heard)
        async with app.run_test(size=(140, 20)) as pilot, open_registry(
            linked_elsewhere(path, elsewhere)
        ) as other:
            screen = app.home()
            async with asyncio.timeout(GUARD_S):
                await screen.loaded.wait()
            reads = heard.steps.count("catch_up")
            half_written(path)
            async with asyncio.timeout(GUARD_S):
                while heard.steps.count("catch_up") == reads:  # the event woke the feed
                    await pilot.pause(0.005)
            assert screen.counts is not None and screen.counts.total() == 1
            await Processes(other).start(ProcessStartRequest.external("b-late"))
            committed = time.monotonic()
            try:
                async with asyncio.timeout(5.0):
                    while "b-late" not in heard.applied_ids:
                        await pilot.pause(0.005)
            except TimeoutError:
                raise AssertionError(
                    f"the feed had not shown b-late {time.monotonic() - committed:.1f}s after "
                    "its commit: the file event woke the view before the commit could be "
                    "read, and nothing woke it again (both timers are a minute away)"
                ) from None
            assert screen.counts.total() == 2
            assert screen.query_one(ProcessTable).get_cell("b-late", "id") == "b-late"
