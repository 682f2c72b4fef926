"""The built-in `steps` engine: real, observable work described as JSON, so the dashboard
and the tests have processes to watch without writing Python (api.md §5).

    {"steps": [{"sleep_ms": 200},
               {"emit": {"type": "producer.line", "payload": {"line": "hi"}}},
               {"wait_signal": "approve"},
               {"loop": 3, "steps": [...]},
               {"finish": "done"}  |  {"fail": {"code": "c", "message": "m"}}]}

`finish` ends the run with its value; steps that run out end it with the payload of the last
signal received (or null), so `[{"wait_signal": "approve"}]` finishes with the approval.

`parse_plan` is the one reading of a plan: the facade and the command line call it before a
`steps` process is started (a plan that is not one is refused in one sentence naming the
step), and the engine runs what it returns (a row some other program stored with a bad plan
fails its run with the same sentence).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from pydantic import JsonValue

from lashtui.errors import InvalidRequest
from lashtui.model import ProcessEventType, failure, validate_process_signal_name
from lashtui.worker.context import ProcessContext
from lashtui.worker.engine import ProcessOutput, as_output

STEP_KINDS = ("sleep_ms", "wait_signal", "emit", "finish", "fail", "loop")
# Loops nest at most this deep: the engine runs a plan by recursion, and a plan is data a
# caller typed, so its depth is bounded where it enters, far below Python's recursion limit.
LOOP_DEPTH_MAX = 32
PLAN_HINT = 'a steps plan is {"steps": [...]}'


class _Finished(Exception):
    def __init__(self, output: ProcessOutput) -> None:
        super().__init__()
        self.output = output


@dataclass(frozen=True)
class Step:
    """One step of a parsed plan: its kind, its value, and a loop's body."""

    kind: str
    value: Any
    body: tuple[Step, ...] = ()


def _where(path: str) -> str:
    return f"step {path}" if path else "the plan"


def _shown(value: Any) -> str:
    """A value as the JSON it came from (`"2"` is not `2`), cut to 80 characters."""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:79] + "…"


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _parse_step(step: Any, path: str, depth: int) -> Step:
    where = _where(path)
    if not isinstance(step, dict):
        raise InvalidRequest(f"{where} is not a JSON object with one of {', '.join(STEP_KINDS)}")
    kinds = [key for key in step if key in STEP_KINDS]
    if not kinds:
        keys = ", ".join(f"`{key}`" for key in step) or "no key"
        raise InvalidRequest(f"{where} has {keys}, not one of {', '.join(STEP_KINDS)}")
    if len(kinds) > 1:
        raise InvalidRequest(f"{where} has {' and '.join(kinds)}; a step has exactly one")
    kind = kinds[0]
    allowed = {kind, "steps"} if kind == "loop" else {kind}
    extra = sorted(set(step) - allowed)
    if extra:
        raise InvalidRequest(f"{where} ({kind}) has unknown key `{extra[0]}`")
    value = step[kind]
    if kind == "sleep_ms" and not (_number(value) and math.isfinite(value) and value >= 0):
        raise InvalidRequest(
            f"{where}: sleep_ms is a number of milliseconds >= 0, got `{_shown(value)}`"
        )
    if kind == "wait_signal":
        validate_process_signal_name(value)
    if kind == "emit" and not (
        isinstance(value, dict)
        and isinstance(value.get("type"), str)
        and value["type"]
        and set(value) <= {"type", "payload"}
    ):
        raise InvalidRequest(f'{where}: emit is {{"type": "name", "payload": value}}')
    if kind == "fail" and not (
        isinstance(value, dict)
        and set(value) <= {"code", "message"}
        and all(isinstance(v, str) for v in value.values())
    ):
        raise InvalidRequest(f'{where}: fail is {{"code": "text", "message": "text"}}')
    if kind == "loop":
        if not (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
            raise InvalidRequest(
                f"{where}: loop is a whole number of rounds >= 0, got `{_shown(value)}`"
            )
        if depth >= LOOP_DEPTH_MAX:
            raise InvalidRequest(f"{where}: loops nest at most {LOOP_DEPTH_MAX} deep")
        return Step(kind, value, _parse_steps(step.get("steps", []), path, depth + 1))
    return Step(kind, value)


def _parse_steps(steps: Any, path: str, depth: int) -> tuple[Step, ...]:
    if not isinstance(steps, list):
        raise InvalidRequest(f"`steps` of {_where(path)} is a list of steps, got `{_shown(steps)}`")
    prefix = f"{path}." if path else ""
    return tuple(_parse_step(step, f"{prefix}{i + 1}", depth) for i, step in enumerate(steps))


def parse_plan(payload: JsonValue) -> tuple[Step, ...]:
    """A steps payload as the engine will run it, or an `InvalidRequest` naming the first
    step that is not a step (steps are numbered from 1, `2.1` is the first step of step 2's
    loop): a plan that cannot run is refused when it is started, not when it runs."""
    if not isinstance(payload, dict) or "steps" not in payload:
        raise InvalidRequest(f"{PLAN_HINT}, got `{_shown(payload)}`")
    if set(payload) != {"steps"}:
        other = sorted(set(payload) - {"steps"})[0]
        raise InvalidRequest(f"{PLAN_HINT} with no other key, got key `{other}`")
    return _parse_steps(payload["steps"], "", 0)


def _walk(steps: tuple[Step, ...]) -> list[Step]:
    """Every step of a plan, loops included, in order."""
    return [s for step in steps for s in (step, *_walk(step.body))]


def _plan_or_empty(payload: JsonValue) -> tuple[Step, ...]:
    try:
        return parse_plan(payload)
    except InvalidRequest:
        return ()


def signal_names(payload: JsonValue) -> list[str]:
    """Every signal a steps payload waits on, in first-use order."""
    waits = (s.value for s in _walk(_plan_or_empty(payload)) if s.kind == "wait_signal")
    return list(dict.fromkeys(waits))


def declared_event_types(payload: JsonValue) -> list[ProcessEventType]:
    """The event types a steps payload needs declared: `signal.<name>` for each wait and
    each emitted type, any payload. Core types are added by registration."""
    emitted = [s.value["type"] for s in _walk(_plan_or_empty(payload)) if s.kind == "emit"]
    names = [f"signal.{name}" for name in signal_names(payload)] + emitted
    return [ProcessEventType.plain(name) for name in dict.fromkeys(names)]


async def _run_steps(ctx: ProcessContext, steps: tuple[Step, ...], last: list[JsonValue]) -> None:
    for step in steps:
        value = step.value
        if step.kind == "sleep_ms":
            await ctx.sleep(float(value) / 1000)
        elif step.kind == "wait_signal":
            last[0] = await ctx.wait_signal(str(value))
        elif step.kind == "emit":
            await ctx.append_event(value["type"], value.get("payload"))
        elif step.kind == "finish":
            raise _Finished(as_output(value))
        elif step.kind == "fail":
            code = str(value.get("code", "steps_failed"))
            raise _Finished(failure(code, str(value.get("message", "the steps failed"))))
        else:  # loop
            for _ in range(value):
                await _run_steps(ctx, step.body, last)


async def steps_engine(ctx: ProcessContext, payload: JsonValue) -> ProcessOutput:
    plan = parse_plan(payload)
    last: list[JsonValue] = [None]
    try:
        await _run_steps(ctx, plan, last)
    except _Finished as finished:
        return finished.output
    return as_output(last[0])
