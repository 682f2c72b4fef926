"""The embedded worker: claims rows under fenced leases, runs them, renews, completes; the
recovery sweep; owner drain; awaiting (semantics §7-§12). Never imports textual.

Each name below is imported from its module on first use (`__getattr__`): the facade
(lashtui/admin) needs the change hub, the awaiter and the argument checks, not the worker,
its sweep and its engines, and every `lashtui` command that reads a row opened it through
them (~40M instructions of a one-row `show`'s start, valgrind).
"""

from typing import TYPE_CHECKING

from lashtui.lazy import on_first_use

if TYPE_CHECKING:
    from lashtui.worker.awaiter import ProcessAwaiter
    from lashtui.worker.context import ProcessContext
    from lashtui.worker.drain import DrainReport
    from lashtui.worker.engine import EngineRegistry, SessionTurnRunner, ToolRegistry
    from lashtui.worker.hub import ChangeHub, notifying, watch_process_registry
    from lashtui.worker.identity import attempt_identity, default_owner
    from lashtui.worker.runtime import RunEnd, Verdict, WorkerStats
    from lashtui.worker.steps import declared_event_types, signal_names, steps_engine
    from lashtui.worker.worker import ProcessWorker

# Where each name lives.
_MODULES = {
    "ChangeHub": "hub",
    "DrainReport": "drain",
    "EngineRegistry": "engine",
    "ProcessAwaiter": "awaiter",
    "ProcessContext": "context",
    "ProcessWorker": "worker",
    "RunEnd": "runtime",
    "SessionTurnRunner": "engine",
    "ToolRegistry": "engine",
    "Verdict": "runtime",
    "WorkerStats": "runtime",
    "attempt_identity": "identity",
    "declared_event_types": "steps",
    "default_owner": "identity",
    "notifying": "hub",
    "signal_names": "steps",
    "steps_engine": "steps",
    "watch_process_registry": "hub",
}


__getattr__ = on_first_use(
    __name__, {name: f"{__name__}.{module}" for name, module in _MODULES.items()}
)


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
