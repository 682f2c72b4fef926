"""Issue 17 item 7: payloads you can read, and a timeline you can search.

An event's payload (Enter on a timeline row) and a process's input (`i`) and output (`o`)
open as a collapsible JSON tree; `Y` copies the selected node's JSON. Hostile keys and
values show literally and a click on them runs nothing; a deep payload opens a level at a
time; a wide one shows its children a batch at a time. `/` in the detail narrows the
timeline to events whose type or payload contains the text, in any case. Real SQLite,
the real app driven by Pilot.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import JsonValue
from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import DataTable, Input
from textual.widgets.tree import TreeNode

from lashtui.admin import Processes
from lashtui.clock import ManualClock
from lashtui.model import (
    External,
    ProcessEventAppendRequest,
    ProcessEventType,
    RecoveryDisposition,
    SuccessOutput,
)
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.tui.app import LashtuiApp, make_app
from lashtui.tui.screens.detail import ProcessDetailScreen
from lashtui.tui.screens.payload import PayloadScreen
from lashtui.tui.widgets.payload_tree import CHILDREN_SHOWN, PayloadTree
from tests.builders import registration
from tests.tui.scene import START_MS, send, until
from tests.tui.test_hostile_app import check_screen, click_on, screen_text

CLICK_QUIT = "[@click=app.quit]x"
CLEAR = "\x1b[2J"
HOSTILE: JsonValue = {
    CLICK_QUIT: CLEAR,
    "[b]not bold[/b]": ["[/]", "[@click=screen.export('victim.txt')]click me[/]"],
    "nested": {"deeper": {"n": 1, "ok": True, "none": None}},
}
DEPTH = 60
EXTERNAL = RecoveryDisposition.EXTERNALLY_OWNED


def deep(levels: int) -> Any:
    value: Any = "bottom"
    for _ in range(levels):
        value = {"a": value}
    return value


async def seed(registry: SqliteProcessRegistry) -> None:
    """`p`: input metadata, four events (hostile, deep, wide, an approval), completed."""
    types = [ProcessEventType.plain(t) for t in ("note", "deep", "wide", "Signal.Approve")]
    await registry.register_process(
        registration("p", External(metadata={"label": "importer"}), EXTERNAL, event_types=types)
    )
    payloads: list[tuple[str, JsonValue]] = [
        ("note", HOSTILE),
        ("deep", deep(DEPTH)),
        ("wide", list(range(2_500))),
        ("Signal.Approve", {"by": "Dana", "comment": "ship it"}),
    ]
    for event_type, payload in payloads:
        await registry.append_event("p", ProcessEventAppendRequest.new(event_type, payload))
    await registry.complete_process("p", SuccessOutput(value={"rows": 12, "by": CLICK_QUIT}))


@pytest.fixture
async def processes(tmp_path: Path) -> AsyncIterator[Processes]:
    clock = ManualClock(START_MS)
    registry = await SqliteProcessRegistry.open(str(tmp_path / "p.db"), clock=clock)
    await seed(registry)
    yield Processes(registry, clock=clock)
    await registry.close()


def app_for(processes: Processes) -> LashtuiApp:
    return make_app(processes, clock=processes.clock, read_only=True, refresh_s=0.05)


async def detail(pilot: Pilot[Any]) -> ProcessDetailScreen:
    screen = pilot.app.screen
    screen.action_open("p")  # type: ignore[attr-defined]
    await until(pilot, lambda: isinstance(pilot.app.screen, ProcessDetailScreen))
    shown = pilot.app.screen
    assert isinstance(shown, ProcessDetailScreen)
    async with asyncio.timeout(10):
        await shown.loaded.wait()
    await until(pilot, lambda: shown.query_one("#timeline", DataTable).row_count == 5)
    return shown


async def open_event(pilot: Pilot[Any], sequence: int) -> PayloadTree:
    timeline = pilot.app.screen.query_one("#timeline", DataTable)
    timeline.move_cursor(row=timeline.get_row_index(str(sequence)))
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(pilot.app.screen, PayloadScreen))
    await pilot.pause()
    return pilot.app.screen.query_one(PayloadTree)


def plain(node: TreeNode[Any]) -> str:
    label = node.label
    return Text(label).plain if isinstance(label, str) else label.plain


def labels(tree: PayloadTree) -> list[str]:
    found, todo = [], [tree.root]
    while todo:
        node = todo.pop(0)
        found.append(plain(node))
        todo.extend(node.children)
    return found


async def test_hostile_keys_and_values_show_literally_and_a_click_runs_nothing(
    processes: Processes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # where `screen.export('victim.txt')` would write
    app = app_for(processes)
    async with app.run_test(size=(120, 30)) as pilot:
        await detail(pilot)
        tree = await open_event(pilot, 1)
        for node in tree.root.children:
            node.expand()
        await pilot.pause()
        shown = labels(tree)
        assert f'{CLICK_QUIT}: "\\u001b[2J"' in shown  # a JSON string, its escape shown
        assert '0: "[/]"' in shown and "[b]not bold[/b]: [2 items]" in shown
        check_screen(app, CLICK_QUIT, "\\u001b[2J", "[b]not bold[/b]", "click me[/]")
        assert await click_on(pilot, CLICK_QUIT, "click me") == 2
        await pilot.pause()
        assert app.is_running and isinstance(app.screen, PayloadScreen)
        assert not (tmp_path / "victim.txt").exists()


async def test_a_deep_payload_opens_a_level_at_a_time(processes: Processes) -> None:
    app = app_for(processes)
    async with app.run_test(size=(120, 30)) as pilot:
        await detail(pilot)
        tree = await open_event(pilot, 2)
        assert len(labels(tree)) == 2  # the root and its one child: nothing deeper built yet
        node = tree.root.children[0]
        for _ in range(DEPTH - 1):
            node.expand()
            await pilot.pause()
            node = node.children[0]
        assert plain(node) == 'a: "bottom"'
        assert node.data is not None and node.data.path == "$" + ".a" * DEPTH
        tree.move_cursor(node)
        await pilot.press("Y")
        assert app.clipboard == '"bottom"'


async def test_a_wide_payload_shows_its_children_a_batch_at_a_time(processes: Processes) -> None:
    app = app_for(processes)
    async with app.run_test(size=(120, 30)) as pilot:
        await detail(pilot)
        tree = await open_event(pilot, 3)
        children = tree.root.children
        assert len(children) == CHILDREN_SHOWN + 1
        assert plain(children[-1]) == "… 1,500 more (Enter shows the next 1,000)"
        tree.move_cursor(children[-1])
        await pilot.press("enter")
        await until(pilot, lambda: len(tree.root.children) == 2 * CHILDREN_SHOWN + 1)
        assert plain(tree.root.children[CHILDREN_SHOWN]) == "1000: 1000"
        assert plain(tree.root.children[-1]).startswith("… 500 more")


async def test_copy_gives_the_selected_nodes_json(processes: Processes) -> None:
    app = app_for(processes)
    async with app.run_test(size=(120, 30)) as pilot:
        await detail(pilot)
        tree = await open_event(pilot, 1)
        tree.move_cursor(tree.root)
        await pilot.press("Y")
        assert json.loads(app.clipboard) == HOSTILE
        tree.move_cursor(tree.root.children[0])
        await pilot.press("Y")
        assert app.clipboard == json.dumps(CLEAR)  # the escape stays a JSON escape
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ProcessDetailScreen))


async def test_input_and_output_open_as_trees(processes: Processes) -> None:
    app = app_for(processes)
    async with app.run_test(size=(120, 30)) as pilot:
        await detail(pilot)
        await pilot.press("i")
        await until(pilot, lambda: isinstance(app.screen, PayloadScreen))
        tree = app.screen.query_one(PayloadTree)
        assert "metadata: {1 key}" in labels(tree)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ProcessDetailScreen))
        await pilot.press("o")
        await until(pilot, lambda: isinstance(app.screen, PayloadScreen))
        tree = app.screen.query_one(PayloadTree)
        value = next(n for n in tree.root.children if plain(n).startswith("value:"))
        value.expand()
        await pilot.pause()
        assert f'by: "{CLICK_QUIT}"' in labels(tree)


async def test_search_narrows_the_timeline_by_type_or_payload_in_any_case(
    processes: Processes,
) -> None:
    app = app_for(processes)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await detail(pilot)
        timeline = screen.query_one("#timeline", DataTable)
        await pilot.press("slash")
        field = screen.query_one("#type-filter", Input)
        assert field.has_focus

        def rows() -> list[str]:
            return [str(key.value) for key in timeline.rows]

        field.value = "APPROVE"  # the type, in another case
        await until(pilot, lambda: rows() == ["4"])
        field.value = "ship IT"  # inside a payload
        await until(pilot, lambda: rows() == ["4"])
        field.value = "[/]"  # markup-looking text is just text
        await until(pilot, lambda: rows() == ["1"])
        assert "1 of 5 events match" in screen_text(app)
        await pilot.press("enter")  # back to the timeline, the match under the cursor
        assert timeline.has_focus
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, PayloadScreen))
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ProcessDetailScreen))
        await pilot.press("slash", "escape")  # clears the search: every event again
        await until(pilot, lambda: len(rows()) == 5)


@pytest.fixture
def processes_for_snapshot(tmp_path: Path) -> Iterator[Processes]:
    clock = ManualClock(START_MS)

    async def build() -> SqliteProcessRegistry:
        registry = await SqliteProcessRegistry.open(str(tmp_path / "p.db"), clock=clock)
        await seed(registry)
        return registry

    registry = asyncio.run(build())
    yield Processes(registry, clock=clock)
    asyncio.run(registry.close())


def test_payload_tree_snapshot(processes_for_snapshot: Processes, snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await until(pilot, lambda: getattr(pilot.app.screen, "loaded", None) is not None)
        await pilot.app.screen.loaded.wait()  # type: ignore[attr-defined]
        await detail(pilot)
        tree = await open_event(pilot, 1)
        for node in tree.root.children:
            node.expand()
        await pilot.pause()
        tree.move_cursor(tree.root.children[1].children[1])
        await pilot.pause()

    app = app_for(processes_for_snapshot)
    assert snap_compare(app, terminal_size=(100, 20), run_before=run_before)


async def test_a_search_keeps_following_new_events(processes: Processes) -> None:
    app = app_for(processes)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await detail(pilot)
        timeline = screen.query_one("#timeline", DataTable)
        await pilot.press("slash")
        screen.query_one("#type-filter", Input).value = "later"
        await until(pilot, lambda: timeline.row_count == 0)
        request = ProcessEventAppendRequest.new("note", {"when": "Later!"})
        await processes.registry.append_event("p", request)
        await until(pilot, lambda: [str(k.value) for k in timeline.rows] == ["6"])


async def test_the_timeline_follows_new_events_only_from_its_newest_row(
    processes: Processes,
) -> None:
    """Moved up to read an older event, the cursor stays on it as another program adds
    events (it jumped to the newest, and Enter opened that one); the summary says how many
    arrived below. Back on the newest row, the timeline follows again, as `tail -f`."""
    app = app_for(processes)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await detail(pilot)
        timeline = screen.query_one("#timeline", DataTable)

        def on() -> str:
            return str(timeline.coordinate_to_cell_key(timeline.cursor_coordinate).row_key.value)

        assert on() == "5"  # opened on the newest event, following
        await pilot.press("up", "up")
        assert on() == "3"
        for n in range(2):
            request = ProcessEventAppendRequest.new("note", {"n": n})
            await processes.registry.append_event("p", request)
            await until(pilot, lambda n=n: timeline.row_count == 6 + n)
            assert on() == "3"
        await until(pilot, lambda: "2 new events below the cursor" in screen_text(app))
        await pilot.press("enter")  # the event the operator chose, not the newest
        await until(pilot, lambda: isinstance(app.screen, PayloadScreen))
        assert "event #3 wide" in screen_text(app)
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen)
        await pilot.press("ctrl+end")  # back on the newest row: seen, and followed again
        assert on() == "7"
        await until(pilot, lambda: "new event" not in screen_text(app))
        await processes.registry.append_event("p", ProcessEventAppendRequest.new("note", 8))
        await until(pilot, lambda: timeline.row_count == 8)
        assert on() == "8"
        assert "new event" not in screen_text(app)


async def test_a_deep_payload_scrolls_sideways_to_keep_the_cursor_in_view(
    processes: Processes,
) -> None:
    """At 80 columns, walking down a value nested 60 levels with the keys: the tree kept
    `scroll_x` at 0 (Textual's `Tree` scrolls only up and down), so the cursor's key and
    value were drawn past the right edge and only guide lines showed."""
    app = app_for(processes)
    async with app.run_test(size=(80, 24)) as pilot:
        await detail(pilot)
        tree = await open_event(pilot, 2)

        def opened(level: int) -> bool:
            node = tree.cursor_node
            return node is not None and node.data is not None and (
                node.data.path == "$" + ".a" * level and bool(node.children)
            )

        # Each pair sent once the level before it has loaded its child (the tree adds a
        # level's children when it hears that the level opened): Pilot's `press` waited for
        # an idle after each of these 119 keys, ~13 of the test's 14 s (-n 2, load ~3).
        for level in range(1, DEPTH):
            send(pilot, "down", "space")  # onto the next level, and open it
            await until(pilot, lambda level=level: opened(level), step=0.01)
        await pilot.press("down")  # the leaf
        leaf = tree.cursor_node
        assert leaf is not None and leaf.data is not None
        assert leaf.data.path == "$" + ".a" * DEPTH
        await until(pilot, lambda: 'a: "bottom"' in screen_text(app))
        assert tree.scroll_x > 0
        await pilot.press("home")  # back at the root: the tree scrolls back to its left edge
        await until(pilot, lambda: tree.scroll_x == 0)
