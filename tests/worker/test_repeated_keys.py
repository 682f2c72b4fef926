"""A record another program wrote naming `disposition` twice, on a row a killed worker
held: SQLite's JSON functions read the first, the models (and PostgreSQL's jsonb) the last,
and the worker's SQL picks rows to re-run or abandon by the first while it acts by the
record. Such a row is undecodable: no worker or sweep re-runs or abandons it by either
reading (ADR 0019), and it is shown as a stand-in that says why. Real workers, SIGKILL."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from lashtui.model import ProcessLifecycleStatus, RecoveryDisposition
from lashtui.registry import ProcessRegistry
from tests.raw import raw_connection
from tests.worker.lab import Lab, get, register, started

pytestmark = pytest.mark.alone


@pytest.fixture
async def registry(lab: Lab) -> AsyncIterator[ProcessRegistry]:
    """The test's handle on the lab's registry, on real time as its workers are."""
    async with lab.registry() as opened:
        yield opened


@pytest.mark.parametrize("first", ["rerunnable", "owner_bound"])
async def test_a_row_naming_its_disposition_twice_is_neither_rerun_nor_abandoned(
    lab: Lab, registry: ProcessRegistry, registry_target: str, first: str
) -> None:
    await register(registry, "twice", "block", RecoveryDisposition.OWNER_BOUND)
    a = await lab.spawn("worker-a", "host-1")
    await lab.until(started(registry, "twice"), "A to start the row")
    await lab.until(lambda: len(lab.records()) == 1, "A's execution in the record file")
    last = "owner_bound" if first == "rerunnable" else "rerunnable"
    with raw_connection(registry_target) as conn:
        (text,) = conn.execute(
            "SELECT record_json FROM processes WHERE process_id = ?", ("twice",)
        ).fetchone()
        record = json.loads(text)
        del record["disposition"]
        body = json.dumps({"disposition": first, **record})[:-1]
        text = f'{body}, "disposition": "{last}"}}'
        conn.execute(
            "UPDATE processes SET record_json = ? WHERE process_id = ?", (text, "twice")
        )
    await a.kill()
    b = await lab.spawn("worker-b", "host-1")
    await lab.until(lambda: b.stats().get("drives", 0) >= 6, "B to drive six times")
    shown = await get(registry, "twice")
    print("B verdicts", b.verdicts(), "runs", b.runs(), "stats", b.stats())
    print("executions", lab.executions_of("twice"), "state", shown.status.state,
          "undecodable", shown.undecodable)
    assert lab.executions_of("twice") == [a.pid]  # never re-run
    assert shown.status.state is ProcessLifecycleStatus.RUNNING  # never abandoned
    assert shown.undecodable is not None and "`disposition` twice" in shown.undecodable
    lease = await registry.get_process_lease("twice")
    print("lease", lease)
    assert lease is None or lease.owner.owner_id != "worker-b"  # never claimed either
    await b.kill()
