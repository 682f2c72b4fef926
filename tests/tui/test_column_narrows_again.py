"""A column narrows again when the cell that made it wide is gone from it.

Seen in `lashtui demo` at 80x24: LEASE was drawn 16 cells wide (a `lapsed 1m29s ago` once)
for the whole session while every lease cell read `4s left`, and the label and WHY beside it
were cut to 9 cells. A row's cells are measured again when its process changes, but the
columns were fitted again only when one grew or a row left: a lease renewed or released
narrowed its cell and left its column as wide as before."""

from __future__ import annotations

from pathlib import Path

from lashtui.clock import ManualClock
from lashtui.model import ProcessIdentity
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.tui.widgets.process_table import ProcessTable
from tests.builders import ob
from tests.tui.scene import START_MS, far, home_loaded, until
from tests.tui.test_column_widths import observer

LABEL = "reconcile every ledger entry against the bank statements"


async def test_the_lease_column_narrows_when_its_widest_cell_is_gone(tmp_path: Path) -> None:
    clock = ManualClock(START_MS)
    registry = await SqliteProcessRegistry.open(str(tmp_path / "narrows.db"), clock=clock)
    try:
        identity = ProcessIdentity(kind="external", label=LABEL)
        leases = {}
        for pid, ttl in (("held", 600_000), ("lapsing", 1_000)):
            await registry.register_process(ob(pid, identity=identity))
            leases[pid] = (await registry.claim_process_lease(pid, far("worker-3"), ttl)).acquired()
        clock.advance(90_000)  # `lapsed 1m29s ago`: the widest LEASE cell; `8m30s left`
        app = observer(registry, clock)
        async with app.run_test(size=(80, 24)) as pilot:
            home = await home_loaded(pilot)
            table = home.query_one(ProcessTable)
            assert str(table.get_cell("lapsing", "lease")) == "lapsed 1m29s ago"
            assert table.drawn["lease"] == len("lapsed 1m29s ago")
            label = table.drawn["label"]
            assert label < len(LABEL)  # cut, to leave LEASE its 16 cells
            lease = leases["lapsing"]
            assert lease is not None
            await registry.release_process_lease(lease)
            await until(pilot, lambda: str(table.get_cell("lapsing", "lease")) == "-")
            await until(pilot, lambda: table.drawn["lease"] == len("8m30s left"))
            assert table.drawn["label"] == label + 6  # the width given back goes to the text
    finally:
        await registry.close()
