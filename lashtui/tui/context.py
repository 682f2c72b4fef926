"""What every screen of the dashboard shares: the facade, the clock, the embedded worker (if
any), whether actions are allowed, who the operator is, and how often to refresh."""

from __future__ import annotations

from dataclasses import dataclass

from lashtui.admin import Processes
from lashtui.clock import Clock
from lashtui.worker import ProcessWorker


@dataclass(frozen=True)
class Dashboard:
    processes: Processes
    clock: Clock
    worker: ProcessWorker | None
    read_only: bool
    operator: str
    refresh_s: float
