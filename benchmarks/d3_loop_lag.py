"""D3: event-loop lag while the embedded worker runs 100 processes a second.

lashtui: the real dashboard (`make_app` over `Processes` with an embedded `ProcessWorker`,
as `lashtui dash` runs it: the worker and its sweep are App-level workers on the app's
event loop) headless on a fresh registry file. A background job of the app (the way the
demo feeds it) starts 100 processes a second through the facade, each a rerunnable
built-in `steps` process (`sleep_ms: 20`, then `finish`), so the worker claims, runs,
completes and releases 100 a second while the Processes view follows the change feed and
re-renders. A probe on the same loop asks to be woken every 5 ms and records how late each
wake-up is; the figures are the max and the p99 of a run, after the app has settled.

Peer, same run: the same app with the same embedded worker and nothing to run (idle), to
show the loop's floor on this machine (timer granularity, Textual's own idle work).

What would make it unfair: the starts themselves run on the same loop (registration is a
hop to the registry's thread, then the facade drives the worker), which a host starting
work through the facade would also pay; a host starting from another OS process would
leave the loop less to do but its processes would only be picked up on the worker's next
drive. Sides alternate per repeat.
"""

from __future__ import annotations

import asyncio
import os

from benchmarks.d_probe import LagProbe, percentile, settle
from benchmarks.report import Figure, Mode, scratch
from lashtui.admin import Processes
from lashtui.model import Engine, ProcessStartRequest, RecoveryDisposition
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.worker import ProcessWorker

RATE = 100.0
PLAN = {"steps": [{"sleep_ms": 20}, {"finish": "ok"}]}


def _request(n: int) -> ProcessStartRequest:
    return ProcessStartRequest(
        id=f"d3-{n:06d}",
        input=Engine(kind="steps", payload=PLAN),
        disposition=RecoveryDisposition.RERUNNABLE,
    )


async def _lag(path: str, seconds: float, busy: bool) -> tuple[list[float], int]:
    from lashtui.tui.app import make_app

    registry = await SqliteProcessRegistry.open(path)
    worker = ProcessWorker(registry)
    processes = Processes(registry, worker=worker)
    started = 0

    async def trickle() -> None:
        nonlocal started
        loop = asyncio.get_running_loop()
        begin = loop.time()
        while True:
            delay = begin + started / RATE - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            await processes.start(_request(started))
            started += 1

    try:
        app = make_app(processes, subtitle="D3", background=[trickle] if busy else [])
        async with app.run_test(size=(160, 50)):
            async with asyncio.timeout(30):
                await app.home().loaded.wait()
            await settle()
            probe = LagProbe()
            probe.start()
            begun = started
            await asyncio.sleep(seconds)
            lags = await probe.stop()
            ran = started - begun
            await worker.stop()
    finally:
        await registry.close()
    return lags, ran


def run(mode: Mode) -> list[Figure]:
    seconds = mode.size(1.5, 10.0, smoke=0.5)
    busy_max, busy_p99, idle_max, idle_p99, rates = [], [], [], [], []
    with scratch("d3") as tmp:
        for n in range(mode.repeats):
            lags, ran = asyncio.run(_lag(os.path.join(tmp, f"busy-{n}.db"), seconds, True))
            busy_max.append(max(lags))
            busy_p99.append(percentile(lags, 0.99))
            rates.append(ran / seconds)
            lags, _ = asyncio.run(_lag(os.path.join(tmp, f"idle-{n}.db"), seconds, False))
            idle_max.append(max(lags))
            idle_p99.append(percentile(lags, 0.99))
    note = "starts achieved per second: " + ", ".join(f"{r:.0f}" for r in rates)
    return [
        Figure(
            id="D3", figure=f"loop lag, worker at {RATE:.0f} proc/s in the dashboard, max",
            unit="s", lashtui=busy_max, peer_name="same app idle", peer=idle_max,
            target="max <= 50 ms", rule="max<=:0.05", compare=False, notes=[note],
        ),
        Figure(
            id="D3", figure=f"loop lag, worker at {RATE:.0f} proc/s in the dashboard, p99",
            unit="s", lashtui=busy_p99, peer_name="same app idle", peer=idle_p99,
            target="context", compare=False,
        ),
    ]
