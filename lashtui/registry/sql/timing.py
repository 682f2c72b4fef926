"""`TimedRunner`: a store's transactions, timed for whoever asks (the worker's metrics).

Every registry method is one call to the store's `TransactionRunner` (store.py), so wrapping
the runner is the one place that sees every transaction of both stores. The time is what
the caller waits, from the call to its result: on SQLite that includes waiting for the
writer's thread and a group commit, on PostgreSQL for a pooled connection, which is the
latency a worker actually pays. The observer is a plain callable, so the registry knows
nothing of what is done with the numbers (no metrics library is imported here), and a store
nobody observes has no wrapper at all: its transactions cost what they did.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, ParamSpec, TypeVar

if TYPE_CHECKING:
    from lashtui.model import ProcessExecutionEnvSpec
    from lashtui.registry.sql.store import TransactionRunner, TxFunction

P = ParamSpec("P")
T = TypeVar("T")

# Told each transaction's kind (the runner's method: write, read, short_write, short_read,
# point_read) and how many seconds its caller waited for it, failed ones included. Called on
# the event loop: it must be quick and must not raise.
TransactionObserver = Callable[[str, float], None]


class TimedRunner:
    """A `TransactionRunner` that tells `observer` how long each transaction took."""

    def __init__(self, inner: TransactionRunner, observer: TransactionObserver) -> None:
        self.inner = inner
        self.observer = observer

    @property
    def read_only(self) -> bool:
        return self.inner.read_only

    async def close(self) -> None:
        await self.inner.close()

    def known_env(self, env_ref: str) -> ProcessExecutionEnvSpec | None:
        return self.inner.known_env(env_ref)  # no transaction: nothing to time

    async def write(self, fn: TxFunction[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        began = time.perf_counter()
        try:
            return await self.inner.write(fn, *args, **kwargs)
        finally:
            self.observer("write", time.perf_counter() - began)

    async def read(self, fn: TxFunction[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        began = time.perf_counter()
        try:
            return await self.inner.read(fn, *args, **kwargs)
        finally:
            self.observer("read", time.perf_counter() - began)

    async def short_write(self, fn: TxFunction[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        began = time.perf_counter()
        try:
            return await self.inner.short_write(fn, *args, **kwargs)
        finally:
            self.observer("short_write", time.perf_counter() - began)

    async def short_read(self, fn: TxFunction[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        began = time.perf_counter()
        try:
            return await self.inner.short_read(fn, *args, **kwargs)
        finally:
            self.observer("short_read", time.perf_counter() - began)

    async def point_read(self, fn: TxFunction[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        began = time.perf_counter()
        try:
            return await self.inner.point_read(fn, *args, **kwargs)
        finally:
            self.observer("point_read", time.perf_counter() - began)
