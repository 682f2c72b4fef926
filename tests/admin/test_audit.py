"""Issue 17 item 8: every change an operator makes through `Processes.actions` is recorded
(who, when, what, the result) in lashtui's audit table (a refused or unchanged target wrote
nothing and is not recorded), which outlives a prune; the event
log's own operator events (cancel requests, re-run links) are a second, labelled source;
both read newest first by keyset pages, filtered by operator, action and process id text.
A registry without the table (as lash writes it) reads as "nothing recorded", and the first
action recorded creates the table. Both backends."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from lashtui.admin import Processes
from lashtui.clock import ManualClock
from lashtui.errors import InvalidRequest
from lashtui.model import FailureOutput, SessionScope, ToolFailureClass
from lashtui.model.audit import AuditPage, AuditQuery
from lashtui.model.outcome import cutoff_text
from lashtui.registry import open_registry
from lashtui.registry.sql import audit as audit_sql
from tests.admin.test_processes import external, steps
from tests.raw import raw_connection

S1 = SessionScope(session_id="s1")
S2 = SessionScope(session_id="s2")


async def audit(processes: Processes, **query: object) -> AuditPage:
    return await processes.registry.operator_actions(AuditQuery.model_validate(query))


def rows(page: AuditPage) -> list[tuple[object, ...]]:
    return [(e.operator, e.action, e.process_id, e.outcome) for e in page.entries]


async def ended(processes: Processes, pid: str) -> None:
    await processes.start(external(pid, grant=S1))
    output = FailureOutput(class_=ToolFailureClass.INTERNAL, code="boom", message="broke")
    await processes.registry.complete_process(pid, output)


async def test_every_action_is_recorded_with_who_what_and_the_result(
    processes: Processes, clock: ManualClock
) -> None:
    await processes.start(external("run"))
    await ended(processes, "old")
    act = processes.actions
    await act.cancel("run", "stale", operator="ann")
    await act.cancel("run", "again", operator="ann")  # unchanged: not recorded
    clock.advance(1000)
    await act.signal("run", "go", "sig-1", {"x": 1}, operator="bob")  # refused: undeclared
    await processes.start(steps("sig", [{"wait_signal": "go"}], "go"))  # no worker runs it
    await act.signal("sig", "go", "sig-1", "now", operator="bob")
    await act.request_abandon("run", "cy", "host gone")
    await act.transfer(S1, S2, ["old"], operator="dee")
    await act.rerun("old", operator="eve")
    await act.cancel("old", operator="ann")  # refused: it has ended
    await act.prune(0, operator="fay")  # nothing that old: unchanged, not recorded
    clock.advance(60_000)
    await act.prune(clock.now_ms(), operator="fay")
    page = await audit(processes)
    assert page.recorded and page.source == "recorded"
    assert rows(page) == [
        ("fay", "prune", None, "done"),
        ("eve", "rerun", "old", "done"),
        ("dee", "transfer", "old", "done"),
        ("cy", "abandon", "run", "requested"),
        ("bob", "signal", "sig", "done"),
        ("ann", "cancel", "run", "requested"),
    ]
    prune, rerun, transfer, abandon, signal, cancel = page.entries
    assert prune.detail == {
        "cutoff_epoch_ms": clock.now_ms(),
        "pruned_processes": 1,
        "pruned_events": 1,
    }
    cutoff = cutoff_text(clock.now_ms())
    assert prune.sentence == f"pruned 1 terminal process and 1 event last changed before {cutoff}"
    assert rerun.detail == {"rerun_as": "old~rerun-1"}
    assert transfer.detail == {"from": "session:s1", "to": "session:s2"}
    assert signal.detail == {"signal": "go", "signal_id": "sig-1"}
    assert signal.sentence.startswith("signal.go stored as event 1")
    assert abandon.detail == {"reason": "host gone"}
    assert prune.at_ms is not None
    assert cancel.detail == {"reason": "stale"} and cancel.at_ms == prune.at_ms - 61_000
    assert [e.id for e in page.entries] == sorted((e.id for e in page.entries), key=int)[::-1]


async def test_filters_and_keyset_pages(processes: Processes) -> None:
    for n in range(5):
        await processes.start(external(f"p-{n}"))
        await processes.actions.cancel(f"p-{n}", operator="ann" if n % 2 else "bob")
    await processes.actions.request_abandon("p-1", "ann")
    assert rows(await audit(processes, operator="ann", action="cancel")) == [
        ("ann", "cancel", "p-3", "requested"),
        ("ann", "cancel", "p-1", "requested"),
    ]
    assert [e.action for e in (await audit(processes, text="p-1")).entries] == ["abandon", "cancel"]
    first = await audit(processes, limit=4)
    assert first.next_before is not None
    rest = await audit(processes, limit=4, before=first.next_before)
    assert rest.next_before is None
    ids = [e.process_id for e in first.entries + rest.entries]
    assert ids == ["p-1", "p-4", "p-3", "p-2", "p-1", "p-0"]
    with pytest.raises(InvalidRequest, match="unknown operator action `reboot`"):
        AuditQuery.model_validate({"action": "reboot"})


# The event source reads in chunks cut by size as well as by count (a cancel request's
# payload may be a mebibyte): here also a chunk of one event each.
@pytest.mark.parametrize("chunk_chars", [audit_sql.CHUNK_CHARS, 1])
async def test_the_event_log_source_reads_cancel_requests_and_rerun_links(
    processes: Processes, chunk_chars: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit_sql, "CHUNK_CHARS", chunk_chars)
    await processes.start(external("a"))
    await processes.cancel("a")  # a program's cancel: lash's own `requested by host`
    await ended(processes, "b")
    await processes.actions.rerun("b", operator="eve")
    await processes.actions.cancel("b~rerun-1", "again", operator="ann")
    page = await audit(processes, source="events")
    assert page.source == "events"
    assert rows(page) == [
        ("ann", "cancel", "b~rerun-1", "requested"),
        ("eve", "rerun", "b~rerun-1", "done"),
        ("host", "cancel", "a", "requested"),
    ]
    assert [e.sentence for e in page.entries] == [
        "requested by ann: again",
        "re-runs `b`",
        "requested by host",
    ]
    assert rows(await audit(processes, source="events", operator="host")) == [
        ("host", "cancel", "a", "requested")
    ]
    assert rows(await audit(processes, source="events", action="rerun")) == [
        ("eve", "rerun", "b~rerun-1", "done")
    ]
    assert (await audit(processes, source="events", action="prune")).entries == []
    first = await audit(processes, source="events", limit=2)
    rest = await audit(processes, source="events", limit=2, before=first.next_before)
    assert [e.process_id for e in first.entries + rest.entries] == ["b~rerun-1", "b~rerun-1", "a"]


@pytest.fixture
async def lash_written(
    registry_target: str, clock: ManualClock
) -> AsyncIterator[tuple[str, Processes]]:
    """A registry as lash writes it: its layout without lashtui's audit table."""
    async with open_registry(registry_target, clock=clock) as registry:
        await Processes(registry, clock=clock).start(external("x"))
    with raw_connection(registry_target) as conn:
        conn.execute("DROP TABLE lashtui_operator_actions")
    async with open_registry(registry_target, clock=clock) as registry:
        yield registry_target, Processes(registry, clock=clock)


async def test_a_registry_without_the_table_says_nothing_was_recorded_until_an_action(
    lash_written: tuple[str, Processes],
) -> None:
    target, processes = lash_written
    async with open_registry(target, read_only=True) as reader:
        page = await reader.operator_actions(AuditQuery())
    assert (page.recorded, page.entries) == (False, [])
    await processes.actions.cancel("x", operator="ann")
    page = await audit(processes)
    assert page.recorded and rows(page) == [("ann", "cancel", "x", "requested")]


async def test_a_recorded_time_that_is_not_whole_reads_unknown(tmp_path: object) -> None:
    """Another program may write the table (SQLite keeps any value): a time stored as text
    read as 0, which `audit` printed as 1970 and the view as ~20,000 days ago."""
    target = f"{tmp_path}/r.db"
    clock = ManualClock(1_780_000_000_000)
    async with open_registry(target, clock=clock) as registry:
        processes = Processes(registry, clock=clock)
        await processes.start(external("x"))
        await processes.start(external("y"))
        await processes.actions.cancel("x", operator="ann")
        await processes.actions.cancel("y", operator="bob")
        with raw_connection(target) as conn:
            conn.execute("UPDATE lashtui_operator_actions SET at_ms = 'abc' WHERE operator = 'ann'")
        page = await registry.operator_actions(AuditQuery())
    assert [(e.operator, e.at_ms) for e in page.entries] == [
        ("bob", 1_780_000_000_000),
        ("ann", None),
    ]


async def test_the_event_source_pages_by_the_rows_not_by_what_their_json_says(
    tmp_path: object,
) -> None:
    """The audit read from the event log pages by each row's time and sequence. A time
    column stored as text failed the read (`int('abc')`), and a page's cursor came from
    the last event's JSON: a JSON time far from its row's made the next page read the
    same events again. Now such a row is left out, and the cursor is the row's."""
    target = f"{tmp_path}/r.db"
    clock = ManualClock(1_780_000_000_000)
    async with open_registry(target, clock=clock) as registry:
        processes = Processes(registry, clock=clock)
        for pid in ("a", "b", "c", "d"):
            await processes.start(external(pid))
            clock.advance(1_000)
            await processes.actions.cancel(pid, operator="ann")
        with raw_connection(target) as conn:
            conn.execute("UPDATE process_events SET occurred_at_ms = 'abc' WHERE process_id = 'a'")
            conn.execute(
                "UPDATE process_events SET event_json = json_set(event_json, "
                "'$.occurred_at.secs_since_epoch', 1900000000) WHERE process_id = 'c'"
            )
        seen: list[str | None] = []
        before = None
        for _ in range(10):
            page = await registry.operator_actions(
                AuditQuery(source="events", limit=1, before=before)
            )
            seen += [e.process_id for e in page.entries]
            if page.next_before is None:
                break
            before = page.next_before
    assert seen == ["d", "c", "b"]
