"""The dashboard shows what is (issue 16, item 8): the detail names each grant by the full
scope id that holds it, and a transfer started from the detail moves a frame's grant; a
paused Processes view keeps its ages and countdowns at the time of its last read (and
greys them) instead of running them against the clock over rows it no longer reads. The
detail says who asked for a cancel, and when (item 7)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from rich.text import Text
from textual.widgets import Button, Input, Static

from lashtui.admin import Processes
from lashtui.clock import ManualClock
from lashtui.model import ProcessHandleDescriptor, SessionScope
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.tui.app import make_app
from lashtui.tui.screens.detail import ProcessDetailScreen
from lashtui.tui.screens.modals import ConfirmScreen, TransferScreen
from lashtui.tui.widgets.process_table import ProcessTable
from tests.builders import ext, ob
from tests.tui.scene import START_MS, click_drawn, far, home_loaded, until

SIZE = (160, 24)




async def test_the_detail_names_a_frames_grant_and_a_transfer_from_it_moves_it(
    tmp_path: Path,
) -> None:
    clock = ManualClock(START_MS)
    registry = await SqliteProcessRegistry.open(str(tmp_path / "grants.db"), clock=clock)
    try:
        await registry.register_process(ob("p"))
        coder = SessionScope(session_id="alice", agent_frame_id="coder")
        await registry.grant_handle(coder, "p", ProcessHandleDescriptor(label="build"))
        app = make_app(Processes(registry, clock=clock), clock=clock, refresh_s=0.05)
        async with app.run_test(size=SIZE) as pilot:
            (await home_loaded(pilot)).action_open("p")
            await pilot.pause()
            detail = app.screen
            assert isinstance(detail, ProcessDetailScreen)
            async with asyncio.timeout(10):
                await detail.loaded.wait()
            summary = str(detail.query_one("#summary", Static).render())
            assert "grants session:alice/frame:coder (build)" in summary

            await pilot.press("t")
            await until(pilot, lambda: isinstance(app.screen, TransferScreen))
            form = app.screen
            assert form.query_one("#from-scope", Input).value == "session:alice/frame:coder"
            form.query_one("#to-scope", Input).value = "session:bob"
            form.query_one("#transfer", Button).press()
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))  # then it asks
            await click_drawn(pilot, "#yes")
            await until(pilot, lambda: app.screen is detail)
            # The form closes first; the transfer it asked for lands on a later loop turn.
            async with asyncio.timeout(10):
                while (moved := [s for s, _ in await registry.handle_grant_scopes("p")]) != [
                    "session:bob"
                ]:
                    assert moved in (["session:alice/frame:coder"], []), moved
                    await pilot.pause(0.02)
            await until(
                pilot,
                lambda: "grants session:bob (build)"
                in str(detail.query_one("#summary", Static).render()),
            )
    finally:
        await registry.close()


async def test_the_detail_shows_who_requested_a_cancel_and_when(tmp_path: Path) -> None:
    clock = ManualClock(START_MS)
    registry = await SqliteProcessRegistry.open(str(tmp_path / "cancel.db"), clock=clock)
    try:
        processes = Processes(registry, clock=clock)
        for pid in ("asked", "unasked"):
            await registry.register_process(ext(pid))
        await processes.actions.cancel("asked", "stale", operator="dana@h")
        clock.advance(5 * 60_000)
        app = make_app(processes, clock=clock, refresh_s=0.05)
        async with app.run_test(size=SIZE) as pilot:
            screen = await home_loaded(pilot)
            for pid in ("asked", "unasked"):
                screen.action_open(pid)
                await pilot.pause()
                detail = app.screen
                assert isinstance(detail, ProcessDetailScreen)
                async with asyncio.timeout(10):
                    await detail.loaded.wait()
                summary = str(detail.query_one("#summary", Static).render())
                asked = "cancel requested · requested by dana@h: stale · 5m00s ago"
                assert (asked in summary) is (pid == "asked"), summary
                assert ("requested by" in summary) is (pid == "asked")
                await pilot.press("escape")
                await until(pilot, lambda: app.screen is screen)
    finally:
        await registry.close()


async def test_a_paused_view_freezes_its_countdowns_at_the_last_read(tmp_path: Path) -> None:
    clock = ManualClock(START_MS)
    registry = await SqliteProcessRegistry.open(str(tmp_path / "pause.db"), clock=clock)
    try:
        await registry.register_process(ob("leased"))
        owner = far("w-1")
        lease = (await registry.claim_process_lease("leased", owner, 10_000)).acquired()
        assert lease is not None
        app = make_app(
            Processes(registry, clock=clock), clock=clock, read_only=True, refresh_s=60
        )
        async with app.run_test(size=SIZE) as pilot:
            screen = await home_loaded(pilot)
            table = screen.query_one(ProcessTable)

            def lease_cell() -> Any:
                return table.get_cell("leased", "lease")

            assert str(lease_cell()) == "10s left"
            await pilot.press("p")
            # The owner renews its lease, and time passes beyond the old expiry: the paused
            # view does not read the renewal, so its clock must not move either.
            clock.advance(8_000)
            await registry.renew_process_lease(lease, 10_000)
            clock.advance(7_000)
            await screen.tick()
            await pilot.pause()
            frozen = lease_cell()
            assert str(frozen) == "10s left"  # as of the last read
            assert isinstance(frozen, Text) and frozen.style  # greyed: seen to be frozen
            assert frozen.style == table.get_component_rich_style("process-table--frozen")
            assert isinstance(table.get_cell("leased", "age"), Text)
            assert "PAUSED" in str(screen.query_one("#engine-status", Static).render())

            await pilot.press("p")  # resume: read first, then let the clock move the cells
            await until(pilot, lambda: str(lease_cell()) == "3s left")
            assert isinstance(lease_cell(), str)  # no longer greyed
    finally:
        await registry.close()
