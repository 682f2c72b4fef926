"""The facade's window on a large registry: pages, census, batch observe, the lease list,
the abandon candidates and the data version, each returned as observed rows with their
lease facts, through the same `Processes` the dashboard uses."""

from __future__ import annotations

from pathlib import Path

import pytest

from lashtui.admin import Processes
from lashtui.admin import processes as admin_processes
from lashtui.clock import ManualClock
from lashtui.model import (
    ObservedProcess,
    ProcessEventAppendRequest,
    ProcessEventType,
    ProcessPageQuery,
    ProcessStarted,
    ProcessStartGrant,
    ProcessStartRequest,
    SessionOriginator,
    SessionScope,
    SuccessOutput,
)
from lashtui.registry import open_registry
from tests.builders import ob, own, rr
from tests.registry.rows import park

S1 = SessionScope(session_id="s1")
S1F = SessionScope(session_id="s1", agent_frame_id="f")


def ids(observed: list[ObservedProcess]) -> list[str]:
    return [o.process_id for o in observed]


async def start_owned(processes: Processes, pid: str, ttl_ms: int | None) -> None:
    """An owner_bound row, started under a lease of `ttl_ms` (None: started, then released)."""
    registry = processes.registry
    await registry.register_process(ob(pid))
    lease = (await registry.claim_process_lease(pid, own("w"), ttl_ms or 1_000)).acquired()
    assert lease is not None
    started = ProcessStarted(owner=own("w"), started_at_ms=processes.clock.now_ms())
    await registry.record_first_started(pid, started, lease)
    if ttl_ms is None:
        await registry.release_process_lease(lease)


async def test_page_observes_rows_with_their_leases(processes: Processes) -> None:
    await processes.start(ProcessStartRequest.external("a", {"label": "alpha"}))
    await processes.start(
        ProcessStartRequest.external(
            "b",
            {"label": "beta"},
            originator=SessionOriginator(scope=S1F),
            grant=ProcessStartGrant(session_scope=S1),
        )
    )
    await processes.start(ProcessStartRequest.external("c"))
    lease = (await processes.registry.claim_process_lease("b", own("w"), 5_000)).acquired()
    assert lease is not None

    page = await processes.page(ProcessPageQuery(limit=2))
    assert ids(page) == ["a", "b"]
    assert page[1].lease_holder == own("w")
    assert page[1].lease_expires_at_ms == lease.expires_at_epoch_ms
    assert page[0].label == "alpha" and page[0].lease_holder is None
    assert ids(await processes.page(ProcessPageQuery(after_id="b"))) == ["c"]
    assert ids(await processes.page(ProcessPageQuery(text="BETA"))) == ["b"]
    assert ids(await processes.page(ProcessPageQuery(lens="granted", scope=S1))) == ["b"]
    assert ids(await processes.page(ProcessPageQuery(lens="originated", scope=S1))) == ["b"]
    assert ids(await processes.page(ProcessPageQuery(lens="originated", scope=S1F))) == ["b"]


async def test_census_and_observe(processes: Processes, clock: ManualClock) -> None:
    for pid in ("a", "b", "c"):
        await processes.start(ProcessStartRequest.external(pid))
    await park(processes.registry, "b", clock.now_ms())
    await processes.registry.complete_process("c", SuccessOutput(value=1))

    census = await processes.census()
    assert census.live == {"a": "running", "b": "waiting"}
    assert census.counts()["completed"] == 1
    _, cursor = await processes.changes_since(0, 100)
    assert census.cursor == cursor

    observed = await processes.observe(["c", "gone", "a"])
    assert set(observed) == {"a", "c"}
    assert observed["c"].terminal and observed["c"].lifecycle.value == "completed"
    assert observed["a"] == await processes.get("a")


async def test_leases_soonest_expiry_first(processes: Processes) -> None:
    await start_owned(processes, "long", 9_000)
    await start_owned(processes, "short", 1_000)
    await start_owned(processes, "released", None)
    leased = await processes.leases()
    assert ids(leased) == ["short", "long"]
    assert [p.lease_expires_at_ms for p in leased] == sorted(
        p.lease_expires_at_ms or 0 for p in leased
    )
    assert ids(await processes.leases(limit=1)) == ["short"]


async def test_held_leases_counted_beside_the_bounded_list(
    processes: Processes, clock: ManualClock
) -> None:
    """The Leases view's totals when its list stops short (tui/screens/leases.py)."""
    await start_owned(processes, "long", 9_000)
    await start_owned(processes, "short", 1_000)
    await start_owned(processes, "released", None)
    registry = processes.registry
    assert await registry.count_held_leases(clock.now_ms()) == (2, 0)
    assert await registry.count_held_leases(clock.now_ms() + 1_000) == (2, 1)  # at: lapsed
    assert await registry.count_held_leases(clock.now_ms() + 9_000) == (2, 2)


async def test_abandon_candidates_say_when_there_are_more(
    processes: Processes, clock: ManualClock
) -> None:
    for pid in ("a", "b", "c"):
        await start_owned(processes, pid, None)
    now = clock.now_ms()
    _, silent, first = await processes.bounded_abandon_candidates(now, 3)
    assert (ids(silent), first) == (["a", "b", "c"], None)  # all of them: none more
    _, silent, first = await processes.bounded_abandon_candidates(now, 2)
    assert (ids(silent), first) == (["a", "b"], 2)


async def test_abandon_candidates_split_requests_from_silent_rows(
    processes: Processes, clock: ManualClock
) -> None:
    await start_owned(processes, "renewing", 10_000)
    await start_owned(processes, "lapsing", 1_000)
    await start_owned(processes, "released", None)
    await start_owned(processes, "asked", 10_000)
    await processes.request_abandon("asked", "operator", "host retired")
    await processes.start(ProcessStartRequest.external("ext-asked"))
    await processes.request_abandon("ext-asked", "operator")
    await processes.registry.register_process(ob("never-started"))

    now = clock.now_ms()
    requested, silent = await processes.abandon_candidates(now)
    assert ids(requested) == ["asked", "ext-asked"]
    assert requested[0].abandon_request is not None
    assert requested[0].lease_holder == own("w")  # observed with its lease
    assert ids(silent) == ["released"]

    requested, silent = await processes.abandon_candidates(now + 1_000)
    assert ids(requested) == ["asked", "ext-asked"]
    assert ids(silent) == ["lapsing", "released"]  # an expiry equal to now has lapsed

    clock.advance(10_000)
    requested, silent = await processes.abandon_candidates(clock.now_ms())
    assert ids(silent) == ["lapsing", "released", "renewing"]  # a requested row is never both


async def test_data_version_through_the_facade(tmp_path: Path, clock: ManualClock) -> None:
    path = str(tmp_path / "r.db")
    async with (
        open_registry(path, clock=clock) as mine,
        open_registry(path, clock=clock) as theirs,
    ):
        processes = Processes(mine, clock=clock)
        before = await processes.data_version()
        await processes.start(ProcessStartRequest.external("mine"))
        assert await processes.data_version() == before  # own commits tick the hub instead
        await theirs.register_process(ob("theirs"))
        assert await processes.data_version() != before
        assert set(await processes.observe(["mine", "theirs"])) == {"mine", "theirs"}


async def test_a_read_only_facade_reads_pages_and_census(
    tmp_path: Path, clock: ManualClock
) -> None:
    path = str(tmp_path / "r.db")
    async with open_registry(path, clock=clock) as registry:
        await Processes(registry, clock=clock).start(ProcessStartRequest.external("p"))
    async with open_registry(path, read_only=True) as registry:
        processes = Processes(registry, clock=clock)
        assert ids(await processes.page(ProcessPageQuery())) == ["p"]
        assert (await processes.census()).live == {"p": "running"}
        assert await processes.leases() == []
        assert await processes.abandon_candidates(clock.now_ms()) == ([], [])
        assert isinstance(await processes.data_version(), int)


async def test_events_are_read_in_pages_whole_and_in_order(
    processes: Processes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The facade reads a long log a page at a time (`EVENTS_A_PAGE`, here 2): every event,
    once, in order, whatever the page boundaries."""
    monkeypatch.setattr(admin_processes, "EVENTS_A_PAGE", 2)
    await processes.registry.register_process(
        ob("p", event_types=[ProcessEventType.plain("note")])
    )
    for n in range(5):
        await processes.registry.append_event("p", ProcessEventAppendRequest.new("note", n))
    assert [e.sequence for e in await processes.events("p")] == [1, 2, 3, 4, 5]
    assert [e.sequence for e in await processes.events("p", 3)] == [4, 5]
    assert [e.sequence for e in await processes.events("p", 4)] == [5]
    assert await processes.events("p", 5) == []


async def test_event_pages_are_cut_by_size_and_read_back_from_the_end(
    processes: Processes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`event_pages` and `events_before` read pages of at most `EVENTS_A_PAGE` events and
    `EVENT_PAGE_CHARS` characters plus one event (here 3 events, and one big payload fills
    a page: a small event's JSON is ~450 characters)."""
    monkeypatch.setattr(admin_processes, "EVENTS_A_PAGE", 3)
    monkeypatch.setattr(admin_processes, "EVENT_PAGE_CHARS", 1_500)
    await processes.registry.register_process(
        ob("p", event_types=[ProcessEventType.plain("note")])
    )
    for n in range(8):
        payload = "x" * 1_500 if n in (0, 1, 2, 6) else n  # events 1, 2, 3 and 7 are big
        await processes.registry.append_event("p", ProcessEventAppendRequest.new("note", payload))
    pages = [[e.sequence for e in page] async for page in processes.event_pages("p")]
    assert pages == [[1], [2], [3], [4, 5, 6], [7], [8]]
    assert [e.sequence for e in await processes.events("p")] == list(range(1, 9))
    assert [e.sequence for e in await processes.events_before("p")] == [7, 8]
    assert [e.sequence for e in await processes.events_before("p", 7)] == [4, 5, 6]
    assert [e.sequence for e in await processes.events_before("p", 4)] == [3]
    assert await processes.events_before("p", 1) == []


async def test_the_facade_reads_the_change_feed_in_pages_cut_by_size(
    processes: Processes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`changes_since` pages hold at most `FEED_PAGE_CHARS` of records plus one row (here
    one row each); read on until an empty page, they hold every change once."""
    monkeypatch.setattr(admin_processes, "FEED_PAGE_CHARS", 1)
    _, cursor = await processes.changes_since(0, 0)
    for pid in ("a", "b", "c"):
        await processes.registry.register_process(ob(pid))
    pages = []
    while True:
        page, cursor = await processes.changes_since(cursor, 100)
        if not page:
            break
        pages.append([p.process_id for p in page])
    assert pages == [["a"], ["b"], ["c"]]


async def test_the_facade_pages_cut_by_size_read_on_to_the_end(
    processes: Processes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`page_within` holds at most `PAGE_CHARS` of records plus one row and says when that
    cut it (here a row each); `pages` reads on past such pages, and only a short page that
    was not cut ends it."""
    for pid in "abcde":
        await processes.registry.register_process(ob(pid))
    monkeypatch.setattr(admin_processes, "PAGE_CHARS", 1)
    rows, cut = await processes.page_within(ProcessPageQuery(limit=3))
    assert ids(rows) == ["a"] and cut
    rows, cut = await processes.page_within(ProcessPageQuery(limit=3, after_id="d"))
    assert ids(rows) == ["e"] and not cut
    read = [ids(page) async for page in processes.pages(ProcessPageQuery(limit=3))]
    assert read == [["a"], ["b"], ["c"], ["d"], ["e"]]
    backwards = ProcessPageQuery(limit=3, descending=True, after_id="d")
    assert [ids(page) async for page in processes.pages(backwards)] == [["c"], ["b"], ["a"]]
    monkeypatch.setattr(admin_processes, "PAGE_CHARS", 10**9)
    read = [ids(page) async for page in processes.pages(ProcessPageQuery(limit=3))]
    assert read == [["a", "b", "c"], ["d", "e"]]


async def test_the_next_lease_lapse_is_the_soonest_live_lease_of_started_owner_bound_work(
    processes: Processes, clock: ManualClock
) -> None:
    """When the Abandon requests view must read again by the clock alone: the soonest
    expiry of a live lease on running owner_bound work that has started. Leases on other
    work, on unstarted rows, and lapsed or released ones do not count."""
    registry = processes.registry
    now = clock.now_ms()
    assert await registry.next_lease_lapse(now) is None
    await start_owned(processes, "a-soon", 5_000)
    await start_owned(processes, "b-later", 9_000)
    await start_owned(processes, "c-released", None)
    await registry.register_process(ob("d-unstarted"))
    assert (await registry.claim_process_lease("d-unstarted", own("w"), 1_000)).acquired()
    await registry.register_process(rr("e-rerunnable"))
    assert (await registry.claim_process_lease("e-rerunnable", own("w"), 1_000)).acquired()
    assert await registry.next_lease_lapse(now) == now + 5_000
    assert await registry.next_lease_lapse(now + 5_000) == now + 9_000  # a-soon lapsed
    assert await registry.next_lease_lapse(now + 9_000) is None
