"""The dashboard's garbage-collector schedule (lashtui/tui/heap.py): full passes run on a
turn of the loop of their own, the collector's thresholds come back when the schedule ends,
and cyclic garbage that reached the oldest generation is still reclaimed."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import AsyncIterator

import pytest

from lashtui.tui import heap
from lashtui.tui.heap import FullCollections


class Node:
    """A reference cycle: only a collector pass can reclaim it."""

    def __init__(self) -> None:
        self.me = self


@pytest.fixture
async def schedule(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FullCollections]:
    monkeypatch.setattr(heap, "FULL_PASS_EVERY_S", 0.01)
    collections = FullCollections()
    task = asyncio.create_task(collections.run())
    await asyncio.sleep(0)  # the schedule has taken over
    try:
        yield collections
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def _young_collections(count: int) -> None:
    for _ in range(count):
        gc.collect(1)


async def test_the_collector_starts_no_full_pass_while_the_schedule_runs(
    schedule: FullCollections,
) -> None:
    assert gc.get_threshold()[2] >= 1 << 30
    gc.collect(2)
    _young_collections(50)  # far past the default threshold of 10
    assert gc.get_count()[2] >= 50  # nothing started a full pass on its own
    await asyncio.sleep(0.05)
    assert schedule.passes >= 1
    assert gc.get_count()[2] < 50


async def test_thresholds_come_back_when_the_schedule_ends() -> None:
    before = gc.get_threshold()
    collections = FullCollections()
    task = asyncio.create_task(collections.run())
    await asyncio.sleep(0)
    assert gc.get_threshold() != before
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert gc.get_threshold() == before


async def test_a_cycle_that_reached_the_oldest_generation_is_reclaimed(
    schedule: FullCollections,
) -> None:
    node = Node()
    gone = weakref.ref(node)
    _young_collections(2)  # survived two young passes: it is in the oldest generation now
    assert any(obj is node for obj in gc.get_objects(generation=2))
    del node
    _young_collections(12)  # young passes never look at the oldest generation
    assert gone() is not None
    for _ in range(50):
        await asyncio.sleep(0.01)
        if gone() is None:
            break
    assert gone() is None
    assert schedule.passes >= 1


async def test_no_pass_runs_while_nothing_is_due(schedule: FullCollections) -> None:
    gc.collect(2)
    await asyncio.sleep(0.05)
    assert schedule.passes == 0


async def test_overlapping_schedules_put_the_threshold_back_once_both_end() -> None:
    before = gc.get_threshold()
    first, second = FullCollections(), FullCollections()
    one = asyncio.create_task(first.run())
    await asyncio.sleep(0)
    two = asyncio.create_task(second.run())
    await asyncio.sleep(0)
    one.cancel()
    await asyncio.gather(one, return_exceptions=True)
    assert gc.get_threshold()[2] >= 1 << 30  # the second still runs
    two.cancel()
    await asyncio.gather(two, return_exceptions=True)
    assert gc.get_threshold() == before
