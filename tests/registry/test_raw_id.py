"""A row whose `process_id` another program stored as bytes that are not UTF-8 (SQLite keeps
any bytes as TEXT; PostgreSQL cannot hold such text, so this is SQLite only): it is listed,
shown, read event by event, ended by its id through the facade, and pruned with its events,
grants and lease, all keyed by the original bytes. Before, listing it failed in the lease
read, the census and the dashboard's page, and looking it up was "a value looked up holds a
lone surrogate". The row is written with raw sqlite3, as another program would."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from lashtui.admin import Processes
from lashtui.clock import ManualClock
from lashtui.errors import InvalidRequest
from lashtui.model import (
    ProcessEventAppendRequest,
    ProcessHandleDescriptor,
    ProcessPageQuery,
)
from lashtui.registry import ProcessRegistry, open_registry
from tests.builders import rr
from tests.raw import raw_connection, rows_keyed, store_id_as_bytes
from tests.registry.rows import ANY, claim, scope

RAW = b"r\xffw"
RAW_ID = RAW.decode("utf-8", "surrogateescape")  # how the read path hands it over: "r\udcffw"


@pytest.fixture
async def raw_registry(tmp_path: Path, clock: ManualClock) -> AsyncIterator[ProcessRegistry]:
    """`good`, and `r\\xffw` (was `raw`): a running row with an event, a grant and a lease,
    all renamed to bytes that are not UTF-8."""
    db = str(tmp_path / "r.db")
    async with open_registry(db, clock=clock) as registry:
        await registry.register_process(rr("good"))
        await registry.register_process(rr("raw"))
        request = ProcessEventAppendRequest.cancel_requested("raw", "first")
        await registry.append_event("raw", request)
        await registry.grant_handle(scope("alice"), "raw", ProcessHandleDescriptor(label="r"))
        await claim(registry, "raw")
    store_id_as_bytes(db, "raw", RAW)
    async with open_registry(db, clock=clock) as registry:
        yield registry


def _db(registry: ProcessRegistry) -> str:
    return str(registry.path)  # type: ignore[attr-defined]


async def test_it_is_listed_by_every_read(raw_registry: ProcessRegistry) -> None:
    processes = Processes(raw_registry)
    listed = {p.process_id: p for p in await processes.list(ANY)}
    assert set(listed) == {"good", RAW_ID}
    assert listed[RAW_ID].undecodable and listed[RAW_ID].kind == "undecodable"
    page = await processes.page(ProcessPageQuery(limit=10))
    assert [p.process_id for p in page] == ["good", RAW_ID]
    assert set((await processes.census()).live) == {"good", RAW_ID}
    assert set(await processes.observe([RAW_ID, "good"])) == {"good", RAW_ID}
    shown = await processes.get(RAW_ID)
    assert shown is not None and shown.lease_holder is not None  # its lease row, by its bytes
    (event,) = await processes.events(RAW_ID)
    assert event.event_type == "process.cancel_requested" and event.undecodable
    grants = await raw_registry.handle_grants_for_process(RAW_ID)
    assert len(grants) == 1


async def test_the_facade_ends_it_by_id_and_prune_removes_everything_under_it(
    raw_registry: ProcessRegistry, clock: ManualClock
) -> None:
    processes = Processes(raw_registry, clock=clock)
    db = _db(raw_registry)

    ended = await processes.end_undecodable(RAW_ID, "dana", "written by a broken tool")

    assert ended.process_id == RAW_ID and ended.lifecycle.value == "failed"
    assert ended.undecodable is None and ended.lease_holder is None
    got = await processes.get(RAW_ID)  # read back: the record decodes, the id is the column's
    assert got is not None and got.process_id == RAW_ID and got.terminal
    first, last = await processes.events(RAW_ID)
    assert first.undecodable and last.event_type == "process.failed"
    message = str(json.loads(last.model_dump_json())["payload"]["await_output"]["message"])
    assert message.endswith("; ended by dana: written by a broken tool")
    assert (await raw_registry.events_after(RAW_ID, 1))[0].process_id == RAW_ID
    # The id column kept its bytes; the JSON names the id as escape text (no lone surrogate).
    with raw_connection(db) as conn:
        text = conn.execute(
            "SELECT record_json FROM processes WHERE process_id = CAST(? AS TEXT)", (RAW,)
        ).fetchone()[0]
    assert json.loads(text)["id"] == "r\\udcffw"
    assert rows_keyed(db, RAW) == {
        "processes": 1,
        "process_events": 2,
        "process_leases": 1,
        "process_handle_grants": 1,
    }
    assert [p.process_id for p in await processes.list(ANY)] == ["good", RAW_ID]

    clock.advance(1_000)
    report = await processes.prune(clock.now_ms())

    assert report.pruned_processes == 1 and report.pruned_events == 2
    assert [p.process_id for p in await processes.list(ANY)] == ["good"]
    assert set(rows_keyed(db, RAW).values()) == {0}
    assert await processes.get(RAW_ID) is None


async def test_an_id_no_byte_decodes_to_is_one_sentence(raw_registry: ProcessRegistry) -> None:
    """`\\ud800` is no byte's escape, so no stored text can be it."""
    with pytest.raises(InvalidRequest, match=r"^a value looked up holds a lone surrogate"):
        await raw_registry.get_process("a\ud800")
    assert await raw_registry.get_process("a\udcfe") is None  # a byte no row holds
