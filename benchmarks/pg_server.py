"""Where the PostgreSQL figures run: the server, and a fresh schema per run.

The server's URL comes from `LASHTUI_BENCH_POSTGRES`, else `LASHTUI_TEST_POSTGRES` (what CI
sets; `.ci/postgres` starts a throwaway server and prints its URL). Each run gets a schema
of its own with a random name, created empty (the registry creates its tables in it) and
dropped with everything in it afterwards, so a run leaves nothing behind on the server and
two runs never see each other's rows.

Without a URL, or when the server cannot be reached, a benchmark still reports its
PostgreSQL figures, as not measured, with `unavailable()`'s one-line reason.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from lashtui.registry.display import redacted

ENV_VARS = ("LASHTUI_BENCH_POSTGRES", "LASHTUI_TEST_POSTGRES")
STORE = "PostgreSQL"  # the `store` of the figures measured here
CONNECT_TIMEOUT_S = 5
DROP_LOCK_TIMEOUT = "30s"  # a schema still in use fails its drop rather than hang the run


def server_url() -> str | None:
    """The server's URL, from the first of `ENV_VARS` that is set."""
    for name in ENV_VARS:
        if url := os.environ.get(name, "").strip():
            return url
    return None


@cache
def unavailable() -> str | None:
    """Why the PostgreSQL figures cannot be measured here (one line), or None if they can:
    the server answers and lets us create a schema. Asked once per run of the benchmarks."""
    url = server_url()
    if url is None:
        return f"no PostgreSQL server: set {' or '.join(ENV_VARS)} to a postgresql:// URL"
    try:
        import psycopg

        from lashtui.registry.display import first_line
    except ImportError:
        return "psycopg is not installed: pip install 'lashtui[postgres]'"
    try:
        conn = psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)
    except psycopg.Error as error:
        return f"cannot reach the PostgreSQL server at {redacted(url)}: {first_line(error)}"
    with conn:
        try:  # rolled back: the probe leaves nothing behind
            conn.execute("BEGIN")
            conn.execute(f"CREATE SCHEMA lashtui_bench_probe_{secrets.token_hex(4)}")
            conn.execute("ROLLBACK")
        except psycopg.Error as error:
            return f"cannot create a schema on {redacted(url)}: {first_line(error)}"
    return None


@cache
def settings() -> str:
    """The server's durability settings, as a note for a figure."""
    import psycopg

    url = server_url()
    assert url is not None
    with psycopg.connect(url, autocommit=True) as conn:
        values = {}
        for name in ("server_version", "fsync", "synchronous_commit"):
            row = conn.execute(f"SHOW {name}").fetchone()
            values[name] = str(row[0]) if row else "?"
    return (
        f"PostgreSQL {values['server_version'].split()[0]}, fsync={values['fsync']}, "
        f"synchronous_commit={values['synchronous_commit']}"
    )


def with_search_path(url: str, schema: str) -> str:
    """`url` with `schema` first on its search_path (any other `options` kept)."""
    parts = urlsplit(url)
    query = [(key, value) for key, value in parse_qsl(parts.query) if key != "options"]
    options = " ".join(
        [value for key, value in parse_qsl(parts.query) if key == "options"]
        + [f"-csearch_path={schema}"]
    )
    query.append(("options", options))
    return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote)))


@contextmanager
def scratch_schema(prefix: str) -> Iterator[str]:
    """A fresh, empty schema named `lashtui_bench_<prefix>_<random>`; yields a URL whose
    search_path puts it first (what `open_registry` takes). Dropped, with whatever is in
    it, afterwards: close every connection to it first."""
    import psycopg

    url = server_url()
    if url is None:
        raise RuntimeError(unavailable() or "no PostgreSQL server")
    schema = f"lashtui_bench_{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
        try:
            yield with_search_path(url, schema)
        finally:
            admin.execute(f"SET lock_timeout = '{DROP_LOCK_TIMEOUT}'")
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


def with_database(url: str, name: str) -> str:
    """`url` pointing at the database `name` on the same server."""
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


@contextmanager
def scratch_database(prefix: str) -> Iterator[str]:
    """A fresh, empty database named `lashtui_bench_<prefix>_<random>` on the server; yields
    its URL. For the peer queues of PG1 (benchmarks/pg1_peers.py), which put their tables in
    their own fixed names and LISTEN on fixed channels: a database of their own keeps both
    apart from any other run on the server (NOTIFY is database-wide, a schema would not).
    Dropped afterwards, closing whatever connection is still open to it."""
    import psycopg

    url = server_url()
    if url is None:
        raise RuntimeError(unavailable() or "no PostgreSQL server")
    name = f"lashtui_bench_{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(url, name)
    finally:
        with psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
