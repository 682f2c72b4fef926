"""One loop timer for the lease keepers and cancel polls of all of a worker's runs.

Each run's guard needs two timers (a renewal every interval, a cancel poll backing off from
25 ms; guard.py), and most runs end within milliseconds, so most of those timers would be
cancelled. An asyncio loop keeps a cancelled timer in its heap until it comes due: at 2,500
runs a second (P1), a 10 s renewal timer per run meant ~25,000 of them, and every push and
pop compares timers in Python. Here a timer is a dict entry, and the loop holds one handle,
armed for the earliest entry; entries due within `GRAIN_S` of each other fire together.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Hashable


class GuardTimers:
    GRAIN_S = 0.005

    def __init__(self) -> None:
        self._due: dict[Hashable, tuple[float, Callable[[], None]]] = {}
        self._handle: asyncio.TimerHandle | None = None
        self._armed_for = math.inf

    def __len__(self) -> int:
        return len(self._due)

    def set(self, key: Hashable, delay_s: float, callback: Callable[[], None]) -> None:
        """Call `callback` in `delay_s` (replacing what `key` had), unless cancelled."""
        loop = asyncio.get_running_loop()
        when = loop.time() + delay_s
        self._due[key] = (when, callback)
        if when < self._armed_for:
            self._arm(loop, when)

    def cancel(self, key: Hashable) -> None:
        self._due.pop(key, None)  # the handle may fire for nothing: cheaper than re-arming

    def _arm(self, loop: asyncio.AbstractEventLoop, when: float) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._armed_for = when
        self._handle = loop.call_at(when, self._fire)

    def _fire(self) -> None:
        self._handle, self._armed_for = None, math.inf
        loop = asyncio.get_running_loop()
        horizon = loop.time() + self.GRAIN_S
        for key in [key for key, (when, _) in self._due.items() if when <= horizon]:
            entry = self._due.pop(key, None)
            if entry is not None:  # (an earlier callback may have cancelled it)
                entry[1]()
        if self._due and self._handle is None:
            earliest = min(when for when, _ in self._due.values())
            self._arm(loop, max(earliest, loop.time() + self.GRAIN_S))
