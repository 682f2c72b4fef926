"""Garbage-collector pauses: start-up's objects are frozen out of the collector's sight, and
the full passes that remain run on their own turn of the event loop.

CPython's full (generation 2) collection walks every tracked object and holds the event loop
while it does. The dashboard starts with ~100k of them (modules, Textual's stylesheets and
widget tree, pydantic schemas, the embedded worker's state), so under churn a full
collection ran every ~0.4 s and held the loop 60-130 ms each time: most of D3's lag
(benchmarks/d3_loop_lag.py; measured with `gc.callbacks`). Those objects live as long as the
app does, so once the first window is on screen they are moved to the permanent generation
(`gc.freeze`), and a full collection then walks only what was made since: 10-30 ms for the
30-40k objects a busy dashboard keeps (the window's records, the table's strips).

The collector starts a full pass from inside whatever allocation tips its counters: often a
repaint or a window re-read, which already holds the loop for 10-30 ms, so the two pauses
added up (D3 measured single turns of 55-60 ms, 45-50 of them collecting). So while the app
runs, the collector never starts a full pass itself; `FullCollections.run` starts one every
`FULL_PASS_EVERY_S`, once the collector would have (its young generations have been
collected `threshold` times since the last full pass), as a turn of the loop of its own.
Young collections stay automatic: they take under 5 ms.

The cost of freezing is that a reference cycle among frozen objects that dies while the app
runs is not reclaimed until `gc.unfreeze` puts them back in view, when the app exits.
Start-up builds little that dies early, so that is a small, bounded amount of memory.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from contextlib import contextmanager

FULL_PASS_EVERY_S = 0.5
# Higher than the young generations are ever collected between two scheduled passes.
_NEVER = 1 << 30


@contextmanager
def frozen_heap() -> Iterator[None]:
    """Freeze every object alive now for the duration of the block."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


# How many allocations a headless worker's young generation takes before it is collected
# (CPython's default is 700): see `worker_heap`.
WORKER_YOUNG_THRESHOLD = 50_000


@contextmanager
def worker_heap() -> Iterator[None]:
    """For a process that runs a worker and nothing else (`lashtui worker`): start-up's
    objects frozen (`frozen_heap`), and the young generation collected every
    `WORKER_YOUNG_THRESHOLD` allocations instead of every 700, put back after the block.

    A run makes objects by the thousand and frees them by reference counting: lashtui's own
    make no reference cycles (an embedded worker's 5,000 P1 processes set off 106 young
    collections and 9 middle ones, which found 0 objects to free), so at 700 the collector
    only walked what was still alive, every few runs. At 50,000: four workers draining
    10,000 rows +5% and +8% (5 and 4 interleaved pairs, CPU a row 245 -> 233 and 251 -> 234
    us; +4% at 10,000), one worker +5.5% (188 -> 180 us). What a handler leaves in cycles
    (an exception kept with its traceback) waits at most that many allocations to be freed:
    a few megabytes. The dashboard keeps CPython's young threshold: its young objects live
    (the window's rows, the table's strips), and its loop's pauses are what it schedules
    (`FullCollections`)."""
    young, middle, full = gc.get_threshold()
    gc.set_threshold(WORKER_YOUNG_THRESHOLD, middle, full)
    try:
        with frozen_heap():
            yield
    finally:
        gc.set_threshold(young, *gc.get_threshold()[1:])


class FullCollections:
    """Full collections at times the loop chooses (see the module docstring)."""

    # The collector's settings are the process's: with several schedules running (apps run
    # one after another in one process, and may overlap as one closes), the first to start
    # keeps the collector's own threshold and the last to end puts it back.
    _running = 0
    _threshold = 0

    def __init__(self) -> None:
        self.passes = 0  # how many this schedule has run

    async def run(self) -> None:
        """Until cancelled: the collector's own full passes are off, and this task runs
        each one that is due."""
        cls = FullCollections
        young, middle, full = gc.get_threshold()
        if cls._running == 0:
            cls._threshold = full
            gc.set_threshold(young, middle, _NEVER)
        cls._running += 1
        try:
            while True:
                await asyncio.sleep(FULL_PASS_EVERY_S)
                if gc.isenabled() and gc.get_count()[2] > cls._threshold:
                    gc.collect(2)
                    self.passes += 1
        finally:
            cls._running -= 1
            if cls._running == 0:
                young, middle, _ = gc.get_threshold()
                gc.set_threshold(young, middle, cls._threshold)
