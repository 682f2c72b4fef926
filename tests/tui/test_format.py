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
    assert fmt.countdown(2_000, 2_000) == "lapsed 0ms"  # equal to now is expired
    assert fmt.countdown(2_000, 62_000) == "lapsed 1m00s"


def test_owner_names_shorten_recovery_attempts() -> None:
    assert fmt.owner(None) == "-"
    assert fmt.owner(LeaseOwnerIdentity.opaque("w-1", "i")) == "w-1"
    attempt = far("w-7").model_copy(update={"owner_id": "w-7:recovery:abc"})
    assert fmt.owner(attempt) == "w-7@host-b:4242"
    local = far("lashtui-worker@host-b")
    assert fmt.owner(local) == "lashtui-worker@host-b:4242"
