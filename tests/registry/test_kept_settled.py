"""A start's write kept for its cancelled caller (kept.py) arrives even when its group
settled in the same turn as the cancel, before the caller's `keep_write` ran.

The cancel cancels the caller's future at once; the group, woken first, found it done and
handed its outcome to nobody; the caller's `keep_write` then made a kept future that
nothing settled. A start cancelled so left its row claimed, its run never spawned, and the
worker's `idle()` waited for ever: `test_a_start_whose_caller_is_cancelled_while_it_commits_
still_runs[postgres-*]` hung 2 runs in 25 under load (and stalled a CI run). Here the
interleaving is forced on the group commit itself, with a commit that waits on a gate."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from lashtui.registry.kept import KEEPING, Kept
from lashtui.registry.postgres.group import GroupCommit, PendingWrite


async def test_an_outcome_settled_before_the_cancelled_caller_kept_it_still_arrives() -> None:
    gate = asyncio.Event()
    committing = asyncio.Event()

    async def commit(group: list[PendingWrite]) -> list[Any]:
        committing.set()
        await gate.wait()
        return [f"committed {write.args[0]}" for write in group]

    async def alone(write: PendingWrite) -> Any:
        committing.set()
        await gate.wait()
        return f"committed {write.args[0]}"

    group = GroupCommit(commit, alone, in_flight=1)
    kept = Kept()

    async def caller() -> Any:
        KEEPING.set(kept)  # (the task's own context: as a start through a worker sets it)
        return await group.write(lambda tx, pid: pid, ("p1",), {})

    task = asyncio.create_task(caller())
    await asyncio.wait_for(committing.wait(), 5)
    # In one step: the commit returns (its task woken first), then the caller is cancelled.
    gate.set()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert kept.outcome is not None  # the caller kept its outcome ...
    assert await asyncio.wait_for(kept.outcome, 5) == "committed p1"  # ... and it arrived
    await group.settled()
