"""The built-in `steps` engine: real, observable work described as JSON, so the dashboard
and the tests have processes to watch without writing Python (api.md §5).

    {"steps": [{"sleep_ms": 200},
               {"emit": {"type": "producer.line", "payload": {"line": "hi"}}},
               {"wait_signal": "approve"},
               {"loop": 3, "steps": [...]},
               {"finish": "done"}  |  {"fail": {"code": "c", "message": "m"}}]}

`finish` ends the run with its value; steps that run out end it with the payload of the last
signal received (or null), so `[{"wait_signal": "approve"}]` finishes with the approval.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import JsonValue

from lashtui.errors import InvalidRequest
from lashtui.model import ProcessEventType, failure
from lashtui.worker.context import ProcessContext
from lashtui.worker.engine import ProcessOutput, as_output

STEP_KINDS = ("sleep_ms", "wait_signal", "emit", "finish", "fail", "loop")


class _Finished(Exception):
    def __init__(self, output: ProcessOutput) -> None:
        super().__init__()
        self.output = output


def _step_kind(step: Any) -> str:
    if not isinstance(step, dict):
        raise InvalidRequest(f"a step is a JSON object, got `{step!r}`")
    kinds = [key for key in step if key in STEP_KINDS]
    if len(kinds) != 1:
        raise InvalidRequest(f"a step has exactly one of {', '.join(STEP_KINDS)}, got `{step}`")
    return str(kinds[0])


def _walk(steps: Any) -> Iterator[dict[str, Any]]:
    """Every step of a steps list, loops included, in order."""
    for step in steps if isinstance(steps, list) else []:
        if isinstance(step, dict):
            yield step
            yield from _walk(step.get("steps"))


def _top(payload: JsonValue) -> Any:
    return payload.get("steps") if isinstance(payload, dict) else None


def signal_names(payload: JsonValue) -> list[str]:
    """Every signal a steps payload waits on, in first-use order."""
    waits = (step.get("wait_signal") for step in _walk(_top(payload)))
    return list(dict.fromkeys(name for name in waits if isinstance(name, str)))


def declared_event_types(payload: JsonValue) -> list[ProcessEventType]:
    """The event types a steps payload needs declared: `signal.<name>` for each wait and
    each emitted type, any payload. Core types are added by registration."""
    emits = (step.get("emit") for step in _walk(_top(payload)))
    emitted = [e["type"] for e in emits if isinstance(e, dict) and isinstance(e.get("type"), str)]
    names = [f"signal.{name}" for name in signal_names(payload)] + emitted
    return [ProcessEventType.plain(name) for name in dict.fromkeys(names)]


async def _run_steps(ctx: ProcessContext, steps: Any, last: list[JsonValue]) -> None:
    if not isinstance(steps, list):
        raise InvalidRequest(f"`steps` is a list of steps, got `{steps!r}`")
    for step in steps:
        kind = _step_kind(step)
        value = step[kind]
        if kind == "sleep_ms":
            await ctx.sleep(float(value) / 1000)
        elif kind == "wait_signal":
            last[0] = await ctx.wait_signal(str(value))
        elif kind == "emit":
            await ctx.append_event(value["type"], value.get("payload"))
        elif kind == "finish":
            raise _Finished(as_output(value))
        elif kind == "fail":
            code = str(value.get("code", "steps_failed"))
            raise _Finished(failure(code, str(value.get("message", "the steps failed"))))
        else:  # loop
            for _ in range(int(value)):
                await _run_steps(ctx, step.get("steps", []), last)


async def steps_engine(ctx: ProcessContext, payload: JsonValue) -> ProcessOutput:
    if not isinstance(payload, dict) or "steps" not in payload:
        raise InvalidRequest('the steps engine takes {"steps": [...]}')
    last: list[JsonValue] = [None]
    try:
        await _run_steps(ctx, payload["steps"], last)
    except _Finished as finished:
        return finished.output
    return as_output(last[0])
