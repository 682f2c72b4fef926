"""The detail's grants, re-runs and wake deliveries, and an undecodable row's reason, are
limited as its other values are (screens/detail_summary.py `Room`): a count and the first
few that fit the line, each cut to its room, and how many more there are. Before, a row with
30 grants on long scope ids, re-run six times and holding 40 pending wakes drew each of them
whole, and at 80x24 the timeline was pushed below the bottom of the screen."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len

from lashtui.admin import Processes
from lashtui.clock import ManualClock
from lashtui.model import ProcessEventAppendRequest, ProcessHandleDescriptor
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.tui import format as fmt
from tests.builders import ext
from tests.raw import store_record_json
from tests.registry.rows import WAKE, scope, success, wake_event_type
from tests.tui.scene import START_MS, far, until
from tests.tui.test_column_widths import observer
from tests.tui.test_every_view_fits import detail_of

LINES = "lines-" + "x" * 200 + "-end"
SPOILED = "spoiled-" + "y" * 300
GRANTS, WAKES, RERUNS = 30, 40, 6


def granted_scope(index: int) -> Any:
    return scope(f"sess-{index:02}-" + "a" * 230, "frame-" + "f" * 200)


@pytest.fixture
async def scene(tmp_path: Path) -> Any:
    """`LINES`: 30 grants on long scope ids, labelled at length; a long wake target with 40
    wakes pending; ended and re-run six times. `SPOILED`: a row that does not decode."""
    clock = ManualClock(START_MS)
    path = str(tmp_path / "lines.db")
    registry = await SqliteProcessRegistry.open(path, clock=clock)
    try:
        await registry.register_process(
            ext(LINES, event_types=[wake_event_type()], wake_target=scope("w" * 250))
        )
        for index in range(GRANTS):
            label = ProcessHandleDescriptor(label=f"label-{index:02}-" + "l" * 200)
            await registry.grant_handle(granted_scope(index), LINES, label)
        for index in range(WAKES):
            request = ProcessEventAppendRequest.new(WAKE, f"wake {index}")
            await registry.append_event(LINES, request)
        lease = (await registry.claim_process_lease(LINES, far("w-1"), 60_000)).acquired()
        assert lease is not None
        await registry.complete_process_with_lease(lease, success())
        processes = Processes(registry, clock=clock)
        for _ in range(RERUNS):
            clock.advance(1_000)
            done = await processes.actions.rerun(LINES, operator="dana@ops")
            assert done.outcome == "done", done
        await registry.register_process(ext(SPOILED))
        record = await registry.get_process(SPOILED)
        assert record is not None
        stored = json.loads(record.model_dump_json())
        stored["status"]["state"] = "z" * 300  # its reason: each state it could have been
        store_record_json(path, SPOILED, json.dumps(stored))
        yield registry, clock
    finally:
        await registry.close()


def lines_of(facts: str, start: str) -> list[str]:
    return [line for line in facts.split("\n") if line.startswith(start)]


@pytest.mark.parametrize("size", [(60, 24), (80, 24)])
async def test_the_detail_limits_its_grants_reruns_and_wakes(
    scene: Any, size: tuple[int, int]
) -> None:
    registry, clock = scene
    app = observer(registry, clock)
    async with app.run_test(size=size) as pilot:
        detail, timeline = await detail_of(pilot, LINES)
        await until(pilot, lambda: detail._facts is not None and detail.reruns != [])
        await pilot.pause()
        assert detail._facts is not None
        facts = detail._facts.plain
        room = detail.query_one("#summary").content_region.width
        for start in ("grants ", "re-run as ", "wakes to "):
            (line,) = lines_of(facts, start)
            assert cell_len(line) <= room, (start, line, room)
        (grants,) = lines_of(facts, "grants ")
        more = re.search(r"… and (\d+) more grants$", grants)
        assert grants.startswith(f"grants {GRANTS}: session:sess-") and more, grants
        assert grants.count("sess-") + int(more.group(1)) == GRANTS, grants
        (wakes,) = lines_of(facts, "wakes to ")
        pending = re.search(r"… and (\d+) more$", wakes)
        assert "pending delivery #1, #2" in wakes and pending, wakes
        assert wakes.count("#") + int(pending.group(1)) == WAKES, wakes
        (reruns,) = lines_of(facts, "re-run as ")
        earlier = re.search(r"… and (\d+) earlier$", reruns)
        assert earlier and reruns.count(" (by ") + int(earlier.group(1)) == RERUNS, reruns
        assert reruns.startswith("re-run as lines") and "6 (by dana@ops" in reruns, reruns
        # The timeline's header and a row's room on screen, above the footer.
        assert timeline.region.height >= 2 and timeline.region.y + 2 <= size[1] - 1, (
            timeline.region
        )


@pytest.mark.parametrize("size", [(60, 24), (80, 24)])
async def test_an_undecodable_rows_reason_fits_its_line(
    scene: Any, size: tuple[int, int]
) -> None:
    registry, clock = scene
    app = observer(registry, clock)
    async with app.run_test(size=size) as pilot:
        detail, timeline = await detail_of(pilot, SPOILED)
        await until(pilot, lambda: detail._facts is not None)
        await pilot.pause()
        assert detail._facts is not None
        facts = detail._facts.plain
        room = detail.query_one("#summary").content_region.width
        (reason,) = lines_of(facts, f"{fmt.UNDECODABLE}: ")
        assert cell_len(reason) <= room and "status.state: Input" in reason, reason
        # The way to end it, on a line of its own: the command, and its id to copy with `y`.
        (way,) = lines_of(facts, "only ending it changes it: ")
        assert "lashtui end-undecodable ID" in way and "y copies its ID" in way, way
        assert SPOILED[:60] not in way and cell_len(way) < 130, way
        await pilot.press("y")
        await until(pilot, lambda: app.clipboard == SPOILED)
        assert timeline.region.y + 2 <= size[1] - 1, timeline.region
