"""Pausing a live view (`p`): what "paused" means, shared by every view that can pause.

A paused view reads nothing, so what it shows is as old as its last read. Its clock-relative
cells (ages, countdowns, "lapsed" and the verdicts that turn on a lapse) are computed for the
time of that read, not for a clock moving over frozen rows, which would show a lease renewed
since as lapsed; the cells are greyed so the operator sees they are frozen, and the view says
PAUSED. On resume the view reads again before the clock moves its cells.
"""

from __future__ import annotations

PAUSED = "PAUSED: times as of the last read"


def as_of(paused: bool, read_at_ms: int | None, now_ms: int) -> int:
    """The time a view's clock-relative cells are computed for: the last read's while
    paused (if there was one), else now."""
    return read_at_ms if paused and read_at_ms is not None else now_ms
