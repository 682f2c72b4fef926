"""`LogObserver`: the worker's log lines, one per run start and end, sweep verdict and lost
lease, on the `lashtui.worker` logger.

Each line is a sentence for a person plus the same facts as fields for a machine
(`extra={"fields": {...}}`: the command's JSON format writes them as keys; see
lashtui/command/log.py). Nothing here configures logging: a library that logs leaves the
handlers, the level and the format to the program that runs it (the `lashtui worker`
command; the dashboard sets none, so only warnings reach Python's last-resort handler).

Levels say whether something changed. A run's start and end and a verdict that wrote a
terminal (`abandoned_*`) are INFO; verdicts that changed nothing (a row left running, busy,
deferred, already terminal, the `ran` that the run's own lines tell) are DEBUG, since a
drive repeats them for the same rows every interval; a lost lease is a WARNING. Stored
strings (ids, kinds) go into the lines as they are: the handler's formatter makes them
safe for where they are written.
"""

from __future__ import annotations

import logging

from lashtui.model import ProcessRecord
from lashtui.worker.observer import WorkerObserver
from lashtui.worker.runtime import Verdict, log

# Verdicts that wrote something, and so are told at INFO.
_WROTE = frozenset({Verdict.ABANDONED_BY_SWEEP, Verdict.ABANDONED_RECONCILED})


# What each verdict means, beside its name (a name alone is not a sentence: "ob1
# abandoned_by_sweep" said neither why nor by whom).
VERDICT_WORDS = {
    Verdict.RAN: "this worker claimed it and ran it",
    Verdict.ABANDONED_BY_SWEEP: "abandoned: its owner is provably dead",
    Verdict.ABANDONED_RECONCILED: "abandoned: its abandon request was honoured",
    Verdict.LEFT_RUNNING: "left running: nothing proves its owner dead",
    Verdict.BUSY: "left alone: a live lease holds it",
    Verdict.ALREADY_TERMINAL: "left alone: it had ended meanwhile",
    Verdict.UNTOUCHED: "left alone: externally owned, with no abandon request",
    Verdict.DEFERRED: "runnable, left for a worker: this pass only sweeps",
    Verdict.SKIPPED_UNDECODABLE: "left alone: its record cannot be decoded; "
    "`lashtui end-undecodable` ends it",
    Verdict.ABANDON_REFUSED: "left running: the registry refused its abandon (the warning "
    "before says why)",
    Verdict.NOT_RUN_LOG_FULL: "left running, not run: its event log takes no more events, "
    "so no run's terminal could be written (the warning before says why)",
}


class LogObserver(WorkerObserver):
    def __init__(self, logger: logging.Logger = log) -> None:
        self.log = logger

    def run_started(self, record: ProcessRecord) -> None:
        if self.log.isEnabledFor(logging.INFO):
            kind = record.identity.kind
            fields = {"event": "run_started", "process_id": record.id, "kind": kind}
            self.log.info("run started: %s (kind %s)", record.id, kind, extra={"fields": fields})

    def run_ended(self, record: ProcessRecord, outcome: str, duration_s: float) -> None:
        level = logging.WARNING if outcome == "lease_lost" else logging.INFO
        if self.log.isEnabledFor(level):
            kind = record.identity.kind
            fields = {
                "event": "run_ended",
                "process_id": record.id,
                "kind": kind,
                "outcome": outcome,
                "duration_s": round(duration_s, 6),
            }
            self.log.log(
                level, "run ended: %s (kind %s) %s after %.3fs", record.id, kind, outcome,
                duration_s, extra={"fields": fields},
            )  # fmt: skip

    def verdict(self, process_id: str, verdict: Verdict) -> None:
        level = logging.INFO if verdict in _WROTE else logging.DEBUG
        if self.log.isEnabledFor(level):
            fields = {"event": "verdict", "process_id": process_id, "verdict": verdict.value}
            self.log.log(
                level, "sweep verdict: %s %s (%s)", process_id, verdict.value,
                VERDICT_WORDS[verdict], extra={"fields": fields},
            )  # fmt: skip

    def draining_backlog(self, draining: bool) -> None:
        fields = {"event": "draining_backlog", "draining": draining}
        if draining:
            self.log.info(
                "draining a backlog in full batches: other connections' commits are read when "
                "it ends or at the next drive", extra={"fields": fields},
            )  # fmt: skip
        else:
            self.log.info(
                "no longer draining a backlog in full batches: other connections' commits are "
                "followed again once the backlog loop ends", extra={"fields": fields},
            )  # fmt: skip

    def lease_lost(self, process_id: str, why: str) -> None:
        fields = {"event": "lease_lost", "process_id": process_id, "why": why}
        self.log.warning("lost the lease of %s %s", process_id, why, extra={"fields": fields})
