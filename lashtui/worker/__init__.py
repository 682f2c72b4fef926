"""The embedded worker: claims rows under fenced leases, runs them, renews, completes; the
recovery sweep; owner drain; awaiting (semantics §7-§12). Never imports textual."""

from lashtui.worker.awaiter import ProcessAwaiter
from lashtui.worker.context import ProcessContext
from lashtui.worker.drain import DrainReport
from lashtui.worker.engine import EngineRegistry, SessionTurnRunner, ToolRegistry
from lashtui.worker.hub import ChangeHub, notifying, watch_process_registry
from lashtui.worker.identity import attempt_identity, default_owner
from lashtui.worker.runtime import RunEnd, Verdict, WorkerStats
from lashtui.worker.steps import declared_event_types, signal_names, steps_engine
from lashtui.worker.worker import ProcessWorker

__all__ = [
    "ChangeHub",
    "DrainReport",
    "EngineRegistry",
    "ProcessAwaiter",
    "ProcessContext",
    "ProcessWorker",
    "RunEnd",
    "SessionTurnRunner",
    "ToolRegistry",
    "Verdict",
    "WorkerStats",
    "attempt_identity",
    "declared_event_types",
    "default_owner",
    "notifying",
    "signal_names",
    "steps_engine",
    "watch_process_registry",
]
