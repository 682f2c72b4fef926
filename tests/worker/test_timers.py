"""`GuardTimers` (lashtui/worker/timers.py): one loop timer standing in for many. Each entry
fires once, no sooner than asked and soon after; a cancelled or replaced one never fires."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from lashtui.worker.timers import GuardTimers


async def test_entries_fire_once_in_order_of_their_time_and_not_before() -> None:
    timers = GuardTimers()
    loop = asyncio.get_running_loop()
    fired: list[tuple[str, float]] = []
    begin = loop.time()
    def firing(key: str) -> Callable[[], None]:
        return lambda: fired.append((key, loop.time() - begin))

    for key, delay in (("late", 0.06), ("early", 0.02), ("middle", 0.04)):
        timers.set(key, delay, firing(key))
    await asyncio.sleep(0.12)
    assert [key for key, _ in fired] == ["early", "middle", "late"]
    for (key, at), asked in zip(fired, (0.02, 0.04, 0.06), strict=True):
        assert asked - GuardTimers.GRAIN_S <= at < asked + 0.05, (key, at)
    assert len(timers) == 0


async def test_a_cancelled_or_replaced_entry_does_not_fire() -> None:
    timers = GuardTimers()
    fired: list[str] = []
    timers.set("cancelled", 0.01, lambda: fired.append("cancelled"))
    timers.set("replaced", 0.01, lambda: fired.append("first"))
    timers.set("replaced", 0.03, lambda: fired.append("second"))
    timers.cancel("cancelled")
    await asyncio.sleep(0.08)
    assert fired == ["second"]


async def test_an_entry_set_from_a_firing_callback_fires_too() -> None:
    """A keeper re-arms itself from its own callback (through its renewal)."""
    timers = GuardTimers()
    fired: list[int] = []

    def again() -> None:
        fired.append(len(fired))
        if len(fired) < 3:
            timers.set("k", 0.01, again)

    timers.set("k", 0.01, again)
    await asyncio.sleep(0.15)
    assert fired == [0, 1, 2]
