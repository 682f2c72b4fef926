"""What a commit's NOTIFY says: whose commit it is, and whether it may have made work for a
worker.

Every write transaction queues one NOTIFY (delivered only if it commits). The dashboard
needs them all; a worker needs only the commits
after which its worklist may hold something it can do: a new row (a registration, a
start, a rerun), a lease released, an abandon request. Most commits of a busy fleet are
the workers' own hot path, which makes no work for anyone: a claim takes a row (never frees
one), a renewal extends a lease, first-started is recorded under a lease, and a terminal
written under a lease ends its row. Measured with pg_stat_statements, four workers draining
2,000 rows read the change feed 0.7-1.2 times a row for those commits, each read finding
nothing to claim.

So a transaction whose writes (the group's, for a group commit) are all in `QUIET` is
announced on the registry's quiet channel (`quiet_channel`, below), the others on
its channel; a listener that asks for work only (`notifications(work_only=True)`, the
worker's wake) listens on the channel alone, and the dashboard on both. The server then
never sends a worker the quiet ones: when every listener heard every commit and dropped
the quiet ones itself, each of four workers draining 2,000 rows was woken ~2,200 times to
parse and drop one, on its client and its backend. Skipping one costs nothing but
latency, never a row: the wake reads the change feed from its cursor, so the next commit
that wakes it, or the renew interval's drive, reads what a skipped one changed.
Everything else, including what this module does not know, says `may be work`.

The payload is the handle's id, followed by ` quiet` for a quiet commit: an older build
announced every commit on the channel with that suffix, and a listener still drops such
a payload when it asks for work only. A payload without the suffix is work.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import Any

from lashtui.registry.postgres import complete, start
from lashtui.registry.sql import claim, event, lease, process, run

# Transaction functions that never make a row claimable or hand a worker anything to do
# (see the module docstring).
QUIET: frozenset[Callable[..., Any]] = frozenset(
    {
        run.claim_for_run,
        run.claim_next_for_run,
        # A start through a worker's facade: its new row is that worker's, claimed in the
        # same transaction; when it claims nothing (a replay, a row no worker runs) there is
        # nothing new for a worker either.
        run.start_for_run,
        start.start_in_server,  # (the same, in one call)
        claim.claim,
        lease.renew,
        process.record_first_started,
        event.complete_with_lease,
        complete.complete_in_server,
    }
)

QUIET_SUFFIX = " quiet"


def is_quiet(functions: Iterable[Callable[..., Any]]) -> bool:
    """Whether a transaction running `functions` (each one write) makes no worker work."""
    return all(fn in QUIET for fn in functions)


def payload(handle_id: str, quiet: bool) -> str:
    return handle_id + QUIET_SUFFIX if quiet else handle_id


def parse(text: str) -> tuple[str, bool]:
    """The handle id a payload names, and whether its commit was quiet."""
    if text.endswith(QUIET_SUFFIX):
        return text[: -len(QUIET_SUFFIX)], True
    return text, False


def notify_channel(schema: str) -> str:
    """The channel a registry's commits are announced on: one per schema, and short enough
    for PostgreSQL's 63-byte identifiers whatever the schema's name. Quiet commits go to
    `quiet_channel` (notice.py)."""
    return "lashtui_" + hashlib.sha256(schema.encode()).hexdigest()[:16]


def quiet_channel(channel: str) -> str:
    """Where the commits that make no work for a worker are announced (notice.py): a
    listener on `channel` alone (a worker's wake) is never sent them."""
    return channel + QUIET_CHANNEL_SUFFIX


QUIET_CHANNEL_SUFFIX = "_quiet"
