"""Deterministic registries for dashboard tests and snapshots: fixed ids, a ManualClock,
one row in every state an operator meets (no worker runs them); and the waits the Pilot
tests share (`until` a condition holds, `home_loaded` for the first view's read), and `send`,
keys with no wait of their own."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

from textual import events
from textual.keys import _character_to_key, key_to_character
from textual.pilot import Pilot

from lashtui.clock import ManualClock
from lashtui.model import (
    AbandonedOutput,
    AbandonEvidence,
    AbandonRequest,
    AbandonWriter,
    CancelledOutput,
    LeaseOwnerIdentity,
    LocalProcessLiveness,
    ProcessEventType,
    ProcessRecord,
    ProcessStarted,
    ProcessStatus,
    SuccessOutput,
    WaitKind,
    WaitState,
    failure,
)
from lashtui.registry import ProcessRegistry
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.tui.screens.processes import ProcessesScreen
from tests.builders import ext, ob, rr

START_MS = 1_780_000_000_000


def far(name: str, host: str = "host-b", pid: int = 4242) -> LeaseOwnerIdentity:
    liveness = LocalProcessLiveness(host_id=host, boot_id="boot-b", pid=pid, process_start="1")
    return LeaseOwnerIdentity(owner_id=name, incarnation_id=f"{name}:1", liveness=liveness)


async def _started(
    registry: ProcessRegistry, pid: str, owner: LeaseOwnerIdentity, ttl: int
) -> None:
    lease = (await registry.claim_process_lease(pid, owner, ttl)).acquired()
    assert lease is not None
    started = ProcessStarted(owner=owner, started_at_ms=START_MS)
    await registry.record_first_started(pid, started, lease)


async def _end(registry: ProcessRegistry, pid: str, output: object) -> None:
    lease = await registry.get_process_lease(pid)
    assert lease is not None
    await registry.complete_process_with_lease(lease, output)  # type: ignore[arg-type]


async def seed_every_state(registry: ProcessRegistry, clock: ManualClock) -> None:
    owner = far("worker-7")
    # The engine rows declare the signal b-waiting waits for (as a plan that waits for it
    # does): `s` is offered on them; the owner_bound and external rows declare none.
    approve = [ProcessEventType.plain("signal.approve")]
    for pid in ("a-running", "b-waiting", "c-done", "d-failed", "e-cancelled"):
        await registry.register_process(rr(pid, event_types=approve))
        await _started(registry, pid, owner, 60_000)
    wait = WaitKind(
        name="approve",
        event_type="signal.approve",
        key="process:b-waiting:signal.approve:1",
        ordinal=1,
    )
    await registry.set_process_wait("b-waiting", WaitState(kind=wait, since_ms=START_MS))
    await _end(registry, "c-done", SuccessOutput(value={"rows": 12}))
    await _end(registry, "d-failed", failure("upstream_timeout", "no answer in 30s"))
    await _end(registry, "e-cancelled", CancelledOutput(message="requested by host"))
    for writer in AbandonWriter:
        pid = f"f-abandoned-{writer.value}"
        await registry.register_process(ob(pid))
        await _started(registry, pid, far("worker-9", "host-c"), 60_000)
        evidence = AbandonEvidence(
            writer=writer, owner=far("worker-9", "host-c"), epoch_ms=START_MS
        )
        await _end(registry, pid, AbandonedOutput(evidence=evidence))
    await registry.register_process(ob("g-silent"))
    await _started(registry, "g-silent", far("worker-3", "host-d"), 1_000)
    await registry.register_process(ob("h-requested"))
    await _started(registry, "h-requested", far("worker-7"), 600_000)
    request = AbandonRequest(
        requested_by="operator:dana", requested_at_ms=START_MS, reason="retired"
    )
    await registry.request_process_abandon("h-requested", request)
    await registry.register_process(ext("i-external-ünïcode-label-that-is-rather-long"))
    clock.advance(90_000)  # leases of 60 s have lapsed, the 10 min one has not


def seed_many(
    path: str, count: int, *, every_nth_terminal: int = 3, signals: tuple[str, ...] = ()
) -> None:
    """`count` externally-owned rows `p-000000`.. in a new registry file at `path`, fast:
    one real record's JSON with its id substituted, inserted in one transaction (through
    the store, 10k rows would take seconds). Every `every_nth_terminal`-th row is completed.
    Each declares the signals `signals` names (the dashboard offers `s` only on such rows)."""

    async def create() -> None:
        await (await SqliteProcessRegistry.open(path, clock=ManualClock(START_MS))).close()

    asyncio.run(create())
    declared = [ProcessEventType.plain(f"signal.{name}") for name in signals]
    prepared, digest = ext("__pid__", event_types=declared).prepare()
    live = ProcessRecord.new(prepared, digest, START_MS)
    done = live.model_copy(update={"status": ProcessStatus.terminal(SuccessOutput(value=1))})
    templates = {False: live.model_dump_json(), True: done.model_dump_json()}
    rows = []
    for n in range(count):
        pid, terminal = f"p-{n:06d}", n % every_nth_terminal == 0
        status = "completed" if terminal else "running"
        record = templates[terminal].replace("__pid__", pid)
        rows.append((pid, digest, "host", START_MS, START_MS, n + 1, status, record))
    with sqlite3.connect(path) as conn:
        conn.executemany(
            "INSERT INTO processes (process_id, registration_hash, owner_scope_id, "
            "created_at_ms, updated_at_ms, change_seq, status, record_json) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        conn.execute("UPDATE process_change_clock SET current_seq = ?", (count,))
    conn.close()


async def until(
    pilot: Pilot[Any], condition: Any, within: float = 10, step: float = 0.05
) -> None:
    """Let the app run until `condition()` holds; the timeout is only a guard. A shorter
    `step` for a condition a key meets once the app has handled it (each step first waits
    for the screen's pending messages), in a walk of many keys."""
    async with asyncio.timeout(within):
        while not condition():
            await pilot.pause(step)


async def click_drawn(pilot: Pilot[Any], selector: str, within: float = 10) -> None:
    """Click `selector` on the current screen once it is drawn. A screen just pushed is laid
    out on a later turn of the loop, and until then its widgets' regions are empty: Pilot's
    `click` reads the region before it lets the app run, so a click made then landed at
    (0, 0), on no button, and the test waited in vain for what the button does (under load,
    every run in two; a quiet machine lays the dialog out first, nearly always)."""

    def drawn() -> bool:
        found = pilot.app.screen.query(selector)
        return bool(found) and found.first().region.area > 0

    await until(pilot, drawn, within)
    assert await pilot.click(selector), f"the click missed {selector}"


async def home_loaded(pilot: Pilot[Any]) -> ProcessesScreen:
    """The Processes view, once its first read is on screen."""
    screen = pilot.app.screen
    assert isinstance(screen, ProcessesScreen)
    async with asyncio.timeout(10):
        await screen.loaded.wait()
    await pilot.pause()
    return screen


def send(pilot: Pilot[Any], *keys: str) -> None:
    """Keys as a terminal sends them (a single character with itself as the character a
    field reads), with no wait: the test then waits `until` what they do is done. Pilot's
    `press` waits after each key for the app to go idle, which an app refreshing every 20 ms
    never is: each wait ran to its 1 s cap, twice a key (over half of test_view_reads.py's
    time in a CI run, 64 of 117 s)."""
    for key in keys:
        if len(key) == 1:  # a character as typed: " " is `space`, "-" is `minus`
            pilot.app.post_message(events.Key(_character_to_key(key), key))
        else:
            pilot.app.post_message(events.Key(key, key_to_character(key)))
