"""Shared fixtures: a manual clock and a registry on a real SQLite file or PostgreSQL schema.

The `registry` fixture is parameterised by backend, so every contract test runs against each
store. The PostgreSQL tests use the server at $LASHTUI_TEST_POSTGRES (`.ci/postgres` starts
a throwaway one and prints its URL), each test in a schema of its own, dropped after. Without
that variable they are skipped, except in CI (CI=true), where they fail: CI must never pass
by not testing a backend.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import uuid

# This sandbox sets PYTHONDONTWRITEBYTECODE: every `lashtui` command, worker and dashboard the
# suite spawns (thousands) compiled each lashtui module it imports from source again (~0.25 s
# of CPU a spawn on 2 busy vCPUs, a third of a `show`), and each pytest process rewrote and
# compiled every test module (~15 s). An installed lashtui has its bytecode compiled at
# install; so the suite and what it spawns get a bytecode cache, outside the tree (as
# benchmarks/s1_cli.py gives its commands). Set before anything below imports lashtui.
if os.environ.pop("PYTHONDONTWRITEBYTECODE", None):
    os.environ.setdefault(
        "PYTHONPYCACHEPREFIX", os.path.join(tempfile.gettempdir(), "lashtui-test-pyc")
    )
    sys.pycache_prefix = os.environ["PYTHONPYCACHEPREFIX"]
    sys.dont_write_bytecode = False
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from lashtui.clock import ManualClock
from lashtui.registry import ProcessRegistry, open_registry

# The hostile-input properties (hypothesis) explore new examples on a developer's machine,
# and the same ones on every CI run, so CI fails only on a change, never on a draw; no
# example database is written in either.
settings.register_profile("dev", database=None)
settings.register_profile("ci", database=None, derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

BACKENDS = ["sqlite", "postgres"]
POSTGRES_ENV = "LASHTUI_TEST_POSTGRES"
START_MS = 1_780_000_000_000


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START_MS)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def postgres_server() -> str:
    """The test server's URL: skip without one, but fail in CI."""
    url = os.environ.get(POSTGRES_ENV)
    if url:
        return url
    message = f"no PostgreSQL server for the tests: set {POSTGRES_ENV} (see .ci/postgres)"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def postgres_schema() -> Iterator[str]:
    """A registry URL on a fresh, empty schema of the test server, dropped after the test."""
    with fresh_schema() as url:
        yield url


@pytest.fixture
def twin_schema() -> Iterator[str]:
    """A second fresh schema (as `postgres_schema`), for writing the same rows two ways."""
    with fresh_schema() as url:
        yield url


@contextlib.contextmanager
def fresh_schema() -> Iterator[str]:
    """`postgres_schema`'s URL, for a test that needs more than one schema."""
    import psycopg

    server = postgres_server()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in server else "?"
    try:
        yield f"{server}{separator}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def registry_target(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where the backend under test keeps its registry (a fresh one per test)."""
    if backend == "sqlite":
        return str(tmp_path / "registry.db")
    if backend == "postgres":
        return str(request.getfixturevalue("postgres_schema"))
    raise AssertionError(f"unknown backend {backend}")


@pytest.fixture
async def registry(registry_target: str, clock: ManualClock) -> AsyncIterator[ProcessRegistry]:
    async with open_registry(registry_target, clock=clock) as opened:
        yield opened
