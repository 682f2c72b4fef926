"""Handle grants and the small reports the registry and facade return (semantics §3.13, §3.18).

A grant lets a session scope address a process. It is keyed by (scope id, process id) and
carries the scope's session id, so deleting a session can find the grants of all its frames.
"""

from typing import Literal

from pydantic import Field

from lashtui.model.output import ProcessLifecycleStatus, ProcessStatus
from lashtui.model.start_request import ProcessHandleDescriptor
from lashtui.model.wire import JsonValue, WireModel, omitted


class ProcessHandleGrant(WireModel):
    session_id: str
    process_id: str
    descriptor: ProcessHandleDescriptor = Field(default_factory=ProcessHandleDescriptor)


class ProcessHandleSummary(WireModel):
    """The handle-facing row a model sees: `{"__handle__":"process", ...}`."""

    handle: Literal["process"] = Field(default="process", alias="__handle__")
    id: str
    process_id: str
    descriptor: ProcessHandleDescriptor
    definition: JsonValue | None = omitted()
    status: ProcessStatus


class ProcessCancelSummary(WireModel):
    process_id: str
    status: ProcessLifecycleStatus


class ProcessPruneReport(WireModel):
    pruned_processes: int = 0
    pruned_events: int = 0


class ProcessPruneCount(WireModel):
    """What a prune would delete, counted without deleting (a lashtui extension), and the
    change-feed position counted at: a prune bounded by it (`up_to_change_seq`) deletes
    no row that ended after the count."""

    processes: int
    events: int
    up_to_change_seq: int


class ProcessSessionDeleteReport(WireModel):
    session_id: str
    revoked_handle_count: int = 0
    deleted_wake_count: int = 0
    orphaned_process_ids: list[str] = Field(default_factory=list)
    preserved_process_ids: list[str] = Field(default_factory=list)
