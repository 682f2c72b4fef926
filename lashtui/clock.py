"""Time, injected: the registry, worker, sweep and facade read `clock.now_ms()` and nothing else.

Like textual/clock.py, tests hold a `ManualClock` and move it by hand, so lease expiry and
timestamps are deterministic and no test sleeps to let time pass.
"""

from __future__ import annotations

import re
import time
from typing import Protocol

from lashtui.errors import InvalidRequest


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


_DURATION = re.compile(r"(\d+)(ms|s|m|h|d)")
_DURATION_DIGITS = 18
_UNIT_MS = {"ms": 1, "s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def parse_duration_ms(text: str) -> int:
    """`90s`, `30m`, `1h`, `2d`, `500ms`, or combinations like `1h30m`."""
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise InvalidRequest(
            f"a duration is a number with a unit (ms, s, m, h, d) such as `30m` or `1h`, "
            f"got `{text}`"
        )
    # Past 4,300 digits `int` raises a ValueError of its own (a traceback in the dashboard);
    # 18 is more than any age since 1970 needs in any unit, and stays within int64.
    longest = max(len(number.lstrip("0")) for number, _ in parts)
    if longest > _DURATION_DIGITS:
        raise InvalidRequest(
            f"a duration's number may have at most {_DURATION_DIGITS} digits; "
            f"this one has {longest:,}"
        )
    return sum(int(number) * _UNIT_MS[unit] for number, unit in parts)
