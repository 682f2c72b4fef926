"""An event whose `sequence` another program stored as what lashtui never writes there: a
text or a blob (SQLite keeps any type in any column), or 2^63-1, the largest a registry
stores. PostgreSQL's `sequence` is a bigint, so there only 2^63-1 can be stored: the text
and blob cases are SQLite's alone.

No read of the log returns an event whose sequence is no whole number (log_read.py
`page_rows`), so the writes number the log the reads show: the next sequence is one past
the last whole one. Before, SQLite's `MAX(sequence)` was the text or blob (they sort above
every number), `'x' + 1` made the next sequence 1, the insert failed on the key, and
`worker --once` retried the run's terminal for as long as its lease lasted (renewing it)
and exited 1 with the bare SQLite message; on a log ending at 2^63-1 the next sequence
overflowed (a float on SQLite, "bigint out of range" on PostgreSQL) and was retried the
same way. Now a log at 2^63-1 takes no event, as lash refuses one past the signed 64-bit
domain, and `worker --once` says so of the row in one sentence, at once, exit 1: its claim
finds the log full, and the row is not run (its terminal could never be written).

Each read through the installed command, on a registry lashtui made and raw SQL changed."""

from __future__ import annotations

import json
import signal
import subprocess
from functools import partial
from pathlib import Path

import pytest

from lashtui.model import RecoveryDisposition
from lashtui.registry import open_registry
from lashtui.tui import format as fmt
from tests.cli.service import Worker, start, steps
from tests.cli.template import in_process
from tests.cli.test_cli import LASHTUI
from tests.cli.test_cli_hostile import assert_nothing_obeyed
from tests.raw import raw_connection
from tests.tui.test_processes_view import until
from tests.tui.test_undecodable_rows import acting, detail_of, running, summary
from tests.worker.lab import Child, Lab, register

PWNED = "\x1b]0;PWNED\x07"
LAST = 2**63 - 1
STORED: dict[str, object] = {
    "text": f"x{PWNED}", "blob": f"\xff{PWNED}".encode("latin-1"), "last": LAST
}
CASES = [("sqlite", "text"), ("sqlite", "blob"), ("sqlite", "last"), ("postgres", "last")]
FULL = (
    f"process `p` cannot take another event: its event log holds sequence {LAST}, the "
    "largest a registry stores, so nothing was written"
)


def cli(target: str, *argv: str, timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [LASHTUI, "--db", target, *argv], capture_output=True, timeout=timeout, check=False
    )


def target_of(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A registry on `backend`: a file, or a fresh schema of the test server."""
    if backend == "postgres":
        return str(request.getfixturevalue("postgres_schema"))
    return str(tmp_path / "reg.db")


def with_stored_sequence(target: str, value: object) -> None:
    """A rerunnable `p` for the worker, its log an event at 1 and one at `value` (`p`
    started by the command's own code in this process: tests/cli/template.py says why)."""
    in_process(target, "start", "p", "--engine", "steps", "--disposition", "rerunnable",
               "--payload", '{"steps": []}')  # fmt: skip
    with raw_connection(target) as conn:
        for sequence in (1, value):
            conn.execute(
                "INSERT INTO process_events (process_id, sequence, event_type, payload_hash, "
                "idempotency_key, occurred_at_ms, event_json) VALUES ('p', ?, 'note', ?, NULL, "
                "1, '{}')",
                (sequence, f"h{sequence!r}"),
            )


def read(target: str, *argv: str) -> str:
    result = cli(target, *argv)
    assert result.returncode == 0, (argv, result.stderr)
    assert b"Traceback" not in result.stderr
    assert_nothing_obeyed(result.stderr)
    return assert_nothing_obeyed(result.stdout)


@pytest.mark.parametrize(("backend", "kind"), CASES, ids=["-".join(c) for c in CASES])
def test_worker_once_ends_the_run_or_names_the_row_and_value(
    backend: str, kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    target = target_of(backend, tmp_path, request)
    with_stored_sequence(target, STORED[kind])
    # (--timeout: before, the terminal was retried until it; exit 124)
    once = cli(target, "worker", "--once", "--timeout", "15")
    err = assert_nothing_obeyed(once.stderr)
    assert "Traceback" not in err and "trying again" not in err, err
    events = json.loads(read(target, "events", "p", "-o", "json"))
    listed = read(target, "ls", "--status", "any", "-o", "json")
    (row,) = json.loads(listed)
    if kind == "last":
        assert once.returncode == 1, err
        assert err.splitlines()[-1] == f"lashtui: {FULL}", err
        assert [e["sequence"] for e in events] == [1, LAST]
        assert (row["status_label"], row.get("lease")) == ("running", None)  # released
    else:
        assert once.returncode == 0, err
        assert once.stdout.decode().strip() == "worker: one pass, 1 row looked at: 1 ran"
        # The stored one is left out of the log, and said to be; the terminal follows 1.
        assert [(e["sequence"], e["event_type"]) for e in events] == [
            (1, "note"), (2, "process.completed")
        ]  # fmt: skip
        assert row["status_label"] == "completed"
    for argv in (["show", "p"], ["show", "-o", "json", "p"], ["events", "p"], ["ls"]):
        read(target, *argv)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_an_append_to_a_full_log_is_refused_naming_it(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """`cancel` (an append through the facade) on a log at 2^63-1: one sentence, exit 1,
    and the target's line saying it was refused. Before: on SQLite the sequence overflowed
    to a float and the event was written under 9.223372036854776e18; on PostgreSQL the
    server's "bigint out of range", and no target line."""
    target = target_of(backend, tmp_path, request)
    with_stored_sequence(target, LAST)
    refused = cli(target, "cancel", "p")
    assert refused.returncode == 1, refused.stderr
    assert refused.stderr.decode().splitlines()[-1] == f"lashtui: {FULL}"
    # The target's line, as every target's (a full log is its refusal, not an outage).
    assert refused.stdout.decode() == f"p: refused: {FULL}\n"
    events = json.loads(read(target, "events", "p", "-o", "json"))
    assert [e["sequence"] for e in events] == [1, LAST]


async def test_the_dashboards_timeline_lists_the_whole_ones(tmp_path: Path) -> None:
    """The detail's timeline of a log holding a text, a blob and 2^63-1: the whole ones
    listed, the other two said to be left out. (A regression test: the timeline did so
    before this change; only its writes failed.)"""
    db = str(tmp_path / "reg.db")
    with_stored_sequence(db, LAST)
    with raw_connection(db) as conn:
        for value in (STORED["text"], STORED["blob"]):
            conn.execute(
                "INSERT INTO process_events VALUES ('p', ?, 'note', 'h', NULL, 1, '{}')",
                (value,),
            )
    async with open_registry(db) as registry:
        app = acting(registry)
        async with running(app, 40) as pilot:
            detail = await detail_of(pilot, "p")
            said = fmt.events_left_out(2)
            await until(pilot, lambda: said in summary(detail))
            assert [event.sequence for event in detail.events] == [1, LAST]


OUT_OF_LOG = [("sqlite", "x"), ("sqlite", -3), ("postgres", -3), ("postgres", 0)]


@pytest.mark.parametrize(("backend", "sequence"), OUT_OF_LOG, ids=repr)
def test_a_cancel_request_out_of_the_log_is_out_of_every_read(
    backend: str, sequence: object, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A cancel request another program moved to a sequence that places no event in the
    log (semantics §4.3: whole numbers from 1): `events` and the timeline left one under
    a text out, while `ls` and `show` said "cancel requested" and the worker's claim found
    it and ended the run cancelled; one under -3 or 0 (PostgreSQL too) was left out of
    `events` unsaid, while `ls` said "cancel requested". Now every read leaves it out and
    `events` says so; the worker runs the row to its end."""
    target = target_of(backend, tmp_path, request)
    in_process(target, "start", "p", "--engine", "steps", "--disposition", "rerunnable",
               "--payload", '{"steps": []}')  # fmt: skip
    in_process(target, "cancel", "p")
    with raw_connection(target) as conn:
        conn.execute("UPDATE process_events SET sequence = ? WHERE process_id = 'p'", (sequence,))
    assert "cancel requested" not in read(target, "ls")
    assert "cancel" not in read(target, "show", "p")
    events = cli(target, "events", "p")
    said = f"lashtui: {fmt.events_left_out(1)}\n"
    assert (events.returncode, events.stderr.decode()) == (0, said)
    once = cli(target, "worker", "--once", "--timeout", "15")
    assert once.returncode == 0, once.stderr
    (row,) = json.loads(read(target, "ls", "--status", "any", "-o", "json"))
    assert row["status_label"] == "completed"


def test_a_worker_claims_a_row_whose_log_is_full_no_more(tmp_path: Path) -> None:
    """A long-running worker released the lease of a rerunnable row whose terminal the
    registry refused (its log at 2^63-1), and its next drive claimed and ran it again: once
    a second (every renew interval), each run refused the same way. Now the worker does not
    run it (its claim finds the log full), says so, and leaves it: two rows started after
    it run, it is neither run nor refused again."""
    db = tmp_path / "reg.db"
    with_stored_sequence(str(db), LAST)
    worker = Worker(db)
    try:
        refused = worker.until_event("run_refused", "p")
        assert refused["error"] == FULL
        for later in ("q", "r"):  # (each start wakes the worker: a drive of every row)
            start(db, later, steps())
            worker.until_event("run_ended", later)
        worker.signal(signal.SIGINT)
        assert worker.wait() == 0
        assert [r["process_id"] for r in worker.events("run_started")] == ["q", "r"]
        assert len(worker.events("run_refused")) == 1
    finally:
        worker.kill()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_no_worker_runs_a_row_whose_log_is_full(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Two `worker --once` passes, one after the other, on a rerunnable row whose log ends
    at 2^63-1 (the one-row claim: a lone row). Before, each pass claimed it and ran it, its
    handler and all (a rerunnable row's side effects, again at every new worker), and only
    then found that its terminal could not be written; its first-started fact was written.
    Now neither runs it: each says why, in the same sentence, and exits 1; nothing but a
    lease taken and given back is written."""
    target = target_of(backend, tmp_path, request)
    with_stored_sequence(target, LAST)
    for _ in range(2):
        once = cli(target, "worker", "--once", "--timeout", "15")
        err = assert_nothing_obeyed(once.stderr)
        assert once.returncode == 1, err
        assert err.splitlines()[-1] == f"lashtui: {FULL}", err
        assert f"did not run p: {FULL}; this worker claims it no more" in err, err
        assert "run started" not in err, err
    (row,) = json.loads(read(target, "ls", "--status", "any", "-o", "json"))
    assert (row["status_label"], row.get("lease")) == ("running", None)
    assert json.loads(read(target, "show", "-o", "json", "p")).get("first_started") is None


def decided(child: Child, rows: int) -> bool:
    """Whether the worker process has decided `rows` rows (whatever it decided)."""
    return sum(child.verdicts().values()) >= rows


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_worker_processes_never_run_the_handler_of_a_full_log(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Worker OS processes whose handler records every run in a file (tests/worker/lab.py),
    one after the other (the second as a worker restarted, or another on the fleet), on
    three rerunnable rows: `p`'s log ends at 2^63-1. Before, each worker ran `p`'s handler
    once (two records) and then found its terminal refused. Now `p` is never run; `q` and
    `r` run once."""
    target = target_of(backend, tmp_path, request)
    (tmp_path / "lab").mkdir()
    async with Lab.running(tmp_path / "lab", target) as lab:
        async with lab.registry() as registry:
            for pid in ("p", "q", "r"):
                await register(registry, pid, "count", RecoveryDisposition.RERUNNABLE)
        with raw_connection(target) as conn:
            conn.execute(
                "INSERT INTO process_events (process_id, sequence, event_type, payload_hash, "
                "idempotency_key, occurred_at_ms, event_json) VALUES ('p', ?, 'note', 'h', "
                "NULL, 1, '{}')",
                (LAST,),
            )
        # The first finds three rows to run (its backlog loop claims them together), the
        # second only `p` (the one-row claim); each decides each once, whatever it decides.
        for name, rows in (("worker-a", 3), ("worker-b", 1)):
            child = await lab.spawn(name, "host-0")
            await lab.until(partial(decided, child, rows), f"{name}'s verdicts")
            assert child.verdicts()["not_run_log_full"] == 1, lab.diagnostics()
            await child.kill()
        assert lab.executions_of("p") == [], lab.diagnostics()
        assert sorted(pid for pid, _ in lab.records()) == ["q", "r"]
