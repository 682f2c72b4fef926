"""Many handles and many OS processes on one registry file: first opens converge, leases
fence across processes, contending writers queue instead of failing."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from pathlib import Path

from lashtui.clock import ManualClock
from lashtui.errors import LeaseLost
from lashtui.model import (
    LeaseOwnerIdentity,
    ProcessEventAppendRequest,
    ProcessEventType,
    ProcessLease,
)
from lashtui.registry import open_registry
from lashtui.registry.sqlite.schema import SCHEMA_VERSION
from tests.builders import ext, ob, own

ROOT = Path(__file__).resolve().parents[2]


async def run_child(*args: str) -> tuple[int, str]:
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.registry.registry_child",
        *args,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(child.communicate(), timeout=60)
    assert child.returncode is not None
    return child.returncode, out.decode() + err.decode()


async def test_sixteen_concurrent_first_opens_in_one_process(tmp_path: Path) -> None:
    path = str(tmp_path / "fresh.db")

    async def open_and_register(index: int) -> int:
        async with open_registry(path) as registry:
            await registry.register_process(ext(f"p{index:02}"))
            return len(await registry.list_processes())

    await asyncio.gather(*(open_and_register(i) for i in range(16)))
    async with open_registry(path) as registry:
        assert len(await registry.list_processes()) == 16


async def test_sixteen_concurrent_first_opens_in_separate_processes(tmp_path: Path) -> None:
    path = str(tmp_path / "fresh.db")
    results = await asyncio.gather(*(run_child("open", path) for _ in range(16)))
    assert [code for code, _ in results] == [0] * 16, [out for _, out in results]
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


async def test_two_handles_share_one_fence(tmp_path: Path, clock: ManualClock) -> None:
    path = str(tmp_path / "shared.db")
    async with (
        open_registry(path, clock=clock) as first,
        open_registry(path, clock=clock) as second,
    ):
        await first.register_process(ob("p"))
        lease = (await first.claim_process_lease("p", own("a"), 1_000)).acquired()
        assert lease is not None
        busy = await second.claim_process_lease("p", own("b"), 1_000)
        assert busy.holder is not None and busy.holder.lease_token == lease.lease_token
        clock.advance(1_000)
        taken = (await second.claim_process_lease("p", own("b"), 1_000)).acquired()
        assert taken is not None and taken.fencing_token == lease.fencing_token + 1
        try:
            await first.renew_process_lease(lease, 1_000)
        except LeaseLost:
            pass
        else:
            raise AssertionError("a superseded lease renewed through another handle")


async def test_a_lease_from_another_os_process_fences_until_its_holder_is_provably_dead(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "shared.db")
    code, out = await run_child("claim", path, "p", "worker-a", "60000")
    assert code == 0, out
    held = ProcessLease.model_validate_json(out.strip().splitlines()[-1])
    async with open_registry(path) as registry:
        # An opaque claimant can never prove anything: the live lease stands.
        busy = await registry.claim_process_lease("p", own("b"), 60_000)
        assert busy.holder == held
        opaque = await registry.reclaim_process_lease("p", own("b"), held, 60_000)
        assert opaque.holder == held
        # A same-host local claimant sees /proc/<pid> gone and takes it, with a new fence.
        me = LeaseOwnerIdentity.local_process("worker-b", "worker-b:1", "host-a")
        taken = (await registry.reclaim_process_lease("p", me, held, 60_000)).acquired()
        assert taken is not None and taken.fencing_token == held.fencing_token + 1
        # The dead holder's lease is fenced off for good.
        try:
            await registry.renew_process_lease(held, 60_000)
        except LeaseLost:
            pass
        else:
            raise AssertionError("the dead holder's lease renewed after a reclaim")


async def test_contending_writers_queue_instead_of_failing(tmp_path: Path) -> None:
    path = str(tmp_path / "busy.db")
    line = ProcessEventType.plain("producer.line")
    async with open_registry(path) as setup:
        await setup.register_process(ext("p", event_types=[line]))

    async def writer(name: str) -> None:
        async with open_registry(path) as registry:
            for i in range(50):
                request = ProcessEventAppendRequest.new("producer.line", {"w": name, "i": i})
                await registry.append_event("p", request)

    await asyncio.gather(*(writer(f"w{n}") for n in range(4)))
    async with open_registry(path) as registry:
        events = await registry.events_after("p", 0)
    assert [event.sequence for event in events] == list(range(1, 201))
