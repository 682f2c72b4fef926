"""The steps engine's one reading of a plan (`parse_plan`): what `start` checks and what the
engine runs, so a plan is refused at start for the same reason it would fail its run."""

from __future__ import annotations

import pytest
from pydantic import JsonValue

from lashtui.errors import InvalidRequest
from lashtui.model import FailureOutput
from lashtui.registry import ProcessRegistry
from lashtui.worker import ProcessWorker, declared_event_types, signal_names
from lashtui.worker.steps import LOOP_DEPTH_MAX, parse_plan
from tests.worker.support import terminal
from tests.worker.test_signals import start_steps

GOOD: JsonValue = {
    "steps": [
        {"sleep_ms": 1.5},
        {"emit": {"type": "job.note", "payload": {"n": 1}}},
        {"loop": 2, "steps": [{"wait_signal": "approve"}, {"emit": {"type": "job.tick"}}]},
        {"fail": {"code": "c", "message": "m"}},
        {"finish": None},
    ]
}


def test_a_plan_parses_into_the_steps_the_engine_runs() -> None:
    plan = parse_plan(GOOD)
    assert [step.kind for step in plan] == ["sleep_ms", "emit", "loop", "fail", "finish"]
    assert [step.kind for step in plan[2].body] == ["wait_signal", "emit"]
    assert signal_names(GOOD) == ["approve"]
    assert [t.name for t in declared_event_types(GOOD)] == [
        "signal.approve",
        "job.note",
        "job.tick",
    ]


@pytest.mark.parametrize(
    ("payload", "sentence"),
    [
        (None, 'a steps plan is {"steps": [...]}, got `null`'),
        ({"steps": [], "x": 1}, 'a steps plan is {"steps": [...]} with no other key, got key `x`'),
        ({"steps": [1]}, "step 1 is not a JSON object with one of sleep_ms, wait_signal, emit, "
         "finish, fail, loop"),
        ({"steps": [{"sleep_ms": 1, "note": 2}]}, "step 1 (sleep_ms) has unknown key `note`"),
        ({"steps": [{"sleep_ms": float("inf")}]}, "step 1: sleep_ms is a number of "
         "milliseconds >= 0, got `Infinity`"),
        ({"steps": [{"sleep_ms": True}]}, "step 1: sleep_ms is a number of milliseconds >= 0, "
         "got `true`"),
        ({"steps": [{"fail": {"code": 3}}]}, 'step 1: fail is {"code": "text", "message": "text"}'),
        ({"steps": [{"loop": 1, "steps": [{"finish": 1}, {"loop": "2"}]}]},
         "step 1.2: loop is a whole number of rounds >= 0, got `\"2\"`"),
    ],
)  # fmt: skip
def test_a_bad_plan_is_one_sentence_naming_the_step(payload: JsonValue, sentence: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        parse_plan(payload)
    assert str(refused.value) == sentence


def test_loops_nest_at_most_the_limit() -> None:
    plan: JsonValue = {"finish": 1}
    for _ in range(LOOP_DEPTH_MAX):
        plan = {"loop": 1, "steps": [plan]}
    parse_plan({"steps": [plan]})
    with pytest.raises(InvalidRequest, match=f"loops nest at most {LOOP_DEPTH_MAX} deep"):
        parse_plan({"steps": [{"loop": 1, "steps": [plan]}]})


async def test_a_stored_bad_plan_fails_its_run_with_the_same_sentence(
    registry: ProcessRegistry, worker: ProcessWorker
) -> None:
    # Registered below the facade (as another program would), so nothing checked it.
    await start_steps(registry, worker, [{"sleep_ms": -1}])
    output = await terminal(worker, "p")
    assert isinstance(output, FailureOutput)
    assert output.message == "step 1: sleep_ms is a number of milliseconds >= 0, got `-1`"
