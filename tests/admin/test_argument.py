"""A facade argument of the wrong type is refused in one sentence naming the parameter and
the value (api.md §2; lashtui.admin.argument), before anything is read or written, on
either store: not a TypeError from deep inside, a pydantic report, a PostgreSQL error quoting
SQL, or a quiet wrong answer."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from lashtui.admin import Processes
from lashtui.clock import ManualClock
from lashtui.errors import InvalidRequest, LashError
from lashtui.model import (
    ProcessListFilter,
    ProcessPageQuery,
    ProcessStartRequest,
    SessionScope,
)
from lashtui.registry import ProcessRegistry, open_registry
from lashtui.worker import ProcessWorker

S1 = SessionScope(session_id="s1")
S2 = SessionScope(session_id="s2")

Call = Callable[[Any], Any]

CALLS: list[tuple[str, Call, str]] = [
    (
        "abandon-by-none",
        lambda p: p.request_abandon("p", None),
        "`requested_by` of Processes.request_abandon must be a str, got NoneType `None`",
    ),
    (
        "abandon-reason-int",
        lambda p: p.request_abandon("p", "me", 5),
        "`reason` of Processes.request_abandon must be a str or None, got int `5`",
    ),
    (
        "cancel-reason-int",
        lambda p: p.cancel("p", reason=123),
        "`reason` of Processes.cancel must be a str, got int `123`",
    ),
    (
        "signal-id-int",
        lambda p: p.signal("p", "go", 7, {}),
        "`signal_id` of Processes.signal must be a str, got int `7`",
    ),
    (
        "prune-text",
        lambda p: p.prune("yesterday"),
        "`cutoff_epoch_ms` of Processes.prune must be an int, got str `'yesterday'`",
    ),
    (
        "prune-bool",
        lambda p: p.prune(True),
        "`cutoff_epoch_ms` of Processes.prune must be an int, got bool `True`",
    ),
    (
        "await-timeout-text",
        lambda p: p.await_output("p", timeout="1"),
        "`timeout` of Processes.await_output must be a float or None, got str `'1'`",
    ),
    (
        "list-dict",
        lambda p: p.list({"status": "any"}),
        "`filter` of Processes.list must be a ProcessListFilter or None, "
        "got dict `{'status': 'any'}`",
    ),
    (
        "granted-to-text",
        lambda p: p.list_granted_to("session:s1"),
        "`scope` of Processes.list_granted_to must be a SessionScope, got str `'session:s1'`",
    ),
    (
        "transfer-scopes-text",
        lambda p: p.transfer("a", "b", ["p"]),
        "`from_scope` of Processes.transfer must be a SessionScope, got str `'a'`",
    ),
    (
        "transfer-one-id-text",
        lambda p: p.transfer(S1, S2, "g0"),
        "`process_ids` of Processes.transfer must be a list of str, got str `'g0'`",
    ),
    (
        "events-after-text",
        lambda p: p.events("p", "x"),
        "`after_sequence` of Processes.events must be an int, got str `'x'`",
    ),
    (
        "changes-cursor-text",
        lambda p: p.changes_since("a", 10),
        "`cursor` of Processes.changes_since must be an int, got str `'a'`",
    ),
    (
        "get-int",
        lambda p: p.get(5),
        "`process_id` of Processes.get must be a str, got int `5`",
    ),
    (
        "start-dict",
        lambda p: p.start({"id": "p"}),
        "`request` of Processes.start must be a ProcessStartRequest, got dict `{'id': 'p'}`",
    ),
    (
        "event-pages-int",
        lambda p: p.event_pages(5),
        "`process_id` of Processes.event_pages must be a str, got int `5`",
    ),
]


@pytest.mark.parametrize(("call", "sentence"), [c[1:] for c in CALLS], ids=[c[0] for c in CALLS])
async def test_a_wrong_typed_argument_is_one_sentence_naming_it(
    processes: Processes, call: Call, sentence: str
) -> None:
    with pytest.raises(InvalidRequest, match=f"^{re.escape(sentence)}$"):
        made = call(processes)
        if isinstance(made, Awaitable):
            await made
        else:  # an async generator: refused when called
            await anext(made)


async def test_arguments_of_the_right_type_pass(processes: Processes) -> None:
    # An int where a float is hinted, None for an optional one, keywords as positionals.
    await processes.start(ProcessStartRequest.external("p", {"label": "p"}))
    assert await processes.get(process_id="p") is not None
    assert await processes.list(None) != []
    assert await processes.list_granted_to(S1, ProcessListFilter()) == []
    assert await processes.page(ProcessPageQuery(limit=5)) != []
    with pytest.raises(LashError, match="did not finish within 0s"):
        await processes.await_output("p", timeout=0)


def test_a_list_filter_built_in_python_is_refused_in_lashs_sentence() -> None:
    # Where ProcessPageQuery(order="bogus") already said one sentence, this gave pydantic's.
    with pytest.raises(InvalidRequest, match=re.escape("status must be `running`, `comp")):
        ProcessListFilter(status="bogus")  # type: ignore[arg-type]
    with pytest.raises(InvalidRequest, match="`waiting` filter must be a boolean"):
        ProcessListFilter(waiting="yes")  # type: ignore[arg-type]
    assert ProcessListFilter(status="any", waiting=None).waiting is None  # type: ignore[arg-type]


async def test_the_facade_refuses_what_it_is_built_with(
    registry: ProcessRegistry, clock: ManualClock, tmp_path: Path
) -> None:
    with pytest.raises(InvalidRequest, match=re.escape(
        "`registry` of Processes must be a ProcessRegistry (what open_registry yields), "
        "got str `'registry.db'`"
    )):
        Processes("registry.db")  # type: ignore[arg-type]
    with pytest.raises(InvalidRequest, match=re.escape(
        "`worker` of Processes must be a ProcessWorker or None, got str `'w'`"
    )):
        Processes(registry, worker="w")  # type: ignore[arg-type]
    # A worker made on another registry: the facade acted on the worker's, silently.
    async with open_registry(str(tmp_path / "other.db"), clock=clock) as other:
        with pytest.raises(InvalidRequest, match=re.escape(
            "`worker` of Processes was made on another registry than `registry`"
        )):
            Processes(registry, worker=ProcessWorker(other, clock=clock), clock=clock)
    # The worker's own registry, given plain or as the worker holds it, is the same one.
    worker = ProcessWorker(registry, clock=clock)
    assert Processes(registry, worker=worker).registry is worker.registry
    assert Processes(worker.registry, worker=worker).registry is worker.registry


@pytest.mark.parametrize("requested_by", ["", " ", "\t\n"])
async def test_a_blank_requester_is_refused_before_anything_is_written(
    processes: Processes, requested_by: str
) -> None:
    """`request_abandon(pid, "")` recorded an abandon request by no one: the first request
    stands (scenario 53), so no later one could name who asked. Lash has no sentence for
    it (semantics §15); this one names the value, and nothing is written."""
    await processes.start(ProcessStartRequest.external("p", {"label": "p"}))
    cursor = await processes.registry.change_cursor()
    sentence = (
        "`requested_by` of Processes.request_abandon must be a str naming who asks (such as "
        f"`session:<id>` or `operator:dana`), got str `{requested_by!r}`"
    )
    with pytest.raises(InvalidRequest, match=f"^{re.escape(sentence)}$"):
        await processes.request_abandon("p", requested_by, "host retired")

    assert await processes.registry.change_cursor() == cursor
    observed = await processes.get("p")
    assert observed is not None and observed.abandon_request is None
    # The requesters the session view, the command line and the dashboard pass still go.
    asked = await processes.request_abandon("p", "operator:dana", "host retired")
    assert asked.abandon_request is not None
    assert asked.abandon_request.requested_by == "operator:dana"


async def test_a_negative_await_timeout_is_refused(processes: Processes) -> None:
    # Taken, it ended the wait at once with "did not finish within -1s" for a process that
    # had not been waited for at all; the command line refuses `--timeout -1` itself.
    await processes.start(ProcessStartRequest.external("p", {"label": "p"}))
    sentence = "`timeout` of Processes.await_output must be zero or more seconds, got `-1`"
    with pytest.raises(InvalidRequest, match=f"^{re.escape(sentence)}$"):
        await processes.await_output("p", timeout=-1)
    with pytest.raises(LashError, match="did not finish within 0s"):
        await processes.await_output("p", timeout=0)  # zero still means "now or not at all"
