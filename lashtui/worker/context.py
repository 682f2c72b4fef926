"""What a running handler is handed: its process, its cancellation, and the ways it may
touch the registry while it runs (api.md §5).

Everything a handler writes is keyed for replay by a per-run ordinal, so a re-execution
after a crash re-derives the same keys and its repeated writes collapse into the originals.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable

from pydantic import JsonValue

from lashtui.clock import Clock
from lashtui.errors import InvalidRequest, ProcessConflict
from lashtui.model import (
    RESUMED,
    WAITING,
    ProcessEvent,
    ProcessEventAppendRequest,
    ProcessRecord,
    WaitKind,
    WaitState,
    process_signal_event_type,
    process_signal_wait_key,
)
from lashtui.registry import ProcessRegistry
from lashtui.worker.awaiter import ProcessAwaiter

# `_since_ms` reads the log back in pages of at most this many events and characters.
SINCE_PAGE = 200
SINCE_PAGE_CHARS = 4 << 20


class ProcessContext:
    """Handed to engines and tools as `ctx`."""

    def __init__(
        self,
        record: ProcessRecord,
        registry: ProcessRegistry,
        awaiter: ProcessAwaiter,
        clock: Clock,
        on_park: Callable[[bool], None] | None = None,
    ) -> None:
        self.record = record
        self.process_id = record.id
        self.registry = registry
        self.clock = clock
        self.cancelled = asyncio.Event()
        self._awaiter = awaiter
        self._event_ordinal = 0
        self._wait_ordinals: Counter[str] = Counter()
        self._ended = False
        # Told True when the handler parks on a signal and False when it goes on: a
        # worker's stop hands a parked run back at once (shutdown.py), where one that
        # computes keeps its grace.
        self._on_park = on_park

    def end(self) -> None:
        """The run this context belongs to is over (its handler has returned or been
        stopped): its writes are refused from now on. A handler that kept `ctx` (in a task
        of its own, a callback) wrote events after its process's terminal, and after a lost
        lease, beside the run of the worker that took the row over."""
        self._ended = True

    def _check_running(self) -> None:
        if self._ended:
            raise ProcessConflict(
                f"the run of process `{self.process_id}` has ended: its context writes "
                "nothing more"
            )

    async def append_event(
        self, event_type: str, payload: JsonValue = None, replay_key: str | None = None
    ) -> ProcessEvent:
        """Append a declared event; without a key it gets `process:<pid>:event:<n>`."""
        self._check_running()
        self._event_ordinal += 1
        key = replay_key or f"process:{self.process_id}:event:{self._event_ordinal}"
        request = ProcessEventAppendRequest.new(event_type, payload, key)
        return (await self.registry.append_event(self.process_id, request)).event

    async def sleep(self, seconds: float) -> None:
        """Sleep; a cancel request interrupts it (the run is cancelled)."""
        await asyncio.sleep(seconds)

    async def wait_signal(self, name: str) -> JsonValue:
        """Park until the n-th `signal.<name>` arrives, n counting this run's waits on
        `name` (semantics §11.3-§11.4), and return its payload."""
        self._check_running()
        event_type = process_signal_event_type(name)
        if self.record.event_type(event_type) is None:
            raise InvalidRequest(
                f"process `{self.process_id}` does not declare `{event_type}`, "
                "so it can never receive that signal"
            )
        self._wait_ordinals[name] += 1
        ordinal = self._wait_ordinals[name]
        key = process_signal_wait_key(self.process_id, name, ordinal)
        wait = WaitState(
            kind=WaitKind(name=name, event_type=event_type, key=key, ordinal=ordinal),
            since_ms=await self._since_ms(key),
        )
        await self.registry.set_process_wait(self.process_id, wait)
        await self.registry.append_event(
            self.process_id,
            ProcessEventAppendRequest.new(
                WAITING,
                {"wait": wait.model_dump(mode="json")},
                f"process:{self.process_id}:waiting:{event_type}:{ordinal}",
            ),
        )
        if self._on_park is not None:
            self._on_park(True)
        try:
            signal = await self._nth_signal(event_type, ordinal)
        finally:
            if self._on_park is not None:
                self._on_park(False)
        await self.registry.clear_process_wait(self.process_id)
        await self.registry.append_event(
            self.process_id,
            ProcessEventAppendRequest.new(
                RESUMED,
                {"signal": name, "key": key, "ordinal": ordinal},
                f"process:{self.process_id}:resumed:{event_type}:{ordinal}",
            ),
        )
        return signal.payload

    async def _since_ms(self, key: str) -> int:
        """Keep the original `since_ms` of a wait this row already entered (a re-run must
        re-append the identical `process.waiting` payload, or its replay key conflicts)."""
        current = await self.registry.get_process(self.process_id)
        if current is not None and current.wait is not None and current.wait.kind.key == key:
            return current.wait.since_ms
        # The log from its end back, a bounded page at a time: it may be long, its events a
        # mebibyte each, and the wait entered last is near its end.
        before = None
        while page := await self.registry.recent_events(
            self.process_id, SINCE_PAGE, before=before, max_chars=SINCE_PAGE_CHARS
        ):
            for event in reversed(page):
                payload = event.payload
                if event.event_type == WAITING and isinstance(payload, dict):
                    wait = payload.get("wait")
                    if isinstance(wait, dict) and WaitState.model_validate(wait).kind.key == key:
                        return WaitState.model_validate(wait).since_ms
            before = page[0].sequence
        return self.clock.now_ms()

    async def _nth_signal(self, event_type: str, ordinal: int) -> ProcessEvent:
        """The `ordinal`-th event of `event_type` in the log, waiting for it if needed."""
        seen = 0
        cursor = 0
        while True:
            event = await self._awaiter.await_event(self.process_id, event_type, cursor)
            seen += 1
            if seen == ordinal:
                return event
            cursor = event.sequence
