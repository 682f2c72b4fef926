"""A worker whose PostgreSQL server is out of reach for a few seconds while a run waits for
a signal. A real `lashtui worker` reaches the server through a proxy that is killed, then
started again on the same port; its TTL is long (60 s: a renewal every 20 s), so the lease
outlives the blip and the reads that fail are the run's own: its wait for the signal
(25 ms doubling to 1 s) and its cancel watcher.

- The run waits on: the signal sent after the blip is received and the run completes with
  it. The wait's failed read, raised through the handler, ended it `failed`
  (`process_failed: cannot reach process registry ...`), a terminal nothing takes back.
- The cancel watcher's failed reads are counted as the registry failing
  (`lashtui_worker_registry_errors_total`, what an operator alerts on): they were logged
  and the metric stayed at 0.
"""

from __future__ import annotations

import json
import subprocess
import urllib.request
from collections.abc import Callable

from tests.cli.service import GUARD_S, LASHTUI, Worker, start, steps
from tests.proxy import Proxy, free_port

APPROVAL = steps({"wait_signal": "go"}, {"finish": "approved"})


def registry_errors(port: int) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    for line in text.splitlines():
        if line.startswith("lashtui_worker_registry_errors_total "):
            return float(line.split()[1])
    raise AssertionError(f"no registry errors counter in {text!r}")


def lashtui(db: str, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LASHTUI, "--db", db, *argv], capture_output=True, text=True, timeout=GUARD_S
    )


def blip(worker: Worker, proxy: Proxy) -> None:
    """Cut the worker off until its cancel watcher has failed to read, then reconnect it."""
    proxy.kill()
    worker.until(
        lambda: any(
            "could not read the cancel requests of held" in r.get("message", "")
            for r in worker.records()
        ),
        "the cancel watcher's failed read",
    )
    proxy.start()


def parked_behind_a_proxy(
    postgres_schema: str, worker_through_proxy: Callable[..., Worker], *args: str
) -> Worker:
    """A worker through the proxy whose run `held` waits for the signal `go`."""
    worker = worker_through_proxy(*args, ttl_ms="60000")
    start(postgres_schema, "held", APPROVAL, disposition="owner_bound")
    worker.until_event("run_started", "held")
    # Parked: its wait recorded (the blip must come while it waits, not while it writes).
    worker.until(lambda: _waiting(postgres_schema), "the run's wait to be recorded")
    return worker


def _waiting(db: str) -> bool:
    shown = lashtui(db, "show", "held", "--json")
    return shown.returncode == 0 and json.loads(shown.stdout).get("wait") is not None


def test_a_run_waiting_for_a_signal_waits_on_through_a_server_blip(
    postgres_schema: str, proxy: Proxy, worker_through_proxy: Callable[..., Worker]
) -> None:
    worker = parked_behind_a_proxy(postgres_schema, worker_through_proxy)

    blip(worker, proxy)

    sent = lashtui(postgres_schema, "signal", "held", "go", "--payload", '"ok"')
    assert sent.returncode == 0, sent.stderr
    ended = worker.until_event("run_ended", "held")
    assert ended["outcome"] == "completed", (ended, worker.lines)
    shown = lashtui(postgres_schema, "show", "held", "--json")
    assert json.loads(shown.stdout)["status"]["state"] == "completed", shown.stdout


def test_a_cancel_watch_the_registry_could_not_serve_is_counted_for_an_alert(
    postgres_schema: str, proxy: Proxy, worker_through_proxy: Callable[..., Worker]
) -> None:
    metrics = free_port()
    worker = parked_behind_a_proxy(
        postgres_schema, worker_through_proxy, "--metrics", f"127.0.0.1:{metrics}"
    )
    assert registry_errors(metrics) == 0

    blip(worker, proxy)

    assert registry_errors(metrics) >= 1
