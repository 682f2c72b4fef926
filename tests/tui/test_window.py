"""`ProcessWindow` and `StateCounts` over a real registry: the window holds a bounded slice
in id order, slides by keyset pages, follows the change feed inside its range, and notices
pruned rows on a re-read; the counts move with the feed exactly as a fresh census would."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from lashtui.admin import Processes
from lashtui.admin import processes as admin_processes
from lashtui.clock import ManualClock
from lashtui.model import (
    PROCESS_ORDERS,
    ExternalRef,
    FailureOutput,
    ObservedProcess,
    ProcessIdentity,
    ProcessPageQuery,
    SuccessOutput,
)
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.tui import rare_state as rare_state_module
from lashtui.tui import window as window_module
from lashtui.tui.counts import StateCounts
from lashtui.tui.rare_state import FEW
from lashtui.tui.window import STEP, WINDOW, ProcessWindow
from tests.builders import ext, ob
from tests.raw import raw_connection
from tests.registry.rows import park
from tests.tui.scene import START_MS

ROWS = 1_000


@pytest.fixture
async def processes(tmp_path: Path) -> AsyncIterator[Processes]:
    clock = ManualClock(START_MS)
    registry = await SqliteProcessRegistry.open(str(tmp_path / "w.db"), clock=clock)
    for n in range(0, ROWS * 2, 2):  # even numbers, so odd ids fall between rows
        await registry.register_process(ext(f"p-{n:05d}"))
    yield Processes(registry, clock=clock)
    await registry.close()


def pid(n: int) -> str:
    return f"p-{n:05d}"


async def test_the_window_is_bounded_and_slides_by_pages(processes: Processes) -> None:
    window = ProcessWindow(processes)
    await window.load(ProcessPageQuery())
    assert window.ids[0] == pid(0) and len(window) == WINDOW // 2
    assert window.at_start and not window.at_end
    while await window.extend_down():
        assert len(window) <= WINDOW
        assert window.ids == sorted(window.ids)
    assert window.at_end and not window.at_start
    assert window.ids[-1] == pid(2 * (ROWS - 1)) and len(window) == WINDOW
    assert await window.extend_up()
    assert len(window) == WINDOW and window.ids[-1] == pid(2 * (ROWS - 1) - 2 * STEP)
    await window.load_last()
    assert window.ids[-1] == pid(2 * (ROWS - 1)) and window.at_end


async def test_load_around_an_anchor_centres_it_even_when_it_is_missing(
    processes: Processes,
) -> None:
    window = ProcessWindow(processes)
    await window.load(ProcessPageQuery(), anchor=pid(1001))  # odd: no such row
    assert pid(1000) in window.rows and pid(1002) in window.rows
    assert window.ids.index(pid(1002)) == WINDOW // 2
    assert not window.at_start and not window.at_end


async def test_feed_changes_apply_inside_the_range_only(processes: Processes) -> None:
    window = ProcessWindow(processes)
    await window.load(ProcessPageQuery())  # p-00000 .. p-00298
    registry = processes.registry
    inside = await registry.register_process(ext(pid(1)))
    outside = await registry.register_process(ext(pid(1999)))
    observed = await processes.observe([inside.id, outside.id])
    assert window.apply(observed.values())
    assert pid(1) in window.rows and pid(1999) not in window.rows
    # a row leaving the filter leaves the window
    window.query = ProcessPageQuery(states=frozenset({"running"}))
    await registry.complete_process(pid(2), SuccessOutput(value=None))
    assert window.apply((await processes.observe([pid(2)])).values())
    assert pid(2) not in window.rows


async def test_a_reread_notices_pruned_rows(processes: Processes) -> None:
    window = ProcessWindow(processes)
    await window.load(ProcessPageQuery(), anchor=pid(500))
    await processes.registry.complete_process(pid(500), SuccessOutput(value=None))
    clock = processes.clock
    assert isinstance(clock, ManualClock)
    clock.advance(10_000)
    await processes.prune(clock.now_ms())
    await window.reread()
    assert pid(500) not in window.rows and pid(502) in window.rows
    assert len(window) == WINDOW - 1  # the range stays put: no row from past its edge


async def test_counts_follow_the_feed_exactly_like_a_fresh_census(
    processes: Processes,
) -> None:
    registry = processes.registry
    census = await processes.census()
    counts = StateCounts(census, processes.clock.now_ms())
    assert counts.counts()["running"] == ROWS
    await registry.register_process(ob("q-new"))
    await registry.complete_process(pid(0), SuccessOutput(value=1))
    await registry.register_process(ext("q-born-done"))
    await registry.complete_process("q-born-done", SuccessOutput(value=2))
    await registry.set_external_ref(pid(0), ExternalRef(backend="ticket", id="T-1"))  # ended row
    changed, _ = await processes.changes_since(census.cursor, 1_000)
    counts.apply(changed)
    assert counts.counts() == (await processes.census()).counts()
    assert counts.total() == ROWS + 2


def set_status(db: str, process_id: str, status: str) -> None:
    """Another program's write of a row's status column alone, moving the change clock as
    lash's writes do, so that the feed reports it."""
    with raw_connection(db) as conn:
        conn.execute("UPDATE process_change_clock SET current_seq = current_seq + 1")
        conn.execute(
            "UPDATE processes SET status = ?, change_seq = (SELECT current_seq FROM "
            "process_change_clock) WHERE process_id = ?",
            (status, process_id),
        )


async def test_counts_follow_rows_into_and_out_of_no_state(
    processes: Processes, tmp_path: Path
) -> None:
    """A row whose status column another program set to no state is counted apart, in no
    state's count. The counts moved it by its stand-in's state (its record's), so a live row
    that lost its state stayed counted as running, and one ended from there was counted
    twice. Now they follow it out of its state and back as a fresh census would; an ended
    row that loses its state cannot be placed (which terminal count held it is not in the
    row any more), and the counts say so (`stale`), for the view to take a census."""
    db, registry = str(tmp_path / "w.db"), processes.registry
    await registry.complete_process(pid(2), SuccessOutput(value=1))
    set_status(db, pid(4), "zombie")
    assert isinstance(processes.clock, ManualClock)
    processes.clock.advance(1_000)  # (the rows were made before the census, as they are)
    census = await processes.census()
    assert census.no_state_ids == {pid(4)}
    counts = StateCounts(census, processes.clock.now_ms())
    set_status(db, pid(0), "zombie")  # a live row loses its state
    set_status(db, pid(6), "zombie")
    set_status(db, pid(6), "also-none")  # and again
    await processes.end_undecodable(pid(4), "dana", "mended")  # one counted apart ends
    changed, cursor = await processes.changes_since(census.cursor, 1_000)
    counts.apply(changed)
    fresh = await processes.census()
    assert counts.counts() == fresh.counts() and counts.total() == fresh.total() == ROWS
    assert counts.counts()["no state"] == 2 and not counts.stale
    await processes.end_undecodable(pid(0), "dana", "mended")
    set_status(db, pid(2), "zombie")  # an ended row loses its state
    changed, _ = await processes.changes_since(cursor, 1_000)
    counts.apply(changed)
    assert counts.stale


async def test_a_sorted_window_pages_and_follows_the_feed_in_its_order(
    processes: Processes,
) -> None:
    """In "updated" order (the most recently updated first) a row the feed says was just
    updated moves to the top of a window that starts at the top, and leaves one that does
    not; paging down and back up reads the registry's order, ties by id."""
    window = ProcessWindow(processes)
    query = ProcessPageQuery(order="updated")
    await window.load(query)
    rows = await processes.page(query.model_copy(update={"limit": ROWS}))
    everything = [p.process_id for p in rows]
    assert everything == sorted(everything, reverse=True)  # one update time: ids descending
    assert window.ids == everything[: WINDOW // 2]
    while await window.extend_down():
        start = everything.index(window.ids[0])
        assert window.ids == everything[start : start + len(window)]
    assert window.ids[-1] == everything[-1]
    assert await window.extend_up()
    start = everything.index(window.ids[0])
    assert window.ids == everything[start : start + len(window)]

    clock = processes.clock
    assert isinstance(clock, ManualClock)
    registry = processes.registry
    await window.load(query)  # the top: the newest updates belong in it
    clock.advance(1_000)
    await registry.complete_process(pid(10), SuccessOutput(value=None))  # far below
    assert window.apply((await processes.observe([pid(10)])).values())
    assert window.ids[0] == pid(10)
    assert window.ids[1:] == everything[: WINDOW // 2]
    await window.load(query, anchor=everything[500])  # the middle: not the top
    assert not window.at_start and everything[500] in window.rows
    clock.advance(1_000)
    await registry.complete_process(everything[500], SuccessOutput(value=None))
    assert window.apply((await processes.observe([everything[500]])).values())
    assert everything[500] not in window.rows  # it moved above the window's range


@pytest.fixture
async def varied(tmp_path: Path) -> AsyncIterator[Processes]:
    """60 rows of three labels, created and updated at different times: 40 running, of
    which 6 wait, and 20 ended (completed and failed)."""
    clock = ManualClock(START_MS)
    registry = await SqliteProcessRegistry.open(str(tmp_path / "v.db"), clock=clock)
    for n in range(60):
        clock.advance(1_000)
        identity = ProcessIdentity(kind="external", label=f"job-{n % 3}")
        await registry.register_process(ext(f"v-{(n * 37) % 60:02d}", identity=identity))
    for n in range(0, 60, 3):
        clock.advance(500)
        if n % 2:
            failure = FailureOutput.model_validate(
                {"class": "external", "code": "x", "message": "m"}
            )
            await registry.complete_process(f"v-{n:02d}", failure)
        else:
            await registry.complete_process(f"v-{n:02d}", SuccessOutput(value=n))
    for n in (1, 8, 22, 35, 47, 59):
        await park(registry, f"v-{n:02d}", clock.now_ms())
    yield Processes(registry, clock=clock)
    await registry.close()


@pytest.mark.parametrize("chunk", [rare_state_module.READ_CHUNK, 1], ids=["chunk-50", "chunk-1"])
@pytest.mark.parametrize("order", PROCESS_ORDERS)
async def test_a_rare_live_state_read_from_the_census_pages_as_the_registry_does(
    varied: Processes, order: str, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the census, a page of `waiting` (or `running`, each rare here) reads those rows by
    id and merges them with the registry's page of the other states: every page, forwards
    and backwards, from an id or a row, either direction, with and without a text filter,
    is the page the registry's own walk returns."""
    monkeypatch.setattr(rare_state_module, "READ_CHUNK", chunk)  # (one: a row at a time)
    processes = varied
    census = StateCounts(await processes.census(), processes.clock.now_ms())
    assert census.counts()["waiting"] == 6 and census.counts()["running"] == 34
    plain, by_census = ProcessWindow(processes), ProcessWindow(processes, census=lambda: census)
    asked: list[ProcessPageQuery] = []
    page = processes.page_within

    async def counting(query: ProcessPageQuery) -> tuple[list[ObservedProcess], bool]:
        asked.append(query)
        return await page(query)

    cases = 0
    for states in ({"waiting"}, {"waiting", "failed"}, {"running"}, {"running", "completed"}):
        for descending in (False, True):
            for text in ("", "1"):
                query = ProcessPageQuery(
                    states=frozenset(states), order=order, descending=descending, text=text
                )
                every = await processes.page(query.model_copy(update={"limit": 100}))
                assert every, query
                middle = every[len(every) // 2]
                for side in (
                    {},
                    {"after": middle},
                    {"before": middle},
                    {"before": middle.process_id},
                ):
                    expected, _ = await plain._page(4, query=query, **side)  # type: ignore[arg-type]
                    processes.page_within = counting  # type: ignore[method-assign]
                    asked.clear()
                    got, _ = await by_census._page(4, query=query, **side)  # type: ignore[arg-type]
                    processes.page_within = page  # type: ignore[method-assign]
                    assert [p.process_id for p in got] == [p.process_id for p in expected], (
                        query,
                        side,
                    )
                    live = {"running", "waiting"}  # no live state is asked of the registry
                    assert not any(live & (q.states or live) for q in asked), asked
                    cases += 1
    assert cases == 4 * 2 * 2 * 4


async def test_a_row_that_left_the_rare_state_since_the_census_is_not_shown(
    varied: Processes,
) -> None:
    processes = varied
    census = StateCounts(await processes.census(), processes.clock.now_ms())
    await processes.registry.complete_process("v-08", SuccessOutput(value=None))  # was waiting
    window = ProcessWindow(processes, census=lambda: census)
    await window.load(ProcessPageQuery(states=frozenset({"waiting"})))
    assert window.ids == ["v-01", "v-22", "v-35", "v-47", "v-59"]


async def test_a_common_live_state_is_left_to_the_registry(
    processes: Processes, monkeypatch: pytest.MonkeyPatch
) -> None:
    census = StateCounts(await processes.census(), processes.clock.now_ms())
    assert census.counts()["running"] == ROWS > FEW
    window = ProcessWindow(processes, census=lambda: census)
    observe = processes.observe
    read_by_id: list[list[str]] = []

    async def counting(ids: list[str]) -> dict[str, ObservedProcess]:
        read_by_id.append(ids)
        return await observe(ids)

    monkeypatch.setattr(processes, "observe", counting)
    await window.load(ProcessPageQuery(states=frozenset({"running"})))
    assert len(window) == WINDOW // 2 and not read_by_id


async def test_pages_cut_by_size_are_not_taken_for_the_end(
    processes: Processes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages of large records end early (`Processes.page_within`, here a few rows each):
    the window still knows the registry goes on, slides to its real end, and a re-read
    reads its whole range again, page after page, in either direction and with a census."""
    monkeypatch.setattr(admin_processes, "PAGE_CHARS", 5_000)
    rows, cut = await processes.page_within(ProcessPageQuery())
    assert cut and 1 < len(rows) < 20  # the size, not the count, ended it
    # A load reads on past cut pages until it fills `FILL` rows (a screen half empty would
    # read as the list's end)...
    filled = ProcessWindow(processes)
    await filled.load(ProcessPageQuery())
    assert len(filled) == window_module.FILL and not filled.at_end
    await filled.load_last()
    assert len(filled) == window_module.FILL and filled.at_end and not filled.at_start
    # ...and, loading a page at a time here, slides on past them.
    monkeypatch.setattr(window_module, "FILL", 1)
    census = StateCounts(await processes.census(), processes.clock.now_ms())
    for window in (ProcessWindow(processes), ProcessWindow(processes, census=lambda: census)):
        await window.load(ProcessPageQuery(states=frozenset({"running"})))
        assert len(window) == len(rows) and window.at_start and not window.at_end
        while await window.extend_down():
            assert window.ids == sorted(window.ids)
        assert window.at_end and window.ids[-1] == pid(2 * (ROWS - 1))
        await window.load(ProcessPageQuery(), anchor=pid(1001))
        assert not window.at_start and not window.at_end
        while await window.extend_up():
            pass
        assert window.at_start and window.ids[0] == pid(0)
        held = list(window.ids)
        await window.reread()
        assert window.ids == held and window.at_start and not window.at_end
        await window.load_last()
        assert window.at_end and not window.at_start and window.ids[-1] == pid(2 * (ROWS - 1))


@pytest.mark.parametrize("order", PROCESS_ORDERS)
async def test_a_rare_state_merged_with_cut_pages_reads_every_row_once(
    varied: Processes, order: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the census a page of `waiting` and `failed` merges the waiting rows read by id
    with the registry's page of failed rows; when that page is cut by size (two rows here),
    the merged page stops at its last row, so sliding down reads every matching row once,
    in order, both ways round."""
    census = StateCounts(await varied.census(), varied.clock.now_ms())
    for descending in (False, True):
        query = ProcessPageQuery(
            states=frozenset({"waiting", "failed"}), order=order, descending=descending
        )
        every = [p.process_id for p in await varied.page(query.model_copy(update={"limit": 100}))]
        with monkeypatch.context() as patched:
            patched.setattr(admin_processes, "PAGE_CHARS", 1_000)
            patched.setattr(window_module, "FILL", 1)  # a page a load: the slides merge
            window = ProcessWindow(varied, census=lambda: census)
            await window.load(query)
            first = len(window)
            while await window.extend_down():
                pass
        assert first < len(every) and window.at_end, (order, descending)
        assert window.ids == every, (order, descending)


async def test_the_window_holds_a_bounded_size_of_rows(
    processes: Processes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over large rows the window holds at most `WINDOW_CHARS` of their JSON (here a few
    rows' worth), dropping from the end the operator moved away from, and counts what it
    holds exactly as it changes: slid down to the end and up, fed changes, re-read. One row
    larger than the whole budget is still held."""
    monkeypatch.setattr(admin_processes, "PAGE_CHARS", 5_000)
    monkeypatch.setattr(window_module, "WINDOW_CHARS", 15_000)
    window = ProcessWindow(processes)

    def exact() -> int:
        assert window.chars == sum(len(p.to_json()) for p in window.ordered())
        assert set(window.sizes) == set(window.rows)
        return window.chars

    await window.load(ProcessPageQuery())
    exact()
    slid = 0
    while await window.extend_down():
        assert exact() <= 15_000 and window.ids == sorted(window.ids)
        slid += 1
    assert slid > 50 and window.at_end and window.ids[-1] == pid(2 * (ROWS - 1))
    assert not window.at_start and len(window) < 50  # rows of ~380 characters
    while await window.extend_up():
        assert exact() <= 15_000
    assert window.at_start and window.ids[0] == pid(0) and not window.at_end
    registry = processes.registry
    await registry.register_process(ext(pid(1)))
    assert window.apply((await processes.observe([pid(1)])).values())
    assert exact() <= 15_000 and window.ids[:2] == [pid(0), pid(1)]
    await registry.complete_process(pid(0), SuccessOutput(value="x" * 500))  # a held row grows
    assert window.apply((await processes.observe([pid(0)])).values())
    assert exact() <= 15_000 and window.ids[0] == pid(0)
    await window.reread()
    assert exact() <= 15_000 and window.ids[0] == pid(0)
    monkeypatch.setattr(window_module, "WINDOW_CHARS", 10)
    await window.extend_down()
    assert len(window) == 1 and exact() > 10


async def test_a_reread_of_a_range_pruned_whole_or_grown_past_the_budget(
    processes: Processes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A re-read finds every row of its range pruned (an empty page: the window empties),
    or, at the registry's end, new rows past the size budget (trimmed to it)."""
    window = ProcessWindow(processes)
    await window.load(ProcessPageQuery())
    assert not window.at_end
    registry, clock = processes.registry, processes.clock
    assert isinstance(clock, ManualClock)
    for n in range(0, 2 * ROWS, 2):
        await registry.complete_process(pid(n), SuccessOutput(value=None))
    clock.advance(10_000)
    await processes.prune(clock.now_ms())
    await window.reread()
    assert len(window) == 0 and window.chars == 0
    monkeypatch.setattr(admin_processes, "PAGE_CHARS", 5_000)
    monkeypatch.setattr(window_module, "WINDOW_CHARS", 15_000)
    for n in range(80):
        await registry.register_process(ext(f"q-{n:03d}"))
    await window.load_last()
    first = window.ids[0]
    assert window.at_end and 0 < window.chars <= 15_000
    for n in range(80, 120):  # new rows at the end, read by the next re-read
        await registry.register_process(ext(f"q-{n:03d}"))
    await window.reread()
    assert window.chars <= 15_000 and window.ids[0] == first  # trimmed from the end
    assert not window.at_end and window.ids[-1] < "q-119"
    assert window.chars == sum(len(p.to_json()) for p in window.ordered())


async def test_a_reread_under_way_when_the_order_changes_leaves_the_window_to_the_reload(
    processes: Processes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`>` (the next sort order) sets the window's query at once, and the periodic re-read
    may be waiting on a page read under the old one: it then compared the old order's last
    place (an id) with the new order's places (an age, a number) and raised TypeError,
    which stopped the dashboard (seen in test_oversized_record under load). Now a re-read
    whose query changed under it keeps nothing it read: the reload the new order queued
    reads the window."""
    window = ProcessWindow(processes)
    await window.load(ProcessPageQuery())
    assert not window.at_end
    held = list(window.ids)
    reading, go_on = asyncio.Event(), asyncio.Event()
    page_within = processes.page_within

    async def held_back(query: ProcessPageQuery) -> tuple[list[ObservedProcess], bool]:
        reading.set()
        await go_on.wait()
        return await page_within(query)

    monkeypatch.setattr(processes, "page_within", held_back)
    reread = asyncio.create_task(window.reread())
    await reading.wait()
    window.query = ProcessPageQuery(order="age")  # as `>` does, before its reload
    go_on.set()
    await reread
    assert sorted(window.ids) == sorted(held)  # the rows held, in the new order, until
    assert window.positions == sorted(window.positions)  # the reload reads them
    monkeypatch.setattr(processes, "page_within", page_within)
    await window.load(window.query)
    assert window.positions == sorted(window.positions)
