"""Processes as a session sees them (semantics §13 session sugar, §3.19): the session's
view, `SessionProcesses`, which acts only on what the session's grants reach, and the
session snapshot, the handles and wake targets a resumed session is shown.

Both answer "what can this session see?" rather than "what is in the registry?", so they
live apart from the host facade, which sees every row and checks no visibility.
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING

from pydantic import Field, JsonValue

from lashtui.errors import ProcessConflict
from lashtui.model import (
    PAGE_CHARS,
    ObservedProcess,
    ObservedProcessEvent,
    ProcessCancelSummary,
    ProcessEvent,
    ProcessHandleDescriptor,
    ProcessHandleSummary,
    ProcessRecord,
    SessionScope,
)
from lashtui.model.wire import WireModel
from lashtui.registry import ProcessRegistry

if TYPE_CHECKING:
    from lashtui.admin.processes import Processes

SNAPSHOT_EVENT_TAIL = 32


class ProcessSnapshotItem(WireModel):
    """One process in a session snapshot: its handle row and its latest events."""

    handle: ProcessHandleSummary
    updated_at_ms: int
    created_at_ms: int
    events: list[ObservedProcessEvent] = Field(default_factory=list)


async def session_snapshot(
    registry: ProcessRegistry, session_id: str
) -> list[ProcessSnapshotItem]:
    """The session's root-scope grants plus rows that wake any of its scopes, each with
    its last 32 events; newest first (semantics §3.19)."""
    root = SessionScope(session_id=session_id)
    items: dict[str, tuple[ProcessRecord, ProcessHandleDescriptor]] = {
        record.id: (record, grant.descriptor)
        for grant, record in await registry.list_handle_grants(root)
    }
    after: str | None = None
    while True:  # the rows that wake it, found in SQL a page at a time (never every record)
        waking, after = await registry.list_waking_session(
            session_id, after_id=after, max_chars=PAGE_CHARS
        )
        for record in waking:
            if record.id not in items:
                descriptor = ProcessHandleDescriptor(
                    kind=record.identity.kind, label=record.identity.label
                )
                items[record.id] = (record, descriptor)
        if after is None:
            break
    snapshot = [await snapshot_item(registry, r, d) for r, d in items.values()]
    snapshot.sort(key=lambda item: item.handle.process_id)
    snapshot.sort(key=lambda item: (item.updated_at_ms, item.created_at_ms), reverse=True)
    return snapshot


async def snapshot_item(
    registry: ProcessRegistry, record: ProcessRecord, descriptor: ProcessHandleDescriptor
) -> ProcessSnapshotItem:
    events = await registry.recent_events(record.id, SNAPSHOT_EVENT_TAIL)
    handle = ProcessHandleSummary(
        id=record.id,
        process_id=record.id,
        descriptor=descriptor,
        definition=record.identity.definition,
        status=record.status,
    )
    return ProcessSnapshotItem(
        handle=handle,
        updated_at_ms=record.updated_at_ms,
        created_at_ms=record.created_at_ms,
        events=[ObservedProcessEvent.from_event(event) for event in events],
    )


class SessionProcesses:
    """A session's view (semantics §13 session sugar): the root scope's grants plus the
    current frame's, de-duplicated by id. Unlike the host facade it checks visibility:
    cancel needs a grant, signal a live one."""

    def __init__(self, processes: Processes, scope: SessionScope) -> None:
        self.processes = processes
        self.scope = scope
        scopes = [scope.root(), scope]
        self._scopes = [
            s for i, s in enumerate(scopes) if s.id() not in {x.id() for x in scopes[:i]}
        ]

    async def list_all(self) -> builtins.list[ObservedProcess]:
        seen: dict[str, ProcessRecord] = {}
        for scope in self._scopes:
            for _, record in await self.processes.registry.list_handle_grants(scope):
                seen.setdefault(record.id, record)
        return await self.processes._observe_all([seen[pid] for pid in sorted(seen)])

    async def list(self) -> builtins.list[ObservedProcess]:
        return [p for p in await self.list_all() if not p.terminal]

    async def get(self, process_id: str) -> ObservedProcess | None:
        return next((p for p in await self.list_all() if p.process_id == process_id), None)

    async def _visible(self, process_id: str, *, live: bool) -> None:
        registry = self.processes.registry
        for scope in self._scopes:
            if await registry.has_handle_grant(scope, process_id):
                record = await registry.get_process(process_id)
                if not live or (record is not None and not record.is_terminal()):
                    return
        raise ProcessConflict(
            f"process handle `{process_id}` is not live or visible in this session"
        )

    async def cancel(self, process_id: str) -> ProcessCancelSummary:
        await self._visible(process_id, live=False)
        return await self.processes.cancel(process_id)

    async def signal(
        self, process_id: str, signal_name: str, signal_id: str, payload: JsonValue
    ) -> ProcessEvent:
        await self._visible(process_id, live=True)
        return await self.processes.signal(process_id, signal_name, signal_id, payload)

    async def request_abandon(self, process_id: str, reason: str | None = None) -> ObservedProcess:
        await self._visible(process_id, live=False)
        requested_by = f"session:{self.scope.session_id}"
        return await self.processes.request_abandon(process_id, requested_by, reason)

    async def cancel_unreferenced(self, keep_ids: builtins.list[str]) -> builtins.list[str]:
        """Revoke this scope's grants not in `keep_ids`; cancel each such process that is
        still running and that no other scope holds. Returns the cancelled ids."""
        registry = self.processes.registry
        cancelled = []
        for grant, record in await registry.list_handle_grants(self.scope):
            if grant.process_id in keep_ids:
                continue
            await registry.revoke_handle(self.scope, grant.process_id)
            if record.is_terminal() or await registry.handle_grants_for_process(record.id):
                continue
            await self.processes.cancel(record.id)
            cancelled.append(record.id)
        return cancelled
