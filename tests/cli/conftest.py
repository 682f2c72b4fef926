"""Fixtures the command line's tests share."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.cli.service import TTL_MS, Worker
from tests.proxy import Proxy, proxied, target_of

PROXIED_TIMEOUT_S = 3


@pytest.fixture
def workers() -> Iterator[list[Worker]]:
    """Every `lashtui worker` a test starts (it appends them), killed after it if it is
    still there."""
    started: list[Worker] = []
    yield started
    for worker in started:
        worker.kill()


@pytest.fixture
def proxy(postgres_schema: str) -> Iterator[Proxy]:
    """tests/proxy.py in front of the test's PostgreSQL server, started; the test may kill
    it and start it again (a server gone and back), and it is killed after the test."""
    running = Proxy(*target_of(postgres_schema))
    running.start()
    yield running
    running.kill()


@pytest.fixture
def worker_through_proxy(
    postgres_schema: str, proxy: Proxy, workers: list[Worker]
) -> Callable[..., Worker]:
    """Starts `lashtui worker ARGS` on the test's schema, reaching it through `proxy`, and
    returns it once it has said `started` (past start-up's one-off reads). Its URL gives a
    connect timeout of `PROXIED_TIMEOUT_S`: a drive during an outage fails that soon (the
    pool waits as long for a connection), not after the default 10 s."""

    def started(*args: str, ttl_ms: str = TTL_MS) -> Worker:
        url = f"{proxied(postgres_schema, proxy)}&connect_timeout={PROXIED_TIMEOUT_S}"
        worker = Worker(url, *args, ttl_ms=ttl_ms)
        workers.append(worker)
        worker.until_event("started")
        return worker

    return started
