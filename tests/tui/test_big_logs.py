"""The process detail on a log another program made big: payloads of up to a mebibyte (the
write limit) and no limit on how many.

Each timeline row shows its payload's start (`PAYLOAD_CHARS`), encoded only that far: 300
payloads of 0.9 MiB drawn whole held the event loop for 5 s. The detail holds the newest
events whose payloads fit in `HELD_CHARS` (read from the log's end), says so when older
ones are not held, reads them on `[`, lets the oldest held go as new ones arrive, and
exports the whole log from the registry. Each test on SQLite and on PostgreSQL (whose pages
are cut on the server), the real app under Pilot; the budget is patched down so that a few
small events pass it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import JsonValue
from textual.widgets import DataTable, Input, Static

from lashtui.admin import processes as processes_module
from lashtui.clock import ManualClock
from lashtui.model import ProcessEventAppendRequest, ProcessEventType
from lashtui.model.limit import MAX_JSON_BYTES, MAX_NAME_CHARS
from lashtui.registry import ProcessRegistry, open_registry
from lashtui.tui.screens import detail as detail_view
from lashtui.tui.screens.payload import PayloadScreen
from tests.builders import ext
from tests.raw import raw_connection
from tests.tui.scene import send, until
from tests.tui.test_view_reads import acting, counting, open_detail
from tests.tui.test_views import SIZE

NOTE = "note"
PAYLOAD = 1_000  # characters of each payload's string in the budget tests
BUDGET = 3 * (PAYLOAD + 20)  # ~3 payloads' JSON: `{"n":7,"x":"yyyy..."}`


async def noted(registry: ProcessRegistry, count: int, size: int = PAYLOAD) -> None:
    """Process `ext-p` with `count` note events, each payload `size` characters of string."""
    await registry.register_process(ext("ext-p", event_types=[ProcessEventType.plain(NOTE)]))
    await append(registry, 1, count, size)


async def append(registry: ProcessRegistry, first: int, count: int, size: int = PAYLOAD) -> None:
    for n in range(first, first + count):
        payload: JsonValue = {"n": n, "x": "y" * size}
        await registry.append_event("ext-p", ProcessEventAppendRequest.new(NOTE, payload))


def rows(timeline: DataTable[Any]) -> list[int]:
    return [int(str(row.key.value)) for row in timeline.ordered_rows]


def held(detail: detail_view.ProcessDetailScreen) -> list[int]:
    return [event.sequence for event in detail.events]


async def test_a_mebibyte_payload_shows_its_start_and_opens_whole(
    clock: ManualClock, registry_target: str
) -> None:
    big = "\x1b[2J" + "z" * (MAX_JSON_BYTES - 100)  # a control, then nearly the write limit
    async with open_registry(registry_target, clock=clock) as registry:
        await registry.register_process(ext("ext-p", event_types=[ProcessEventType.plain(NOTE)]))
        for _ in range(3):
            await registry.append_event("ext-p", ProcessEventAppendRequest.new(NOTE, {"big": big}))
        app, _ = acting(registry, clock)
        async with app.run_test(size=SIZE) as pilot:
            detail = await open_detail(pilot, "ext-p")
            timeline = detail.query_one("#timeline", DataTable)
            await until(pilot, lambda: timeline.row_count == 3)
            # Its first PAYLOAD_CHARS, cut to the room the screen leaves the column
            # (tests/tui/test_every_view_fits.py), once the timeline is laid out.
            await until(pilot, lambda: detail._payload_room is not None)
            await pilot.pause()
            cell = str(timeline.get_cell("2", "payload"))
            assert cell.startswith('{"big":"\\u001b[2Jzzz') and cell.endswith("…")
            room = detail._payload_room
            assert room is not None and len(cell) == min(detail_view.PAYLOAD_CHARS, room)
            timeline.move_cursor(row=1)
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, PayloadScreen))
            assert isinstance(app.screen, PayloadScreen)
            assert app.screen.value == {"big": big}  # Enter shows all of it


async def test_a_log_past_the_budget_holds_its_newest_and_reads_older_on_request(
    tmp_path: Path, clock: ManualClock, registry_target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(detail_view, "HELD_CHARS", BUDGET)
    monkeypatch.chdir(tmp_path)  # where `e` writes its export
    path = registry_target
    async with open_registry(path, clock=clock) as registry:
        await noted(registry, 20)
        app, _ = acting(registry, clock)
        async with app.run_test(size=SIZE) as pilot:
            detail = await open_detail(pilot, "ext-p")
            timeline = detail.query_one("#timeline", DataTable)
            summary = detail.query_one("#summary", Static)
            await until(pilot, lambda: rows(timeline) == [18, 19, 20])
            assert held(detail) == [18, 19, 20]  # the newest that fit, read from the end
            note = "timeline: events before #18 not held (a log is held up to 0 MiB of payloads)"
            assert note in str(summary.render())

            send(pilot, "left_square_bracket")  # the events before them, read
            await until(pilot, lambda: rows(timeline) == list(range(1, 21)))
            assert held(detail) == list(range(1, 21))
            await until(pilot, lambda: "timeline:" not in str(summary.render()))

            async with open_registry(path, clock=clock) as other:  # the log grows
                await append(other, 21, 2)
            # What `[` asked for stays held; past it, the oldest held leave (rows too).
            await until(pilot, lambda: rows(timeline) == list(range(3, 23)))
            assert held(detail) == list(range(3, 23))
            await until(pilot, lambda: "events before #3 not held" in str(summary.render()))

            # (Keys sent with no wait for an idle, which this app's 20 ms refresh never
            # leaves: scene.send. Each is sent once the one before it is done.)
            field = detail.query_one("#type-filter", Input)
            send(pilot, "slash")
            await until(pilot, lambda: field.has_focus)
            send(pilot, "2")  # of those held, 12, 20, 21 and 22 hold a 2
            await until(pilot, lambda: rows(timeline) == [12, 20, 21, 22])
            assert str(field.border_title) == "4 of 20 held events match"
            send(pilot, "escape")
            await until(pilot, lambda: not field.has_focus)

            send(pilot, "e")  # the export reads the whole log again, not what is held
            await until(pilot, lambda: any(tmp_path.glob("lashtui-events-*.jsonl")))
            (exported,) = tmp_path.glob("lashtui-events-*.jsonl")  # noqa: ASYNC240 - a test
            lines = exported.read_text().splitlines()
            assert [json.loads(line)["sequence"] for line in lines] == list(range(1, 23))


async def test_a_long_log_is_read_from_its_end_until_the_budget_is_full(
    clock: ManualClock, registry_target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Opening reads pages back from the newest and stops once they fill the budget: a log
    of gigabytes opens as its last few mebibytes do, not after being read whole."""
    monkeypatch.setattr(detail_view, "HELD_CHARS", BUDGET)
    monkeypatch.setattr(processes_module, "EVENTS_A_PAGE", 2)
    async with open_registry(registry_target, clock=clock) as registry:
        await noted(registry, 20)
        app, _ = acting(registry, clock)
        backwards = counting(registry, "recent_events")
        forwards = counting(registry, "events_after")
        async with app.run_test(size=SIZE) as pilot:
            detail = await open_detail(pilot, "ext-p")
            assert held(detail) == [18, 19, 20]
            assert (backwards.calls, forwards.calls) == (2, 0)  # [19, 20], then [17, 18]


async def test_a_burst_past_the_budget_keeps_only_its_newest(
    clock: ManualClock, registry_target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(detail_view, "HELD_CHARS", 1)  # one event at most, whatever its size
    path = registry_target
    async with open_registry(path, clock=clock) as registry:
        await noted(registry, 2)
        app, _ = acting(registry, clock)
        async with app.run_test(size=SIZE) as pilot:
            detail = await open_detail(pilot, "ext-p")
            timeline = detail.query_one("#timeline", DataTable)
            await until(pilot, lambda: rows(timeline) == [2])
            async with open_registry(path, clock=clock) as other:
                await append(other, 3, 6)
            await until(pilot, lambda: rows(timeline) == [8])
            assert held(detail) == [8]
            # A burst read in one go keeps only its newest (and lets all held go) as it is
            # read, not once it has been read whole: the reads are made here, by hand.
            app.workers.cancel_group(detail, "refresh")
            async with open_registry(path, clock=clock) as other:
                await append(other, 9, 5)
            assert [event.sequence for event in await detail._read_new()] == [13]
            assert held(detail) == []


async def test_an_undecodable_event_shows_its_stored_type_cut(
    clock: ManualClock, registry_target: str
) -> None:
    """An event that does not decode shows the type its row's column holds, which another
    program may have made any length: cut to the type limit, as its payload's reason is."""
    path = registry_target
    long_type = "t" * 100_000
    async with open_registry(path, clock=clock) as registry:
        await noted(registry, 1)
    with raw_connection(path) as conn:
        conn.execute(
            "INSERT INTO process_events (process_id, sequence, event_type, payload_hash, "
            "occurred_at_ms, event_json) VALUES ('ext-p', 2, ?, 'h', 1, 'not json')",
            (long_type,),
        )
    async with open_registry(path, clock=clock) as registry:
        app, _ = acting(registry, clock)
        async with app.run_test(size=SIZE) as pilot:
            detail = await open_detail(pilot, "ext-p")
            timeline = detail.query_one("#timeline", DataTable)
            await until(pilot, lambda: timeline.row_count == 2)
            assert str(timeline.get_cell("2", "type")) == "t" * (MAX_NAME_CHARS - 1) + "…"
            assert str(timeline.get_cell("2", "payload")).startswith("undecodable: ")
