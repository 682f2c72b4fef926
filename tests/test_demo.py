"""`lashtui demo` seeds a registry that shows every state an operator meets, then keeps
moving: the embedded worker runs it and new work arrives."""

from __future__ import annotations

import asyncio
import io
import logging
import random
from pathlib import Path

import pytest

from lashtui.admin import Processes
from lashtui.clock import SystemClock
from lashtui.demo import run_demo, trickle
from lashtui.model import (
    AbandonedOutput,
    ObservedProcess,
    ProcessListFilter,
    ProcessStatusFilter,
)
from lashtui.registry import open_registry

ANY = ProcessListFilter(status=ProcessStatusFilter.ANY)


def writers(processes: list[ObservedProcess]) -> set[str]:
    found = set()
    for process in processes:
        output = process.status.await_output
        if isinstance(output, AbandonedOutput):
            found.add(output.evidence.writer.value)
    return found


def silent_not_dead(process: ObservedProcess, now_ms: int) -> bool:
    lapsed = process.lease_expires_at_ms is None or process.lease_expires_at_ms <= now_ms
    return (
        process.disposition.value == "owner_bound"
        and not process.terminal
        and process.first_started is not None
        and process.abandon_request is None
        and lapsed
    )


async def shows_everything(processes: Processes) -> None:
    clock = SystemClock()
    async with asyncio.timeout(30):
        while True:
            rows = await processes.list(ANY)
            lifecycles = {p.lifecycle.value for p in rows}
            checks = {
                "every terminal state": {"completed", "failed", "cancelled", "abandoned"}
                <= lifecycles,
                "every abandon writer": writers(rows)
                == {"owner_drain", "sweep", "reconciled_request"},
                "a waiting process": any(p.wait is not None for p in rows),
                "a running external placeholder": any(
                    p.kind == "external" and not p.terminal for p in rows
                ),
                "a pending abandon request": any(
                    p.abandon_request is not None and not p.terminal for p in rows
                ),
                "a silent, not dead row": any(silent_not_dead(p, clock.now_ms()) for p in rows),
                "new work arriving": any(p.process_id.startswith("thumb-") for p in rows),
                "sessions and frames": {"session:alice/frame:planner", "session:bob"}
                <= {p.originator.scope_id() for p in rows},
            }
            if all(checks.values()):
                return
            # Polling many conditions at once; the timeout above is the guard.
            await asyncio.sleep(0.1)


async def test_the_demo_shows_every_state_and_reuses_its_registry(tmp_path: Path) -> None:
    db = str(tmp_path / "demo.db")
    out = io.StringIO()
    assert await run_demo(db, until=shows_everything, out=out) == 0
    assert "(seeded)" in out.getvalue() and "payroll-run" in out.getvalue()
    again = io.StringIO()

    async def at_once(processes: Processes) -> None:
        return None

    assert await run_demo(db, until=at_once, out=again) == 0
    assert "(reused)" in again.getvalue()


async def test_a_start_the_registry_refuses_is_said_and_the_trickle_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The demo's trickle runs as a background worker of the dashboard: a start the store
    refuses (here a registry opened read-only, as a lock held past the store's wait or a
    full disk refuse one) used to end it with the error, and the app with a traceback."""
    db = str(tmp_path / "demo.db")
    async with open_registry(db):
        pass  # a real registry file, made writable once
    stop = asyncio.Event()
    async with open_registry(db, read_only=True) as registry:
        processes = Processes(registry, clock=SystemClock())
        with caplog.at_level(logging.WARNING, logger="lashtui.worker"):
            feeding = asyncio.create_task(trickle(processes, random.Random(7), stop))
            async with asyncio.timeout(10):
                while not any("not started" in r.getMessage() for r in caplog.records):
                    assert not feeding.done(), feeding.exception()
                    await asyncio.sleep(0.01)
            stop.set()
            await asyncio.wait_for(feeding, 10)  # it ends when asked, not with the error
    said = [r.getMessage() for r in caplog.records if "not started" in r.getMessage()]
    assert said[0].startswith("demo: new process thumb-0001-"), said
    assert "read-only" in said[0] or "read only" in said[0], said
