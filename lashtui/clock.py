"""Time, injected: the registry, worker, sweep and facade read `clock.now_ms()` and nothing else.

Like textual/clock.py, tests hold a `ManualClock` and move it by hand, so lease expiry and
timestamps are deterministic and no test sleeps to let time pass.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """Anything that tells the time in epoch milliseconds."""

    def now_ms(self) -> int: ...


class SystemClock:
    """The wall clock, in epoch milliseconds."""

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000


class ManualClock:
    """A clock that only moves when told to."""

    def __init__(self, start_ms: int = 1_780_000_000_000) -> None:
        self._now_ms = start_ms

    def now_ms(self) -> int:
        return self._now_ms

    def advance(self, ms: int) -> int:
        """Move forward by `ms` and return the new time."""
        if ms < 0:
            raise ValueError(f"a ManualClock cannot go backwards, got advance({ms})")
        self._now_ms += ms
        return self._now_ms

    def set(self, ms: int) -> None:
        self._now_ms = ms
