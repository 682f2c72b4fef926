"""How long the dashboard waits for its embedded worker to stop: at `q` (app.py, a toast)
and once the screen is gone (command/dashboard_stop.py, a line on stderr). One bound for
both, so each says the same figure and shows it for as long as the wait it describes.

The wait is the lease TTL or `LONGEST_WAIT_S`, whichever is shorter: a lease the registry
has not taken back by then would have lapsed anyway, so waiting more only keeps the
operator. Past it the stop is hurried (`ProcessWorker.hurried_by`, as `lashtui worker`'s
second signal): each release waits `HURRIED_RELEASE_S` more at most, and the stop
`HURRIED_STOP_S` in all. No Textual here: the
stop after the screen imports it.
"""

from __future__ import annotations

from lashtui.worker.runtime import HURRIED_RELEASE_S

# As long as one SQLite write waits for the write lock (connect.py BUSY_TIMEOUT_MS).
LONGEST_WAIT_S = 15.0
# How long one wait of a hurried stop takes at most: its releases' (stop.py `_settle`: a
# release's wait and a quarter second), and a little more for the loop to run what they left.
HURRIED_S = HURRIED_RELEASE_S + 0.5
# How long a hurried stop takes at most: one hurried while it waits for the starts whose
# callers gave up (stop.py `_settle_orphans`) then waits for its runs' releases: two such
# waits (~2.5 s, each `_settle`'s bound). The quit in the app waits the stop out (a second
# stop begun beside it, by the stop after the screen, would cancel runs again while they
# release their leases), and so does the stop after the screen: given only `HURRIED_S`, it
# said the leases of runs the stop was still releasing were not handed back.
HURRIED_STOP_S = 2 * HURRIED_S


def longest_wait_s(ttl_ms: int) -> float:
    """How long a stop of a worker whose leases live `ttl_ms` is waited for unhurried."""
    return min(LONGEST_WAIT_S, ttl_ms / 1000)
