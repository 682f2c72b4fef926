"""A worker on PostgreSQL follows the registry's commits again after its connections
dropped (lashtui/worker/wake.py, lashtui/registry/watch.py): a start committed from another
shell after the server came back runs within moments, not at the worker's next drive. A
real `lashtui worker` reaches the server through tests/proxy.py, which is killed and started
again on the same port; the starts go to the server directly."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tests.cli.service import Worker, start, steps
from tests.proxy import Proxy

QUICK = steps({"finish": "ok"})
# The worker drives every third of this: far longer than any wait below, so only a wake
# from the server's announcement can start a run in time.
TTL_MS = "120000"
PROMPT_S = 10.0  # a quarter of the drive's interval


def _said(worker: Worker, words: str) -> list[dict[str, Any]]:
    return [r for r in worker.records() if words in str(r["message"])]


def _runs_promptly(worker: Worker, url: str, process_id: str) -> None:
    began = time.monotonic()
    start(url, process_id, QUICK)
    worker.until_event("run_started", process_id)
    assert time.monotonic() - began < PROMPT_S, worker.lines


def test_the_worker_listens_again_once_the_server_is_back(
    postgres_schema: str, proxy: Proxy, worker_through_proxy: Callable[..., Worker]
) -> None:
    worker = worker_through_proxy(ttl_ms=TTL_MS)
    _runs_promptly(worker, postgres_schema, "before")

    proxy.kill()
    worker.until(lambda: _said(worker, "listening to the registry failed"), "the break")
    proxy.start()
    # The watch as a whole ("watching the registry again") when its version poll failed
    # too, as it does while the server is away; the listener alone when only it broke.
    worker.until(lambda: _said(worker, "the registry again"), "the return")

    _runs_promptly(worker, postgres_schema, "after")
    assert len(_said(worker, "the registry failed")) <= 2  # each said once, not per try
