"""What every part of a worker shares: the registry (ticking the change hub), the awaiter,
the clock, the lease timings, the configured owner and the handlers."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum

from lashtui.clock import Clock
from lashtui.model import LeaseOwnerIdentity, LeaseTimings
from lashtui.registry import ProcessRegistry
from lashtui.worker.awaiter import ProcessAwaiter
from lashtui.worker.engine import EngineRegistry, SessionTurnRunner, ToolRegistry
from lashtui.worker.hub import ChangeHub

log = logging.getLogger("lashtui.worker")


class Verdict(StrEnum):
    """What one recovery attempt decided for one row (semantics §8), for the health view."""

    RAN = "ran"
    ABANDONED_BY_SWEEP = "abandoned_by_sweep"
    ABANDONED_RECONCILED = "abandoned_reconciled"
    LEFT_RUNNING = "left_running"
    BUSY = "busy"
    ALREADY_TERMINAL = "already_terminal"
    UNTOUCHED = "untouched"


class RunEnd(StrEnum):
    """How a run of a claimed row ended."""

    COMPLETED = "completed"
    LEASE_LOST = "lease_lost"
    STOPPED = "stopped"


@dataclass
class WorkerStats:
    drives: int = 0
    last_drive_ms: int | None = None
    verdicts: Counter[Verdict] = field(default_factory=Counter)
    runs: Counter[RunEnd] = field(default_factory=Counter)


@dataclass
class WorkerRuntime:
    registry: ProcessRegistry
    hub: ChangeHub
    awaiter: ProcessAwaiter
    clock: Clock
    timings: LeaseTimings
    owner: LeaseOwnerIdentity
    engines: EngineRegistry
    tools: ToolRegistry
    session_runner: SessionTurnRunner | None = None
    stats: WorkerStats = field(default_factory=WorkerStats)
