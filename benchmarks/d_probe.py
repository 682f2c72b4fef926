"""What the dashboard figures (D1-D3) share: percentiles, a loop-lag probe, and the app run
headless on a registry until its first window is on screen.

The lag probe asks the event loop to wake it every 5 ms and records how late each wake-up
comes: a callback that holds the loop for 40 ms shows as ~40 ms of lag, whatever it was.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

PROBE_S = 0.005


def percentile(samples: Sequence[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


class LagProbe:
    """How late a 5 ms periodic wake-up fires on the running loop, while `running`."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time() + PROBE_S
        while True:
            await asyncio.sleep(max(0.0, due - loop.time()))
            now = loop.time()
            self.lags.append(max(0.0, now - due))
            due = now + PROBE_S

    def start(self) -> None:
        self.lags.clear()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> list[float]:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        return list(self.lags)


async def settle(seconds: float = 0.5) -> None:
    """Let the app finish what it does once after the first paint (the footer, the
    bindings) so a steady-state figure does not measure start-up."""
    await asyncio.sleep(seconds)
