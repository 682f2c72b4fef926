"""What a one-pass run says (`worker --once`, `sweep`): its counts by verdict
(`pass_counts`, the `-o json` document) and its line for people (`pass_line`), the runs
that lost their leases (`lost_leases`, `lost_sentence`: the pass then fails), and the log
lines of a pass that waits for its runs or reaches `--timeout` (`TIMED_OUT`).

Apart from worker.py, which runs the pass and the worker loop, because these read the
worker's tallies once the pass is over and decide nothing themselves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lashtui.worker import ProcessWorker

# `worker --once --timeout`'s exit status when the bound came with runs still in flight: GNU
# `timeout`'s, which a cron user knows; no other exit of lashtui uses it.
TIMED_OUT = 124


def lost_leases(worker: ProcessWorker) -> list[dict[str, object]]:
    """The runs that lost their leases (the first `LOST_NAMED`), each with how, for the
    `-o json` document of a pass they failed: its counts said how many, never which row
    or why."""
    named = worker.stats.lost_named
    return [{"process_id": pid, "why": why, "lapsed": lapsed} for pid, why, lapsed in named]


def lost_sentence(worker: ProcessWorker) -> str:
    """Which runs lost their leases, and how: `the lease of 1 run lapsed before it ended
    (job): ...` when every one lapsed; else `the lease of 1 run was lost before it ended
    (stopped, no terminal written): job at renewal, which the registry refused: ...`, each
    run named with its why."""
    from lashtui.worker.runtime import RunEnd

    stats = worker.stats
    total, named = stats.runs[RunEnd.LEASE_LOST], stats.lost_named
    more = ", ..." if total > len(named) else ""
    whose = "the lease of 1 run" if total == 1 else f"the leases of {total} runs"
    ended = "it" if total == 1 else "they"
    if stats.lapsed == total:
        ids = ", ".join(pid for pid, _, _ in named) + more
        return (
            f"{whose} lapsed before {ended} ended ({ids}): no renewal went through before "
            "the lease expired"
        )
    was = "was" if total == 1 else "were"
    said = "; ".join(f"{pid} {why}" for pid, why, _ in named) + more
    return f"{whose} {was} lost before {ended} ended (stopped, no terminal written): {said}"


def say_waiting(worker: ProcessWorker, timeout_s: float | None) -> None:
    """What a `--once` pass still waits for: runs it started, and rows it is still
    claiming (a claim may wait for a registry another process holds locked). It called
    both "runs it started", of a row whose claim was waiting for the lock."""
    from lashtui.worker.runtime import log

    waiting, begun = worker.in_flight, worker.runs_begun
    claiming = [pid for pid in waiting if pid not in begun]
    parts = [
        f"{_count(len(ids), what)} ({', '.join(ids)})"
        for ids, what in ((begun, "run it started"), (claiming, "row it is still claiming"))
        if ids
    ]
    bound = "" if timeout_s is None else f" (until --timeout {timeout_s:g}s, then it stops them)"
    log.info(
        "one pass done; waiting for %s to end%s; SIGINT, SIGTERM or SIGHUP stops them, their "
        "leases released", " and ".join(parts), bound,
        extra={"fields": {"event": "once_waiting", "in_flight": waiting, "runs": begun,
                          "claiming": claiming, "timeout_s": timeout_s}},
    )  # fmt: skip


def say_timed_out(worker: ProcessWorker, timeout_s: float) -> None:
    """`--timeout` came with runs (or claims) still in flight: which, before they are
    stopped (the `stopped` line after says what became of their leases)."""
    from lashtui.worker.runtime import log

    waiting = worker.in_flight
    log.warning(
        "--timeout %gs reached with %s still in flight (%s): stopping them; exiting %d",
        timeout_s, f"{len(waiting)} run{'' if len(waiting) == 1 else 's'}", ", ".join(waiting),
        TIMED_OUT,
        extra={"fields": {"event": "once_timed_out", "timeout_s": timeout_s,
                          "in_flight": waiting, "exit_status": TIMED_OUT}},
    )  # fmt: skip


def _count(n: int, what: str) -> str:
    noun, _, rest = what.partition(" ")
    return f"{n} {noun}{'' if n == 1 else 's'} {rest}"


def pass_counts(worker: ProcessWorker) -> dict[str, int]:
    """What a pass looked at (`looked_at`: the live rows it read to decide on; a sweep
    reads every one, a worker's drive leaves in SQL those it could not act on, such as
    externally owned rows without an abandon request), its rows by verdict, then
    the runs that did not end by completing (stopped by a signal or `--timeout`, their
    leases released or left to lapse; or their lease lost, or lapsed unrenewed: each
    counted once, in `run_lease_lapsed` if it lapsed), which count no verdict: a pass
    whose only run was stopped said "nothing to recover or run". A stopped run whose
    release the registry did not take in time (a second signal hurried it past a locked
    file) was counted among the leases released.

    Every key is there, 0 when nothing came to it: a pass that decided nothing printed `{}`,
    which said neither that it had looked nor at what, and a script had to know every key
    to read one that was missing as 0."""
    from lashtui.worker.runtime import RunEnd, Verdict

    stats = worker.stats
    stopped, unreleased = stats.runs[RunEnd.STOPPED], stats.stopped_unreleased
    lost, lapsed = stats.runs[RunEnd.LEASE_LOST], stats.lapsed
    return {
        "looked_at": stats.looked_at,
        **{verdict.value: stats.verdicts[verdict] for verdict in Verdict},
        "run_stopped": stopped - unreleased,
        "run_stopped_unreleased": unreleased,
        "run_lease_lost": lost - lapsed,
        "run_lease_lapsed": lapsed,
    }


def pass_line(counts: dict[str, int], *, run: bool) -> str:
    """A `--once` pass for people: how many rows it looked at and what it decided for how
    many, e.g. `worker: one pass, 3 rows looked at: 2 ran, 1 abandoned (owner provably
    dead)`, or that it decided nothing. `-o json` prints `pass_counts` as they are."""
    what = "worker" if run else "sweep"
    looked = counts.get("looked_at", 0)
    decided = [
        f"{count} {VERDICT_WORDS.get(name, name)}"
        for name, count in counts.items()
        if count and name != "looked_at"
    ]
    said = ", ".join(decided) if decided else "nothing decided (nothing to recover or run)"
    return f"{what}: one pass, {looked} row{'' if looked == 1 else 's'} looked at: {said}"


# What each recovery verdict (lashtui.worker.runtime.Verdict) means, for `--once`'s line.
VERDICT_WORDS = {
    "ran": "ran",
    "abandoned_by_sweep": "abandoned (owner provably dead)",
    "abandoned_reconciled": "abandoned (abandon request honoured)",
    # Started owner_bound work with no live lease, so the sweep's claim took it without
    # looking at its owner (semantics §8: death is proved only of a holder whose lease is
    # live). It said "owner may be alive" of a worker killed on this host, then "its lease
    # had lapsed" also of a lease an orderly stop had released, an expiry that never came
    # (lashtui/model/state.py `lease_lapsed` draws the same line for the views).
    "left_running": "left running (no live lease, lapsed or released: nothing proves the "
    "owner dead, and only an abandon request ends it)",
    "busy": "busy (held by a live lease)",
    "already_terminal": "already ended",
    "untouched": "untouched",
    "deferred": "runnable, left for a worker",
    "skipped_undecodable": "skipped (undecodable)",
    "abandon_refused": "not abandoned (the registry refused it: see the warnings)",
    "not_run_log_full": "not run (its event log is full: no terminal could be written)",
    "run_stopped": "stopped before they ended (leases released)",
    "run_stopped_unreleased": "stopped before they ended (leases not released: left to lapse)",
    "run_lease_lost": "stopped when they lost their lease",
    "run_lease_lapsed": "stopped when their lease lapsed (no renewal went through in time)",
}
