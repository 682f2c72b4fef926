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
    ErrorGroupKey,
    ErrorGroupQuery,
    ProcessPageQuery,
    ProcessState,
    failure,
)
from lashtui.registry import ProcessRegistry
from lashtui.registry.sql.row import UNDECODABLE_CODE, UNDECODABLE_WORDS
from tests.builders import ext
from tests.raw import raw_connection
from tests.registry.rows import park

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
