"""A process id longer than any reader takes whole (lashtui/registry/sql/long_id.py), on both
stores: another program's, since a write allows 512 characters.

Such a row is read as a stand-in under its cut id (its first 4,096 characters and the last
code point), which lists where its id sorts and moves a page's cursor past it; nothing
claims, runs or changes it, and an action asked of it is one sentence. The id itself never
becomes a Python object (tracemalloc, on SQLite, where an id may be of any length:
PostgreSQL's primary-key index refuses one past ~2.7 kB unless it compresses).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from lashtui.errors import InvalidRequest
from lashtui.model import (
    Engine,
    ProcessEventAppendRequest,
    ProcessPageQuery,
    ProcessRecord,
    ProcessStartRequest,
    RecoveryDisposition,
)
from lashtui.model.page import PAGE_CHARS
from lashtui.registry import ProcessRegistry
from lashtui.registry.sql.long_id import CUT_ID_WORDS, MAX_READ_ID_CHARS, as_read
from lashtui.untrusted import CUT_MARK, bounded
from tests.builders import ext
from tests.raw import raw_connection
from tests.registry.rows import ANY
from tests.registry.test_stored_size import held_at_most

# Longer than a reader takes, and short enough for PostgreSQL's key index once compressed.
LONG = "y" * 6_000
CUT = LONG[:MAX_READ_ID_CHARS] + CUT_MARK
WHOLE = "y" * MAX_READ_ID_CHARS  # the longest id read whole: it sorts just before LONG


def rename(target: str, old: str, new: str) -> None:
    """Give the row `old` the id `new`, as another program writing the registry could."""
    with raw_connection(target) as conn:
        conn.execute("UPDATE processes SET process_id = ? WHERE process_id = ?", (new, old))


async def long_registry(registry: ProcessRegistry, target: str, long: str = LONG) -> None:
    """Rows `a`, `WHOLE`, the long one (externally owned) and `z`."""
    for process_id in ("a", "whole", "long", "z"):
        await registry.register_process(ext(process_id))
    rename(target, "whole", WHOLE)
    rename(target, "long", long)


def ids(records: Sequence[ProcessRecord]) -> list[str]:
    return [record.id for record in records]


async def test_a_long_id_lists_as_its_cut_id_and_pages_move_past_it(
    registry: ProcessRegistry, registry_target: str
) -> None:
    await long_registry(registry, registry_target)

    listed = await registry.list_processes(ANY)
    assert ids(listed) == ["a", WHOLE, CUT, "z"]
    stand_in = listed[2]
    assert stand_in.undecodable == CUT_ID_WORDS and stand_in.status.state.value == "running"
    assert bounded(CUT).endswith(f"… (more than {MAX_READ_ID_CHARS:,} characters: not read)")

    # One row a page, both ways and in two orders: every row once, the cut one included (a
    # cursor of an id alone has its sort key read from its row: the cut id's row here).
    for order in ("id", "updated"):
        for descending in (False, True):
            seen: list[str] = []
            query = ProcessPageQuery(limit=1, order=order, descending=descending)
            while page := (await registry.page_processes_within(query, PAGE_CHARS))[0]:
                seen += ids(page)
                assert len(seen) <= 4, (order, descending, seen)
                query = query.model_copy(update={"after_id": page[-1].id})
            assert sorted(seen) == sorted(["a", WHOLE, CUT, "z"]), (order, descending, seen)

    # Read again by its cut id (a detail, a window's re-read), and counted under it.
    got = await registry.get_process(CUT)
    assert got is not None and got.id == CUT and got.undecodable == CUT_ID_WORDS
    assert (await registry.get_processes([CUT, "a"])).keys() == {CUT, "a"}
    census = await registry.process_census()
    assert set(census.live) == {"a", WHOLE, CUT, "z"}
    feed, _ = await registry.processes_changed_since(0, 10, max_chars=PAGE_CHARS)
    assert CUT in ids(feed)


async def test_nothing_claims_runs_or_changes_a_cut_ids_row(
    registry: ProcessRegistry, registry_target: str
) -> None:
    # A rerunnable row a worker would take, once its id is long.
    start = ProcessStartRequest(
        id="long", input=Engine(kind="echo", payload={}), disposition=RecoveryDisposition.RERUNNABLE
    )
    await registry.start_process(start)
    rename(registry_target, "long", LONG)

    items = await registry.list_work_items()
    assert [(item.process_id, item.undecodable) for item in items] == [(CUT, True)]

    for act in (
        lambda: registry.append_event(CUT, ProcessEventAppendRequest.cancel_requested(CUT, "x")),
        lambda: registry.end_undecodable_process(CUT, "op", "why"),
        lambda: registry.events_after(CUT, 0),
    ):
        with pytest.raises(InvalidRequest) as refused:
            await act()
        assert str(refused.value) == (
            f"process `{'y' * 64}…` has an id over 4,096 characters, which no read takes "
            "whole, so lashtui cannot act on it"
        )
    got = await registry.get_process(CUT)
    assert got is not None and got.status.state.value == "running"  # left as it was


async def test_a_cut_id_is_its_own_cut() -> None:
    assert as_read(LONG) == as_read(CUT) == CUT and as_read(WHOLE) == WHOLE
    assert as_read(5) == 5  # (a number another program stored as an id)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_huge_id_is_never_held(registry: ProcessRegistry, registry_target: str) -> None:
    huge = "y" * (20 << 20)  # 20 MB: held once, a read would pass the bound below
    await long_registry(registry, registry_target, huge)

    async def every_read() -> tuple[Any, ...]:
        return (
            await registry.list_processes(ANY),
            await registry.page_processes_within(ProcessPageQuery(limit=10), PAGE_CHARS),
            await registry.page_processes_within(
                ProcessPageQuery(limit=10, order="updated"), PAGE_CHARS
            ),
            await registry.processes_changed_since(0, 10, max_chars=PAGE_CHARS),
            await registry.process_census(),
            await registry.list_work_items(),
            await registry.get_process(CUT),
        )

    listed, (page, _), (by_update, _), (feed, _), census, items, got = await held_at_most(
        4 << 20, every_read
    )
    assert ids(listed) == ids(page) == ["a", WHOLE, CUT, "z"]
    assert CUT in ids(by_update) and CUT in ids(feed) and CUT in census.live
    assert any(item.process_id == CUT and item.undecodable for item in items)
    assert got is not None and got.id == CUT
