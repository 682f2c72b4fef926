"""A new timeline row's TYPE and PAYLOAD are drawn whole from the frame that adds it.

DataTable widens a column for a new row's cells only when the table is next idle; on a busy
process (the demo's worker appends events several a second) the table was seldom idle, and
each new event's type and payload were drawn cut to the widths of the rows before it (`work`
for `worker.checkpoint`) until a pause in the events let the table measure them. The real
app under Pilot, on a real SQLite file; each frame is taken right after a read draws its
rows, before the table can go idle.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import JsonValue
from textual.widgets import DataTable

from lashtui.clock import ManualClock
from lashtui.model import ProcessEventAppendRequest, ProcessEventType
from lashtui.registry.sqlite import SqliteProcessRegistry
from tests.builders import ext
from tests.tui.scene import until
from tests.tui.test_view_reads import acting, open_detail
from tests.tui.test_views import SIZE

SHORT, LONG = "n", "worker.checkpoint"


async def test_a_new_rows_type_and_payload_are_whole_before_the_table_is_idle(
    tmp_path: Path, clock: ManualClock
) -> None:
    registry = await SqliteProcessRegistry.open(str(tmp_path / "t.db"), clock=clock)
    try:
        types = [ProcessEventType.plain(SHORT), ProcessEventType.plain(LONG)]
        await registry.register_process(ext("ext-p", event_types=types))
        await registry.append_event("ext-p", ProcessEventAppendRequest.new(SHORT, {"n": 1}))
        app, _ = acting(registry, clock)
        async with app.run_test(size=SIZE) as pilot:
            detail = await open_detail(pilot, "ext-p")
            timeline = detail.query_one("#timeline", DataTable)
            await until(pilot, lambda: timeline.row_count == 1)
            await pilot.pause()  # idle: the columns fit the first row
            frames: list[str] = []
            show = detail.show

            def show_then_look(*args: Any, **kwargs: Any) -> None:
                show(*args, **kwargs)
                frames.append(timeline.render_line(2).text)  # the second event's row

            detail.show = show_then_look  # type: ignore[method-assign]
            payload: JsonValue = {"step": "copy", "rows": 123456, "table": "customers_2026"}
            request = ProcessEventAppendRequest.new(LONG, payload)
            await registry.append_event("ext-p", request)
            await until(pilot, lambda: timeline.row_count == 2)
            first = next(frame for frame in frames if frame.strip())
            assert f" {LONG} " in first
            assert '{"step":"copy","rows":123456,"table":"customers_2026"}' in first
    finally:
        await registry.close()
