"""Engines and tools: the async callables that give a process its behaviour (api.md §5).

An `engine` row runs the engine registered under its `kind`; a `tool_call` row runs the
tool of its name; a `session_turn` row needs a pluggable session runner. What a handler
returns becomes the process's output (but never `abandoned`: semantics §3.8); what it raises
becomes a `failure`. Problems with the handler itself (none registered, no session runner)
are outputs too, never exceptions.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from pydantic import JsonValue

from lashtui.model import (
    AbandonedOutput,
    CancelledOutput,
    Engine,
    External,
    FailureOutput,
    ProcessRecord,
    SessionTurn,
    SuccessOutput,
    ToolCall,
    failure,
)
from lashtui.worker import argument
from lashtui.worker.context import ProcessContext

ProcessOutput = SuccessOutput | FailureOutput | CancelledOutput | AbandonedOutput
EngineHandler = Callable[[ProcessContext, JsonValue], Awaitable[Any]]
ToolHandler = Callable[[ProcessContext, JsonValue], Awaitable[Any]]
SessionTurnRunner = Callable[[ProcessContext, SessionTurn], Awaitable[Any]]

ENGINE_MISSING = "process_engine_missing"
PROCESS_FAILED = "process_failed"  # what a handler raised, or returned and may not
# Semantics §3.8: abandonment is recovery's verdict on a run (the sweep's, an owner drain's,
# a reconciled request's) and never the run's own report; a handler that returned one would
# forge its writer and evidence.
ABANDON_REFUSED = (
    "a handler cannot report abandonment: only the sweep, an owner drain or a reconciled "
    "abandon request abandons a process"
)
SESSION_TURN_FAILED = "process_session_turn_failed"
# An External input that reaches a run fails as lash's worker fails it: building its runtime
# is a run error (semantics §7.4e), so the code is a run error's (scenario 62), not
# `external_process_not_executable`, which lash's session process runner uses elsewhere.
EXTERNAL_NOT_EXECUTABLE = "process_recovery_failed"


class HandlerRegistry:
    """Named async handlers: `register(name, handler)`, `get(name)`."""

    def __init__(self, what: str) -> None:
        self._what = what
        self._handlers: dict[str, Callable[..., Awaitable[Any]]] = {}

    def register(self, name: str, handler: Callable[..., Awaitable[Any]]) -> None:
        where = f"{type(self).__name__}.register"
        if not isinstance(name, str) or not name:
            raise argument.refused(where, "name", "a non-empty str", name)
        argument.check_callable(where, "handler", handler)
        self._handlers[name] = handler

    def get(self, name: str) -> Callable[..., Awaitable[Any]] | None:
        return self._handlers.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._handlers

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._handlers))

    def missing(self, name: str) -> FailureOutput:
        return failure(ENGINE_MISSING, f"no {self._what} is registered under `{name}`")


class EngineRegistry(HandlerRegistry):
    def __init__(self) -> None:
        super().__init__("process engine")


class ToolRegistry(HandlerRegistry):
    def __init__(self) -> None:
        super().__init__("tool")


def as_output(result: Any) -> ProcessOutput:
    """A handler may return a ready output or any JSON value (a success); an abandoned
    output is refused, as a failure of the run."""
    if isinstance(result, AbandonedOutput):
        return failure(PROCESS_FAILED, ABANDON_REFUSED)
    if isinstance(result, SuccessOutput | FailureOutput | CancelledOutput):
        return result
    return SuccessOutput(value=result)


async def dispatch(
    record: ProcessRecord,
    ctx: ProcessContext,
    engines: EngineRegistry,
    tools: ToolRegistry,
    session_runner: SessionTurnRunner | None,
) -> ProcessOutput:
    """Run the handler for `record`'s input. Exceptions propagate to the caller, which
    turns them into failures (and tells a cancellation apart from a crash)."""
    process_input = record.input
    if isinstance(process_input, Engine):
        handler = engines.get(process_input.kind)
        if handler is None:
            return engines.missing(process_input.kind)
        return as_output(await handler(ctx, process_input.payload))
    if isinstance(process_input, ToolCall):
        tool = tools.get(process_input.call.tool_name)
        if tool is None:
            return tools.missing(process_input.call.tool_name)
        return as_output(await tool(ctx, process_input.call.args))
    if isinstance(process_input, SessionTurn):
        if session_runner is None:
            return failure(
                SESSION_TURN_FAILED,
                f"process `{record.id}` is a session turn and this worker has no session runner",
            )
        return as_output(await session_runner(ctx, process_input))
    assert isinstance(process_input, External)
    return failure(
        EXTERNAL_NOT_EXECUTABLE,
        f"process `{record.id}` is externally-owned and has no execution runtime",
    )
