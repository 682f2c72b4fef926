"""A separate OS process acting on a registry file, for cross-process tests.

    python -m tests.registry.registry_child open PATH
    python -m tests.registry.registry_child register PATH PID
    python -m tests.registry.registry_child claim PATH PID OWNER TTL_MS

`open` opens (creating if needed) and lists; `register` registers an externally-owned row;
`claim` registers an owner_bound row if absent, claims its lease as a local_process owner
and prints the lease JSON, then exits: a holder that is provably dead afterwards.
"""

from __future__ import annotations

import asyncio
import sys

from lashtui.model import LeaseOwnerIdentity
from lashtui.registry import open_registry
from tests.builders import ext, ob


async def main(argv: list[str]) -> int:
    command, path = argv[0], argv[1]
    async with open_registry(path) as registry:
        if command == "open":
            await registry.list_processes()
            return 0
        if command == "register":
            await registry.register_process(ext(argv[2]))
            return 0
        if command == "claim":
            process_id, owner_id, ttl_ms = argv[2], argv[3], int(argv[4])
            await registry.register_process(ob(process_id))
            owner = LeaseOwnerIdentity.local_process(owner_id, f"{owner_id}:1", "host-a")
            outcome = await registry.claim_process_lease(process_id, owner, ttl_ms)
            lease = outcome.acquired()
            if lease is None:
                return 3
            print(lease.model_dump_json(), flush=True)
            return 0
    return 2


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(sys.argv[1:])))
