"""Waiting for a process to end, or for one of its events (semantics §12, ADR 0016).

Point reads plus in-process change ticks, with a bounded backoff (25 ms doubling to 1 s,
back to 25 ms on a tick) for writes made by other OS processes sharing the file. Nothing
here times out by itself; callers bound it with `asyncio.timeout`.
"""

from __future__ import annotations

from lashtui.errors import UndecodableProcess, UnknownProcess
from lashtui.model import ProcessAwaitOutput, ProcessEvent
from lashtui.registry import ProcessRegistry
from lashtui.worker.hub import ChangeHub

BACKOFF_START_S = 0.025
BACKOFF_CAP_S = 1.0


class ProcessAwaiter:
    def __init__(self, registry: ProcessRegistry, hub: ChangeHub | None = None) -> None:
        self.registry = registry
        self.hub = hub or ChangeHub()

    async def await_terminal(self, process_id: str) -> ProcessAwaitOutput:
        """The process's await output once it is terminal; « unknown process » if it is not
        (or stops being) there."""
        delay = BACKOFF_START_S
        while True:
            seen = self.hub.version(process_id)  # subscribe before reading
            record = await self.registry.get_process(process_id)
            if record is None:
                raise UnknownProcess.process(process_id)
            if record.status.await_output is not None:
                if record.undecodable is not None:  # ended, its output unreadable
                    state = None if record.no_state else record.status.state.value
                    raise UndecodableProcess.output(process_id, state, record.undecodable)
                return record.status.await_output
            delay = await self._pause(process_id, seen, delay)

    async def await_event(
        self, process_id: str, event_type: str, after_sequence: int
    ) -> ProcessEvent:
        """The first event of `event_type` with a sequence strictly after `after_sequence`."""
        delay = BACKOFF_START_S
        while True:
            seen = self.hub.version(process_id)
            event = await self.registry.first_event_after(process_id, event_type, after_sequence)
            if event is not None:
                return event
            delay = await self._pause(process_id, seen, delay)

    async def _pause(self, process_id: str, seen: int, delay: float) -> float:
        """Sleep until a tick or the backoff delay; the next delay to use."""
        ticked = await self.hub.wait(process_id, seen, delay)
        return BACKOFF_START_S if ticked else min(delay * 2, BACKOFF_CAP_S)
