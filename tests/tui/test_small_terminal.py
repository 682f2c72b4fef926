"""Every view at 80x24, the smallest terminal an operator is likely to have: the status line
wraps instead of being cut, the footer keeps `?` (and the palette's key) in sight, and the
help scrolls. Snapshots of each view, and of the help scrolled to its end."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Static
from textual.widgets._footer import FooterKey

from lashtui.admin import Processes
from lashtui.clock import ManualClock
from lashtui.model import ProcessPageQuery
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.tui.app import make_app
from lashtui.tui.screens import health
from lashtui.tui.screens.abandon import AbandonRequestsScreen
from lashtui.tui.screens.audit import AuditScreen
from lashtui.tui.screens.detail import ProcessDetailScreen
from lashtui.tui.screens.errors import ErrorGroupScreen, ErrorsScreen
from lashtui.tui.screens.health import HealthScreen
from lashtui.tui.screens.leases import LeasesScreen
from lashtui.tui.screens.live import LiveScreen
from lashtui.tui.screens.modals import HelpScreen, SignalScreen
from lashtui.tui.screens.payload import PayloadScreen
from lashtui.tui.screens.processes import ProcessesScreen
from lashtui.tui.widgets.footer import KeyFooter, drawn_width
from lashtui.tui.widgets.process_table import ProcessTable
from tests.tui.scene import home_loaded, until

SMALL = (80, 24)


def observer(registry: SqliteProcessRegistry, clock: ManualClock) -> Any:
    return make_app(
        Processes(registry, clock=clock), clock=clock, read_only=True, subtitle="scene.db"
    )


async def live_view(pilot: Pilot[Any], key: str, kind: type[LiveScreen]) -> Screen[Any]:
    await home_loaded(pilot)
    await pilot.press(key)
    screen = pilot.app.screen
    assert isinstance(screen, kind)
    async with asyncio.timeout(10):
        await screen.loaded.wait()
    await pilot.pause()
    return screen


async def detail(pilot: Pilot[Any]) -> Screen[Any]:
    home = await home_loaded(pilot)
    home.query_one(ProcessTable).move_cursor(row=3)  # d-failed
    await pilot.press("enter")
    screen = pilot.app.screen
    assert isinstance(screen, ProcessDetailScreen)
    async with asyncio.timeout(10):
        await screen.loaded.wait()
    await pilot.pause()
    return screen


async def error_group(pilot: Pilot[Any]) -> Screen[Any]:
    await live_view(pilot, "5", ErrorsScreen)
    await pilot.press("enter")
    screen = pilot.app.screen
    assert isinstance(screen, ErrorGroupScreen)
    await screen.loaded.wait()
    await pilot.pause()
    return screen


async def help_screen(pilot: Pilot[Any]) -> Screen[Any]:
    await home_loaded(pilot)
    await pilot.press("question_mark")
    await pilot.pause()
    assert isinstance(pilot.app.screen, HelpScreen)
    return pilot.app.screen


async def help_scrolled(pilot: Pilot[Any]) -> Screen[Any]:
    screen = await help_screen(pilot)
    await pilot.press("end")
    await pilot.pause()
    return screen


VIEWS = {
    "processes": home_loaded,
    "detail": detail,
    "leases": lambda pilot: live_view(pilot, "2", LeasesScreen),
    "abandon": lambda pilot: live_view(pilot, "3", AbandonRequestsScreen),
    "health": lambda pilot: live_view(pilot, "4", HealthScreen),
    "errors": lambda pilot: live_view(pilot, "5", ErrorsScreen),
    "error-group": error_group,
    "help": help_screen,
    "help-scrolled": help_scrolled,
}


@pytest.mark.parametrize("name", list(VIEWS))
def test_every_view_at_80x24(
    every_state: tuple[SqliteProcessRegistry, ManualClock],
    snap_compare: Any,
    name: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The health view's DB latency is wall time: a stopwatch that moves 0.4 ms between its
    # two readings makes it the same on every run (as test_views.py's health snapshot does).
    ticks = itertools.count()
    monkeypatch.setattr(health, "stopwatch", lambda: next(ticks) * 0.0004)
    registry, clock = every_state

    async def run_before(pilot: Pilot[Any]) -> None:
        await VIEWS[name](pilot)

    assert snap_compare(observer(registry, clock), terminal_size=SMALL, run_before=run_before)


@pytest.mark.parametrize("name", ["processes", "detail", "leases", "abandon"])
def test_the_views_with_actions_at_60x24(
    every_state: tuple[SqliteProcessRegistry, ManualClock], snap_compare: Any, name: str
) -> None:
    """The actions offered (not read-only): the footer keeps every key to act and leave,
    some drawn without their description (test_every_view_keeps_the_keys_...)."""
    registry, clock = every_state
    app = make_app(Processes(registry, clock=clock), clock=clock, subtitle="scene.db")

    async def run_before(pilot: Pilot[Any]) -> None:
        await VIEWS[name](pilot)

    assert snap_compare(app, terminal_size=(60, 24), run_before=run_before)


def test_the_signal_form_at_80x24(
    every_state: tuple[SqliteProcessRegistry, ManualClock], snap_compare: Any
) -> None:
    registry, clock = every_state
    app = make_app(Processes(registry, clock=clock), clock=clock, subtitle="scene.db")

    async def run_before(pilot: Pilot[Any]) -> None:
        await home_loaded(pilot)
        await pilot.press("s")  # a-running, the first row
        await until(pilot, lambda: isinstance(pilot.app.screen, SignalScreen))
        await pilot.pause()

    assert snap_compare(app, terminal_size=SMALL, run_before=run_before)


@pytest.mark.parametrize(
    "name", ["processes", "detail", "leases", "abandon", "health", "errors", "error-group"]
)
async def test_the_footer_keeps_help_in_sight(
    scene: tuple[SqliteProcessRegistry, ManualClock], name: str
) -> None:
    registry, clock = scene
    async with observer(registry, clock).run_test(size=SMALL) as pilot:
        screen = await VIEWS[name](pilot)
        footer = screen.query_one(KeyFooter)
        keys = footer.query_one(".footer-right")
        # `?` then the palette's key, at the right edge of the screen's 80 columns.
        assert [key.key for key in keys.query(FooterKey)] == ["question_mark", "ctrl+p"]
        assert keys.region.right == 80 and keys.region.width > 0
        assert keys.query_one(FooterKey).region.x == 80 - keys.region.width


async def test_the_status_line_wraps_rather_than_being_cut(
    scene: tuple[SqliteProcessRegistry, ManualClock],
) -> None:
    registry, clock = scene
    async with observer(registry, clock).run_test(size=SMALL) as pilot:
        home = await home_loaded(pilot)
        status = home.query_one("#engine-status", Static)
        line = home.status_line
        assert len(line) > 80  # the scene's counts do not fit on one line
        await until(pilot, lambda: status.region.height >= 2)
        shown = "".join(strip.text for strip in status.render_lines(status.region.reset_offset))
        for count in ("✗ failed 1", "☠ abandoned 3"):
            assert count in shown


@pytest.mark.parametrize("widths", [(80, 60), (60, 80)])
@pytest.mark.parametrize("read_only", [True, False])
async def test_the_status_line_never_splits_a_badge_from_its_count(
    scene: tuple[SqliteProcessRegistry, ManualClock], widths: tuple[int, int], read_only: bool
) -> None:
    """Wrapped at any space, the status line put `✗` at the end of one line and `failed 1`
    at the start of the next (80 columns, with no embedded worker), and `☠` / `abandoned 3`
    at 60. Each of the scene's counts is now whole on one line, at both widths and after
    the terminal is resized from one to the other (paused, so that no read draws it again);
    the line still says every count (it wraps between pairs)."""
    registry, clock = scene
    app = make_app(
        Processes(registry, clock=clock), clock=clock, read_only=read_only, subtitle="scene.db"
    )
    counts = ("● running 4", "◐ waiting 1", "✓ completed 1", "✗ failed 1", "⊘ cancelled 1",
              "☠ abandoned 3")  # fmt: skip
    async with app.run_test(size=(widths[0], 24)) as pilot:
        home = await home_loaded(pilot)
        status = home.query_one("#engine-status", Static)
        await pilot.press("p")  # paused: no read draws the line again, the resize does
        await until(pilot, lambda: home.paused)
        for width in widths:
            await pilot.resize_terminal(width, 24)
            await pilot.pause()
            assert status.region.width == width
            lines = [strip.text for strip in status.render_lines(status.region.reset_offset)]
            for count in counts:
                assert any(count in line for line in lines), (width, count, lines)


VIEW_KEYS = ["1", "2", "3", "4", "5", "6"]
# What a new operator needs most in each view, in sight whole at 80 columns: the view's own
# keys, the actions on the selected process, and the way to the other views.
MOST_USED = {
    "processes": ["enter", "c", "s", "a", "slash", "f", *VIEW_KEYS],
    "detail": ["escape", "c", "s", "a", "slash", *VIEW_KEYS],
    "leases": ["enter", "c", "s", "a", *VIEW_KEYS],
    "abandon": ["tab", "enter", "c", "s", "a", *VIEW_KEYS],
    "health": ["w", *VIEW_KEYS],
    "errors": ["enter", "o", "w", *VIEW_KEYS],
    "error-group": ["escape", "enter", *VIEW_KEYS],
    "audit": ["enter", "slash", "s", *VIEW_KEYS],
    "payload": ["escape", "Y", *VIEW_KEYS],
}


async def payload(pilot: Pilot[Any]) -> Screen[Any]:
    """The payload of d-failed's one event (Enter on its timeline row)."""
    await detail(pilot)
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(pilot.app.screen, PayloadScreen))
    await pilot.pause()
    return pilot.app.screen


FOOTER_VIEWS = VIEWS | {
    "audit": lambda pilot: live_view(pilot, "6", AuditScreen),
    "payload": payload,
}


def in_sight(screen: Screen[Any]) -> dict[str, FooterKey]:
    """The footer's keys drawn whole left of `?` (by key)."""
    footer = screen.query_one(KeyFooter)
    edge = footer.query_one(".footer-right").region.x
    return {
        key.key: key
        for key in footer.query(FooterKey)
        if key.display and key.region.width and key.region.right <= edge
    }


@pytest.mark.parametrize("name", list(MOST_USED))
async def test_the_most_used_keys_are_in_the_footer_at_80_columns(
    scene: tuple[SqliteProcessRegistry, ManualClock], name: str
) -> None:
    """At 80 columns each view's footer showed its first five or six keys and cut the next
    (`f Sta`, `1 Proc`): the keys to the other views were out of sight in every view but
    Health, and the detail's actions beside Search in none. With the actions offered (no
    embedded worker, not read-only), every key in `MOST_USED` is now drawn whole, and a
    key that does not fit (`:` Command, `p` Pause, `q` Quit...) is left out, not cut."""
    registry, clock = scene
    processes = Processes(registry, clock=clock)
    if name == "audit":  # one recorded action: a row to open (Enter)
        await processes.actions.cancel("h-requested", "stuck", operator="dana@ops")
    app = make_app(processes, clock=clock, subtitle="scene.db")
    async with app.run_test(size=SMALL) as pilot:
        screen = await FOOTER_VIEWS[name](pilot)
        await pilot.pause()
        shown = in_sight(screen)
        assert [key for key in MOST_USED[name] if key not in shown] == []
        footer = screen.query_one(KeyFooter)
        edge = footer.query_one(".footer-right").region.x
        for key in footer.query(".-least-needed"):
            assert not key.display or key.region.right <= edge, key


async def test_at_120_columns_the_keys_left_out_at_80_come_back(
    scene: tuple[SqliteProcessRegistry, ManualClock],
) -> None:
    registry, clock = scene
    app = make_app(Processes(registry, clock=clock), clock=clock, subtitle="scene.db")
    async with app.run_test(size=SMALL) as pilot:
        home = await home_loaded(pilot)
        assert "colon" not in in_sight(home)  # (the actions took its room)
        await pilot.resize_terminal(120, 24)
        await until(pilot, lambda: "colon" in in_sight(home))
        await pilot.pause()
        shown = in_sight(home)
        # (`q` Quit is no longer least needed: it stays in sight at 80 and takes the room
        # `p` Pause had at 120.)
        for key in ("enter", "c", "s", "a", "slash", "f", *VIEW_KEYS, "q", "colon"):
            assert key in shown, key
        assert all(key.description for key in shown.values() if not key.has_class("-grouped"))
        assert home.query_one(".footer-right").query(FooterKey)[-1].display  # `^p` palette


@pytest.mark.parametrize("size", [(60, 24), SMALL])
@pytest.mark.parametrize("name", list(MOST_USED))
async def test_every_view_keeps_the_keys_to_act_and_to_leave_in_sight(
    scene: tuple[SqliteProcessRegistry, ManualClock], name: str, size: tuple[int, int]
) -> None:
    """At 60 columns the views with actions cut their last key (`f Sta`, `a Aba`) and the
    views' keys and `q` Quit were out of sight, and at 80 `q` was left out in them. Each
    view now shows, whole, its own keys, the actions, `123456` and `q` left of `?`; a key
    that does not fit with its description is drawn without it (the letter, whose
    description `?` lists), never cut, and a key that fits keeps its description."""
    registry, clock = scene
    processes = Processes(registry, clock=clock)
    if name == "audit":
        await processes.actions.cancel("h-requested", "stuck", operator="dana@ops")
    app = make_app(processes, clock=clock, subtitle="scene.db")
    async with app.run_test(size=size) as pilot:
        screen = await FOOTER_VIEWS[name](pilot)
        await pilot.pause()
        shown = in_sight(screen)
        assert [key for key in [*MOST_USED[name], "q"] if key not in shown] == []
        footer = screen.query_one(KeyFooter)
        right = footer.query_one(".footer-right")
        assert right.query(FooterKey).first().key == "question_mark"
        assert right.region.right == size[0]
        drawn = [key for key in footer.query(FooterKey) if key.display and key.region.width]
        edge = right.region.x
        assert [key.key for key in drawn if key.region.x < edge < key.region.right] == []
        # Left out only as far as needed: giving any one back would not fit.
        room = edge - max(key.region.right for key in shown.values())
        for key in shown.values():
            if not key.description and not key.has_class("-grouped"):
                assert len(str(key.tooltip)) + 1 > room, (key.key, key.tooltip, room)
        if size == SMALL and name in ("health", "errors", "error-group", "audit", "payload"):
            assert all(key.description for key in shown.values() if key.key in "qwo"), name


def out_of_place(screen: Screen[Any]) -> list[str]:
    """The footer's keys (and the views' group's label) drawn across or past the left edge of
    `?`, and those drawn wider or narrower than their key and description take."""
    footer = screen.query_one(KeyFooter)
    edge = footer.query_one(".footer-right").region.x
    shown = [
        child for child in footer.children if child.display and not child.has_class("footer-right")
    ]
    crossing = [f"{child!r} ends at {child.region.right}" for child in shown
                if child.region.right > edge]  # fmt: skip
    misdrawn = [
        f"{key.key} drawn {key.region.width} cells wide"
        for key in shown
        if isinstance(key, FooterKey) and key.region.width != drawn_width(key, key.description)
    ]
    return crossing + misdrawn


@pytest.mark.parametrize("name", ["processes", "abandon"])
async def test_narrowed_from_80_to_60_columns_the_footer_fits_again(
    scene: tuple[SqliteProcessRegistry, ManualClock], name: str
) -> None:
    """Narrowed from 80 to 60 columns with the actions offered, the footer kept `a` nine
    cells wide with its description left out (blank where `Abandon` was), and so cut the
    views' keys and `q` under `?`: `123456 Vie▏? Help` (two runs in three: a description
    left out just after the resize gave it back lost its new layout). Each time the
    terminal narrows now, every key is as wide as it is drawn and left of `?`, and `q`
    (quit) and `?` (help) are in sight."""
    registry, clock = scene
    app = make_app(Processes(registry, clock=clock), clock=clock, subtitle="scene.db")
    async with app.run_test(size=SMALL) as pilot:
        screen = await VIEWS[name](pilot)
        footer = screen.query_one(KeyFooter)
        for _ in range(4):  # (each narrowing may or may not meet it: four did every time)
            for width in (80, 60):
                await pilot.resize_terminal(width, 24)
                await until(pilot, lambda width=width: footer.region.width == width)
                with contextlib.suppress(TimeoutError):  # (said by the assertion below)
                    await until(pilot, lambda: not out_of_place(screen), within=2)
            assert out_of_place(screen) == []
            assert "q" in in_sight(screen), in_sight(screen)
            right = footer.query_one(".footer-right")
            assert right.query(FooterKey).first().key == "question_mark"
            assert right.region.right == 60


async def test_an_error_is_never_cut_for_the_filters_at_60_columns(
    scene: tuple[SqliteProcessRegistry, ManualClock],
) -> None:
    """With a lens, a status and a text filter at 60 columns the status line took more than
    its four lines, and the error, said last, was cut (here not a word of it was drawn).
    The error is now said whole, first, and the parts that no longer fit are counted."""
    registry, clock = scene
    async with observer(registry, clock).run_test(size=(60, 24)) as pilot:
        home = await home_loaded(pilot)
        assert isinstance(home, ProcessesScreen)
        for line in ("granted session:operations-team-alpha", "status running",
                     "filter a-rather-long-search-text", "sort label"):  # fmt: skip
            home.action_command_line(line)
            await pilot.pause()
            await pilot.press("enter")
            await pilot.pause()
        status = home.query_one("#engine-status", Static)
        await pilot.press("p")  # paused: no read of the view's own clears the error below
        await until(pilot, lambda: home.paused)

        async def malformed() -> None:  # a filter the model refuses, naming its value
            ProcessPageQuery.model_validate({"states": ["runing-misspelled-state-name"]})

        await home._read(malformed)
        error = home.last_error
        assert error is not None and "runing-misspelled-state-name" in error
        await pilot.pause()
        drawn = [strip.text for strip in status.render_lines(status.region.reset_offset)]
        said = " ".join(" ".join(drawn).split())
        assert " ".join(f"error: {error}".split()) in said, drawn
        assert said.startswith("error: ")
        # The engine's state kept; the counts and filter badges left out, and said to be.
        assert said.endswith("PAUSED: times as of the last read · +7 more"), drawn
        # With the error gone the line is as before: the filters said again.
        await home._read(noop)
        await pilot.pause()
        drawn = [strip.text for strip in status.render_lines(status.region.reset_offset)]
        assert "operations-team-alpha" in " ".join(drawn) and "error" not in " ".join(drawn)
        # An error longer than the four lines gets the lines it takes, then they are given back.
        bad = "x" * 300

        async def too_long() -> None:
            ProcessPageQuery.model_validate({"states": [bad]})

        await home._read(too_long)
        await pilot.pause()
        drawn = [strip.text for strip in status.render_lines(status.region.reset_offset)]
        assert bad in "".join(drawn).replace(" ", ""), drawn
        assert " ".join(" ".join(drawn).split()).endswith("`abandoned`"), drawn
        await home._read(noop)
        await pilot.pause()
        assert status.region.height <= 4


async def noop() -> None:
    return None
