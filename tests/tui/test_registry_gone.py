"""The real dashboard (Pilot, real SQLite files) while its registry file is deleted or
replaced by another file. Read-only, the file's deletion made SQLite create an empty file in
its place (a read-only dashboard wrote a file, and `lashtui ls` then called the registry
empty), and the status line blamed a missing table; a file that is not SQLite put there
ended the dashboard with a traceback. Now the dashboard keeps running, says in its status
line what is wrong, creates nothing, and reads again once a registry is back.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from lashtui.admin import Processes
from lashtui.clock import ManualClock
from lashtui.model import LeaseTimings
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.tui.app import make_app
from lashtui.tui.screens.detail import ProcessDetailScreen
from lashtui.tui.screens.health import HealthScreen
from lashtui.tui.screens.modals import ConfirmScreen
from lashtui.tui.screens.processes import ProcessesScreen
from lashtui.worker import ProcessWorker
from tests.builders import ext
from tests.tui.scene import until
from tests.tui.test_actions import select, toasts
from tests.tui.test_hostile_app import loaded, screen_text


async def made(path: Path, *ids: str) -> None:
    registry = await SqliteProcessRegistry.open(str(path))
    try:
        for pid in ids:
            await registry.register_process(ext(pid))
    finally:
        await registry.close()


def files(directory: Path) -> list[str]:
    return sorted(os.listdir(directory))


async def test_a_read_only_dashboard_says_its_registry_is_gone_and_creates_nothing(
    tmp_path: Path,
) -> None:
    db = tmp_path / "r.db"
    await made(db, "a", "b")
    spare = tmp_path / "spare"
    spare.mkdir()
    shutil.copy(db, spare / "r.db")
    registry = await SqliteProcessRegistry.open(str(db), read_only=True)
    try:
        app = make_app(Processes(registry), read_only=True, refresh_s=0.1)
        async with app.run_test(size=(160, 40)) as pilot:
            home = app.screen
            assert isinstance(home, ProcessesScreen)
            await loaded(home)
            assert files(tmp_path) == ["r.db", "spare"]

            db.unlink()
            await until(pilot, lambda: "is gone: it was deleted or moved" in home.status_line)
            await pilot.pause(0.5)
            assert files(tmp_path) == ["spare"], "a read-only dashboard created a file"

            db.write_bytes(b"this is not a registry\n" * 10)
            await until(pilot, lambda: "not a SQLite database" in home.status_line)
            await pilot.pause(1.5)  # (one more watch of the registry, which fails again)
            assert app.is_running and db.read_bytes().startswith(b"this is not")

            shutil.copy(spare / "r.db", db)  # a registry is back: read again, no error
            await until(pilot, lambda: "error" not in home.status_line)
            assert app.is_running
    finally:
        await registry.close()


async def test_a_dashboard_that_writes_refuses_a_registry_deleted_or_replaced_under_it(
    tmp_path: Path,
) -> None:
    """SQLite goes on with the file it holds open: the dashboard showed the deleted
    registry as live, and a cancel said `requested` though it went to a file no other
    program opens. Now its status line says the registry is gone, and the action is
    refused with that sentence; a registry put in its place is not taken for the one it
    opened either."""
    db = tmp_path / "w.db"
    await made(db, "a", "b")
    registry = await SqliteProcessRegistry.open(str(db))
    try:
        app = make_app(Processes(registry), operator="operator:dana", refresh_s=0.1)
        async with app.run_test(size=(160, 40)) as pilot:
            home = app.screen
            assert isinstance(home, ProcessesScreen)
            await loaded(home)
            await select(pilot, "a")
            await pilot.press("c")  # asked while the registry was there, answered after
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            for name in ("w.db", "w.db-wal", "w.db-shm"):
                (tmp_path / name).unlink(missing_ok=True)
            await until(pilot, lambda: "is gone: it was deleted or moved" in home.status_line)
            await pilot.click("#yes")
            await until(pilot, lambda: any("is gone" in toast for toast in toasts(app)))
            assert not any("requested" in toast for toast in toasts(app)), toasts(app)

            await made(db, "c")  # another registry where it was
            await until(pilot, lambda: "was replaced by another file" in home.status_line)
            assert app.is_running
    finally:
        await registry.close()


async def test_the_health_view_says_what_the_embedded_worker_could_not_do(
    tmp_path: Path,
) -> None:
    """The worker's warnings went to a logger nothing prints under the dashboard: Health
    said `state running` and no problem while every drive failed. It counts them now and
    shows the last."""
    db = tmp_path / "w.db"
    await made(db, "a")
    registry = await SqliteProcessRegistry.open(str(db))
    worker = ProcessWorker(registry, timings=LeaseTimings(ttl_ms=3_000, renew_interval_ms=200))
    try:
        app = make_app(Processes(registry, worker=worker), refresh_s=0.1)
        async with app.run_test(size=(160, 50)) as pilot:
            await loaded(app.screen)  # type: ignore[arg-type]
            await pilot.press("4")
            health = app.screen
            assert isinstance(health, HealthScreen)
            await until(pilot, lambda: "problems   none" in screen_text(app))
            for name in ("w.db", "w.db-wal", "w.db-shm"):
                (tmp_path / name).unlink(missing_ok=True)
            said = "ago: drive failed: process registry"
            await until(pilot, lambda: said in screen_text(app).replace("\n", ""))
            assert "problems   " in screen_text(app) and "warning" in screen_text(app)
            # The Processes view's status line says so too, where the operator looks.
            await pilot.press("1")
            home = app.screen
            assert isinstance(home, ProcessesScreen)
            await until(pilot, lambda: "(4: Health says what)" in home.status_line)
    finally:
        await worker.stop()
        await registry.close()


# --- a view first shown after its registry went: the error alone (audit L, item 2)
#
# Each view reads when it is first shown. Shown first after the registry file was deleted,
# the Leases view said "no leases held" under the error (two were held), the Abandon
# requests view counted "(0)" of each kind and said there were none, the Audit view "0
# entries" and "no operator action has been recorded yet" (one was), the Errors view
# "reading…" for ever, the Health view's charts "reading..." for ever. Nothing of it was read.

GONE = "is gone: it was deleted or moved"


def delete_registry(path: Path) -> None:
    for name in (path.name, f"{path.name}-wal", f"{path.name}-shm"):
        (path.parent / name).unlink(missing_ok=True)


async def shown_after_error(pilot: Pilot[Any], key: str, then: float = 1.0) -> str:
    """The screen once view `key` says the registry is gone, and `then` seconds of its
    refreshes later (what stays there)."""
    await pilot.press(key)
    await until(pilot, lambda: GONE in screen_text(pilot.app).replace("\n", ""), within=20)
    await pilot.pause(then)
    return screen_text(pilot.app)


async def test_views_first_shown_after_the_registry_went_state_only_the_error(
    scene: tuple[SqliteProcessRegistry, ManualClock],
) -> None:
    registry, clock = scene
    processes = Processes(registry, clock=clock)
    done = await processes.actions.cancel("a-running", operator="operator:dana")
    assert done.outcome == "requested", done  # one action in the audit trail
    app = make_app(processes, clock=clock, refresh_s=0.1)
    async with app.run_test(size=(200, 40)) as pilot:
        home = app.screen
        assert isinstance(home, ProcessesScreen)
        await loaded(home)
        delete_registry(Path(registry.path))
        await until(pilot, lambda: GONE in home.status_line, within=20)

        leases = await shown_after_error(pilot, "2")
        assert "no leases held" not in leases, leases

        abandon = await shown_after_error(pilot, "3")
        for claim in ("(0)", "no pending abandon requests", "no silent rows"):
            assert claim not in abandon, (claim, abandon)

        errors = await shown_after_error(pilot, "5", then=2.0)
        assert "reading" not in errors, errors

        audit = await shown_after_error(pilot, "6")
        for claim in ("0 entries", "no operator action has been recorded yet"):
            assert claim not in audit, (claim, audit)

        await pilot.press("4")
        said = "not read: process registry"
        await until(pilot, lambda: said in screen_text(app).replace("\n", ""), within=20)
        assert "reading..." not in screen_text(app)


async def test_health_counts_nothing_it_never_counted(
    scene: tuple[SqliteProcessRegistry, ManualClock],
) -> None:
    """Gone before the dashboard's first read: the Health view showed six zeros under
    "Processes by state"; the Processes view had counted nothing, nor had it."""
    registry, clock = scene
    delete_registry(Path(registry.path))
    app = make_app(Processes(registry, clock=clock), clock=clock, refresh_s=0.1)
    async with app.run_test(size=(200, 40)) as pilot:
        home = app.screen
        assert isinstance(home, ProcessesScreen)
        await until(pilot, lambda: GONE in home.status_line, within=20)
        await pilot.press("4")
        said = "not read: process registry"
        await until(pilot, lambda: said in screen_text(app).replace("\n", ""), within=20)
        shown = screen_text(app)
        assert "not counted yet" in shown, shown
        assert "running        0" not in shown and "0 running" not in shown, shown


# --- an action on a registry that is gone: said at once, nothing asked (audit, session 31)


def said(app: Any) -> list[tuple[str, str]]:
    """The notifications so far, as (title, message)."""
    return [(n.title, n.message) for n in app._notifications]


async def refused_at_once(pilot: Pilot[Any], key: str, title: str) -> None:
    """Press `key`: the refusal naming the gone registry comes, and no question or form."""
    on = pilot.app.screen
    before = len(said(pilot.app))
    await pilot.press(key)
    await until(pilot, lambda: len(said(pilot.app)) > before or pilot.app.screen is not on)
    assert pilot.app.screen is on, f"{key} asked: {pilot.app.screen}"
    shown_title, message = said(pilot.app)[-1]
    assert (shown_title, GONE in message) == (title, True), (key, shown_title, message)


async def test_an_action_on_a_registry_gone_says_so_at_once_and_asks_nothing(
    scene: tuple[SqliteProcessRegistry, ManualClock],
) -> None:
    """Deleted under a dashboard that writes, every action key still opened its question
    or its form (cancel, signal, abandon, transfer, run again, prune, on the selection or
    on marked rows, in the view or the detail), and only the answer said the registry was
    gone: an operator filled in a signal's payload or an abandon's reason for nothing. Now
    the key says so at once, in one sentence, and asks nothing."""
    registry, clock = scene
    app = make_app(Processes(registry, clock=clock), clock=clock, operator="operator:dana",
                   refresh_s=0.1)  # fmt: skip
    async with app.run_test(size=(200, 40)) as pilot:
        home = app.screen
        assert isinstance(home, ProcessesScreen)
        await loaded(home)
        await select(pilot, "a-running")
        await pilot.press("enter")  # the detail, opened while the registry was there
        detail = app.screen
        assert isinstance(detail, ProcessDetailScreen)
        await until(pilot, lambda: detail.process is not None)
        delete_registry(Path(registry.path))
        # (Once the dashboard can know: the store looks at the file at most every 0.1 s.)
        await until(pilot, lambda: GONE in screen_text(app).replace("\n", ""), within=20)
        await refused_at_once(pilot, "c", "cancel refused")

        await pilot.press("escape")
        await until(pilot, lambda: app.screen is home)
        await until(pilot, lambda: GONE in home.status_line, within=20)
        for key, title in (
            ("c", "cancel refused"),
            ("s", "signal refused"),
            ("a", "abandon refused"),
            ("t", "transfer refused"),
            ("P", "prune refused"),
        ):
            await refused_at_once(pilot, key, title)
        await select(pilot, "c-done")
        await refused_at_once(pilot, "R", "rerun refused")
        await pilot.press("space")
        await select(pilot, "e-cancelled")
        await pilot.press("space")
        assert len(home.marked) == 2
        await refused_at_once(pilot, "R", "rerun refused")  # (on the marked rows)

        before = len(said(app))
        await pilot.press("colon", *"prune 7d", "enter")
        await until(pilot, lambda: len(said(app)) > before)
        await pilot.pause(0.3)
        assert app.screen is home and said(app)[-1][0] == "prune refused", said(app)[-1]


async def test_health_marks_the_counts_it_holds_as_last_read_once_the_registry_went(
    scene: tuple[SqliteProcessRegistry, ManualClock],
) -> None:
    """The Health view's "Processes by state" kept showing the counts last read after the
    registry file was deleted, unmarked, as if current (the other views say the error
    before what they read). Now they are said to be as of the last read, and how long ago."""
    registry, clock = scene
    app = make_app(Processes(registry, clock=clock), clock=clock, refresh_s=0.1)
    async with app.run_test(size=(200, 50)) as pilot:
        home = app.screen
        assert isinstance(home, ProcessesScreen)
        await loaded(home)
        await pilot.press("4")
        read = "last 15 minutes (w: next window): 11 started"
        await until(pilot, lambda: read in screen_text(app) and "● running" in screen_text(app))
        assert "as last read" not in screen_text(app)
        delete_registry(Path(registry.path))
        await until(pilot, lambda: "unreachable: process registry" in screen_text(app), within=20)
        clock.advance(30_000)
        marked = "as last read, 30s ago: the registry could not be read since"
        await until(pilot, lambda: screen_text(app).count(marked) == 2)
        shown = screen_text(app)
        # Above the counts, and above the charts' figures.
        first, second = shown.index(marked), shown.rindex(marked)
        assert first < shown.index("● running") and second < shown.index(read), shown
