"""`WorkerMetrics`: a worker's Prometheus series, and the HTTP endpoint that serves them.

An observer (observer.py) like the log lines, fed by the same hooks (among them
`commit_seen`: another connection's commit woke the worker, through the one watch it keeps
on the registry, wake.py), plus a feed of its own: the registry's transaction timings
(`observe_transactions`, which the SQL stores offer without importing anything of
Prometheus: registry/sql/timing.py), whose commits stamp the last commit seen too. On a
SQLite registry, its use of the file's one write lock is read at each scrape
(`write_lock_use`, registry/sqlite/write_lock.py): summed over a fleet's workers, the rate
of `lashtui_registry_write_lock_seconds_total` is the share of the time the lock is held,
and near 1 another worker on that file only adds waiting.

The series live in a `CollectorRegistry` of their own, not prometheus-client's global one:
nothing else in the process (a library, a test's second worker) can add to them or clash
with their names. Only `lashtui worker --metrics` imports this module, so a worker nobody
scrapes neither loads prometheus-client nor pays for any of this.

prometheus-client's server answers only GET and OPTIONS: a HEAD, what a load balancer's
probe or `curl -I` sends, got 405 and read as the endpoint being down. `_answering_head`
answers it as GET without the body (`serving_metrics`); other methods are still refused.
And its app serves the metrics at any path: `/`, `/metricz`, `/healthz` all answered 200
with every series, so a probe or a scrape config with a mistyped path read as working.
`_only_at_metrics` answers `/metrics` alone (the README's address, Prometheus's default
`metrics_path`), every other path 404 with one short line naming the right one.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    make_wsgi_app,
    start_http_server,
)
from prometheus_client.core import CounterMetricFamily, Metric

from lashtui.errors import InvalidRequest, StoreError
from lashtui.model import ProcessRecord, ProcessTerminalState
from lashtui.registry import ProcessRegistry
from lashtui.worker.observer import ClaimResult, WorkerObserver
from lashtui.worker.runtime import Verdict

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

    from lashtui.registry.sqlite.write_lock import WriteLockUse
    from lashtui.worker.worker import ProcessWorker

RUN_OUTCOMES = (*(state.value for state in ProcessTerminalState), "lease_lost", "stopped")
TRANSACTION_KINDS = ("write", "read", "short_write", "short_read", "point_read")
# A transaction is ~0.1 ms to tens of ms (more when it queues behind a busy writer); a
# renewal is one short write.
LATENCY_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip


class WriteLockSeries:
    """The registry's write-lock counters, read when scraped (a prometheus-client
    collector): the connection counts them itself, on every transaction."""

    def __init__(self, read: Callable[[], WriteLockUse]) -> None:
        self.read = read

    def collect(self) -> Iterator[Metric]:
        use = self.read()
        yield CounterMetricFamily(
            "lashtui_registry_write_lock_seconds",
            "Time this worker held the registry file's write lock (SQLite: from BEGIN "
            "IMMEDIATE to the end of its COMMIT or ROLLBACK); summed over a fleet, its rate "
            "is the share of the time the lock is held",
            value=use.held_s,
        )
        yield CounterMetricFamily(
            "lashtui_registry_write_lock_holds",
            "Write transactions this worker ran under the registry file's write lock",
            value=use.holds,
        )
        yield CounterMetricFamily(
            "lashtui_registry_write_lock_refused",
            "Tries to take the registry file's write lock refused because another "
            "connection held it (each tried again)",
            value=use.refused,
        )


class WorkerMetrics(WorkerObserver):
    """The series (each series' help text says what it counts)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.runs = Counter(
            "lashtui_worker_runs", "Runs ended, by outcome: the terminal state written, "
            "lease_lost (wrote nothing; its lease lost or lapsed) or stopped (the worker "
            "stopped it; its lease released, or left to lapse if the registry did not take "
            "the release: the stop's report says which)",
            ["outcome"], registry=r,
        )  # fmt: skip
        self.in_flight = Gauge("lashtui_worker_runs_in_flight", "Runs under way now", registry=r)
        self.verdicts = Counter(
            "lashtui_worker_sweep_verdicts", "Recovery verdicts, one per row per attempt",
            ["verdict"], registry=r,
        )  # fmt: skip
        self.claims = Counter(
            "lashtui_worker_claims", "Lease claims, by what they came to: won (the row ran "
            "under it), abandoned (an abandoned terminal written under it), released (given "
            "back with nothing run or written: a row left running, already ended, a sweep's "
            "runnable row, a refused abandon), lost (refused by a live holder)",
            ["result"], registry=r,
        )  # fmt: skip
        self.leases_lost = Counter(
            "lashtui_worker_leases_lost", "Run leases lost (the run stopped)", registry=r
        )
        self.registry_errors = Counter(
            "lashtui_worker_registry_errors", "Times the registry could not serve the worker "
            "(a drive, a claim, a lease renewal, a terminal write, a lease release): locked "
            "past its busy timeout, a lost connection, its file deleted or replaced",
            registry=r,
        )  # fmt: skip
        self.renewal = Histogram(
            "lashtui_worker_lease_renewal_seconds", "How long a lease renewal took",
            buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.transactions = Histogram(
            "lashtui_registry_transaction_seconds",
            "How long a registry transaction took its caller, queueing included, by kind",
            ["kind"], buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.last_commit = Gauge(
            "lashtui_worker_last_commit_seen_timestamp_seconds",
            "When the worker last saw a commit to the registry: its own, or another "
            "connection's (0 until the first)", registry=r,
        )  # fmt: skip
        self.draining = Gauge(
            "lashtui_worker_draining_backlog",
            "1 while the worker's backlog loop takes full batches: meanwhile other "
            "connections' commits are read when the backlog ends or at the next drive "
            "(every renew interval), not as they happen; 0 otherwise", registry=r,
        )  # fmt: skip
        self._zeros()

    def _zeros(self) -> None:
        """Every labelled series from the start, at 0: a rate over a series that appears
        only with its first increment misses that increment."""
        for outcome in RUN_OUTCOMES:
            self.runs.labels(outcome)
        for verdict in Verdict:
            self.verdicts.labels(verdict.value)
        for result in ClaimResult:
            self.claims.labels(result.value)
        for kind in TRANSACTION_KINDS:
            self.transactions.labels(kind)

    # --- the worker's hooks

    def run_started(self, record: ProcessRecord) -> None:
        self.in_flight.inc()

    def run_ended(self, record: ProcessRecord, outcome: str, duration_s: float) -> None:
        self.in_flight.dec()
        self.runs.labels(outcome).inc()

    def verdict(self, process_id: str, verdict: Verdict) -> None:
        self.verdicts.labels(verdict.value).inc()

    def claimed(self, process_id: str, result: ClaimResult) -> None:
        self.claims.labels(result.value).inc()

    def lease_renewed(self, process_id: str, seconds: float) -> None:
        self.renewal.observe(seconds)

    def lease_lost(self, process_id: str, why: str) -> None:
        self.leases_lost.inc()

    def registry_failed(self, doing: str, error: StoreError) -> None:
        self.registry_errors.inc()

    # --- the registry's

    def transaction(self, kind: str, seconds: float) -> None:
        self.transactions.labels(kind).observe(seconds)
        if kind in ("write", "short_write"):  # this worker's own commit
            self.last_commit.set(time.time())

    def commit_seen(self) -> None:
        self.last_commit.set(time.time())

    def draining_backlog(self, draining: bool) -> None:
        self.draining.set(1 if draining else 0)

    def watch_write_lock(self, read: Callable[[], WriteLockUse]) -> None:
        """Export the write-lock counters `read()` returns (a SQLite registry's)."""
        self.registry.register(WriteLockSeries(read))


# The one path the metrics are served at; any other gets `NOT_FOUND` (`_only_at_metrics`).
METRICS_PATH = "/metrics"
# The body of a 404: fixed text, the requested path not echoed (it is the client's).
NOT_FOUND = b"not found: the metrics are at /metrics\n"


def _only_at_metrics(app: WSGIApplication) -> WSGIApplication:
    """`app` at `METRICS_PATH` (its query string, prometheus-client's `name[]` filter,
    kept); every other path 404 with `NOT_FOUND`, whatever the method."""

    def serve(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == METRICS_PATH:
            return app(environ, start_response)
        headers = [("Content-Type", "text/plain; charset=utf-8"),
                   ("Content-Length", str(len(NOT_FOUND)))]  # fmt: skip
        start_response("404 Not Found", headers)
        return [NOT_FOUND]

    return serve


def _answering_head(app: WSGIApplication) -> WSGIApplication:
    """`app` (prometheus-client's), answering HEAD as it answers GET, without the body: the
    same status and headers, Content-Length that of the body a GET gets (the scrape is made
    to count it). Its `Allow` headers (on 405 and OPTIONS) name HEAD too."""

    def serve(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        head = environ.get("REQUEST_METHOD") == "HEAD"
        said: list[tuple[str, list[tuple[str, str]]]] = []

        def hold(status: str, headers: list[tuple[str, str]], *exc: object) -> Callable[
            [bytes], object
        ]:
            said.append((status, headers))
            return lambda data: None

        body = b"".join(app({**environ, "REQUEST_METHOD": "GET"} if head else environ, hold))
        status, headers = said[-1]
        kept = [(k, "OPTIONS,GET,HEAD" if k == "Allow" else v) for k, v in headers]
        if head:
            kept = [(k, v) for k, v in kept if k.lower() != "content-length"]
            kept.append(("Content-Length", str(len(body))))
        start_response(status, kept)
        return [] if head else [body]

    return serve


@contextlib.asynccontextmanager
async def serving_metrics(
    worker: ProcessWorker, registry: ProcessRegistry, host: str, port: int
) -> AsyncIterator[tuple[str, int]]:
    """Serve `worker`'s metrics at http://host:port/metrics for the block; yields the
    address bound (port 0 binds a free port)."""
    metrics = WorkerMetrics()
    try:
        server, thread = start_http_server(port, host, registry=metrics.registry)
    except OSError as error:
        raise InvalidRequest(
            f"cannot serve metrics on {host}:{port}: {error.strerror or error}"
        ) from None
    # Set before the address is told to anyone: no request can have come yet.
    server.set_app(_answering_head(_only_at_metrics(make_wsgi_app(metrics.registry))))
    worker.add_observer(metrics)
    write_lock_use = getattr(registry, "write_lock_use", None)
    if callable(write_lock_use):
        metrics.watch_write_lock(write_lock_use)
    observe = getattr(registry, "observe_transactions", None)
    if callable(observe):
        observe(metrics.transaction)
    try:
        yield str(server.server_address[0]), int(server.server_address[1])
    finally:
        if callable(observe):
            observe(None)
        # shutdown() waits for the server's loop to notice (up to its 0.5 s poll).
        await asyncio.to_thread(server.shutdown)
        server.server_close()
        await asyncio.to_thread(thread.join, 5)
