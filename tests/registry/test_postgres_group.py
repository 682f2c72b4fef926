"""Group commit on PostgreSQL (postgres/group.py): the short writes of one moment commit as
one transaction, and a write that fails there fails alone."""

from __future__ import annotations

import asyncio

from lashtui.errors import UnknownProcess
from lashtui.model import ProcessEventAppendRequest
from lashtui.registry import open_registry
from tests.builders import ext
from tests.raw import raw_connection


def _write_transactions(url: str) -> int:
    """Write transactions begun on the registry so far (each counts itself at BEGIN)."""
    with raw_connection(url) as conn:
        return int(conn.execute("SELECT last_value FROM process_commit_counter").fetchone()[0])


def note(reason: str) -> ProcessEventAppendRequest:
    return ProcessEventAppendRequest.new("process.cancel_requested", {"reason": reason}, reason)


async def test_the_short_writes_of_one_moment_commit_together(postgres_schema: str) -> None:
    async with open_registry(postgres_schema) as registry:
        for n in range(8):
            await registry.register_process(ext(f"p{n}"))
        before = _write_transactions(postgres_schema)
        results = await asyncio.gather(
            *(registry.append_event(f"p{n}", note(f"n{n}")) for n in range(8))
        )
        assert [result.event.sequence for result in results] == [1] * 8
        assert _write_transactions(postgres_schema) - before == 1
        for n in range(8):
            assert [e.event_type for e in await registry.events_after(f"p{n}", 0)] == [
                "process.cancel_requested"
            ]


async def test_a_write_that_fails_in_a_group_fails_alone(postgres_schema: str) -> None:
    async with open_registry(postgres_schema) as registry:
        for n in range(3):
            await registry.register_process(ext(f"p{n}"))
        outcomes = await asyncio.gather(
            registry.append_event("p0", note("a")),
            registry.append_event("nobody", note("b")),
            registry.append_event("p2", note("c")),
            return_exceptions=True,
        )
        assert isinstance(outcomes[1], UnknownProcess)
        for pid in ("p0", "p2"):
            assert len(await registry.events_after(pid, 0)) == 1
        assert await registry.events_after("p1", 0) == []
