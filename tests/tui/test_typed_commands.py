"""The `:` command line in the real app (Pilot, a real SQLite file): each command either
does what it names or says in one sentence why not (the dashboard audit's items 2, 3 and
7). `goto` to an id that is not shown selected the row after where it would sit, saying
nothing; `prune` in a read-only dashboard did nothing and said nothing; `view errors` and
`view audit` were refused though keys 5 and 6 reach them."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Static

from lashtui.admin import Processes
from lashtui.clock import ManualClock
from lashtui.model import ProcessHandleDescriptor, SessionScope
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.tui.app import LashtuiApp, make_app
from lashtui.tui.command_line import as_typed
from lashtui.tui.screens.audit import AuditScreen
from lashtui.tui.screens.detail import ProcessDetailScreen
from lashtui.tui.screens.errors import ErrorsScreen
from lashtui.tui.screens.processes import ProcessesScreen
from lashtui.tui.screens.prune import PruneScreen
from lashtui.tui.widgets.process_table import ProcessTable
from tests.builders import ext
from tests.tui.scene import home_loaded, until
from tests.tui.test_actions import select, toasts

SIZE = (160, 30)


async def typed(pilot: Pilot[Any], line: str) -> None:
    """`:` then `line`, entered, as an operator types it."""
    await pilot.press("colon")
    pilot.app.screen.query_one("#command", Input).value = line
    await pilot.press("enter")
    await pilot.pause()


def app_on(scene: tuple[SqliteProcessRegistry, ManualClock], **kw: Any) -> LashtuiApp:
    registry, clock = scene
    app = make_app(Processes(registry, clock=clock), clock=clock, refresh_s=0.05, **kw)
    # The tests count the toasts said so far: one must not time out (Textual's 5 s) before
    # the next is said, which a loaded CI machine took longer than (the goto test, 2026-12-07).
    app.NOTIFICATION_TIMEOUT = 600  # type: ignore[misc]
    return app


async def test_view_reaches_every_view_the_keys_reach(
    scene: tuple[SqliteProcessRegistry, ManualClock],
) -> None:
    app = app_on(scene, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await home_loaded(pilot)
        await typed(pilot, "view errors")
        await until(pilot, lambda: isinstance(app.screen, ErrorsScreen))
        await pilot.press("1")
        await typed(pilot, "view audit")
        await until(pilot, lambda: isinstance(app.screen, AuditScreen))
        assert not toasts(app)


async def test_goto_an_id_that_is_not_there_says_so_and_keeps_the_selection(
    scene: tuple[SqliteProcessRegistry, ManualClock],
) -> None:
    app = app_on(scene, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        home = await home_loaded(pilot)
        await select(pilot, "a-running")
        # `b-nosuch` sorts between a-running and b-waiting: it selected b-waiting.
        await typed(pilot, "goto b-nosuch")
        await until(pilot, lambda: bool(toasts(app)))
        assert toasts(app) == [
            "there is no process `b-nosuch`; the selection stays where it was"
        ]
        await pilot.pause(0.2)
        assert home.selected_id() == "a-running"

        await typed(pilot, "goto d-failed")  # there: selected, nothing said
        await until(pilot, lambda: home.selected_id() == "d-failed")
        assert len(toasts(app)) == 1

        # There, but the status filter leaves it out: said, and the selection stays.
        await typed(pilot, "status live")
        await until(pilot, lambda: "d-failed" not in home.window.rows)
        await select(pilot, "b-waiting")
        await typed(pilot, "goto c-done")
        await until(pilot, lambda: len(toasts(app)) == 2)
        assert toasts(app)[-1] == (
            "process `c-done` is not shown: the lens and filters leave it out (Esc clears "
            "them); the selection stays where it was"
        )
        await pilot.pause(0.2)
        assert home.selected_id() == "b-waiting"


@pytest.mark.parametrize(
    ("opened", "why"),
    [
        # As `dash` opens a file it may read but not write (command/dashboard.py).
        ({"read_only_why": "no write permission on the file"}, "no write permission on the file"),
        ({"lash_version": 24}, "a registry lash v24 wrote, which lashtui only reads"),
    ],
)
async def test_a_refused_action_names_why_the_dashboard_is_read_only(
    scene: tuple[SqliteProcessRegistry, ManualClock], opened: dict[str, Any], why: str
) -> None:
    """Not asked to be read-only, the dashboard said `(--read-only)` all the same: a flag
    the operator never gave, where the header named the cause."""
    app = app_on(scene, **opened)
    async with app.run_test(size=SIZE) as pilot:
        await home_loaded(pilot)
        await pilot.press("c")
        await until(pilot, lambda: bool(toasts(app)))
        assert toasts(app) == [f"Cancel is not offered: the dashboard is read-only ({why})"]
        app.clear_notifications()
        await typed(pilot, "prune 0s")
        await until(pilot, lambda: bool(toasts(app)))
        assert toasts(app) == [f"prune is not offered: the dashboard is read-only ({why})"]


async def test_prune_typed_in_a_read_only_dashboard_says_it_is_not_offered(
    scene: tuple[SqliteProcessRegistry, ManualClock],
) -> None:
    app = app_on(scene, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await home_loaded(pilot)
        await typed(pilot, "prune 0s")
        await until(pilot, lambda: bool(toasts(app)))
        assert toasts(app) == [
            "prune is not offered: the dashboard is read-only (--read-only)"
        ]
        assert isinstance(app.screen, ProcessesScreen)

    writable = app_on(scene)  # (the same command where prune is offered opens its form)
    async with writable.run_test(size=SIZE) as pilot:
        await home_loaded(pilot)
        await typed(pilot, "prune 0s")
        await until(pilot, lambda: isinstance(writable.screen, PruneScreen))


async def test_a_lens_key_leaves_the_cursor_after_the_words_it_fills_in(
    scene: tuple[SqliteProcessRegistry, ManualClock],
) -> None:
    # `g` and `o` fill in `granted ` / `originated <scope>`; the text was selected, so the
    # first key typed replaced it: `session:bob` + Enter said "`session:bob` is not a
    # command" and no lens was ever applied by typing a scope.
    registry, _ = scene
    bob = SessionScope(session_id="bob")
    await registry.grant_handle(bob, "b-waiting", ProcessHandleDescriptor(label="b"))
    app = app_on(scene, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        home = await home_loaded(pilot)
        await select(pilot, "a-running")  # started by the host: no scope to guess
        await pilot.press("g")
        field = home.query_one("#command", Input)
        await until(pilot, lambda: field.has_focus)
        await pilot.pause()
        assert field.value == "granted "
        assert field.selection.is_empty and field.cursor_position == len("granted ")
        await pilot.press(*"session:bob", "enter")
        await until(pilot, lambda: list(home.window.rows) == ["b-waiting"])
        assert "granted to session:bob (Esc clears)" in home.status_line
        assert not toasts(app)

        await pilot.press("o")  # the lens's scope is filled in, to be edited
        await until(pilot, lambda: field.has_focus)
        await pilot.pause()
        assert field.value == "originated session:bob"
        assert field.selection.is_empty and field.cursor_position == len(field.value)
        await pilot.press(*"/frame:x", "enter")
        await until(pilot, lambda: "originated by session:bob/frame:x" in home.status_line)
        assert not toasts(app)


async def test_with_marks_and_a_filter_the_status_line_says_what_each_esc_does(
    scene: tuple[SqliteProcessRegistry, ManualClock],
) -> None:
    # It said `matching "ed" (Esc clears)` while Esc dropped the marks first, silently.
    app = app_on(scene, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        home = await home_loaded(pilot)
        await typed(pilot, "filter ed")
        await until(pilot, lambda: 'matching "ed" (Esc clears)' in home.status_line)
        await pilot.press("asterisk")
        await until(pilot, lambda: bool(home.marked))
        marks = f"{len(home.marked)} marked (Esc unmarks)"
        await until(pilot, lambda: marks in home.status_line)
        assert 'matching "ed" (a second Esc clears)' in home.status_line
        await pilot.press("escape")  # as said: the marks go, the filter stays
        await until(pilot, lambda: not home.marked)
        assert home.page_query.text == "ed"
        assert 'matching "ed" (Esc clears)' in home.status_line
        await pilot.press("escape")
        await until(pilot, lambda: not home.page_query.text)
        assert "matching" not in home.status_line


ODD_IDS = ("a  b", "back\\slash", "it's", "tab\there", " lead")


async def test_goto_and_open_take_the_id_as_typed(
    scene: tuple[SqliteProcessRegistry, ManualClock],
) -> None:
    """Ids are stored by other programs and may hold runs of spaces, a backslash, a quote or
    a tab. `goto` and `open` read the id through shlex: `a  b` became `a b`, `back\\slash`
    `backslash`, `it's` a "No closing quotation", and the refusal named an id nobody typed.
    The rest of the line is now the id as typed; one quoted word is unquoted (which reaches
    an id with a blank at either end)."""
    registry, _ = scene
    for pid in ODD_IDS:
        await registry.register_process(ext(pid))
    app = app_on(scene, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        home = await home_loaded(pilot)
        for pid in ODD_IDS:
            await select(pilot, "a-running")
            await typed(pilot, f'goto "{pid}"' if pid.startswith(" ") else f"goto {pid}")
            await until(pilot, lambda: home.selected_id() == pid)  # noqa: B023
        assert not toasts(app)
        await typed(pilot, "goto x  y\\z's")  # not there: named exactly as typed
        await until(pilot, lambda: bool(toasts(app)))
        assert toasts(app) == ["there is no process `x  y\\z's`; the selection stays where it was"]
        await typed(pilot, "open it's")
        await until(pilot, lambda: isinstance(app.screen, ProcessDetailScreen))
        assert app.screen.process_id == "it's"  # type: ignore[attr-defined]
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is home)
        await typed(pilot, "open a  b")
        await until(pilot, lambda: isinstance(app.screen, ProcessDetailScreen))
        assert app.screen.process_id == "a  b"  # type: ignore[attr-defined]


async def test_filter_takes_its_text_as_typed(
    scene: tuple[SqliteProcessRegistry, ManualClock],
) -> None:
    """`:filter` read its text through shlex, as `goto` did: `:filter a  b` filtered by
    `a b` (showing `a b`, not `a  b`), `:filter back\\slash` by `backslash` (nothing), and
    `:filter it's` was refused ("No closing quotation"), where `/` took each as typed. The
    rest of the line is now the filter's text, as `/` takes it."""
    registry, _ = scene
    for pid in (*ODD_IDS, "a b", "backslash"):
        await registry.register_process(ext(pid))
    app = app_on(scene, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        home = await home_loaded(pilot)
        table = home.query_one(ProcessTable)
        for line, text, shown in (
            ("filter a  b", "a  b", {"a  b"}),
            ("filter back\\slash", "back\\slash", {"back\\slash"}),
            ("filter it's", "it's", {"it's"}),
            ('filter " lead"', "lead", {" lead"}),  # (outer blanks dropped, as `/` does)
        ):
            await typed(pilot, line)
            await until(pilot, lambda: set(table.processes) == shown)  # noqa: B023
            assert home.page_query.text == text
            assert home.query_one("#filter", Input).value.strip() == text
        assert not toasts(app)
        await typed(pilot, "filter")  # empty: cleared
        await until(pilot, lambda: "a-running" in table.processes)
        assert home.page_query.text == ""


async def test_a_lens_takes_its_scope_as_typed_and_the_lens_keys_fill_it_in_whole(
    scene: tuple[SqliteProcessRegistry, ManualClock],
) -> None:
    """`:granted session:a  b` showed the processes granted to `session:a b`, another scope
    (a security lens answering for someone else), `:granted session:back\\slash` those of
    `session:backslash`, and `:granted session:it's` was refused, as was Enter on the line
    `g` or `o` filled in with such a scope. The scope is now the rest of the line as typed,
    and the keys fill it in so that it arrives whole (quoted if it ends with a blank)."""
    registry, _ = scene
    granted = {
        "session:a  b": "b-waiting", "session:a b": "c-done", "session:it's": "d-failed",
        "session:back\\slash": "e-cancelled", "session:backslash": "a-running",
        "session:x ": "g-silent",
    }  # fmt: skip
    for scope, pid in granted.items():
        handle = ProcessHandleDescriptor(label="l")
        await registry.grant_handle(SessionScope.parse(scope), pid, handle)
    app = app_on(scene, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        home = await home_loaded(pilot)
        field = home.query_one("#command", Input)
        for scope in ("session:a  b", "session:back\\slash", "session:it's"):
            await typed(pilot, f"granted {scope}")
            await until(pilot, lambda: list(home.window.rows) == [granted[scope]])  # noqa: B023
            assert home.page_query.scope == SessionScope.parse(scope)
        await typed(pilot, "granted 'session:x '")
        await until(pilot, lambda: list(home.window.rows) == ["g-silent"])
        for scope in ("session:it's", "session:x "):
            await typed(pilot, f"granted {as_typed(scope)}")
            await until(pilot, lambda: list(home.window.rows) == [granted[scope]])  # noqa: B023
            await pilot.press("g")  # the lens's scope filled in: Enter keeps the lens
            await until(pilot, lambda: field.has_focus)
            await pilot.press("enter")
            await pilot.pause(0.2)
            assert home.page_query.scope == SessionScope.parse(scope), scope
            assert list(home.window.rows) == [granted[scope]]
        assert not toasts(app)


async def test_a_command_that_takes_no_argument_refuses_extra_words(
    scene: tuple[SqliteProcessRegistry, ManualClock],
) -> None:
    """`:quit now` quit and `:all extra junk` cleared the lens, the words dropped unread: a
    typo (`:all` for `:filter all`...) did something else than asked, silently."""
    app = app_on(scene, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        home = await home_loaded(pilot)
        await typed(pilot, "granted s1")
        await until(pilot, lambda: home.page_query.lens == "granted")
        await typed(pilot, "all extra junk")
        said = "error: `all` takes no argument, got `extra junk`"
        await until(pilot, lambda: home.status_line.endswith(said))
        await typed(pilot, "quit now")
        said = "error: `quit` takes no argument, got `now`"
        await until(pilot, lambda: home.status_line.endswith(said))
        await pilot.pause(0.2)
        assert not toasts(app)
        assert app.is_running and app.screen is home
        assert home.page_query.lens == "granted"


async def test_an_age_of_thousands_of_digits_is_one_sentence(
    scene: tuple[SqliteProcessRegistry, ManualClock],
) -> None:
    """`:prune 999...9d` (5,000 digits), or the same typed in the prune form, crashed the
    app: past 4,300 digits Python's `int` raises a ValueError of its own."""
    sentence = "a duration's number may have at most 18 digits; this one has 5,000"
    app = app_on(scene)
    async with app.run_test(size=SIZE) as pilot:
        home = await home_loaded(pilot)
        await typed(pilot, "prune " + "9" * 5000 + "d")
        await until(pilot, lambda: home.status_line.endswith(f"error: {sentence}"))
        assert app.screen is home and not toasts(app)
        await pilot.press("P")
        await until(pilot, lambda: isinstance(app.screen, PruneScreen))
        form = app.screen
        form.query_one("#prune-age", Input).value = "9" * 5000 + "d"
        error = form.query_one("#form-error", Static)
        await until(pilot, lambda: str(error.render()) == sentence)
        assert app.screen is form and app.is_running


async def test_export_writes_the_file_named_as_typed(
    scene: tuple[SqliteProcessRegistry, ManualClock], tmp_path: Path
) -> None:
    """`:export` read its path through shlex: `rows  of it's.jsonl` was "No closing
    quotation", and `a  b.jsonl` wrote `a b.jsonl`, a file of another name."""
    app = app_on(scene, read_only=False)  # (a read-only dashboard writes no file)
    async with app.run_test(size=SIZE) as pilot:
        await home_loaded(pilot)
        out = tmp_path / "rows  of it's.jsonl"
        await typed(pilot, f"export {out}")
        await until(pilot, out.exists)
        names = await asyncio.to_thread(os.listdir, tmp_path)
        assert [name for name in names if name.endswith(".jsonl")] == [out.name]


async def test_an_action_key_in_a_read_only_dashboard_says_it_is_not_offered(
    scene: tuple[SqliteProcessRegistry, ManualClock],
) -> None:
    # Read-only hides every action, and Textual then drops its key: `c`, `s`, `a`, `t`,
    # `E`, `R`, `P` and `e` did nothing and said nothing, where `:prune` says why.
    app = app_on(scene, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await home_loaded(pilot)
        for key, described in [("c", "Cancel"), ("s", "Signal"), ("a", "Abandon"),
                               ("t", "Transfer"), ("E", "End undecodable"),
                               ("R", "Run again"), ("P", "Prune"), ("e", "Export")]:  # fmt: skip
            app.clear_notifications()
            await pilot.press(key)
            await until(pilot, lambda: bool(toasts(app)))
            assert toasts(app) == [
                f"{described} is not offered: the dashboard is read-only (--read-only)"
            ], key
            assert isinstance(app.screen, ProcessesScreen), key
        app.clear_notifications()
        await pilot.press("j")  # a key that is no action says nothing, as before
        await pilot.press("slash", "c", "a")  # typed into the text filter, not acted on
        await pilot.pause(0.1)
        assert not toasts(app)
        assert isinstance(app.focused, Input) and app.focused.value == "ca"


async def test_a_refused_command_is_the_status_lines_error_until_the_next_is_taken(
    scene: tuple[SqliteProcessRegistry, ManualClock],
) -> None:
    """A malformed `:` command (or a theme that is not one) was only a toast, gone in
    seconds, while other refused input (the Audit view's filter) stays in its view's status
    line: now it is the status line's error, one sentence naming the bad value, until a
    command is taken; nothing changes meanwhile."""
    app = app_on(scene, read_only=True)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        home = await home_loaded(pilot)
        before = home.page_query
        await typed(pilot, "frobnicate now")
        said = "error: `frobnicate` is not a command; `help` lists them"
        await until(pilot, lambda: home.status_line.endswith(said))
        status = str(home.query_one("#engine-status", Static).render())
        assert said in status.replace("\n", " ")
        await typed(pilot, "theme neon-nights")
        said = "error: `neon-nights` is not a theme; use one of "
        await until(pilot, lambda: said in home.status_line)
        assert "lashtui-high-contrast" in home.status_line
        await typed(pilot, "status runing")
        said = "error: `runing` is not a status; use one of running,"
        await until(pilot, lambda: said in home.status_line)
        assert home.page_query == before and not toasts(app)
        await typed(pilot, "status waiting")  # taken: the error goes
        await until(pilot, lambda: "error:" not in home.status_line)
        assert "status waiting" in home.status_line
