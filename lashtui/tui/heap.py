"""Garbage-collector pauses: what start-up built is frozen out of the collector's sight.

CPython's full (generation 2) collection walks every tracked object and holds the event loop
while it does. The dashboard starts with ~100k of them (modules, Textual's stylesheets and
widget tree, pydantic schemas, the embedded worker's state), so under churn a full
collection ran every ~0.4 s and held the loop 60-130 ms each time: most of D3's lag
(benchmarks/d3_loop_lag.py; measured with `gc.callbacks`). Those objects live as long as the
app does, so once the first window is on screen they are moved to the permanent generation
(`gc.freeze`), and a full collection then walks only what was made since: 20-30 ms.

The cost is that a reference cycle among frozen objects that dies while the app runs is not
reclaimed until `gc.unfreeze` puts them back in view, when the app exits. Start-up builds
little that dies early, so that is a small, bounded amount of memory.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def frozen_heap() -> Iterator[None]:
    """Freeze every object alive now for the duration of the block."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
