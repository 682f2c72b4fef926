"""What a program builds the worker with is refused at the call, in one sentence naming the
parameter and the value (api.md §2; lashtui.worker.argument): not an AttributeError from the
first use, nor a mistake found only when a process runs, which wrote that process failed."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import JsonValue

from lashtui.clock import ManualClock
from lashtui.errors import InvalidRequest
from lashtui.registry import ProcessRegistry, open_registry
from lashtui.worker import ProcessContext, ProcessWorker
from tests.worker.support import TIMINGS, register, terminal, worker_owner

Make = Callable[[ProcessRegistry], Any]


async def noop(ctx: ProcessContext, payload: JsonValue) -> None:
    return None


CALLS: list[tuple[str, Make, str]] = [
    (
        "registry-path",
        lambda r: ProcessWorker("registry.db"),  # type: ignore[arg-type]
        "`registry` of ProcessWorker must be a ProcessRegistry (what open_registry yields), "
        "got str `'registry.db'`",
    ),
    (
        "timings-dict",
        lambda r: ProcessWorker(r, timings={"ttl_ms": 3}),  # type: ignore[arg-type]
        "`timings` of ProcessWorker must be a LeaseTimings or None, got dict `{'ttl_ms': 3}`",
    ),
    (
        "owner-str",
        lambda r: ProcessWorker(r, owner="me"),  # type: ignore[arg-type]
        "`owner` of ProcessWorker must be a LeaseOwnerIdentity or None, got str `'me'`",
    ),
    (
        "clock-int",
        lambda r: ProcessWorker(r, clock=5),  # type: ignore[arg-type]
        "`clock` of ProcessWorker must be a Clock (with now_ms()) or None, got int `5`",
    ),
    (
        "grace-negative",
        lambda r: ProcessWorker(r, stop_grace_s=-1),
        "`stop_grace_s` of ProcessWorker must be a finite number of seconds, zero or more, "
        "got int `-1`",
    ),
    (
        "grace-nan",
        lambda r: ProcessWorker(r, stop_grace_s=float("nan")),
        "`stop_grace_s` of ProcessWorker must be a finite number of seconds, zero or more, "
        "got float `nan`",
    ),
    (
        "session-runner-str",
        lambda r: ProcessWorker(r, session_runner="run"),  # type: ignore[arg-type]
        "`session_runner` of ProcessWorker must be an async callable or None, got str `'run'`",
    ),
    (
        "engine-handler-int",
        lambda r: ProcessWorker(r).engines.register("echo", 5),  # type: ignore[arg-type]
        "`handler` of EngineRegistry.register must be an async callable, got int `5`",
    ),
    (
        "engine-name-int",
        lambda r: ProcessWorker(r).engines.register(5, noop),  # type: ignore[arg-type]
        "`name` of EngineRegistry.register must be a non-empty str, got int `5`",
    ),
    (
        "tool-name-empty",
        lambda r: ProcessWorker(r).tools.register("", noop),
        "`name` of ToolRegistry.register must be a non-empty str, got str `''`",
    ),
]


@pytest.mark.parametrize(("make", "sentence"), [c[1:] for c in CALLS], ids=[c[0] for c in CALLS])
def test_a_wrong_argument_is_one_sentence_naming_it(
    registry: ProcessRegistry, make: Make, sentence: str
) -> None:
    with pytest.raises(InvalidRequest, match=f"^{re.escape(sentence)}$"):
        make(registry)


async def test_a_refused_handler_leaves_the_kind_unregistered_and_its_rows_unharmed(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    # Taken, the int was the `echo` handler, and every `echo` row ran it and was written
    # failed for good ("'int' object is not callable"). Refused, the program can register
    # the right one, and the row runs it.
    worker = ProcessWorker(registry, owner=worker_owner(), timings=TIMINGS, clock=clock)
    try:
        with pytest.raises(InvalidRequest):
            worker.engines.register("echo", 5)  # type: ignore[arg-type]
        assert "echo" not in worker.engines

        async def echo(ctx: ProcessContext, payload: JsonValue) -> JsonValue:
            return payload

        worker.engines.register("echo", echo)
        await register(registry, payload="hi")
        await worker.drive_pending_processes()
        assert (await terminal(worker, "p")).model_dump(mode="json") == {
            "type": "success", "value": "hi"
        }
    finally:
        await worker.stop()


def test_right_arguments_pass(registry: ProcessRegistry, clock: ManualClock) -> None:
    # An int of seconds, zero grace, None where optional, a plain function (it returns an
    # awaitable) as a handler.
    worker = ProcessWorker(registry, clock=clock, stop_grace_s=0, owner=None, timings=None)
    worker.engines.register("echo", lambda ctx, payload: ctx.sleep(0))
    assert worker.stop_grace_s == 0.0


async def test_a_worker_is_not_made_on_a_read_only_registry(
    registry: ProcessRegistry, registry_target: str
) -> None:
    # Taken, it logged "claiming a batch of rows failed: ... is open read-only" at every
    # drive of its `running()`, and ran nothing.
    async with open_registry(registry_target, read_only=True) as read_only:
        with pytest.raises(InvalidRequest, match=re.escape(
            "`registry` of ProcessWorker is open read-only, and a worker writes (claims, "
            "leases, terminals): open it without read_only"
        )):
            ProcessWorker(read_only)
