"""`StateCounts`: how many processes are in each state, kept incrementally.

Counting with `GROUP BY status` over a million rows takes ~100 ms, too much for every tick.
So the view takes one census (terminal counts, plus every live process id with its state,
as of a change-feed cursor) and then moves the counts with each change the feed delivers.
A live row's previous state is known from the census map, and terminal states never
change. A terminal row can still come back through the feed (an event appended to it, a
wake target cleared), so a terminal is counted only when a live row ends, or when a row
created after the census arrives already ended, and only once. Pruning is the one thing the
feed does not report; the screen takes a fresh census after a prune (its own, or one another
program made, which lashtui's audit trail records: screens/process_feed.py `_pruned_elsewhere`),
and now and then.

Rows whose status column holds no state (another program wrote it: `ObservedProcess.no_state`)
are in no state's count: the census counts them apart, by id, and so does `apply`, as rows
enter and leave that count. The one change it cannot place is an ended row whose column
loses its state (which terminal count held it is not in the row any more): it then asks for
a fresh census (`stale`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from lashtui.model import NO_STATE, ObservedProcess, ProcessCensus, process_state

STATES = ("running", "waiting", "completed", "failed", "cancelled", "abandoned")


class StateCounts:
    def __init__(self, census: ProcessCensus, taken_at_ms: int) -> None:
        self.live = dict(census.live)  # live process id -> running | waiting
        self.tally = Counter(census.terminal)
        self.tally.update(self.live.values())
        # (live rows that read as another's id, counted but not by id: `ProcessCensus.unkeyed`)
        self.tally.update(census.unkeyed)
        self.no_state = census.no_state
        self.unstated = set(census.no_state_ids)  # the rows counted under `NO_STATE`
        self.taken_at_ms = taken_at_ms
        self.ended: set[str] = set()  # rows counted terminal since the census
        self.stale = False  # a change these counts cannot place: take a census
        self._ids: dict[str, list[str]] = {}  # `ids_in`'s answers until the next change

    def apply(self, changed: Iterable[ObservedProcess]) -> None:
        self._ids.clear()
        for process in changed:
            pid = process.process_id
            was = self.live.pop(pid, None)
            if process.no_state:
                self._unstated(process, was)
                continue
            again = pid in self.unstated  # its column holds a state again: counted anew
            if again:
                self.unstated.discard(pid)
                self.no_state -= 1
            state = process_state(process)
            if not process.terminal:
                self.live[pid] = state
            elif not again and was is None and (
                pid in self.ended or process.created_at_ms < self.taken_at_ms
            ):
                continue  # an ended row touched again: it was counted already
            else:
                self.ended.add(pid)
            if was is not None:
                self.tally[was] -= 1
            self.tally[state] += 1

    def _unstated(self, process: ObservedProcess, was: str | None) -> None:
        """Count a row whose status column holds no state apart: one that was live leaves
        its state's count, a new one enters; an ended one's count is not known (`stale`)."""
        pid = process.process_id
        if pid in self.unstated:
            return
        if was is not None:
            self.tally[was] -= 1
        elif pid in self.ended or process.created_at_ms < self.taken_at_ms:
            self.stale = True  # an ended row: which terminal count held it is not said
            return
        self.unstated.add(pid)
        self.no_state += 1

    def ids_in(self, state: str) -> list[str]:
        """The live ids in `state`, ascending (a walk of every live id, kept until the
        next change: a page asks for them several times a second)."""
        if state not in self._ids:
            self._ids[state] = sorted(pid for pid, now in self.live.items() if now == state)
        return self._ids[state]

    def counts(self) -> dict[str, int]:
        counts = {state: self.tally[state] for state in STATES}
        if self.no_state:
            counts[NO_STATE] = self.no_state
        return counts

    def total(self) -> int:
        return sum(self.tally[state] for state in STATES) + self.no_state
