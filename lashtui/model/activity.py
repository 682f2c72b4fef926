"""How the work moved: per-minute starts, ends by terminal state, running and waiting over
time, and run durations by engine kind, as the Health view charts them.

The registry counts from its columns and its event log (`ProcessRegistry.process_activity`,
lashtui/registry/sql/activity.py); this module owns the shapes and the arithmetic that turns
those counts into series, so the arithmetic is tested without a store:

- minutes are epoch minutes (`ms // 60_000`), so a bucket means the same on every read and
  a refresh can re-read only the last minutes and keep the rest (`ProcessActivity.updated`);
- running and waiting at the end of each minute are reconstructed backwards from the counts
  now: live rows now, less the starts after that minute, plus the ends after it; waiting
  rows now, less the waits entered after it, plus the waits left after it (a
  `process.resumed`, or a terminal event while waiting). `running` is live and not waiting;
- run durations are from first start (or, for a row never started, from registration) to
  the terminal event, over the latest `duration_runs` runs to end in the window: percentiles
  of a bounded set, because 24 hours of a busy registry is a million runs and the kind is in
  each row's JSON. The bound is shown with them.
"""

import math
from collections.abc import Iterable, Mapping
from enum import StrEnum
from itertools import accumulate

from pydantic import BaseModel, ConfigDict

from lashtui.model.state import TERMINAL_STATES

MINUTE_MS = 60_000
DURATION_RUNS = 1_000  # the runs the percentiles are taken over (the latest to end)
TERMINAL_NAMES: tuple[str, ...] = tuple(state.value for state in TERMINAL_STATES)


class HealthWindow(StrEnum):
    """The time a chart spans, ending now."""

    QUARTER_HOUR = "15m"
    HOUR = "1h"
    DAY = "24h"

    @property
    def minutes(self) -> int:
        return {"15m": 15, "1h": 60, "24h": 1_440}[self.value]

    def next(self) -> "HealthWindow":
        windows = list(HealthWindow)
        return windows[(windows.index(self) + 1) % len(windows)]

    def first_minute(self, now_ms: int) -> int:
        """The window's first epoch minute: it ends with the minute `now_ms` is in."""
        return now_ms // MINUTE_MS - self.minutes + 1


class KindDurations(BaseModel):
    """Run duration percentiles (milliseconds, nearest rank) of one engine kind."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    kind: str
    runs: int
    p50_ms: int
    p90_ms: int
    p99_ms: int

    @classmethod
    def of(cls, kind: str, durations: Iterable[int]) -> "KindDurations":
        ranked = sorted(durations)

        def rank(p: int) -> int:
            return ranked[max(0, math.ceil(p / 100 * len(ranked)) - 1)]

        return cls(kind=kind, runs=len(ranked), p50_ms=rank(50), p90_ms=rank(90), p99_ms=rank(99))


class ActivityCounts(BaseModel):
    """What the registry counted, by epoch minute, from `first_minute` on (minutes after the
    window's last are kept too: the reconstruction needs every change after each minute)."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    live_now: int
    waiting_now: int
    started: dict[int, int]
    ended: dict[str, dict[int, int]]  # terminal state -> minute -> ends
    waits_entered: dict[int, int]
    waits_left: dict[int, int]
    runs: list[tuple[str, int]]  # (kind, duration ms) of the latest runs to end
    # Live and waiting rows at the end of the minute before the first, when the caller knows
    # them (a refresh, from its last read): the series then run forwards from them, and the
    # counts now (`live_now`, `waiting_now`) are not needed.
    before: tuple[int, int] | None = None


class ProcessActivity(BaseModel):
    """Per-minute series over `first_minute .. first_minute + len(started) - 1`."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    first_minute: int
    started: tuple[int, ...]
    ended: dict[str, tuple[int, ...]]  # every terminal state, completed first
    running: tuple[int, ...]  # live and not waiting at the end of each minute
    waiting: tuple[int, ...]
    durations: tuple[KindDurations, ...]  # by kind, most runs first
    duration_runs: int  # how many runs the percentiles cover
    # Counted by scans: the registry has no chart indexes (a file made before them), so
    # each read costs seconds on a big registry and the view reads less often.
    scanned: bool = False

    @property
    def minutes(self) -> int:
        return len(self.started)

    @classmethod
    def build(
        cls, first_minute: int, last_minute: int, counts: ActivityCounts
    ) -> "ProcessActivity":
        minutes = range(first_minute, last_minute + 1)
        ends = counts.ended.values()
        if counts.before is not None:
            live_before, waiting_before = counts.before
            live = _forwards(live_before, minutes, counts.started, *ends)
            waiting = _forwards(waiting_before, minutes, counts.waits_entered, counts.waits_left)
        else:
            live = _backwards(counts.live_now, minutes, counts.started, *ends)
            waiting = _backwards(
                counts.waiting_now, minutes, counts.waits_entered, counts.waits_left
            )
        by_kind: dict[str, list[int]] = {}
        for kind, duration in counts.runs:
            by_kind.setdefault(kind, []).append(duration)
        durations = sorted(
            (KindDurations.of(kind, runs) for kind, runs in by_kind.items()),
            key=lambda d: (-d.runs, d.kind),
        )
        return cls(
            first_minute=first_minute,
            started=tuple(counts.started.get(m, 0) for m in minutes),
            ended={
                state: tuple(counts.ended.get(state, {}).get(m, 0) for m in minutes)
                for state in TERMINAL_NAMES
            },
            # Clamped: a custom terminal event type, a prune inside the window or a wait set
            # without its event would otherwise show as fewer than none.
            running=tuple(max(0, n - max(0, w)) for n, w in zip(live, waiting, strict=True)),
            waiting=tuple(max(0, w) for w in waiting),
            durations=tuple(durations),
            duration_runs=len(counts.runs),
        )

    def updated(self, recent: "ProcessActivity", first_minute: int) -> "ProcessActivity":
        """These series with `recent`'s from its first minute on (a re-read of the last
        minutes; the minutes before it are history and do not change), cut to start at
        `first_minute`. `recent`'s durations replace these. `recent` must begin no later
        than the minute after these series end, or there would be a gap."""
        keep = max(0, recent.first_minute - self.first_minute)
        drop = max(0, first_minute - self.first_minute)

        def join(old: tuple[int, ...], new: tuple[int, ...]) -> tuple[int, ...]:
            return (old[:keep] + new)[drop:]

        return recent.model_copy(
            update={
                "first_minute": max(first_minute, self.first_minute),
                "started": join(self.started, recent.started),
                "ended": {s: join(self.ended[s], recent.ended[s]) for s in TERMINAL_NAMES},
                "running": join(self.running, recent.running),
                "waiting": join(self.waiting, recent.waiting),
            }
        )


def _forwards(
    before: int, minutes: range, ups: Mapping[int, int], *downs: Mapping[int, int]
) -> list[int]:
    """The count at the end of each minute, given the count before the first minute."""
    return list(
        accumulate(
            (ups.get(m, 0) - sum(down.get(m, 0) for down in downs) for m in minutes),
            initial=before,
        )
    )[1:]


def _backwards(
    now: int, minutes: range, ups: Mapping[int, int], *downs: Mapping[int, int]
) -> list[int]:
    """The count at the end of each minute, given the count now and what added to it (`ups`)
    and took from it (`downs`) per minute, counting from the last minute back."""
    last = minutes[-1] if minutes else 0

    def net(minute: int) -> int:
        return ups.get(minute, 0) - sum(down.get(minute, 0) for down in downs)

    # Changes stamped after the last minute (a commit racing the read) come off first.
    later = {m for m in ups if m > last}.union(*({m for m in d if m > last} for d in downs))
    at_last = now - sum(net(m) for m in later)
    after = [net(m) for m in reversed(minutes)][:-1]  # the change in each minute after
    counts = [at_last, *(at_last - total for total in accumulate(after))]
    return counts[::-1]
