"""A PostgreSQL role that may only read (`GRANT SELECT ON ALL TABLES IN SCHEMA ...`, as a
fleet gives its monitors), on a real server: a writable open is refused in one sentence
naming the role and what it may not do, before anything is written (so `dash` opens
read-only on its own and the commands that act say why); a read-only open reads, follows
the registry's commits through `data_version` and the dashboard shows no error for it.

Found running such a role against a fleet's registry: `dash` exited 1 with `permission
denied for table process_registry_meta`, the commands that act printed the same, a
read-only dashboard showed `permission denied for sequence process_commit_counter` in its
header for as long as it ran, and `ls --watch` exited 1 at once."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from lashtui.admin import Processes
from lashtui.clock import SystemClock
from lashtui.errors import RegistryNotWritable
from lashtui.registry import open_registry
from lashtui.registry.watch import registry_changes
from lashtui.tui.app import make_app
from tests.builders import ext
from tests.raw import raw_connection
from tests.tui.scene import home_loaded

ROOT = Path(__file__).resolve().parents[2]
LASHTUI = str(Path(sys.executable).parent / "lashtui")


def as_role(url: str, role: str, password: str) -> str:
    """`url` with `role:password` as its user part."""
    parts = urlsplit(url)
    netloc = f"{role}:{password}@{parts.hostname}"
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


@pytest.fixture
def reader_url(postgres_schema: str) -> Iterator[str]:
    """`postgres_schema` (a registry in it, made by the test server's own role) as seen by
    a fresh login role granted only USAGE on the schema and SELECT on its tables."""
    import psycopg

    schema = urlsplit(postgres_schema).query.rsplit("%3D", 1)[1]
    role, password = f"reader_{uuid.uuid4().hex[:12]}", uuid.uuid4().hex
    with psycopg.connect(postgres_schema, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
    try:
        asyncio.run(_make_registry(postgres_schema))
        with psycopg.connect(postgres_schema, autocommit=True) as conn:
            conn.execute(f'GRANT USAGE ON SCHEMA "{schema}" TO {role}')
            conn.execute(f'GRANT SELECT ON ALL TABLES IN SCHEMA "{schema}" TO {role}')
        yield as_role(postgres_schema, role, password)
    finally:
        with psycopg.connect(postgres_schema, autocommit=True) as conn:
            conn.execute(f"DROP OWNED BY {role}")
            conn.execute(f"DROP ROLE {role}")


async def _make_registry(url: str) -> None:
    async with open_registry(url) as registry:
        await registry.register_process(ext("job-1"))


def _meta(url: str) -> list[tuple[object, ...]]:
    with raw_connection(url) as conn:
        return [tuple(row) for row in conn.execute("SELECT * FROM process_registry_meta")]


async def test_a_writable_open_by_a_reading_role_is_refused_in_one_sentence(
    postgres_schema: str, reader_url: str
) -> None:
    before = _meta(postgres_schema)
    role = urlsplit(reader_url).username

    with pytest.raises(RegistryNotWritable) as refused:
        async with open_registry(reader_url, create=False):
            pass

    message = str(refused.value)
    assert f"role `{role}` may not insert into table `processes`" in message, message
    assert "only read-only access is possible" in message
    assert "permission denied" not in message
    assert str(urlsplit(reader_url).password) not in message
    assert refused.value.why == f"role `{role}` may not write"
    assert _meta(postgres_schema) == before


async def test_a_reading_role_follows_the_registry_through_data_version(
    postgres_schema: str, reader_url: str
) -> None:
    async with (
        open_registry(reader_url, read_only=True, create=False) as reader,
        open_registry(postgres_schema) as writer,
    ):
        assert [r.id for r in await reader.list_processes()] == ["job-1"]
        first = await reader.data_version()
        await writer.register_process(ext("job-2"))
        assert await reader.data_version() != first
        assert {r.id for r in await reader.list_processes()} == {"job-1", "job-2"}


async def test_the_read_only_dashboard_of_a_reading_role_shows_no_error(
    reader_url: str,
) -> None:
    """Read-only as `dash` opens it for such a role: the header says why, and no error
    comes to the status line while it follows the registry (the change detection's failure
    stood there, cleared by each read and set again by each retry of the watch)."""
    clock = SystemClock()  # (the views' refreshes and the version's polls run on it)
    async with open_registry(reader_url, read_only=True, create=False, clock=clock) as reader:
        app = make_app(
            Processes(reader, clock=clock), clock=clock, read_only_why="role `r` may not write"
        )
        async with app.run_test(size=(160, 30)) as pilot:
            screen = await home_loaded(pilot)
            errors: set[str] = set()
            for _ in range(40):  # 2 s: the watch's first try, and its retry after a failure
                await pilot.pause(0.05)
                if screen.last_error is not None:
                    errors.add(screen.last_error)
            assert errors == set()
            assert "read-only: role `r` may not write" in app.sub_title


async def test_a_reading_role_is_woken_by_the_registrys_commits(
    postgres_schema: str, reader_url: str
) -> None:
    """`ls --watch`, `events --follow` and the dashboard follow the registry so: it exited
    1 at once (`permission denied for sequence process_commit_counter`)."""
    async with (
        open_registry(reader_url, read_only=True, create=False) as reader,
        open_registry(postgres_schema) as writer,
    ):
        changes = registry_changes(reader, poll_s=0.05)
        async with asyncio.timeout(20):
            wake = asyncio.ensure_future(anext(changes))
            await asyncio.sleep(0.5)  # (listening and the poll's first version read)
            await writer.register_process(ext("job-2"))
            await wake
        await changes.aclose()


def test_the_commands_that_act_say_the_role_may_not_write(reader_url: str) -> None:
    env = {**os.environ, "LASHTUI_DB": reader_url}
    done = subprocess.run(
        [LASHTUI, "cancel", "job-1"],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1, done
    assert done.stdout == ""
    line = done.stderr.strip()
    assert line.startswith("lashtui: cannot write process registry "), line
    assert "may not insert into table `processes`" in line
    assert "\n" not in line


async def test_a_reading_role_counts_a_repeated_key_as_the_models_do(
    postgres_schema: str, reader_url: str
) -> None:
    """A live row whose record names `disposition` twice is undecodable to the models: the
    reading role's `check` facts count it as a row whose state is unknown, through the
    registry's function (sql/repeated.py), which the role may run but never creates. It
    read jsonb's last value, and counted nothing."""
    with raw_connection(postgres_schema) as conn:
        (text,) = conn.execute(
            "SELECT record_json FROM processes WHERE process_id = 'job-1'"
        ).fetchone()
        conn.execute(
            "UPDATE processes SET record_json = ? WHERE process_id = 'job-1'",
            ('{"disposition": "owner_bound", ' + text[1:],),
        )
    async with open_registry(reader_url, read_only=True, create=False) as reader:
        record = await reader.get_process("job-1")
        assert record is not None and record.undecodable is not None
        facts = await reader.probe_facts(0, 0)
        assert (facts.unknown_state, facts.unknown_state_first) == (1, "job-1")
