"""A record that names twice a key some reader reads in SQL is undecodable (lashtui/state.py
`repeated_key`): the models show its stand-in, a running (never waiting) externally owned
row with no abandon request. The SQL that counts, filters and groups rows must say the same
of it, not what SQLite's JSON functions read, which is the first of the two values.

SQLite only: on PostgreSQL the record is text too, and another program may store a repeat
there, but the SQL reads it through jsonb, which keeps the last value (as a plain parse of
it would); these SQL readers do not yet tell such a row apart there (see README).
"""

from __future__ import annotations

import json

import pytest

from lashtui.clock import ManualClock
from lashtui.model import (
    MINUTE_MS,
    ErrorGroupKey,
    ErrorGroupQuery,
    ProcessIdentity,
    ProcessPageQuery,
    ProcessStarted,
    ProcessState,
    failure,
)
from lashtui.registry import ProcessRegistry
from lashtui.registry.sql.row import UNDECODABLE_CODE, UNDECODABLE_WORDS
from tests.builders import ext, own
from tests.raw import raw_connection
from tests.registry.rows import claim, finish, park

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])


def twice(text: str, key: str, first: str, last: str) -> str:
    """`text` (a record's JSON) naming the top-level `key` twice: `first`, then `last`."""
    record = json.loads(text)
    del record[key]
    body = json.dumps({key: first, **record})[:-1]
    return f'{body}, "{key}": "{last}"}}'


def rewrite(target: str, pid: str, change: object) -> None:
    with raw_connection(target) as conn:
        (text,) = conn.execute(
            "SELECT record_json FROM processes WHERE process_id = ?", (pid,)
        ).fetchone()
        conn.execute(
            "UPDATE processes SET record_json = ? WHERE process_id = ?",
            (change(text), pid),  # type: ignore[operator]
        )


async def test_a_waiting_row_that_repeats_a_read_key_counts_and_filters_as_running(
    registry: ProcessRegistry, registry_target: str, clock: ManualClock
) -> None:
    """Parked on a wait, its record names `disposition` twice: the models show the running
    stand-in (it does not decode), while the census counted it waiting and `--waiting`
    listed it (shown running), `--not-waiting` left it out. A waiting row whose record
    repeats a key no reader reads in SQL (inside the input) still waits."""
    for pid in ("twice", "input", "plain"):
        await registry.register_process(ext(pid))
        await park(registry, pid, clock.now_ms())
    rewrite(
        registry_target, "twice", lambda t: twice(t, "disposition", "owner_bound", "rerunnable")
    )
    rewrite(
        registry_target, "input",
        lambda t: t.replace('"input": {', '"input": {"kind": "x", "kind": "y", ', 1)
        .replace('"input":{', '"input":{"kind":"x","kind":"y",', 1),
    )  # fmt: skip
    record = await registry.get_process("twice")
    assert record is not None and record.undecodable is not None
    assert "`disposition` twice" in record.undecodable
    assert record.wait is None
    assert (await registry.get_process("input")).undecodable is None  # type: ignore[union-attr]

    census = await registry.process_census()
    assert census.live == {"twice": "running", "input": "waiting", "plain": "waiting"}
    waiting = await registry.page_processes(
        ProcessPageQuery(states=frozenset({ProcessState.WAITING}))
    )
    assert [r.id for r in waiting] == ["input", "plain"]
    running = await registry.page_processes(
        ProcessPageQuery(states=frozenset({ProcessState.RUNNING}))
    )
    assert [r.id for r in running] == ["twice"]


async def test_an_outcome_that_names_its_code_twice_is_undecodable_and_grouped_so(
    registry: ProcessRegistry, registry_target: str
) -> None:
    """The Errors view groups failed rows by the outcome's code and message, read in SQL
    (sql/error.py), and `show` reads them through the models: a failed row whose outcome
    names `code` twice was grouped under the first and shown with the last. It is now
    undecodable, named so, and grouped with the stand-ins' code and words; a failure
    beside it that names its code once groups as before."""
    for pid in ("twice", "once"):
        await registry.register_process(ext(pid))
        await registry.complete_process(pid, failure("first", "it broke"))
    rewrite(
        registry_target, "twice",
        lambda t: t.replace('"code": "first"', '"code": "first", "code": "last"')
        .replace('"code":"first"', '"code":"first","code":"last"'),
    )  # fmt: skip
    record = await registry.get_process("twice")
    assert record is not None and record.undecodable is not None
    assert "`status.await_output.code` twice" in record.undecodable

    summary = await registry.error_groups(ErrorGroupQuery())
    groups = {(g.code, g.message): g.count for g in summary.groups}
    assert groups == {("first", "it broke"): 1, (UNDECODABLE_CODE, UNDECODABLE_WORDS): 1}
    key = ErrorGroupKey(state=ProcessState.FAILED, code=UNDECODABLE_CODE, message=UNDECODABLE_WORDS)
    assert [r.id for r in await registry.error_group_rows(key, 1000)] == ["twice"]


def _identity_twice(key: str, first: str) -> object:
    """A change naming the identity's `key` twice: `first`, then the value it had."""

    def change(text: str) -> str:
        record = json.loads(text)
        identity = record.pop("identity")
        last = json.dumps(identity[key])
        rest = json.dumps({k: v for k, v in identity.items() if k != key})[1:-1]
        members = [f'"{key}": {json.dumps(first)}', rest, f'"{key}": {last}']
        spelled = "{" + ", ".join(filter(None, members)) + "}"
        body = json.dumps(record)[:-1]
        return f'{body}, "identity": {spelled}}}'

    return change


async def test_the_text_filter_does_not_match_a_label_the_row_does_not_show(
    registry: ProcessRegistry, registry_target: str
) -> None:
    """A record that names `identity.label` twice shows its stand-in's label (`undecodable:
    ...`), where the filter matched the first label SQLite read: `needle` found the row
    showing no needle. It is still found by its id; a row that repeats `disposition`
    shows the stand-in's label too, and is not found by its stored one either."""
    for pid in ("twice", "disposition", "plain"):
        label = ProcessIdentity(kind="external", label=f"{pid} label")
        await registry.register_process(ext(pid, identity=label))
    rewrite(registry_target, "twice", _identity_twice("label", "needle first"))
    rewrite(registry_target, "disposition", lambda t: twice(
        t.replace("disposition label", "needle disposition"), "disposition", "owner_bound",
        "externally_owned",
    ))  # fmt: skip
    rewrite(registry_target, "plain", lambda t: t.replace("plain label", "needle plain"))
    for pid in ("twice", "disposition"):
        record = await registry.get_process(pid)
        assert record is not None and record.undecodable is not None
        assert "needle" not in record.identity.label  # type: ignore[operator]

    for order in ("id", "label", "age"):
        found = await registry.page_processes(ProcessPageQuery(text="needle", order=order))
        assert [r.id for r in found] == ["plain"], order
    found = await registry.page_processes(ProcessPageQuery(text="TWI"))
    assert [r.id for r in found] == ["twice"]


async def test_the_health_view_counts_a_run_that_repeats_its_kind_as_shown(
    registry: ProcessRegistry, registry_target: str, clock: ManualClock
) -> None:
    """The Health view's run durations are grouped by kind, read in SQL (sql/activity.py):
    a record that names `identity.kind` twice was counted under the first kind, while the
    row is shown as its stand-in, of kind `undecodable` and never started."""
    first = clock.now_ms() // MINUTE_MS
    for pid in ("twice", "plain"):
        await registry.register_process(ext(pid))
        started = ProcessStarted(owner=own("worker"), started_at_ms=clock.now_ms() + 1_000)
        await registry.record_first_started(pid, started, await claim(registry, pid))
    clock.advance(5_000)
    for pid in ("twice", "plain"):
        await finish(registry, pid)
    rewrite(registry_target, "twice", _identity_twice("kind", "first-kind"))
    record = await registry.get_process("twice")
    assert record is not None and record.identity.kind == "undecodable"

    activity = await registry.process_activity(first, first + 1, 1_000)
    assert [(d.kind, d.runs, d.p50_ms) for d in activity.durations] == [
        ("external", 1, 4_000), ("undecodable", 1, 5_000),
    ]  # fmt: skip
