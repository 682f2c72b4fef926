"""`ls --watch`'s lease timer (lashtui/command/lease_watch.py) on a real SQLite registry and
a ManualClock: a renewal the table does not print moves the timer to the new expiry. Left
at the old one, the watch woke there, found nothing lapsed (the lease had been renewed), and
with the old expiry still the soonest, already past, woke again at once, and again, a busy
loop until the renewed expiry passed."""

from __future__ import annotations

from lashtui.admin import Processes
from lashtui.clock import ManualClock
from lashtui.command.lease_watch import LeaseWatch
from lashtui.registry import ProcessRegistry
from tests.builders import ext, own


async def test_a_renewal_the_table_does_not_show_moves_the_timer(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    processes = Processes(registry, clock=clock)
    await registry.register_process(ext("a"))
    lease = (await registry.claim_process_lease("a", own("w-1"), 2_000)).acquired()
    assert lease is not None
    watch = LeaseWatch("table")
    printed = await processes.get("a")
    assert printed is not None
    watch.printed(printed, clock.now_ms())
    assert watch.next_lapse_s(clock.now_ms()) == 2.001  # (lapsed one millisecond past it)
    await registry.renew_process_lease(lease, 5_000)
    clock.advance(2_001)  # the old expiry passes: the timer wakes the watch
    assert await watch.changed(processes) == []  # the table shows no renewal
    assert watch.next_lapse_s(clock.now_ms()) == 3.0  # not 0: the renewed expiry's
    clock.advance(3_000)
    [again] = await watch.changed(processes)  # the renewed lease has lapsed: printed again
    watch.printed(again, clock.now_ms())
    assert watch.next_lapse_s(clock.now_ms()) is None
