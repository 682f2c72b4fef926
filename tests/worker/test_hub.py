"""The change hub keeps a bounded number of processes' versions (lashtui/worker/hub.py): a
long-lived worker kept one for every process it ever ran. Forgetting one never hides a tick
from a waiter that took a version before: it may only wake one that need not have."""

from __future__ import annotations

import asyncio

from lashtui.worker.hub import KEPT_VERSIONS, ChangeHub


def test_the_hub_forgets_the_oldest_versions_past_its_bound() -> None:
    hub = ChangeHub()
    for n in range(3 * KEPT_VERSIONS):
        hub.tick(f"p{n}")
    assert len(hub._versions) <= KEPT_VERSIONS
    assert f"p{3 * KEPT_VERSIONS - 1}" in hub._versions  # the newest are kept


async def test_a_version_taken_before_it_was_forgotten_still_sees_the_next_tick() -> None:
    hub = ChangeHub()
    hub.tick("old")
    seen = hub.version("old")
    for n in range(2 * KEPT_VERSIONS):  # "old" is forgotten meanwhile
        hub.tick(f"p{n}")
    assert "old" not in hub._versions
    # Nothing ticked "old": the forgotten version may read as a change, never as less.
    assert hub.version("old") >= seen
    now = hub.version("old")
    waiting = asyncio.ensure_future(hub.wait("old", now, 5.0))
    await asyncio.sleep(0)
    hub.tick("old")
    assert await waiting is True


async def test_a_process_waited_on_is_never_forgotten() -> None:
    hub = ChangeHub()
    hub.tick("watched")
    seen = hub.version("watched")
    waiting = asyncio.ensure_future(hub.wait("watched", seen, 0.2))
    await asyncio.sleep(0)
    for n in range(2 * KEPT_VERSIONS):
        hub.tick(f"p{n}")
    assert hub.version("watched") == seen  # kept: the waiter is not woken for nothing
    assert await waiting is False  # (no tick of its own within the wait)
