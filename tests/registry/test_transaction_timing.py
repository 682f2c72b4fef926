"""`observe_transactions` (lashtui/registry/sql/timing.py) on both stores: every transaction
is told with its kind and duration, failed ones too, and a store that stops being observed
runs its transactions unwrapped again."""

from __future__ import annotations

import pytest

from lashtui.errors import UnknownProcess
from lashtui.registry import ProcessRegistry
from lashtui.registry.sql.timing import TimedRunner
from tests.worker.support import register


async def test_every_transaction_is_told_with_its_kind_and_duration(
    registry: ProcessRegistry,
) -> None:
    told: list[tuple[str, float]] = []
    registry.observe_transactions(lambda kind, seconds: told.append((kind, seconds)))  # type: ignore[attr-defined]

    await register(registry, "p")  # an env and a registration: writes
    await registry.get_process("p")
    await registry.list_work_items()
    with pytest.raises(UnknownProcess):
        await registry.clear_process_wait("missing")

    kinds = [kind for kind, _ in told]
    assert kinds.count("point_read") >= 1 and "read" in kinds
    assert sum(kind in ("write", "short_write") for kind in kinds) >= 3  # the failed one too
    assert all(0 <= seconds < 10 for _, seconds in told)


async def test_observing_stops_and_is_never_stacked(registry: ProcessRegistry) -> None:
    told: list[str] = []
    observe = registry.observe_transactions  # type: ignore[attr-defined]
    observe(lambda kind, _s: told.append("first"))
    observe(lambda kind, _s: told.append("second"))  # replaces the first: one wrapper
    assert not isinstance(registry._db.inner, TimedRunner)  # type: ignore[attr-defined]
    await registry.get_process("p")
    assert told == ["second"]

    observe(None)
    await registry.get_process("p")
    assert told == ["second"]
    assert not isinstance(registry._db, TimedRunner)  # type: ignore[attr-defined]
