"""Pure dashboard formatting: durations, countdowns, owners."""

from __future__ import annotations

import pytest

from lashtui.model import LeaseOwnerIdentity
from lashtui.tui import format as fmt
from tests.tui.scene import far


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (-5, "0ms"),
        (850, "850ms"),
        (42_000, "42s"),
        (185_000, "3m05s"),
        (8_040_000, "2h14m"),
        (273_600_000, "3d04h"),
    ],
)
def test_duration(ms: int, text: str) -> None:
    assert fmt.duration(ms) == text


def test_countdown_and_lapse() -> None:
    assert fmt.countdown(None, 10) == "-"
    assert fmt.countdown(5_000, 2_000) == "3s left"
    assert fmt.countdown(2_000, 2_000) == "lapsed 0ms ago"  # equal to now is expired
    assert fmt.countdown(2_000, 62_000) == "lapsed 1m00s ago"


def test_owner_names_shorten_recovery_attempts() -> None:
    assert fmt.owner(None) == "-"
    assert fmt.owner(LeaseOwnerIdentity.opaque("w-1", "i")) == "w-1"
    attempt = far("w-7").model_copy(update={"owner_id": "w-7:recovery:abc"})
    assert fmt.owner(attempt) == "w-7@host-b:4242"
    local = far("lashtui-worker@host-b")
    assert fmt.owner(local) == "lashtui-worker@host-b:4242"


def test_an_owner_named_after_its_host_says_the_hostname_once() -> None:
    """A worker's host id names its PID namespace after the hostname (`vm/pid:[...]`), and
    the header, Leases and detail showed `lashtui-worker@vm@vm/pid:[4026531836]:4242`."""
    host = "vm/pid:[4026531836]"
    named = far("lashtui-worker@vm", host)
    assert fmt.owner(named) == "lashtui-worker@vm/pid:[4026531836]:4242"
    other = far("w-1", host)
    assert fmt.owner(other) == "w-1@vm/pid:[4026531836]:4242"
    elsewhere = far("w@vm2", host)
    assert fmt.owner(elsewhere) == "w@vm2@vm/pid:[4026531836]:4242"


def test_clip_and_two_lines() -> None:
    assert fmt.clip("retired", 10) == "retired"
    assert fmt.clip("a reason far too long", 10) == "a reason …"
    assert fmt.two_lines("not applicable: rerunnable rows are re-run") == [
        "not applicable:",
        "rerunnable rows are re-run",
    ]
    assert fmt.two_lines("will abandon once the owner's lease lapses") == [
        "will abandon once the owner's lease lapses"
    ]


def test_first_few_names_ten_then_counts_the_rest() -> None:
    assert fmt.first_few([]) == "none"
    assert fmt.first_few(["a", "b"]) == "a, b"
    ids = [f"p{n}" for n in range(13)]
    assert fmt.first_few(ids) == "p0, p1, p2, p3, p4, p5, p6, p7, p8, p9 and 3 more"
    assert fmt.first_few(ids[:10]) == "p0, p1, p2, p3, p4, p5, p6, p7, p8, p9"


def test_tally_aligns_counts_and_state_counts_keep_every_state() -> None:
    assert fmt.tally([("ran", 3), ("left_running", 12)]) == [
        "ran               3",
        "left_running     12",
    ]
    lines = fmt.state_counts({"running": 4, "failed": 1})
    assert [line.split()[1] for line in lines] == list(fmt.BADGES)
    assert [int(line.split()[-1]) for line in lines] == [4, 0, 0, 1, 0, 0]


def test_last_change_is_live_for_five_seconds_then_stale() -> None:
    assert fmt.last_change(None, 10_000) == "no change seen yet"
    assert fmt.last_change(10_000, 15_000) == "live"
    assert fmt.last_change(10_000, 15_001) == "stale for 5s"
    assert fmt.last_change(10_000, 80_000) == "stale for 1m10s"


def test_latency() -> None:
    assert fmt.latency(None) == "-"
    assert fmt.latency(0.42) == "0.4 ms"
    assert fmt.latency(0.03) == "<0.1 ms"
    assert fmt.latency(12.6) == "13 ms"


def test_a_time_after_now_is_from_now_and_an_unknown_one_unknown() -> None:
    """Another host's clock ahead, or a time another program stored: never `0ms ago`."""
    assert fmt.ago(10_000, 12_500) == "2s ago"
    assert fmt.ago(15_000, 12_500) == "2s from now"
    assert fmt.ago_or_unknown(None, 12_500) == "unknown"
    assert fmt.age(10_000, 12_500) == "2s"  # the AGE columns: a duration, ...
    assert fmt.age(15_000, 12_500) == "2s from now"  # ...never `0ms` for a time ahead


def test_state_counts_add_the_rows_with_no_state_only_when_there_are_some() -> None:
    lines = fmt.state_counts({"running": 4, "no state": 2})
    assert len(lines) == 7 and lines[-1].split()[-1] == "2"
    assert lines[-1].startswith("? status column holds no state")
    assert len(fmt.state_counts({"running": 4, "no state": 0})) == 6


def test_events_left_out_are_counted_in_a_sentence() -> None:
    assert fmt.events_left_out(1).startswith("1 event is not shown: ")
    assert fmt.events_left_out(1).endswith("so it has no place in the log")
    assert fmt.events_left_out(1_234).startswith("1,234 events are not shown: ")
    assert fmt.events_left_out(2).endswith("so they have no place in the log")
