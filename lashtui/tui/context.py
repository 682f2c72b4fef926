"""What every screen of the dashboard shares: the facade, the clock, the embedded worker (if
any), whether actions are allowed, who the operator is, how often to refresh, and the
`Pulse` the Processes view keeps for the health view."""

from __future__ import annotations

from dataclasses import dataclass, field

from lashtui.admin import Processes
from lashtui.clock import Clock
from lashtui.worker import ProcessWorker


@dataclass
class Pulse:
    """What the Processes view learns as it follows the change feed: counts per state
    (kept incrementally), when a change was last applied, how long the last registry read
    took, and the last read error. One writer (the Processes view), any number of readers."""

    counts: dict[str, int] = field(default_factory=dict)
    last_change_ms: int | None = None  # clock time a change was last applied
    last_read_ms: int | None = None  # clock time of the last successful read
    read_latency_ms: float | None = None  # wall time of the last read, in milliseconds
    error: str | None = None


@dataclass(frozen=True)
class Dashboard:
    processes: Processes
    clock: Clock
    worker: ProcessWorker | None
    read_only: bool
    operator: str
    refresh_s: float
    pulse: Pulse = field(default_factory=Pulse)
