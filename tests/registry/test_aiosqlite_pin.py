"""The store runs whole transactions through aiosqlite's private `Connection._execute`
(see lashtui/registry/sqlite/connection.py); this pins the minor version that has it."""

from __future__ import annotations

import inspect
from importlib.metadata import version

import aiosqlite


def test_aiosqlite_minor_version_is_the_one_the_store_was_written_for() -> None:
    assert version("aiosqlite").startswith("0.22."), version("aiosqlite")


def test_connection_execute_still_takes_a_callable_and_its_arguments() -> None:
    parameters = list(inspect.signature(aiosqlite.Connection._execute).parameters)
    assert parameters[:2] == ["self", "fn"]
    assert inspect.iscoroutinefunction(aiosqlite.Connection._execute)
