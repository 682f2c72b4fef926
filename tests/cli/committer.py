"""A second OS process that commits to a registry on command, for the streaming tests:

    python -m tests.cli.committer TARGET

reads lines from stdin (`register ID`, `note ID N`, `complete ID`, and a lease's writes:
`claim ID OWNER TTL_MS`, `renew ID TTL_MS`, `release ID`), commits each in its own
transaction, and prints `done <epoch seconds>` once the commit has returned, so the test
can time how long a follower takes to print it. It stays open, like a worker would.
"""

from __future__ import annotations

import asyncio
import sys
import time

from lashtui.model import (
    ProcessEventAppendRequest,
    ProcessEventType,
    ProcessLease,
    SuccessOutput,
)
from lashtui.registry import ProcessRegistry, open_registry
from tests.builders import ext, own

NOTE = "job.note"


def registration(process_id: str) -> object:
    return ext(process_id, event_types=[ProcessEventType.plain(NOTE)])


async def commit(
    registry: ProcessRegistry, words: list[str], leases: dict[str, ProcessLease]
) -> None:
    command, process_id = words[0], words[1]
    if command == "register":
        await registry.register_process(registration(process_id))  # type: ignore[arg-type]
    elif command == "note":
        await registry.append_event(process_id, ProcessEventAppendRequest.new(NOTE, int(words[2])))
    elif command == "complete":
        await registry.complete_process(process_id, SuccessOutput(value="ok"))
    elif command == "claim":  # as a worker claims: a lease row written, the record not
        outcome = await registry.claim_process_lease(process_id, own(words[2]), int(words[3]))
        lease = outcome.acquired()
        if lease is None:
            raise SystemExit(f"{process_id} is held by another owner")
        leases[process_id] = lease
    elif command == "renew":
        leases[process_id] = await registry.renew_process_lease(leases[process_id], int(words[2]))
    elif command == "release":
        await registry.release_process_lease(leases.pop(process_id))
    else:
        raise SystemExit(f"unknown command {command}")


async def main(target: str) -> None:
    async with open_registry(target) as registry:
        loop = asyncio.get_running_loop()
        leases: dict[str, ProcessLease] = {}  # the leases this process holds, by process id
        while line := await loop.run_in_executor(None, sys.stdin.readline):
            await commit(registry, line.split(), leases)
            print(f"done {time.time():.6f}", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
