"""What every screen of the dashboard shares: the facade, the clock, the embedded worker (if
any), whether actions are allowed, who the operator is, how often to refresh, the `Pulse`
the Processes view keeps for the health view, the embedded worker's warnings, and an
optional `ViewObserver`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from lashtui.admin import Processes
from lashtui.clock import Clock
from lashtui.tui.worker_problems import WorkerProblems
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
    paused: bool = False  # the view is paused (`p`): it reads nothing, the counts stand still


class ViewObserver(Protocol):
    """Told when the Processes view puts the registry's changes on screen, and how long its
    reads take. Headless there is no screen to look at, so this is how the benchmarks
    (benchmarks/d1_freshness.py, d2_million.py) learn when a commit became visible and what
    a refresh costs. Called on the event loop: keep it cheap."""

    def applied(self, process_ids: Sequence[str]) -> None:
        """Rows changed by the feed are in the process table and the screen has been
        refreshed since (`call_after_refresh`): what an operator would now see."""

    def read(self, step: str, seconds: float) -> None:
        """One read step of the view (`catch_up`: the feed; `_reread`: the once-a-second
        window re-read; `recount`, `reload`) took `seconds` of wall time, rendering
        included (benchmarks/d2_million.py)."""


@dataclass(frozen=True)
class Dashboard:
    processes: Processes
    clock: Clock
    worker: ProcessWorker | None
    read_only: bool
    # Who this dashboard's cancels and abandon requests are recorded as: `--as`, else
    # $LASHTUI_OPERATOR, else user@host (`admin.resolve_operator`, as on the command line).
    operator: str
    refresh_s: float
    pulse: Pulse = field(default_factory=Pulse)
    observer: ViewObserver | None = None
    # Why it is read-only, as a refused action says it: `--read-only` only when that was
    # asked (a file it may not write, or one lash wrote, opens read-only too).
    read_only_why: str = "--read-only"
    # The embedded worker's warnings, kept while it runs (tui/worker_problems.py).
    worker_problems: WorkerProblems = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "worker_problems", WorkerProblems(self.clock))  # (frozen)
