"""In-process change notifications: the change hub and the registry decorator that feeds it
(semantics §12).

The registry stays a state store; waiting lives above it. After each successful mutation the
decorator ticks the hub for that process, so an awaiter in this OS process wakes at once
instead of at its next backoff poll. Writes from other OS processes do not tick it; awaiters
fall back to polling for those, and a worker following other connections' commits
(worker/wake.py) ticks every waiter at each one it sees (`tick_waiting`). Grants, lease
operations and prune are not process changes and do not tick.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, cast

from lashtui.registry import ProcessRegistry

# How many processes' versions the hub keeps at most before it forgets the oldest (`tick`).
KEPT_VERSIONS = 10_000


class ChangeHub:
    """Per-process versions with an event to wait on.

    A version is the value of one counter for the whole hub at the process's last tick, so
    that the hub can forget the processes nobody waits on: a long-lived worker kept an
    entry for every process it ever ran (2,000 after pruning all 2,000 rows). A forgotten
    process reads as the highest version forgotten so far (`_floor`), never lower than its
    own last one: a waiter that took a version before its process was forgotten sees a
    change (at worst one that did not happen, and reads again), never misses a tick."""

    def __init__(self) -> None:
        self._versions: dict[str, int] = {}
        self._clock = 0  # the hub's counter, one step a tick
        self._floor = 0  # the highest version of a forgotten process
        self._events: dict[str, asyncio.Event] = {}
        self._listeners: dict[str, list[Callable[[], None]]] = {}

    def version(self, process_id: str) -> int:
        return self._versions.get(process_id, self._floor)

    def tick(self, process_id: str) -> None:
        self._clock += 1
        self._versions.pop(process_id, None)  # (re-inserted last: the oldest go first)
        self._versions[process_id] = self._clock
        if len(self._versions) > KEPT_VERSIONS:
            self._forget()
        event = self._events.pop(process_id, None)
        if event is not None:
            event.set()
        for listener in tuple(self._listeners.get(process_id, ())):
            listener()

    def tick_waiting(self) -> None:
        """Tick every process an awaiter waits on (`wait`): another connection committed,
        which no tick here tells (writes from other OS processes do not pass through this
        hub), and its commit may be the signal or the terminal they wait for. Without it
        such a waiter saw it only at its backoff poll, up to a second later: a signal sent
        from another shell resumed its parked run 0.6-1 s after it was stored. The worker
        calls this on each wake (worker/follow.py); the listeners of processes nobody
        waits on are not run."""
        for process_id in tuple(self._events):
            self.tick(process_id)

    def _forget(self) -> None:
        """Forget the least recently ticked half of the versions, but those of processes a
        waiter or a listener is on."""
        keep = KEPT_VERSIONS // 2
        for process_id in list(self._versions):
            if len(self._versions) <= keep:
                break
            if process_id in self._events or process_id in self._listeners:
                continue
            self._floor = max(self._floor, self._versions.pop(process_id))

    def subscribe(self, process_id: str, listener: Callable[[], None]) -> None:
        """Call `listener` on every tick of `process_id` until `unsubscribe`: for a watcher
        that costs nothing while nothing happens (no task waiting on an event)."""
        self._listeners.setdefault(process_id, []).append(listener)

    def unsubscribe(self, process_id: str, listener: Callable[[], None]) -> None:
        listeners = self._listeners.get(process_id, [])
        if listener in listeners:
            listeners.remove(listener)
        if not listeners:
            self._listeners.pop(process_id, None)

    async def wait(self, process_id: str, seen: int, timeout_s: float) -> bool:
        """Wait until `process_id` ticks past version `seen`, at most `timeout_s`.
        True when it ticked."""
        if self.version(process_id) != seen:
            return True
        event = self._events.setdefault(process_id, asyncio.Event())
        # asyncio.timeout, not wait_for: on 3.11 wait_for swallows a cancellation that
        # arrives as the event is set, and a cancel request both ticks and cancels.
        try:
            async with asyncio.timeout(timeout_s):
                await event.wait()
        except TimeoutError:
            return self.version(process_id) != seen
        return True


def _pid_first_arg(args: tuple[Any, ...]) -> str:
    return str(args[0])


# Mutations that change a process row, and where each finds the process id.
_TICKS: dict[str, Callable[[tuple[Any, ...]], str]] = {
    "register_process": lambda args: str(args[0].id),
    "start_process": lambda args: str(args[0].id),
    "start_process_for_run": lambda args: str(args[0].id),
    "set_external_ref": _pid_first_arg,
    "append_event": _pid_first_arg,
    "complete_process": _pid_first_arg,
    "complete_process_with_lease": lambda args: str(args[0].process_id),
    "record_first_started": _pid_first_arg,
    "claim_process_for_run": _pid_first_arg,  # it may record first-started
    "request_process_abandon": _pid_first_arg,
    "set_process_wait": _pid_first_arg,
    "clear_process_wait": _pid_first_arg,
    "ack_wake": _pid_first_arg,
    "end_undecodable_process": _pid_first_arg,
    "rerun_process": lambda args: str(args[1]),  # the new row; the old one is not written
}


class NotifyingRegistry:
    """A pass-through `ProcessRegistry` that ticks `hub` after each successful mutation."""

    def __init__(self, inner: ProcessRegistry, hub: ChangeHub) -> None:
        self.inner = inner
        self.hub = hub

    def __getattr__(self, name: str) -> Any:
        # Only called for what this object does not have yet: each method is wrapped once
        # and kept, so a call is an attribute read, not a new closure.
        attribute = getattr(self.inner, name)
        pid_of = _TICKS.get(name)
        if pid_of is None:
            if callable(attribute):  # a method; properties (read_only) are read each time
                setattr(self, name, attribute)
            return attribute
        method = cast(Callable[..., Awaitable[Any]], attribute)
        hub = self.hub

        async def ticking(*args: Any, **kwargs: Any) -> Any:
            result = await method(*args, **kwargs)
            hub.tick(pid_of(args))
            return result

        setattr(self, name, ticking)
        return ticking

    async def claim_processes_for_run(self, *args: Any, **kwargs: Any) -> Any:
        """Ticks each row claimed (its first-started fact may have been recorded)."""
        claims = await self.inner.claim_processes_for_run(*args, **kwargs)
        for process_id, _ in claims:
            self.hub.tick(process_id)
        return claims


def notifying(registry: ProcessRegistry, hub: ChangeHub) -> ProcessRegistry:
    """Wrap `registry` so its mutations tick `hub` (idempotent for an already wrapped one)."""
    if isinstance(registry, NotifyingRegistry) and registry.hub is hub:
        return cast(ProcessRegistry, registry)
    return cast(ProcessRegistry, NotifyingRegistry(registry, hub))


def watch_process_registry(inner: ProcessRegistry) -> tuple[ProcessRegistry, ChangeHub]:
    """lash's `watch_process_registry`: `inner` decorated to tick a new hub after each
    mutation, and that hub (what `ProcessAwaiter` and `ProcessWorker` take as `hub`)."""
    hub = ChangeHub()
    return notifying(inner, hub), hub
