"""Issue 17 item 8 in the dashboard: the Audit view (`6`) lists what operators did, newest
first, from one labelled source at a time: lashtui's record (`recorded`) or the event log's
cancel requests and re-run links (`s`); `/` filters by operator, action, outcome and id
text; a registry without the audit table says nothing was recorded there."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Static

from lashtui.admin import Processes
from lashtui.clock import ManualClock
from lashtui.errors import InvalidRequest
from lashtui.model import (
    FailureOutput,
    ProcessHandleDescriptor,
    SessionScope,
    ToolFailureClass,
)
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.tui.app import make_app
from lashtui.tui.screens.audit import NOT_RECORDED, AuditScreen, parse_filter
from lashtui.tui.screens.detail import ProcessDetailScreen
from lashtui.tui.widgets.keyed_table import KeyedTable
from tests.builders import ext
from tests.cli.test_cli import lashtui
from tests.raw import raw_connection
from tests.tui.scene import START_MS, home_loaded, until
from tests.tui.test_hostile_app import screen_text

SIZE = (140, 20)
S1, S2 = SessionScope(session_id="alice"), SessionScope(session_id="bob")


async def seed(registry: SqliteProcessRegistry, clock: ManualClock) -> None:
    """Operators at work: a cancel, an abandon request, a refused cancel (not recorded), a
    transfer, a re-run and a prune, a minute apart, by three operators."""
    processes = Processes(registry, clock=clock)
    act = processes.actions
    for pid in ("import-7", "deploy-3", "sync-1"):
        await registry.register_process(ext(pid))
        await registry.grant_handle(S1, pid, ProcessHandleDescriptor(label=pid))
    output = FailureOutput(class_=ToolFailureClass.INTERNAL, code="boom", message="broke")
    await registry.complete_process("sync-1", output)
    steps = [
        lambda: act.cancel("import-7", "stuck on a lock", operator="dana@ops"),
        lambda: act.request_abandon("deploy-3", "eve@ops", "host retired"),
        lambda: act.cancel("sync-1", operator="dana@ops"),
        lambda: act.transfer(S1, S2, ["sync-1"], operator="sam@ops"),
        lambda: act.rerun("sync-1", operator="eve@ops"),
        lambda: act.prune(clock.now_ms(), operator="sam@ops"),  # sync-1 and its events go
    ]
    for step in steps:
        clock.advance(60_000)
        await step()
    clock.advance(30_000)


@pytest.fixture
def audited(tmp_path: Path) -> Iterator[tuple[SqliteProcessRegistry, ManualClock]]:
    clock = ManualClock(START_MS)

    async def build() -> SqliteProcessRegistry:
        registry = await SqliteProcessRegistry.open(str(tmp_path / "audit.db"), clock=clock)
        await seed(registry, clock)
        return registry

    registry = asyncio.run(build())
    yield registry, clock
    asyncio.run(registry.close())


def observer(registry: SqliteProcessRegistry, clock: ManualClock) -> Any:
    processes = Processes(registry, clock=clock)
    return make_app(processes, clock=clock, read_only=True, subtitle="audit.db")


async def open_audit(pilot: Pilot[Any]) -> AuditScreen:
    await home_loaded(pilot)
    await pilot.press("6")
    screen = pilot.app.screen
    assert isinstance(screen, AuditScreen)
    async with asyncio.timeout(10):
        await screen.loaded.wait()
    await pilot.pause()
    return screen


async def filtered(pilot: Pilot[Any], screen: AuditScreen, words: str) -> Input:
    """`/`, then `words` entered in the view's filter field, as an operator types them."""
    await pilot.press("slash")
    field = screen.query_one("#audit-filter", Input)
    field.value = words
    await pilot.press("enter")
    return field


def cells(screen: AuditScreen, column: int) -> list[str]:
    table = screen.query_one(KeyedTable)
    return [str(table.get_row_at(row)[column]) for row in range(table.row_count)]


def shown(screen: AuditScreen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


def test_audit_view_snapshot(
    audited: tuple[SqliteProcessRegistry, ManualClock], snap_compare: Any
) -> None:
    registry, clock = audited

    async def run_before(pilot: Pilot[Any]) -> None:
        await open_audit(pilot)

    assert snap_compare(observer(registry, clock), terminal_size=SIZE, run_before=run_before)


async def test_the_view_lists_who_did_what_and_filters_and_switches_source(
    tmp_path: Path,
) -> None:
    clock = ManualClock(START_MS)
    registry = await SqliteProcessRegistry.open(str(tmp_path / "audit.db"), clock=clock)
    try:
        await seed(registry, clock)
        app = observer(registry, clock)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_audit(pilot)
            assert cells(screen, 2) == ["prune", "rerun", "transfer", "abandon", "cancel"]
            assert cells(screen, 1) == ["sam@ops", "eve@ops", "sam@ops", "eve@ops", "dana@ops"]
            assert shown(screen, "#audit-status").startswith(
                "source: recorded by lashtui (lashtui_operator_actions)  ·  5 entries, newest first"
            )
            await filtered(pilot, screen, "by:eve@ops sync")
            await until(pilot, lambda: cells(screen, 3) == ["sync-1"])
            assert cells(screen, 2) == ["rerun"]
            await pilot.press("escape")
            await until(pilot, lambda: len(cells(screen, 3)) == 5)
            await pilot.press("s")
            await until(
                pilot, lambda: shown(screen, "#audit-status").startswith("source: the event log")
            )
            await until(pilot, lambda: cells(screen, 2) == ["rerun", "cancel"])
            assert cells(screen, 3) == ["sync-1~rerun-1", "import-7"]
            assert cells(screen, 1) == ["eve@ops", "dana@ops"]
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, ProcessDetailScreen))
            assert app.screen.process_id == "sync-1~rerun-1"  # type: ignore[attr-defined]
    finally:
        await registry.close()


async def test_after_a_filter_that_matches_nothing_the_views_keys_still_work(
    tmp_path: Path,
) -> None:
    """A filter that matched no entry hid the list, and the focus it had fell back into the
    filter field: `s` then typed an `s` there (the field read `s`, beside a status line
    saying `by nobody`) where it switches the source, as it does after any other filter.
    The view's keys now work as they do when entries are listed."""
    clock = ManualClock(START_MS)
    registry = await SqliteProcessRegistry.open(str(tmp_path / "audit.db"), clock=clock)
    try:
        await seed(registry, clock)
        app = observer(registry, clock)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_audit(pilot)
            field = await filtered(pilot, screen, "by:nobody")
            await until(pilot, lambda: "0 entries" in shown(screen, "#audit-status"))
            await pilot.pause()
            await pilot.press("s")
            await until(
                pilot, lambda: shown(screen, "#audit-status").startswith("source: the event log")
            )
            assert field.value == "by:nobody"  # the filter as applied, nothing typed into it
            await pilot.press("escape")  # the filter cleared: the event log's two entries
            await until(pilot, lambda: cells(screen, 2) == ["rerun", "cancel"])
            assert screen.query_one(KeyedTable).has_focus  # arrows and Enter reach the list
    finally:
        await registry.close()


async def test_a_registry_without_the_audit_table_says_nothing_was_recorded(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "lash.db")
    clock = ManualClock(START_MS)
    registry = await SqliteProcessRegistry.open(path, clock=clock)
    await registry.register_process(ext("x"))
    await registry.close()
    with raw_connection(path) as conn:
        conn.execute("DROP TABLE lashtui_operator_actions")
    reader = await SqliteProcessRegistry.open(path, clock=clock, read_only=True)
    try:
        async with observer(reader, clock).run_test(size=SIZE) as pilot:
            screen = await open_audit(pilot)
            assert shown(screen, "#audit-empty") == NOT_RECORDED
            assert not screen.query_one(KeyedTable).display
    finally:
        await reader.close()


async def test_a_row_another_program_wrote_shows_as_text_beside_the_others(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "odd.db")
    clock = ManualClock(START_MS)
    registry = await SqliteProcessRegistry.open(path, clock=clock)
    await registry.register_process(ext("x"))
    await Processes(registry, clock=clock).actions.cancel("x", operator="dana@ops")
    await registry.close()
    with raw_connection(path) as conn:
        conn.execute(
            "INSERT INTO lashtui_operator_actions (at_ms, operator, action, process_id, "
            "outcome, sentence, detail_json) VALUES ('soon', ?, 'reboot', NULL, 42, ?, '{bad')",
            ("[red]evil\x1b[2J", "[@click=app.quit]x[/]"),
        )
    reader = await SqliteProcessRegistry.open(path, clock=clock, read_only=True)
    try:
        async with observer(reader, clock).run_test(size=SIZE) as pilot:
            screen = await open_audit(pilot)
            assert cells(screen, 1) == ["[red]evil\\x1b[2J", "dana@ops"]
            assert cells(screen, 2) == ["reboot", "cancel"]
            assert cells(screen, 4) == ["42", "requested"]  # (TEXT affinity: stored as '42')
            assert cells(screen, 5)[0] == '[@click=app.quit]x[/]  {"undecodable":"{bad"}'
    finally:
        await reader.close()


async def test_an_operator_or_process_stored_as_other_than_text_is_shown_as_what_it_is(
    tmp_path: Path,
) -> None:
    """Another program stored a cancel's operator and process id as blobs (SQLite keeps a
    blob in a TEXT column; a number it stores as text): they read as absent, "(not
    recorded)" and "(whole registry)", so one operator's cancel of one process read as an
    anonymous action on the whole registry. Each is shown as what it is, said not to be
    text, in the view and in `lashtui audit` (an empty blob too, which SQLite's substr
    makes NULL; a blob past what a read takes says it is larger, not the size read)."""
    path = str(tmp_path / "odd.db")
    clock = ManualClock(START_MS)
    registry = await SqliteProcessRegistry.open(path, clock=clock)
    await registry.register_process(ext("x"))
    await Processes(registry, clock=clock).actions.cancel("x", operator="dana@ops")
    await registry.close()
    with raw_connection(path) as conn:
        insert = (
            "INSERT INTO lashtui_operator_actions (at_ms, operator, action, process_id, "
            "outcome, sentence, detail_json) VALUES (?, ?, 'cancel', ?, 'done', "
            "'cancel requested', '{}')"
        )
        conn.execute(insert, (START_MS, b"mallory\xff", b"payroll-run\xff"))
        conn.execute(insert, (START_MS, b"", b"\x00" * 5_000))  # (past what a read takes)
    blob = "x'6d616c6c6f7279ff' (a blob of 8 bytes, not text)"
    payroll = "x'706179726f6c6c2d72756eff' (a blob of 12 bytes, not text)"
    long_blob = f"x'{'00' * 64}'… (a blob of more than 4,096 bytes, not text)"
    reader = await SqliteProcessRegistry.open(path, clock=clock, read_only=True)
    try:
        async with observer(reader, clock).run_test(size=(400, 20)) as pilot:
            screen = await open_audit(pilot)
            empty = "x'' (a blob of 0 bytes, not text)"
            assert cells(screen, 1) == [empty, blob, "dana@ops"]
            assert cells(screen, 3) == [long_blob, payroll, "x"]
            assert "(not recorded)" not in screen_text(pilot.app)
            assert "(whole registry)" not in screen_text(pilot.app)
    finally:
        await reader.close()
    listed = await asyncio.to_thread(lashtui, "audit", db=Path(path))
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert blob in lines[1] and payroll in lines[1], lines[1]
    assert "x'' (a blob of 0 bytes, not text)" in lines[0] and long_blob in lines[0], lines[0]


@pytest.mark.parametrize(
    ("typed", "refusal"),
    [
        ("by:", "`by:` needs a value, e.g. `by:dana@host`"),
        (
            "who:qa@h",
            "`who:qa@h`: `who` is not a filter key; the keys are by:, action:, outcome: and "
            "id: (for id text with a colon), and other words are id text",
        ),
        (
            "sync BY:qa@h",
            "`BY:qa@h`: `BY` is not a filter key; the keys are by:, action:, outcome: and "
            "id: (for id text with a colon), and other words are id text",
        ),
        (
            "by:qa@h by:nobody",
            "`by:nobody`: `by:` is given twice (first `by:qa@h`); a filter takes each key once",
        ),
    ],
)
def test_a_filter_word_that_names_no_filter_is_refused_naming_it(
    typed: str, refusal: str
) -> None:
    """Each became text searched for in the process id (or the last `by:` won), unsaid."""
    with pytest.raises(InvalidRequest) as refused:
        parse_filter(typed)
    assert str(refused.value) == refusal


def test_the_filter_keys_and_id_text() -> None:
    assert parse_filter("by:dana@ops action:cancel outcome:done imp 7") == {
        "operator": "dana@ops", "action": "cancel", "outcome": "done", "text": "imp 7",
    }
    assert parse_filter("id:session:a x") == {"text": "session:a x"}  # a colon in id text


async def test_a_refused_filter_word_is_said_and_the_list_is_left_as_it_was(
    tmp_path: Path,
) -> None:
    clock = ManualClock(START_MS)
    registry = await SqliteProcessRegistry.open(str(tmp_path / "audit.db"), clock=clock)
    try:
        await seed(registry, clock)
        app = observer(registry, clock)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_audit(pilot)
            field = await filtered(pilot, screen, "by:eve@ops by:nobody")
            await until(pilot, lambda: "refused" in shown(screen, "#audit-status"))
            assert shown(screen, "#audit-status").startswith(
                "filter refused: `by:nobody`: `by:` is given twice (first `by:eve@ops`); a "
                "filter takes each key once"
            )
            assert len(cells(screen, 1)) == 5  # not filtered by either
            field.value = "who:eve@ops"
            await pilot.press("enter")
            await until(pilot, lambda: "`who:eve@ops`" in shown(screen, "#audit-status"))
            assert len(cells(screen, 1)) == 5  # not searched for as id text (none matched)
            field.value = "by:eve@ops"
            await pilot.press("enter")
            await until(pilot, lambda: cells(screen, 1) == ["eve@ops", "eve@ops"])
            assert "refused" not in shown(screen, "#audit-status")
    finally:
        await registry.close()


async def test_a_filter_on_an_outcome_lashtui_never_records_says_why_it_is_empty(
    tmp_path: Path,
) -> None:
    """`outcome:refused` matches no entry lashtui wrote (a refused target writes nothing),
    and the view said only that nothing matched, as if no action had been refused. On the
    event log's source, whose entries are cancel requests and re-runs, the plain sentence
    stays."""
    clock = ManualClock(START_MS)
    registry = await SqliteProcessRegistry.open(str(tmp_path / "audit.db"), clock=clock)
    try:
        await seed(registry, clock)
        app = observer(registry, clock)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_audit(pilot)
            await filtered(pilot, screen, "outcome:refused")
            await until(pilot, lambda: "0 entries" in shown(screen, "#audit-status"))
            assert shown(screen, "#audit-empty") == (
                "no entry of this source matches the filter (Esc clears it); lashtui records "
                "only targets an action changed (done or requested): a refused target writes "
                "nothing, so the trail holds no refused entry unless another program wrote one"
            )
            await pilot.press("s")
            await until(
                pilot, lambda: shown(screen, "#audit-status").startswith("source: the event log")
            )
            await until(
                pilot,
                lambda: shown(screen, "#audit-empty")
                == "no entry of this source matches the filter (Esc clears it)",
            )
    finally:
        await registry.close()
