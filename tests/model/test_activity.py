"""The arithmetic behind the Health view's charts, without a store: series worked back from
the counts now, changes stamped after the last minute, nearest-rank percentiles, the
windows, and a refresh merged into an earlier read."""

from __future__ import annotations

from lashtui.model import (
    MINUTE_MS,
    ActivityCounts,
    HealthWindow,
    KindDurations,
    ProcessActivity,
)

NONE: dict[int, int] = {}


def counts(**kw: object) -> ActivityCounts:
    fields: dict[str, object] = {
        "live_now": 0,
        "waiting_now": 0,
        "started": {},
        "ended": {},
        "waits_entered": {},
        "waits_left": {},
        "runs": [],
    }
    fields.update(kw)
    return ActivityCounts.model_validate(fields)


def test_levels_are_worked_back_from_now_and_later_changes_come_off_first() -> None:
    # Minutes 10-12; a start and an end stamped at minute 13 (a commit racing the read).
    activity = ProcessActivity.build(
        10,
        12,
        counts(
            live_now=4,
            waiting_now=1,
            started={10: 2, 12: 1, 13: 1},
            ended={"failed": {11: 1, 13: 1}},
            waits_entered={11: 1},
        ),
    )
    # live at the end of 12: 4 - (1 - 1) = 4; of 11: 4 - 1 = 3; of 10: 3 + 1 = 4.
    assert activity.running == (4, 2, 3)  # less waiting: 0, 1, 1
    assert activity.waiting == (0, 1, 1)
    assert activity.started == (2, 0, 1)
    assert activity.ended["failed"] == (0, 1, 0)
    assert activity.ended["completed"] == (0, 0, 0)  # every state, even with no ends


def test_a_level_that_would_go_below_zero_is_shown_as_zero() -> None:
    # A wait left without its event: the log says one entered, and no wait now.
    activity = ProcessActivity.build(0, 1, counts(live_now=1, waits_entered={1: 1}))
    assert activity.waiting == (0, 0)
    assert activity.running == (1, 1)  # never more than the live rows


def test_percentiles_are_nearest_rank() -> None:
    ranked = KindDurations.of("build", range(1, 101))  # 1..100 ms
    assert (ranked.runs, ranked.p50_ms, ranked.p90_ms, ranked.p99_ms) == (100, 50, 90, 99)
    one = KindDurations.of("x", [7])
    assert (one.p50_ms, one.p99_ms) == (7, 7)


def test_kinds_come_most_runs_first() -> None:
    runs = [("b", 1), ("a", 2), ("b", 3), ("c", 4), ("c", 5)]
    activity = ProcessActivity.build(0, 0, counts(runs=runs))
    assert [d.kind for d in activity.durations] == ["b", "c", "a"]
    assert activity.duration_runs == 5


def test_windows_end_with_the_current_minute_and_cycle() -> None:
    now = 1_000 * MINUTE_MS + 59_999
    assert HealthWindow.QUARTER_HOUR.first_minute(now) == 1_000 - 14
    assert HealthWindow.DAY.first_minute(now) == 1_000 - 1_439
    assert [w.next() for w in HealthWindow] == [
        HealthWindow.HOUR,
        HealthWindow.DAY,
        HealthWindow.QUARTER_HOUR,
    ]


def test_a_refresh_keeps_the_history_and_slides_the_window() -> None:
    earlier = ProcessActivity.build(10, 13, counts(live_now=2, started={10: 1, 12: 1}))
    recent = ProcessActivity.build(13, 14, counts(live_now=3, started={14: 1}))
    merged = earlier.updated(recent, first_minute=11)
    assert merged.first_minute == 11
    assert merged.started == (0, 1, 0, 1)  # minutes 11-14
    assert merged.running == (1, 2, 2, 3)
