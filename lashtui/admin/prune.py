"""Pruning: deleting terminal rows last changed before a cutoff (`prune`), and counting what
that would delete without writing anything (`prune_preview`).

Unlike the other acts, a prune has no target: it reports one `ProcessPruneOutcome` for the
registry. A cutoff outside what any row's `updated_at_ms` can be is a bad argument, refused
in one sentence before anything is read (`check_prune_cutoff`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lashtui.errors import InvalidRequest
from lashtui.model.outcome import (
    ProcessPruneOutcome,
    ProcessPrunePreview,
    cutoff_text,
    prune_extent,
)

if TYPE_CHECKING:
    from lashtui.admin.processes import Processes


# A prune cutoff is epoch milliseconds from 1970 to the end of year 9999: beyond that no
# row's `updated_at_ms` can be, and SQLite's integers end not far past it (2**63 - 1).
PRUNE_CUTOFF_MAX_MS = 253_402_300_799_999


def check_prune_cutoff(cutoff_epoch_ms: int) -> int:
    if not 0 <= cutoff_epoch_ms <= PRUNE_CUTOFF_MAX_MS:
        raise InvalidRequest(
            "a prune cutoff is epoch milliseconds from 0 to "
            f"{PRUNE_CUTOFF_MAX_MS} (the end of year 9999), got `{cutoff_epoch_ms}`"
        )
    return cutoff_epoch_ms


async def prune_preview(processes: Processes, cutoff_epoch_ms: int) -> ProcessPrunePreview:
    """What `prune` would delete at this cutoff, counted from indexes; nothing is written."""
    check_prune_cutoff(cutoff_epoch_ms)
    count = await processes.registry.count_prunable_processes(cutoff_epoch_ms)
    extent = prune_extent(count.processes, count.events, cutoff_epoch_ms)
    return ProcessPrunePreview(
        sentence=f"would prune {extent}; nothing was deleted (dry run)",
        cutoff_epoch_ms=cutoff_epoch_ms,
        processes=count.processes,
        events=count.events,
        up_to_change_seq=count.up_to_change_seq,
    )


async def prune(
    processes: Processes, cutoff_epoch_ms: int, up_to_change_seq: int | None = None
) -> ProcessPruneOutcome:
    """Delete terminal rows last changed before the cutoff (nothing running, ever); with
    `up_to_change_seq` (a preview's), only rows that had ended when it was counted."""
    check_prune_cutoff(cutoff_epoch_ms)
    report = await processes.registry.prune_terminal_processes(
        cutoff_epoch_ms, up_to_change_seq=up_to_change_seq
    )
    pruned = report.pruned_processes
    sentence = (
        f"pruned {prune_extent(pruned, report.pruned_events, cutoff_epoch_ms)}"
        if pruned
        else f"no terminal process was last changed before {cutoff_text(cutoff_epoch_ms)}: "
        "nothing was deleted"
    )
    return ProcessPruneOutcome(
        outcome="done" if pruned else "unchanged",
        sentence=sentence,
        cutoff_epoch_ms=cutoff_epoch_ms,
        pruned_processes=pruned,
        pruned_events=report.pruned_events,
    )
