"""Every table of the dashboard fits its width and never crops a cell silently, at 60x24,
80x24, 120x40 and 160x40, on the demo's rows (tests/tui/test_column_widths.py) with a
process id as long as a write allows (512 characters), a label as long (1,024), a lease
holder, an abandon reason, a failure code and message and an operator's sentence as long
as they come.

Found by driving `lashtui demo` in tmux: a 512-character id made the Processes and Leases
views scroll sideways at 80 and 60 columns (ids were never cut), the Leases view at 60
columns drew its countdowns past the right edge, and the Abandon requests view's verdict,
the Errors view's MESSAGE and the Audit view's WHAT were cropped with no `…`. Each view now
plans its columns (widgets/column_plan.py): its key columns on screen, every cell cut to
its column with `…` (an id in its middle), the rest of the width given to the text."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len
from rich.text import Text
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import DataTable

from lashtui.admin import Processes, abandon_outlook
from lashtui.clock import ManualClock
from lashtui.model import ProcessIdentity, ProcessStarted, failure
from lashtui.model.owner import owner_ends
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.tui import format as fmt
from lashtui.tui.screens.abandon import AbandonRequestsScreen
from lashtui.tui.screens.audit import AuditScreen
from lashtui.tui.screens.detail import ProcessDetailScreen
from lashtui.tui.screens.detail_summary import Room
from lashtui.tui.screens.errors import ErrorGroupScreen, ErrorsScreen
from lashtui.tui.screens.leases import LeasesScreen, process_key
from lashtui.tui.screens.live import LiveScreen
from lashtui.tui.widgets import column_plan
from lashtui.tui.widgets.keyed_table import KeyedTable
from lashtui.tui.widgets.process_table import KEYS, PLAN, ProcessTable
from tests.builders import ob
from tests.tui.scene import START_MS, far, home_loaded, until
from tests.tui.test_column_widths import observer
from tests.tui.test_column_widths import seed as seed_demo
from tests.tui.test_hostile_app import screen_text

SIZES = ((60, 24), (80, 24), (120, 40), (160, 40))
ROOT = "tenant-acme-corporation/region-eu-west-1/pipeline-nightly-reconciliation/"


def long_id(tag: str) -> str:
    """An id of the 512 characters a write allows, told apart from the others by its start
    and by its end (`…-held`)."""
    return f"{tag}-{ROOT * 7}"[: 512 - len(tag) - 1] + f"-{tag}"


HELD, SILENT, FAILED = long_id("held"), long_id("silent"), long_id("failed")
LONG_LABEL = ("reconcile every ledger entry against the bank statements " * 20)[:1024]
OWNER = far("worker-" + "w" * 120, "host-" + "h" * 60)
REASON = "the host is being retired and its disks wiped " * 10
CODE, MESSAGE = "c" * 100, "the upstream refused the request because it was too big " * 10


async def seed(registry: SqliteProcessRegistry, clock: ManualClock) -> None:
    """The demo's rows and the long ones: a lease held on a long id, with an abandon
    request (Leases, Abandon requests), a silent row (its lease lapsed), a failure with a
    long code and message (Errors), and the operators' actions on them (Audit)."""
    await seed_demo(registry, clock)
    processes = Processes(registry, clock=clock)
    identity = ProcessIdentity(kind="external", label=LONG_LABEL)
    for pid, ttl in ((HELD, 3_600_000), (SILENT, 1_000), (FAILED, 60_000)):
        await registry.register_process(ob(pid, identity=identity))
        lease = (await registry.claim_process_lease(pid, OWNER, ttl)).acquired()
        assert lease is not None
        started = ProcessStarted(owner=OWNER, started_at_ms=clock.now_ms())
        await registry.record_first_started(pid, started, lease)
    lease = await registry.get_process_lease(FAILED)
    assert lease is not None
    await registry.complete_process_with_lease(lease, failure(CODE, MESSAGE))
    clock.advance(5_000)  # the silent row's lease lapses
    await processes.actions.request_abandon(HELD, "dana@ops", REASON)
    await processes.actions.cancel(FAILED, REASON, operator="dana@ops")  # refused: it ended
    await processes.actions.cancel(SILENT, REASON, operator="dana@ops")


@pytest.fixture
async def long_scene(tmp_path: Path) -> Any:
    clock = ManualClock(START_MS)
    registry = await SqliteProcessRegistry.open(str(tmp_path / "long.db"), clock=clock)
    try:
        await seed(registry, clock)
        yield registry, clock
    finally:
        await registry.close()


def check_fits(table: DataTable[Any], width: int, key_columns: set[str]) -> None:
    """`table` holds its key columns, within the screen, and every cell within its column
    (a wider one would be cropped with no `…`), each line of a two-line cell too."""
    shown = {str(column.key.value) for column in table.ordered_columns}
    assert key_columns <= shown, (table.id, shown)
    pad = 2 * table.cell_padding
    used = sum(column.get_render_width(table) for column in table.ordered_columns)
    available = table.scrollable_content_region.width
    assert used <= available, (table.id, used, available)
    assert table.region.right <= width, (table.id, table.region)
    assert table.max_scroll_x == 0, table.id
    for row in range(table.row_count):
        for column, cell in zip(table.ordered_columns, table.get_row_at(row), strict=True):
            room = column.get_render_width(table) - pad
            plain = cell.plain if isinstance(cell, Text) else str(cell)
            for line in plain.split("\n"):
                assert cell_len(line) <= room, (table.id, str(column.key.value), line, room)


async def opened(pilot: Pilot[Any], key: str, kind: type[LiveScreen]) -> LiveScreen:
    await home_loaded(pilot)
    await pilot.press(key)
    screen = pilot.app.screen
    assert isinstance(screen, kind)
    async with asyncio.timeout(10):
        await screen.loaded.wait()
    await pilot.pause()
    return screen


async def view(pilot: Pilot[Any], key: str) -> Screen[Any]:
    """The view of `key` (`1`: the Processes view, the first shown), once read."""
    if key == "1":
        return await home_loaded(pilot)
    return await opened(pilot, key, VIEWS[key])


def cell_of(table: DataTable[Any], row: str, column: str) -> str:
    value = table.get_cell(row, column)
    return value.plain if isinstance(value, Text) else str(value)


def cut_id(shown: str, whole: str) -> None:
    """An id cut in its middle: its start, `…` and its end."""
    head, ellipsis, tail = shown.partition("…")
    assert ellipsis and whole.startswith(head) and whole.endswith(tail) and tail, shown


@pytest.mark.parametrize("size", SIZES)
async def test_the_processes_view_fits(long_scene: Any, size: tuple[int, int]) -> None:
    registry, clock = long_scene
    app = observer(registry, clock)
    async with app.run_test(size=size) as pilot:
        home = await home_loaded(pilot)
        table = home.query_one(ProcessTable)
        key_columns = {"id", "status", "lease", "age"} | ({"label"} if size[0] >= 80 else set())
        check_fits(table, size[0], key_columns)
        cut_id(cell_of(table, HELD, "id"), HELD)
        await pilot.press("enter")  # the detail of a cut id is the whole id's
        await until(pilot, lambda: getattr(app.screen, "process_id", None) is not None)
        assert app.screen.process_id == table.selected_id  # type: ignore[attr-defined]


@pytest.mark.parametrize("width", [100, 130, 160])
async def test_the_holder_is_shown_beside_a_long_id_cut_in_its_middle(
    long_scene: Any, width: int
) -> None:
    """With a long id listed, HOLDER gave way at 130 and 160 columns while the id was drawn
    32 and 42 cells wide: the plan counted the id 64 cells wide, the label and WHY at their
    comfortable widths, and showed the holder only past them. It is now shown wherever each
    text column can have a fair share (the id 20 cells, the others 16), the id cut in its
    middle to make room; at 100 columns it cannot, and the holder gives way first."""
    registry, clock = long_scene
    app = observer(registry, clock)
    async with app.run_test(size=(width, 30)) as pilot:
        home = await home_loaded(pilot)
        table = home.query_one(ProcessTable)
        check_fits(table, width, {"id", "status", "label", "why", "lease", "age"})
        cut_id(cell_of(table, HELD, "id"), HELD)
        drawn = table.drawn
        if width == 100:
            assert "holder" not in drawn, drawn
            return
        assert drawn["holder"] >= 16 and drawn["id"] >= 20, drawn
        assert cell_of(table, "payroll-run", "holder") == "worker-7@host-b:4242"
        assert cell_of(table, HELD, "holder").startswith("worker-ww")
        assert "HOLDER" in screen_text(app)


@pytest.mark.parametrize("size", SIZES)
async def test_the_leases_view_fits(long_scene: Any, size: tuple[int, int]) -> None:
    registry, clock = long_scene
    app = observer(registry, clock)
    async with app.run_test(size=size) as pilot:
        screen = await opened(pilot, "2", LeasesScreen)
        table = screen.query_one(KeyedTable)
        check_fits(table, size[0], {"owner", "process", "lease", "health"})
        cut_id(cell_of(table, process_key(HELD), "process"), HELD)
        assert "59m55s left" in screen_text(app) and "8m55s left" in screen_text(app)


@pytest.mark.parametrize("size", SIZES)
async def test_the_abandon_requests_view_fits(long_scene: Any, size: tuple[int, int]) -> None:
    registry, clock = long_scene
    app = observer(registry, clock)
    async with app.run_test(size=size) as pilot:
        screen = await opened(pilot, "3", AbandonRequestsScreen)
        pending = screen.query_one("#pending-table", KeyedTable)
        check_fits(pending, size[0], {"process", "lease", "verdict"})
        cut_id(cell_of(pending, HELD, "process").split("\n")[0], HELD)
        silent = screen.query_one("#silent-table", KeyedTable)
        check_fits(silent, size[0], {"process", "lapsed"})
        cut_id(cell_of(silent, SILENT, "process"), SILENT)


@pytest.mark.parametrize("width", [60, 80])
async def test_the_sweeps_verdict_says_its_sentence_at_60_and_80_columns(
    long_scene: Any, width: int
) -> None:
    """THE SWEEP, the view's point, was cut to 24 cells at 60 and 80 columns alike, the
    width beside it going to who asked and to the holder: `will abandon once the o…`,
    `will abandon at the nex…`. It now takes 28 cells at 60 and more at 80, cut only once
    the other text columns are narrower, and its sentence flows over the row's two lines:
    the sentence each row shows is the facade's own, whole where it fits, else cut at its
    end, and what the sweep will do (`will abandon once the owner's lease lapses`, `will
    abandon at the next sweep`) is said whole on every row."""
    registry, clock = long_scene
    processes = Processes(registry, clock=clock)
    app = observer(registry, clock)
    async with app.run_test(size=(width, 24)) as pilot:
        screen = await opened(pilot, "3", AbandonRequestsScreen)
        pending = screen.query_one("#pending-table", KeyedTable)
        check_fits(pending, width, {"process", "lease", "verdict"})
        assert pending.drawn["verdict"] >= (28 if width == 60 else 32), pending.drawn
        heads = {"will abandon once the owner's lease lapses", "will abandon at the next sweep"}
        for key in pending.rows:
            process = await processes.get(str(key.value))
            assert process is not None
            sentence = abandon_outlook(process, clock.now_ms())
            said = " ".join(cell_of(pending, str(key.value), "verdict").split())
            assert said == sentence or (
                said.endswith("…") and sentence.startswith(said[:-1])
            ), (said, sentence)
            assert any(said.startswith(head) for head in heads), said


@pytest.mark.parametrize("size", SIZES)
async def test_the_errors_views_fit(long_scene: Any, size: tuple[int, int]) -> None:
    registry, clock = long_scene
    app = observer(registry, clock)
    async with app.run_test(size=size) as pilot:
        screen = await opened(pilot, "5", ErrorsScreen)
        table = screen.query_one(KeyedTable)
        await until(pilot, lambda: table.row_count > 0)
        check_fits(table, size[0], {"state", "count", "last", "message"})
        messages = [cell_of(table, str(key.value), "message") for key in table.rows]
        assert any(m.endswith("…") and MESSAGE.startswith(m[:-1]) for m in messages), messages
        key = next(str(k.value) for k in table.rows if CODE[:20] in str(k.value))
        table.move_cursor(row=table.get_row_index(key))
        await pilot.press("enter")
        rows = app.screen
        assert isinstance(rows, ErrorGroupScreen)
        async with asyncio.timeout(10):
            await rows.loaded.wait()
        await pilot.pause()
        group = rows.query_one(KeyedTable)
        check_fits(group, size[0], {"process", "ended", "reason"})
        cut_id(cell_of(group, FAILED, "process"), FAILED)


@pytest.mark.parametrize("size", SIZES)
async def test_the_audit_view_fits(long_scene: Any, size: tuple[int, int]) -> None:
    registry, clock = long_scene
    app = observer(registry, clock)
    async with app.run_test(size=size) as pilot:
        screen = await opened(pilot, "6", AuditScreen)
        table = screen.query_one(KeyedTable)
        await until(pilot, lambda: table.row_count > 0)
        check_fits(table, size[0], {"at", "action", "process", "outcome"})



async def detail_of(pilot: Any, process_id: str) -> tuple[ProcessDetailScreen, DataTable[Any]]:
    """The detail of `process_id`, opened from the Processes view and read: it and its
    timeline."""
    home = await home_loaded(pilot)
    home.action_open(process_id)
    detail = pilot.app.screen
    assert isinstance(detail, ProcessDetailScreen)
    async with asyncio.timeout(10):
        await detail.loaded.wait()
    return detail, detail.query_one("#timeline", DataTable)


@pytest.mark.parametrize("size", SIZES)
async def test_the_detail_timeline_fits(long_scene: Any, size: tuple[int, int]) -> None:
    """A payload was drawn whole (200 characters of it) past the right edge; it is cut with
    `…` to the room the other columns leave, and shows more on a wider screen."""
    registry, clock = long_scene
    app = observer(registry, clock)
    async with app.run_test(size=size) as pilot:
        _, timeline = await detail_of(pilot, FAILED)
        await until(pilot, lambda: timeline.row_count > 0)
        await pilot.pause()

        def payloads() -> list[str]:
            return [cell_of(timeline, str(key.value), "payload") for key in timeline.rows]

        def fitted() -> bool:
            """Cut, once laid out (the timeline's own scrollbar comes with its rows)."""
            used = sum(column.get_render_width(timeline) for column in timeline.ordered_columns)
            cut = any(payload.endswith("…") for payload in payloads())
            return cut and used <= timeline.scrollable_content_region.width

        await until(pilot, fitted)
        check_fits(timeline, size[0], {"seq", "at", "type", "payload"})
        before = max(map(cell_len, payloads()))
        await pilot.resize_terminal(size[0] + 40, size[1])
        await until(pilot, lambda: max(map(cell_len, payloads())) == before + 40)
        await until(pilot, fitted)
        check_fits(timeline, size[0] + 40, {"seq", "at", "type", "payload"})


@pytest.mark.parametrize("size", [(60, 24), (80, 24)])
@pytest.mark.parametrize("which", ["held", "failed"])
async def test_the_detail_keeps_its_timeline_in_sight(
    long_scene: Any, size: tuple[int, int], which: str
) -> None:
    """The detail's facts drew each stored value whole: at 60x24 the 512-character id and
    the 1,024-character label wrapped over the whole screen, and the timeline (its header
    and its rows) was below the fold. Each value is now cut to the room its line gives it
    (the label and the abandon reason at their end, the rest counted; the id, the holder
    and the other names in their middle), the timeline's header and first row are on
    screen, and `Y` still copies every value whole."""
    registry, clock = long_scene
    process_id = HELD if which == "held" else FAILED
    app = observer(registry, clock)
    async with app.run_test(size=size) as pilot:
        detail, timeline = await detail_of(pilot, process_id)
        if which == "failed":
            await until(pilot, lambda: timeline.row_count > 0)
        await until(pilot, lambda: detail._facts is not None)
        await pilot.pause()
        facts = detail._facts
        assert facts is not None
        # The label: cut at its end, the rest counted (at 60 columns the count would take
        # more room than the label it follows: `…` alone); the id: its start and its end.
        label = re.search(r"(reconcile [^…(]*)…( \((\d[\d,]*) more characters\))?", facts.plain)
        assert label is not None, facts.plain
        shown = label.group(1)
        assert LONG_LABEL.startswith(shown) and cell_len(label.group()) <= size[0]
        if size[0] > 60:
            assert len(shown) + int(label.group(3).replace(",", "")) == len(LONG_LABEL)
        cut_id(re.split("  |\n", facts.plain)[0], process_id)
        if which == "held":  # the abandon reason and the holder, cut too
            assert REASON not in facts.plain and REASON[:20] in facts.plain
            assert OWNER.owner_id not in facts.plain
        # The timeline's header and a row's room on screen, above the footer.
        assert timeline.region.height >= 2, timeline.region
        assert timeline.region.y + 2 <= size[1] - 1, timeline.region
        if which == "failed":
            assert "process.failed" in screen_text(app)
        await pilot.press("Y")
        await until(pilot, lambda: bool(app.clipboard))
        copied = json.loads(app.clipboard)
        assert copied["process_id"] == process_id
        assert copied["label"] == LONG_LABEL


def test_an_id_is_cut_in_its_middle_and_a_label_under_it_at_its_end() -> None:
    assert column_plan.clip(HELD, 13, middle=True) == "held-t…c-held"
    assert column_plan.clip(HELD, 13) == HELD[:12] + "…"
    styled = column_plan.clip(Text(HELD, style="bold"), 13, middle=True)
    assert isinstance(styled, Text) and styled.plain == "held-t…c-held" and styled.style == "bold"
    assert column_plan.clip("日本語日本語日本語", 9, middle=True) == "日本…本語"  # by cells
    painted = Text(HELD)
    painted.stylize("reverse")  # a state's paint, as a silent row's id has: `…` painted too
    cut = column_plan.clip(painted, 13, middle=True)
    assert isinstance(cut, Text)
    assert {at for span in cut.spans for at in range(span.start, span.end)} == set(range(13))
    two_lines = column_plan.clip(f"{HELD}\n{LONG_LABEL}", 13, middle=True)
    assert two_lines == f"held-t…c-held\n{LONG_LABEL[:12]}…"
    assert column_plan.width(f"{HELD[:20]}\nshort") == 20  # a two-line cell: its wider line


@pytest.fixture
def long_rows(tmp_path: Path) -> Any:
    """The long scene for snapshot tests (plain `def` tests, no event loop of their own)."""
    clock = ManualClock(START_MS)

    async def build() -> SqliteProcessRegistry:
        registry = await SqliteProcessRegistry.open(str(tmp_path / "long.db"), clock=clock)
        await seed(registry, clock)
        return registry

    registry = asyncio.run(build())
    yield registry, clock
    asyncio.run(registry.close())


VIEWS: dict[str, type[LiveScreen]] = {
    "2": LeasesScreen,
    "3": AbandonRequestsScreen,
    "5": ErrorsScreen,
    "6": AuditScreen,
}


@pytest.mark.parametrize("key", ["1", *VIEWS])
def test_every_view_at_80_columns_snapshot(long_rows: Any, snap_compare: Any, key: str) -> None:
    registry, clock = long_rows

    async def run_before(pilot: Pilot[Any]) -> None:
        screen = await view(pilot, key)
        for table in screen.query(DataTable):
            await until(pilot, lambda table=table: table.row_count > 0)

    app = observer(registry, clock)
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_a_sentence_flows_over_the_lines_of_its_cell() -> None:
    """`Flex.flow` (the sweep's verdict): as it is while each line fits; else its words
    over the row's lines, only the last cut, its style kept."""
    verdict = Text("will abandon at the next sweep:\nexternally-owned rows have no owner lease")
    assert column_plan.flow(verdict, 41, 2) is verdict
    flowed = column_plan.flow(verdict, 28, 2)
    assert flowed.plain == "will abandon at the next\nsweep: externally-owned row…"
    one = Text("will abandon once the owner's lease lapses", style="bold")
    flowed = column_plan.flow(one, 28, 2)
    assert flowed.plain == "will abandon once the\nowner's lease lapses"
    assert flowed.style == "bold"
    assert column_plan.flow(Text("a-word-wider-than-its-column"), 10, 2).plain == "a-word-wi…"


def test_an_id_is_cut_only_once_the_text_beside_it_is_narrower() -> None:
    """At 80 columns the demo's 15-character ids stay whole while the label and WHY beside
    them are cut (they were cut to 12 cells, level with the text, before `Flex.held`); an
    id of 512 characters is cut too, held 4 cells wider than they are."""
    # As tests/tui/test_column_widths.py's demo rows at 80 columns: `✓ completed`,
    # `10m00s left`, ages of `0ms` (the AGE header).
    widths = dict.fromkeys(KEYS, 6) | {"mark": 1, "status": 11, "lease": 11, "age": 3}
    texts = {"label": 40, "why": 60}
    demo_ids = column_plan.fitting(KEYS, widths | texts | {"id": 15}, 78, PLAN, pad=2)
    assert demo_ids["id"] == 15 and demo_ids["label"] < 15, demo_ids
    long = column_plan.fitting(KEYS, widths | texts | {"id": 512}, 78, PLAN, pad=2)
    assert long["id"] - max(long["label"], long["why"]) in (3, 4), long


@pytest.mark.parametrize("width", [60, 80, 100, 130, 200])
async def test_a_cut_label_says_its_count_on_its_own_line(long_scene: Any, width: int) -> None:
    """The label was cut to a line's room and then given its `… (966 more characters)`
    and its kind after it, so at every width they wrapped onto the next line (the reason
    of an abandon request likewise). The cut now leaves room for what follows it: the
    label, its count (where the count is narrower than what it follows) and its kind are
    one line, beside a short id as beside a long one, and the reason is one line."""
    registry, clock = long_scene
    await registry.register_process(
        ob("short", identity=ProcessIdentity(kind="external", label=LONG_LABEL))
    )
    app = observer(registry, clock)
    async with app.run_test(size=(width, 40)) as pilot:
        for process_id in (HELD, "short"):
            detail, _ = await detail_of(pilot, process_id)
            await until(pilot, lambda detail=detail: detail._facts is not None)
            await pilot.pause()
            lines = screen_text(app).split("\n")
            (label,) = [line for line in lines if "reconcile every" in line]
            assert label.rstrip().endswith(" (external)"), (width, label)
            assert "… (" in label or width <= 60, (width, label)  # the count, where it fits
            if process_id == HELD:
                (asked,) = [line for line in lines if "abandon request" in line]
                assert asked.rstrip().endswith(("more characters)", "…")), (width, asked)
            await pilot.press("escape")


@pytest.mark.parametrize("width", [60, 80, 160])
async def test_a_long_owner_is_cut_once_in_its_middle(long_scene: Any, width: int) -> None:
    """The lease's holder and who first started it were shortened (`fmt.owner`: the owner
    id to 48 characters, the host to 32, each with `…`) and then cut in their middle to
    the detail's room: two ellipses, at 160 columns side by side (`worker-ww……@host-hh…`),
    and the host's end lost. Cut, an owner is now cut once, from its whole name: its
    start, one `…` and its end (the host's last characters and the pid), as wide as the
    room allows."""
    registry, clock = long_scene
    app = observer(registry, clock)
    async with app.run_test(size=(width, 40)) as pilot:
        detail, _ = await detail_of(pilot, HELD)
        await until(pilot, lambda: detail._facts is not None)
        await pilot.pause()
        assert detail._facts is not None
        facts = detail._facts.plain
        room = Room.of(detail.query_one("#summary").content_region.width)
        whole = f"{OWNER.owner_id}@{OWNER.liveness.host_id}:4242"  # type: ignore[union-attr]
        for pattern in (r"^lease (\S+) \(", r"^first started (\S+) "):
            found = re.search(pattern, facts, re.MULTILINE)
            assert found is not None, facts
            shown = found.group(1)
            assert shown.count("…") == 1, shown
            cut_id(shown, whole)
            assert cell_len(shown) == room.name, (shown, room.name)


def test_an_owners_ends_name_a_recovery_attempt_as_its_worker() -> None:
    """`owner_ends` names an owner as `owner` does where it is short (a recovery attempt as
    its worker, the hostname said once), and keeps the true end of a long one."""
    attempt = far("worker-7:recovery:" + "a" * 32, "host-b")
    assert owner_ends(attempt, 40) == fmt.owner(attempt) == "worker-7@host-b:4242"
    long_attempt = far("w" * 200 + ":recovery:" + "a" * 32, "vm/pid:[4026531836]")
    assert owner_ends(long_attempt, 40) == "w" * 80 + "@vm/pid:[4026531836]:4242"
    assert owner_ends(OWNER, 20).endswith("h" * 20 + ":4242")


@pytest.mark.parametrize("width", [80, 100])
async def test_the_externally_owned_verdict_says_its_sentence_whole(
    long_scene: Any, width: int
) -> None:
    """An externally owned row's verdict (`will abandon at the next sweep:` / `externally-
    owned rows have no owner lease`) needs 41 cells to flow over its two lines; the plan
    gave THE SWEEP 34 at 80 columns and 40 at 100, and its second line was cut
    (`…have no own…`). A flowing column is now not cut below what its sentences need while
    the columns after the key ones can give way (at 80 columns, REQUESTED: Enter's detail
    says who asked), so it says the whole sentence, as the other verdicts do."""
    registry, clock = long_scene
    processes = Processes(registry, clock=clock)
    app = observer(registry, clock)
    async with app.run_test(size=(width, 24)) as pilot:
        screen = await opened(pilot, "3", AbandonRequestsScreen)
        pending = screen.query_one("#pending-table", KeyedTable)
        check_fits(pending, width, {"process", "lease", "verdict"})
        process = await processes.get("old-backfill")
        assert process is not None and process.disposition_text() == "externally_owned"
        sentence = abandon_outlook(process, clock.now_ms())
        said = " ".join(cell_of(pending, "old-backfill", "verdict").split())
        assert said == sentence, (said, pending.drawn)
        assert ("request" in pending.drawn) == (width > 80), pending.drawn


def test_a_flowing_column_is_not_cut_below_what_its_sentence_needs() -> None:
    """`flow_need`: the narrowest width at which a cell flows whole over its lines; the plan
    keeps a flowing column at least that wide while lower columns can give way."""
    external = Text("will abandon at the next sweep:\nexternally-owned rows have no owner lease")
    assert column_plan.flow_need(external, 2) == 41
    assert column_plan.flow_need(Text("will abandon once the owner's lease lapses"), 2) == 21
