"""A second OS process that commits to a registry on command, for the streaming tests:

    python -m tests.cli.committer TARGET

reads lines from stdin (`register ID`, `note ID N`, `complete ID`), commits each in its own
transaction, and prints `done <epoch seconds>` once the commit has returned, so the test
can time how long a follower takes to print it. It stays open, like a worker would.
"""

from __future__ import annotations

import asyncio
import sys
import time

from lashtui.model import ProcessEventAppendRequest, ProcessEventType, SuccessOutput
from lashtui.registry import ProcessRegistry, open_registry
from tests.builders import ext

NOTE = "job.note"


def registration(process_id: str) -> object:
    return ext(process_id, event_types=[ProcessEventType.plain(NOTE)])


async def commit(registry: ProcessRegistry, words: list[str]) -> None:
    command, process_id = words[0], words[1]
    if command == "register":
        await registry.register_process(registration(process_id))  # type: ignore[arg-type]
    elif command == "note":
        await registry.append_event(process_id, ProcessEventAppendRequest.new(NOTE, int(words[2])))
    elif command == "complete":
        await registry.complete_process(process_id, SuccessOutput(value="ok"))
    else:
        raise SystemExit(f"unknown command {command}")


async def main(target: str) -> None:
    async with open_registry(target) as registry:
        loop = asyncio.get_running_loop()
        while line := await loop.run_in_executor(None, sys.stdin.readline):
            await commit(registry, line.split())
            print(f"done {time.time():.6f}", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
