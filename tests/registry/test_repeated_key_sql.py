"""A record that names twice a key some reader reads in SQL is undecodable (lashtui/state.py
`repeated_key`): the models show its stand-in, a running (never waiting) externally owned
row with no abandon request. The SQL that counts, filters and groups rows must say the same
of it, not what SQLite's JSON functions read, which is the first of the two values.

On both stores: SQLite's SQL asks `repeated_key` itself (a registered function), and
PostgreSQL's asks `lashtui_repeated_key`, the same rule over the record read as `json`
(sql/repeated.py); without it PostgreSQL's SQL read jsonb's last value.
"""

from __future__ import annotations

import json

import pytest

from lashtui.clock import ManualClock
from lashtui.core_event_types import CORE_EVENT_TYPES_JSON
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
from lashtui.registry import ProcessRegistry, open_registry
from lashtui.registry.sql.decoded_row import UNDECODABLE_CODE, UNDECODABLE_WORDS
from lashtui.registry.sql.dialect import POSTGRES, POSTGRES_TRY
from lashtui.registry.sql.repeated import REPEATED_KEY, repeated_key_of, repeated_sql
from tests.builders import ext, own
from tests.raw import raw_connection
from tests.registry.rows import claim, finish, park

# On PostgreSQL the text filter and the Health view's kinds still read jsonb's last value
# (README, untrusted registry content): these are SQLite's.
SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"])


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


@SQLITE_ONLY
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


@SQLITE_ONLY
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


# What the models say of record texts (repeated.py `repeated_key_of`), which PostgreSQL's
# function must say too: the cases above, each read key's place in the tree, escapes, the
# order two repeats come in, and texts that are not a JSON object at all.
CORE = f'"event_types":{CORE_EVENT_TYPES_JSON}'
CASES = [
    '{"disposition": "owner_bound", "wait": null, "disposition": "rerunnable"}',
    '{"wait": {"kind": "x"}, "wait": null}',
    '{"w\\u0061it": 1, "wait": 2}',
    '{"input": {"kind": "x", "kind": "y"}, "wait": {}}',
    '{"status": {"state": "failed", "await_output": {"code": "first", "code": "last"}}}',
    '{"status": {"await_output": {"evidence": {"writer": "a", "writer": "b"}}}}',
    '{"status": {"await_output": {"evidence": {"writer": "a"}, "evidence": 1}}}',
    '{"status": {"st\\u0061te": "running", "state": "failed"}}',
    '{"status": [{"state": 1, "state": 2}]}',
    '{"identity": {"kind": 1, "kind": 2}, "status": {"state": 1, "state": 2}}',
    '{"wait": 1, "identity": {"kind": 1, "kind": 2}, "wait": 2}',
    '{"first_started": {"owner": {"owner_id": "a", "owner_id": "b"}}}',
    '{"abandon_request": {"reason": "a", "reason": "b"}, "env_ref": 1}',
    '{"wake_target": {"session_id": "a", "session_id": "b"}}',
    '{"env_ref": 1, "disposition": 1, "disposition": 2, "env_ref": 3}',
    '{"id": "plain", "wait": {"kind": "x"}, "status": {"state": "running"}}',
    "[1, 2]", '"wait"', "null", "", "not json", '{"wait": ', '{"x\\u0000": 1}',
    '{"wait": 1, "wait": 1e1000000}', "[" * 100_000 + "]" * 100_000,
    # The core event types as lashtui writes them, which PostgreSQL's text test cuts out
    # first (repeated.py `_may_repeat_on_postgres`): first, last, alone, nested, twice.
    f'{{{CORE},"wait":1,"wait":2}}', f'{{"wait":1,{CORE},"wait":2}}',
    f'{{"status":{{"state":1,{CORE},"state":2}}}}', f'{{{CORE}}}', f'{{"x":{{{CORE}}}}}',
    f'{{{CORE},{CORE},"disposition":1}}', f'{{"disposition":1,{CORE},"env_ref":{{{CORE}}}}}',
]


async def test_postgres_answers_as_the_models_on_every_case(postgres_schema: str) -> None:
    """`lashtui_repeated_key` (which the open installs) returns the path the models name,
    or NULL, on each case; and `repeated_sql`, which tells most texts apart before asking
    it, agrees in the tolerant form. A text that is not JSON, or nests past the server's
    stack, is NULL, never an error (one untrusted row must not stop a reader)."""
    async with open_registry(postgres_schema):
        pass
    sql = POSTGRES_TRY._replace(repeated_key=True)
    with raw_connection(postgres_schema) as conn:
        conn.execute("CREATE TEMPORARY TABLE cases (n integer, record_json text)")
        for n, text in enumerate(CASES):
            conn.execute("INSERT INTO cases VALUES (?, ?)", (n, text))
        found = conn.execute(
            f"SELECT n, {REPEATED_KEY}(record_json), "
            f"{repeated_sql(sql, 'record_json')} FROM cases ORDER BY n"
        ).fetchall()
        # The plain cast (the normal path) on the texts jsonb reads: the cut of the core
        # event types must leave JSON (a refusal there fails the statement over).
        plain = POSTGRES._replace(repeated_key=True)
        read = [n for n in range(len(CASES)) if n < 16 or n >= len(CASES) - 7]
        as_plain = conn.execute(
            f"SELECT {repeated_sql(plain, 'record_json')} FROM cases "
            f"WHERE n IN ({', '.join(map(str, read))}) ORDER BY n"
        ).fetchall()
    models = [repeated_key_of(text.encode()) for text in CASES]
    assert [row[1] for row in found] == models
    assert [row[2] for row in found] == [path is not None for path in models]
    assert [row[0] for row in as_plain] == [models[n] is not None for n in read]
    assert models[:8] == [
        "disposition", "wait", "wait", None, "status.await_output.code",
        "status.await_output.evidence.writer", "status.await_output.evidence", "status.state",
    ]  # fmt: skip


async def test_a_postgres_registry_without_the_function_counts_by_the_last_value(
    postgres_schema: str, clock: ManualClock
) -> None:
    """A registry made before the function, opened read-only, asks nothing and fails
    nothing: the census counts the row by jsonb's last value, as before. A writable open
    adds the function, and the read-only handle's next open counts it as the models do."""
    async with open_registry(postgres_schema, clock=clock) as registry:
        await registry.register_process(ext("twice"))
        await park(registry, "twice", clock.now_ms())
    rewrite(
        postgres_schema, "twice", lambda t: twice(t, "disposition", "owner_bound", "rerunnable")
    )
    with raw_connection(postgres_schema) as conn:
        conn.execute(f"DROP FUNCTION {REPEATED_KEY}(text)")
    async with open_registry(postgres_schema, read_only=True) as reader:
        assert (await reader.process_census()).live == {"twice": "waiting"}
        assert (await reader.probe_facts(clock.now_ms(), 0)).unknown_state == 0
        assert (await reader.error_groups(ErrorGroupQuery())).groups == []
    async with open_registry(postgres_schema):
        pass
    async with open_registry(postgres_schema, read_only=True) as reader:
        assert (await reader.process_census()).live == {"twice": "running"}
        facts = await reader.probe_facts(clock.now_ms(), 0)
        assert (facts.unknown_state, facts.unknown_state_first) == (1, "twice")
