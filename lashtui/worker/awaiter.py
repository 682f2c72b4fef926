"""Waiting for a process to end, or for one of its events (semantics §12, ADR 0016).

Point reads plus in-process change ticks, with a bounded backoff (25 ms doubling to 1 s,
back to 25 ms on a tick) for writes made by other OS processes sharing the file. Nothing
here times out by itself; callers bound it with `asyncio.timeout`.
"""

from __future__ import annotations

from lashtui.errors import RegistryGone, StoreError, UndecodableProcess, UnknownProcess
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
        """The first event of `event_type` with a sequence strictly after `after_sequence`.

        A read the registry cannot serve for a while (a lost connection, a server out of
        reach, a file locked) is tried again on the same backoff: a run parked on a signal
        spends its life here, and the read's error, raised through its handler, ended the
        run `failed` (`process_failed: cannot reach process registry ...`, written once the
        server was back) after a network blip of a few seconds, a terminal nothing takes
        back, on owner_bound work an operator was about to approve. What bounds the wait
        is the run's lease: a keeper that cannot renew it stops the run when it lapses, as
        a lost lease, which writes no terminal (guard.py). A row that cannot be decoded, or
        a registry file gone, is no outage, and still raises."""
        delay = BACKOFF_START_S
        while True:
            seen = self.hub.version(process_id)
            try:
                event = await self.registry.first_event_after(
                    process_id, event_type, after_sequence
                )
            except (UndecodableProcess, RegistryGone):
                raise
            except StoreError:
                event = None
            if event is not None:
                return event
            delay = await self._pause(process_id, seen, delay)

    async def _pause(self, process_id: str, seen: int, delay: float) -> float:
        """Sleep until a tick or the backoff delay; the next delay to use."""
        ticked = await self.hub.wait(process_id, seen, delay)
        return BACKOFF_START_S if ticked else min(delay * 2, BACKOFF_CAP_S)
