"""`lashtui worker` as a service, as real OS processes: work started by another process,
SIGTERM and SIGINT sent to the worker, its log lines read from its stderr and its metrics
scraped from its HTTP endpoint. (tests/worker/test_shutdown.py covers the same stop in this
process on both stores.)"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from lashtui.admin import Processes
from lashtui.command.worker import SAME_DELIVERY_S
from lashtui.model import ProcessLifecycleStatus
from lashtui.registry import open_registry
from tests.cli.service import LASHTUI, Worker, start, steps

QUICK = steps({"sleep_ms": 1000}, {"finish": "ok"})
ENDLESS = steps({"sleep_ms": 600_000})
WAITS = steps({"wait_signal": "go"}, {"finish": "ok"})


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "reg.db"


async def _state_and_lease(db: Path, process_id: str) -> tuple[ProcessLifecycleStatus, object]:
    async with open_registry(str(db), read_only=True) as registry:
        record = await registry.get_process(process_id)
        assert record is not None
        return record.status.state, await registry.get_process_lease(process_id)


# Works only once the test lets it, then for 4 s: so it is working (not parked on its
# signal, which a stop hands back at once) when the stop comes, whatever the load. (A plan
# of a second's sleep alone was over before the SIGTERM was handled in 11 of 12 runs beside
# three busy loops: the stop said `in_flight` 0.)
GATED = steps({"wait_signal": "go"}, {"sleep_ms": 4000}, {"finish": "ok"})


async def _wait_of(db: Path | str, process_id: str) -> object:
    """The row's wait (None when it is not parked on a signal)."""
    async with open_registry(str(db), read_only=True) as registry:
        record = await registry.get_process(process_id)
        assert record is not None
        return record.wait


async def _let_go(db: Path, process_id: str) -> None:
    """Signal a GATED run's `go` and wait until it has resumed (its row's wait cleared):
    from here it works for 4 s."""
    async with open_registry(str(db)) as registry:
        await Processes(registry).signal(process_id, "go", "let-go", None)
    async with asyncio.timeout(60):
        # (another process's write: no event to wait on)
        while await _wait_of(db, process_id) is not None:  # noqa: ASYNC110
            await asyncio.sleep(0.02)


async def test_sigterm_lets_the_run_in_flight_finish_and_exits_0(
    db: Path, workers: list[Worker]
) -> None:
    worker = Worker(db, "--grace", "30")
    workers.append(worker)
    start(db, "quick", GATED)
    worker.until_event("run_started", "quick")
    await _let_go(db, "quick")

    worker.signal(signal.SIGTERM)  # the run goes on within the grace

    assert worker.wait() == 0, worker.lines
    ended = worker.until_event("run_ended", "quick")
    assert (ended["kind"], ended["outcome"]) == ("steps", "completed")
    assert ended["duration_s"] >= 3.9
    stopping, stopped = worker.events("stopping")[0], worker.events("stopped")[0]
    assert (stopping["why"], stopping["in_flight"]) == ("SIGTERM", 1)
    assert (stopped["finished"], stopped["stopped"], stopped["drained"]) == (["quick"], [], None)
    assert await _state_and_lease(db, "quick") == (ProcessLifecycleStatus.COMPLETED, None)


async def test_when_the_grace_runs_out_the_run_is_stopped_and_its_lease_released(
    db: Path, workers: list[Worker]
) -> None:
    worker = Worker(db, "--grace", "0.3")
    workers.append(worker)
    start(db, "endless", ENDLESS)
    worker.until_event("run_started", "endless")

    worker.signal(signal.SIGTERM)

    assert worker.wait() == 0, worker.lines
    assert worker.until_event("run_ended", "endless")["outcome"] == "stopped"
    assert worker.events("stopped")[0]["stopped"] == ["endless"]
    # No terminal written, and the lease free for the next worker at once.
    assert await _state_and_lease(db, "endless") == (ProcessLifecycleStatus.RUNNING, None)


async def test_a_stop_hands_back_a_run_parked_on_a_signal_at_once(
    db: Path, workers: list[Worker]
) -> None:
    """A run parked on a signal that is not coming does no work: a stop waited the whole
    grace for it (30 s by default), then stopped it all the same. It is stopped at once
    now, as the grace's end stops a run (no terminal, lease released): the rerunnable row
    is the next worker's to run again, parking at the same wait; the started owner_bound
    row stays running, silent, for the drain or an operator. A run that computes keeps
    its grace."""
    grace_s = 3.0
    worker = Worker(db, "--grace", str(grace_s))
    workers.append(worker)
    start(db, "parked", WAITS)
    start(db, "bound", WAITS, disposition="owner_bound")
    start(db, "computing", ENDLESS)
    for pid in ("parked", "bound", "computing"):
        worker.until_event("run_started", pid)
    async with asyncio.timeout(60):
        # (parked: their rows' waits set, by another process)
        while None in [await _wait_of(db, pid) for pid in ("parked", "bound")]:  # noqa: ASYNC110
            await asyncio.sleep(0.02)

    began = time.monotonic()
    worker.signal(signal.SIGTERM)
    for pid in ("parked", "bound"):
        assert worker.until_event("run_ended", pid)["outcome"] == "stopped"
    handed_back_s = time.monotonic() - began
    assert worker.wait() == 0, worker.lines
    exited_s = time.monotonic() - began

    assert handed_back_s < grace_s - 1, (handed_back_s, worker.lines)
    assert exited_s >= grace_s  # the computing run had its grace, then was stopped
    stopped = worker.events("stopped")[0]
    assert stopped["finished"] == []
    assert sorted(stopped["stopped"]) == ["bound", "computing", "parked"]
    assert sorted(stopped["parked"]) == ["bound", "parked"]
    for pid in ("parked", "bound", "computing"):
        assert await _state_and_lease(db, pid) == (ProcessLifecycleStatus.RUNNING, None)
        assert (await _wait_of(db, pid) is None) == (pid == "computing")  # still waiting
    # What the next pass makes of them: the rerunnable rows are runnable again (a sweep
    # leaves them to a worker), the owner_bound one is left running, its owner not dead.
    argv = [LASHTUI, "--db", str(db), "sweep", "-o", "json"]
    done = await asyncio.to_thread(
        subprocess.run, argv, capture_output=True, text=True, timeout=120, check=True
    )
    counts = json.loads(done.stdout)
    assert (counts["deferred"], counts["left_running"]) == (2, 1), counts


async def test_a_second_signal_stops_at_once_releasing_the_lease(
    db: Path, workers: list[Worker]
) -> None:
    worker = Worker(db, "--grace", "600")
    workers.append(worker)
    start(db, "endless", ENDLESS, disposition="owner_bound")
    worker.until_event("run_started", "endless")

    worker.signal(signal.SIGTERM)
    worker.until_event("stopping")
    worker.signal(signal.SIGINT)

    assert worker.wait(guard_s=10) == 130, worker.lines  # 128 + SIGINT, long before 600 s
    assert worker.until_event("stopped")["hurried"] is True
    assert await _state_and_lease(db, "endless") == (ProcessLifecycleStatus.RUNNING, None)


async def test_one_signal_delivered_twice_is_one_stop(db: Path, workers: list[Worker]) -> None:
    """GNU `timeout` stops its command with the signal sent to it and then to its process
    group, which holds it too: one stop delivered twice, the second often a few
    milliseconds later (seen: `timeout -s INT 5 lashtui worker` logged `SIGINT again`
    before `stopping`). It was taken for a second signal: the stop hurried (no grace, no
    drain) and exited 143 (130). Sent here as two deliveries 0.1 s apart."""
    worker = Worker(db, "--grace", "30")
    workers.append(worker)
    start(db, "quick", GATED)
    worker.until_event("run_started", "quick")
    await _let_go(db, "quick")

    worker.signal(signal.SIGTERM)
    await asyncio.sleep(0.1)  # (delivered by then: two deliveries, not one the kernel merged)
    worker.signal(signal.SIGTERM)
    worker.until_event("stopping")  # the run goes on within the grace

    assert worker.wait() == 0, worker.lines
    assert not worker.events("hurried"), worker.lines
    assert worker.until_event("run_ended", "quick")["outcome"] == "completed"
    assert worker.events("stopped")[0]["finished"] == ["quick"]


async def test_sighup_stops_the_worker_well(db: Path, workers: list[Worker]) -> None:
    """A closed terminal or ssh session sends SIGHUP: it stops the worker as SIGTERM does.
    Its default action killed it at once (exit 129, no line said so, the lease held until
    its TTL)."""
    worker = Worker(db, "--grace", "0.2")
    workers.append(worker)
    start(db, "endless", ENDLESS)
    worker.until_event("run_started", "endless")

    worker.signal(signal.SIGHUP)

    assert worker.wait() == 0, worker.lines
    assert worker.events("stopping")[0]["why"] == "SIGHUP"
    assert worker.events("stopped")[0]["stopped"] == ["endless"]
    assert await _state_and_lease(db, "endless") == (ProcessLifecycleStatus.RUNNING, None)


def test_a_registry_file_replaced_under_the_worker_ends_it_with_exit_1(
    db: Path, workers: list[Worker]
) -> None:
    """The file it opened is no longer at the path: it can never serve that registry again,
    so it says so once and exits 1, for a supervisor to start a worker on the new file. It
    logged "drive failed: ... was replaced by another file" every renew interval, forever,
    and ran nothing."""
    worker = Worker(db, "--grace", "30")
    workers.append(worker)
    start(db, "endless", ENDLESS)
    worker.until_event("run_started", "endless")
    for suffix in ("", "-wal", "-shm"):  # moved away whole, as an operator would
        Path(f"{db}{suffix}").rename(f"{db}.old{suffix}")
    start(db, "fresh", QUICK)  # a new registry at the path

    assert worker.wait(guard_s=10) == 1, worker.lines
    gone = worker.events("registry_gone")
    assert len(gone) == 1, worker.lines
    # (Seen before or after the new file was made.)
    assert "was replaced by another file" in gone[0]["error"] or "is gone" in gone[0]["error"]
    assert gone[0]["in_flight"] == ["endless"]
    assert len([line for line in worker.lines if "drive failed" in line]) <= 1


def test_a_second_signal_exits_at_once_though_a_release_waits_for_the_registry(
    db: Path, workers: list[Worker]
) -> None:
    """Another process holds the file's write lock: the stopped run's release waits for it
    (the 15 s busy timeout). The second signal is said in one line and ends the wait: the
    lease is left to lapse, and the report says so. It took the whole wait, said nothing,
    and reported the lease released."""
    worker = Worker(db, "--grace", "0")
    workers.append(worker)
    start(db, "endless", ENDLESS)
    worker.until_event("run_started", "endless")
    lock = sqlite3.connect(db, isolation_level=None)
    try:
        lock.execute("BEGIN IMMEDIATE")
        worker.signal(signal.SIGTERM)
        worker.until_event("stopping")
        time.sleep(SAME_DELIVERY_S)  # (sooner, the same signal is taken for the first's twin)
        worker.signal(signal.SIGTERM)
        began = time.monotonic()
        assert worker.wait(guard_s=10) == 143, worker.lines
        assert time.monotonic() - began < 5
    finally:
        lock.close()
    assert len(worker.events("hurried")) == 1, worker.lines
    stopped = worker.events("stopped")[0]
    assert (stopped["stopped"], list(stopped["unreleased"])) == ([], ["endless"])


async def test_drain_abandons_the_owner_bound_work_it_started(
    db: Path, workers: list[Worker]
) -> None:
    worker = Worker(db, "--grace", "0.2", "--drain")
    workers.append(worker)
    start(db, "mine", ENDLESS, disposition="owner_bound")
    worker.until_event("run_started", "mine")

    worker.signal(signal.SIGINT)

    assert worker.wait() == 0, worker.lines
    assert worker.events("stopped")[0]["drained"] == ["mine"]
    async with open_registry(str(db), read_only=True) as registry:
        record = await registry.get_process("mine")
    assert record is not None and record.status.state is ProcessLifecycleStatus.ABANDONED
    assert record.status.await_output is not None
    assert record.status.await_output.model_dump(mode="json")["evidence"]["writer"] == (
        "owner_drain"
    )


def _scrape(url: str) -> dict[str, float]:
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    samples: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return samples


@pytest.fixture(params=["sqlite", "postgres"])
def target(request: pytest.FixtureRequest, db: Path) -> str:
    """A registry file, or a fresh schema on the test server (tests/conftest.py)."""
    if request.param == "sqlite":
        return str(db)
    return str(request.getfixturevalue("postgres_schema"))


def test_metrics_are_served_and_move_after_a_run(target: str, workers: list[Worker]) -> None:
    db = target
    worker = Worker(db, "--metrics", "127.0.0.1:0")
    workers.append(worker)
    url = worker.until(
        lambda: next((r["metrics"] for r in worker.records() if "metrics" in r), None),
        "the metrics address",
    )
    worker.until_event("started")
    before = _scrape(url)
    assert before["lashtui_worker_runs_total{outcome=completed}"] == 0
    assert before["lashtui_worker_runs_in_flight"] == 0
    assert before["lashtui_worker_draining_backlog"] == 0  # no backlog: following commits

    start(db, "quick", steps({"finish": "ok"}))
    worker.until_event("run_ended", "quick")
    after = _scrape(url)

    assert after["lashtui_worker_runs_total{outcome=completed}"] == 1
    assert after["lashtui_worker_runs_in_flight"] == 0
    assert after["lashtui_worker_sweep_verdicts_total{verdict=ran}"] == 1
    assert after["lashtui_worker_claims_total{result=won}"] >= 1
    writes = "lashtui_registry_transaction_seconds_count{kind=short_write}"
    assert after[writes] > before[writes]
    assert after["lashtui_worker_last_commit_seen_timestamp_seconds"] > 0
    holds = "lashtui_registry_write_lock_holds_total"
    if db.startswith("postgresql"):  # no file lock to export
        assert holds not in after
    else:  # the run's claim and terminal, under the registry file's write lock
        assert after[holds] >= before[holds] + 2
        assert after["lashtui_registry_write_lock_seconds_total"] > 0
    worker.signal(signal.SIGTERM)
    assert worker.wait() == 0


def test_renewals_are_timed_and_runs_in_flight_counted(db: Path, workers: list[Worker]) -> None:
    worker = Worker(db, "--metrics", "127.0.0.1:0", "--grace", "0")
    workers.append(worker)
    url = worker.until(
        lambda: next((r["metrics"] for r in worker.records() if "metrics" in r), None),
        "the metrics address",
    )
    start(db, "endless", ENDLESS)
    worker.until_event("run_started", "endless")
    # The lease renews every 0.5 s (a third of --ttl-ms 1500).
    renewed = worker.until(
        lambda: (s := _scrape(url))["lashtui_worker_lease_renewal_seconds_count"] > 0 and s,
        "a renewal",
    )
    assert renewed["lashtui_worker_runs_in_flight"] == 1
    worker.signal(signal.SIGTERM)
    assert worker.wait() == 0


def _ask(url: str, method: str) -> tuple[str, dict[str, str], bytes]:
    """One request as a probe sends it, on a socket of its own: the status line, the
    headers and every byte after them until the server closes (HTTP/1.0), so a body sent
    to a HEAD shows (an HTTP client would not read it)."""
    host, _, rest = url.removeprefix("http://").partition("/")
    address, _, port = host.rpartition(":")
    with socket.create_connection((address, int(port)), timeout=10) as conn:
        conn.sendall(f"{method} /{rest} HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines)
    return status.split(" ", 1)[1], headers, body


def test_the_metrics_answer_head_as_get_without_the_body(db: Path, workers: list[Worker]) -> None:
    """A monitoring probe's HEAD (a load balancer's, `curl -I`) got 405 Method Not Allowed
    from prometheus-client's server, as if the endpoint were down; it gets GET's status and
    headers now, and no body. Other methods are still refused, and told HEAD is allowed."""
    worker = Worker(db, "--metrics", "127.0.0.1:0")
    workers.append(worker)
    url = worker.until(
        lambda: next((r["metrics"] for r in worker.records() if "metrics" in r), None),
        "the metrics address",
    )
    status, got, body = _ask(url, "GET")
    assert status == "200 OK" and b"lashtui_worker_runs_total" in body

    status, headed, nothing = _ask(url, "HEAD")

    assert (status, nothing) == ("200 OK", b"")
    assert headed["Content-Type"] == got["Content-Type"]
    # The length of what a GET gets now (a gauge or count may have moved since).
    assert abs(int(headed["Content-Length"]) - len(body)) < 200
    for method in ("POST", "PUT", "DELETE"):
        status, refused, _ = _ask(url, method)
        assert (status, refused["Allow"]) == ("405 Method Not Allowed", "OPTIONS,GET,HEAD")
    worker.signal(signal.SIGTERM)
    assert worker.wait() == 0


def test_the_metrics_are_served_at_metrics_alone(db: Path, workers: list[Worker]) -> None:
    """prometheus-client's app served every series at any path (`/`, `/metricz`,
    `/favicon.ico` answered 200), so a probe or a scrape config with a mistyped path read
    as working. `/metrics` answers (with its `name[]` filter); every other path, whatever
    the method, is 404 with one short line that names the right one, the path not echoed."""
    worker = Worker(db, "--metrics", "127.0.0.1:0")
    workers.append(worker)
    url = worker.until(
        lambda: next((r["metrics"] for r in worker.records() if "metrics" in r), None),
        "the metrics address",
    )
    assert url.endswith("/metrics")
    root = url.removesuffix("metrics")
    status, _, body = _ask(url, "GET")
    assert status == "200 OK" and b"lashtui_worker_runs_total" in body
    status, _, body = _ask(f"{url}?name[]=lashtui_worker_runs_total", "GET")
    assert status == "200 OK" and b"lashtui_worker_runs_total" in body
    assert b"lashtui_worker_claims_total" not in body  # (the filter still works)

    for path in ("", "metricz", "metrics/", "metrics/x", "favicon.ico", "%1b[31m"):
        status, headers, body = _ask(root + path, "GET")
        assert (status, body) == ("404 Not Found", b"not found: the metrics are at /metrics\n")
        assert headers["Content-Type"].startswith("text/plain")
    status, headers, body = _ask(root + "metricz", "HEAD")  # the same, without the body
    assert (status, body) == ("404 Not Found", b"")
    assert headers["Content-Length"] == str(len(b"not found: the metrics are at /metrics\n"))
    status, _, _ = _ask(root + "metricz", "POST")
    assert status == "404 Not Found"
    worker.signal(signal.SIGTERM)
    assert worker.wait() == 0


def test_the_start_line_tells_workers_on_one_host_apart(db: Path, workers: list[Worker]) -> None:
    """Two workers a host runs on one registry share an owner id; their start lines said
    nothing more ("worker lashtui-worker@vm on r.db" twice)."""
    pair = [Worker(db), Worker(db)]
    workers.extend(pair)
    started = [worker.until_event("started") for worker in pair]
    assert [entry["pid"] for entry in started] == [worker.process.pid for worker in pair]
    assert started[0]["incarnation"] != started[1]["incarnation"]
    assert f"(pid {pair[0].process.pid}, incarnation " in started[0]["message"]


def test_text_lines_show_stored_control_characters_escaped(db: Path, workers: list[Worker]) -> None:
    hostile = "evil\x1b]0;owned\x07\nfake line"
    worker = Worker(db, log_format="text")
    workers.append(worker)
    start(db, hostile, steps({"finish": "ok"}))
    worker.until(lambda: any("run ended" in line for line in worker.lines), "the run's end")
    worker.signal(signal.SIGTERM)
    assert worker.wait() == 0
    text = "\n".join(worker.lines)
    assert "\x1b" not in text and "\x07" not in text
    assert any(
        "run started: evil\\x1b]0;owned\\x07\\x0afake line (kind steps)" in line
        for line in worker.lines
    ), worker.lines
    assert not any(line.startswith("fake line") for line in worker.lines)


def test_json_lines_carry_the_stored_id_exactly(db: Path, workers: list[Worker]) -> None:
    hostile = "evil\x1b[2J\u202e"
    worker = Worker(db)
    workers.append(worker)
    start(db, hostile, steps({"finish": "ok"}))
    worker.until_event("run_ended", hostile)
    worker.signal(signal.SIGTERM)
    assert worker.wait() == 0
    assert all(line.isascii() and "\x1b" not in line for line in worker.lines)


@pytest.mark.parametrize(
    ("args", "status", "says"),
    [
        (("--metrics", "9100"), 2, "a metrics address is HOST:PORT"),
        (("--metrics", "127.0.0.1:70000"), 2, "a port from 0 to 65535, got `127.0.0.1:70000`"),
        (("--grace", "-1"), 2, "a grace period is a finite number of seconds >= 0, got `-1`"),
        (("--log-format", "xml"), 2, "invalid choice: 'xml'"),
        # One pass exits: metrics it served would be gone before a scrape (they were
        # silently not served).
        (("--once", "--metrics", "127.0.0.1:0"), 2, "--metrics: not allowed with --once"),
    ],
)
def test_bad_service_options_are_usage_errors(
    db: Path, args: tuple[str, ...], status: int, says: str
) -> None:
    done = subprocess.run(
        [LASHTUI, "--db", str(db), "worker", *args], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == status and says in done.stderr, done.stderr
    assert not db.exists()


def test_a_metrics_port_in_use_is_one_sentence(db: Path, workers: list[Worker]) -> None:
    first = Worker(db, "--metrics", "127.0.0.1:0")
    workers.append(first)
    url = first.until(
        lambda: next((r["metrics"] for r in first.records() if "metrics" in r), None),
        "the metrics address",
    )
    taken = url.removeprefix("http://").removesuffix("/metrics")
    done = subprocess.run(
        [LASHTUI, "--db", str(db), "worker", "--metrics", taken],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert (
        done.stderr.strip()
        .splitlines()[-1]
        .startswith(f"lashtui: cannot serve metrics on {taken}: ")
    ), done.stderr


def test_the_log_level_chooses_the_lines(db: Path) -> None:
    def once(*args: str) -> list[str]:
        done = subprocess.run(
            [LASHTUI, "--db", str(db), "worker", "--once", *args],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return [line.split(" ", 1)[1] for line in done.stderr.splitlines()]

    start(db, "quiet", steps({"finish": "ok"}))
    assert once("--log-level", "warning") == []
    start(db, "told", steps({"finish": "ok"}))
    lines = once("--log-level", "DEBUG")
    assert lines[0] == "INFO run started: told (kind steps)"
    assert lines[1].startswith("INFO run ended: told (kind steps) completed after ")
    assert lines[2] == "DEBUG sweep verdict: told ran (this worker claimed it and ran it)"


def test_a_worker_on_an_older_registry_says_which_indexes_it_lacks(
    db: Path, workers: list[Worker]
) -> None:
    # A registry an older build made lacks the drive's indexes: the worker says so once at
    # start, and what adds them; on a registry of this build it says nothing of the kind.
    from tests.raw import raw_connection

    start(db, "a", QUICK)
    worker = Worker(db)
    workers.append(worker)
    worker.until_event("started")
    worker.signal(signal.SIGTERM)
    assert worker.wait() == 0
    assert worker.events("indexes_missing") == []
    with raw_connection(str(db)) as conn:
        conn.execute("DROP INDEX processes_drive_stale_idx")
    older = Worker(db, log_format="text")
    workers.append(older)
    line = older.until(
        lambda: next((x for x in older.lines if "lacks" in x), None), "the indexes line"
    )
    assert "lacks 1 of this build's indexes (processes_drive_stale_idx)" in line
    assert "`lashtui index` adds them" in line and "each drive tests" in line
    older.signal(signal.SIGTERM)
    assert older.wait() == 0


async def test_a_once_pass_says_what_it_waits_for_and_stops_on_sigterm(
    db: Path, workers: list[Worker]
) -> None:
    """`worker --once` waits for the runs it started, and a run parked on a wait ends only
    when its signal comes. It said nothing of that, and SIGTERM ended it at once (143),
    leaving the lease it held to lapse; its pass line then said "nothing to recover or
    run". It now says what it waits for, stops as `worker` does (the grace, the lease
    released, exit 0), and counts the stopped run."""
    start(db, "parked", WAITS)
    worker = Worker(db, "--once", "--grace", "0.2")
    workers.append(worker)
    waiting = worker.until_event("once_waiting")
    assert waiting["in_flight"] == ["parked"]

    worker.signal(signal.SIGTERM)

    assert worker.wait() == 0, worker.lines
    assert worker.events("stopped")[0]["stopped"] == ["parked"]
    assert worker.process.stdout is not None
    said = worker.process.stdout.read()
    assert said == (
        "worker: one pass, 1 row looked at: 1 stopped before they ended (leases released)\n"
    ), said
    assert await _state_and_lease(db, "parked") == (ProcessLifecycleStatus.RUNNING, None)


async def test_a_second_signal_hurries_a_once_pass(db: Path, workers: list[Worker]) -> None:
    start(db, "working", ENDLESS)  # (a parked run is stopped at the first signal)
    worker = Worker(db, "--once", "--grace", "600")
    workers.append(worker)
    worker.until_event("once_waiting")
    worker.signal(signal.SIGINT)
    worker.until_event("stopping")
    worker.signal(signal.SIGTERM)
    assert worker.wait(guard_s=10) == 143, worker.lines
    assert await _state_and_lease(db, "working") == (ProcessLifecycleStatus.RUNNING, None)


@pytest.mark.parametrize(("pid", "plan"), [("working", ENDLESS), ("parked", WAITS)])
async def test_a_once_pass_line_says_a_lease_left_to_lapse_was_not_released(
    db: Path, workers: list[Worker], pid: str, plan: str
) -> None:
    """Another process holds the file's write lock when a second signal hurries the stop:
    the stopped run's lease is left to lapse. The stop's log line said so, but the pass
    line said "1 stopped before they ended (leases released)". (A long TTL: with the
    short one the lease may lapse under load while the lock is held, a lost lease.)

    A parked run is stopped at the first signal, and is still waiting for its release
    when the second comes: the stop cancelled it again, which cut that release short (no
    `run ended`, the pass line `nothing decided`, the stop line saying it released)."""
    start(db, pid, plan)
    worker = Worker(db, "--once", "--grace", "600", ttl_ms="60000")
    workers.append(worker)
    worker.until_event("once_waiting")
    lock = sqlite3.connect(db, isolation_level=None)
    try:
        lock.execute("BEGIN IMMEDIATE")
        worker.signal(signal.SIGINT)
        worker.until_event("stopping")
        worker.signal(signal.SIGTERM)
        assert worker.wait(guard_s=10) == 143, worker.lines
    finally:
        lock.close()
    assert list(worker.events("stopped")[0]["unreleased"]) == [pid], worker.lines
    assert worker.until_event("run_ended", pid)["outcome"] == "stopped"
    assert worker.process.stdout is not None
    said = worker.process.stdout.read()
    assert said == (
        "worker: one pass, 1 row looked at: 1 stopped before they ended (leases not "
        "released: left to lapse)\n"
    ), said
    state, lease = await _state_and_lease(db, pid)
    assert state is ProcessLifecycleStatus.RUNNING and lease is not None  # held, to lapse


async def test_a_once_pass_with_a_timeout_stops_the_runs_still_in_flight_and_exits_124(
    db: Path, workers: list[Worker]
) -> None:
    """`--once` waited without bound for a run parked on a wait: a cron job never ended.
    `--timeout` bounds the pass; at the bound it says which runs were still in flight,
    stops them as a stop does (no terminal, leases released), prints the pass line and
    exits 124 (GNU `timeout`'s), not 0: the pass did not finish what it started."""
    start(db, "parked", WAITS)
    start(db, "quick", steps({"finish": "ok"}))
    began = time.monotonic()
    worker = Worker(db, "--once", "--timeout", "1.5", "--grace", "600")
    workers.append(worker)

    assert worker.wait() == 124, worker.lines
    assert time.monotonic() - began < 15  # the bound, not the 600 s grace, nor the wait
    timed_out = worker.events("once_timed_out")
    assert [(t["in_flight"], t["timeout_s"]) for t in timed_out] == [(["parked"], 1.5)]
    stopped = worker.events("stopped")
    assert [(s["finished"], s["stopped"], s["unreleased"]) for s in stopped] == [
        ([], ["parked"], {})
    ]
    assert worker.process.stdout is not None
    said = worker.process.stdout.read()
    assert said == (
        "worker: one pass, 2 rows looked at: 1 ran, 1 stopped before they ended (leases "
        "released)\n"
    )
    assert await _state_and_lease(db, "parked") == (ProcessLifecycleStatus.RUNNING, None)
    assert (await _state_and_lease(db, "quick"))[0] is ProcessLifecycleStatus.COMPLETED


async def test_a_once_pass_that_ends_within_its_timeout_exits_0(
    db: Path, workers: list[Worker]
) -> None:
    start(db, "quick", QUICK)
    worker = Worker(db, "--once", "--timeout", "60")
    workers.append(worker)
    assert worker.wait() == 0, worker.lines
    assert worker.events("once_timed_out") == [] and worker.events("stopped") == []
    assert await _state_and_lease(db, "quick") == (ProcessLifecycleStatus.COMPLETED, None)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--timeout", "5"), "argument --timeout: only with --once (without it the worker runs "
         "until stopped)"),
        (("--once", "--timeout", "0"), "argument --timeout: a timeout is a finite number of "
         "seconds > 0, got `0`"),
        (("--once", "--timeout", "inf"), "argument --timeout: a timeout is a finite number of "
         "seconds > 0, got `inf`"),
    ],
)  # fmt: skip
def test_a_worker_timeout_is_one_pass_s_bound(
    db: Path, args: tuple[str, ...], says: str
) -> None:
    result = subprocess.run(
        [LASHTUI, "--db", str(db), "worker", *args],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2 and result.stdout == "", result
    assert result.stderr.strip().splitlines()[-1] == f"lashtui worker: error: {says}"
    assert not db.exists()


async def test_a_registry_that_fails_the_index_look_at_start_is_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The look at which indexes a registry lacks is a note: a registry that fails it (a
    PostgreSQL connection dropped in the worker's first second) ended the worker with a
    plain-text line where its log was JSON. Here the registry is closed under it."""
    from lashtui.command.worker import _say_missing_indexes
    from lashtui.registry import open_registry

    async with open_registry(str(tmp_path / "r.db"), create=True) as registry:
        pass
    with caplog.at_level(logging.WARNING, logger="lashtui"):
        await _say_missing_indexes(registry)  # (closed: every read fails)
    said = [r for r in caplog.records if "could not tell which indexes" in r.getMessage()]
    assert len(said) == 1, [r.getMessage() for r in caplog.records]
    assert said[0].getMessage().startswith("could not tell which indexes the registry lacks: ")
