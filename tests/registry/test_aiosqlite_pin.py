"""The store runs whole transactions through aiosqlite's private `Connection._execute`
(see lashtui/registry/sqlite/connection.py); this pins the minor version that has it."""

from __future__ import annotations

import contextlib
import inspect
from importlib.metadata import version

import aiosqlite


def test_aiosqlite_minor_version_is_the_one_the_store_was_written_for() -> None:
    assert version("aiosqlite").startswith("0.22."), version("aiosqlite")


def test_connection_execute_still_takes_a_callable_and_its_arguments() -> None:
    parameters = list(inspect.signature(aiosqlite.Connection._execute).parameters)
    assert parameters[:2] == ["self", "fn"]
    assert inspect.iscoroutinefunction(aiosqlite.Connection._execute)


async def test_a_failed_connect_leaves_a_thread_we_can_join(tmp_path: object) -> None:
    connection = aiosqlite.Connection(lambda: (_ for _ in ()).throw(OSError("no")), 64)
    with contextlib.suppress(OSError):
        await connection
    connection._thread.join(5)
    assert not connection._thread.is_alive()
