"""SQLite's `sort_label` column (order.py `label_key`): each row lashtui inserts carries
the label the table shows (the identity's label, else its kind), the label index sorts by
it, and a row another program wrote without it still sorts by its record's label. A label
page seeks by that index. (`lashtui index` adding the column to an older file:
tests/cli/test_cli_index.py.)"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from lashtui.clock import ManualClock
from lashtui.model import ProcessEventAppendRequest, ProcessIdentity, ProcessPageQuery
from lashtui.registry import open_registry
from lashtui.registry.sql import repeated
from lashtui.registry.sql.dialect import SQLITE_LABELLED
from lashtui.registry.sql.order import sorted_statements
from tests.builders import ext
from tests.raw import raw_connection
from tests.registry.rows import ids


def labels(db: str) -> dict[str, object]:
    with raw_connection(db) as conn:
        return dict(conn.execute("SELECT process_id, sort_label FROM processes"))


async def test_each_row_carries_the_label_the_table_shows(
    tmp_path: Path, clock: ManualClock
) -> None:
    db = str(tmp_path / "r.db")
    async with open_registry(db, clock=clock) as registry:
        for pid, identity in (
            ("a", ProcessIdentity(kind="k", label="zeta")),
            ("b", ProcessIdentity(kind="kind-b")),  # no label: the kind
            ("c", ProcessIdentity(kind="kind-c", label="")),  # empty: the kind
            ("d", ProcessIdentity(kind="", label="")),
        ):
            await registry.register_process(ext(pid, identity=identity))
        request = ProcessEventAppendRequest.cancel_requested("a", "an edit keeps it")
        await registry.append_event("a", request)
        page = await registry.page_processes(ProcessPageQuery(order="label"))
    assert labels(db) == {"a": "zeta", "b": "kind-b", "c": "kind-c", "d": ""}
    assert ids(page) == ["d", "b", "c", "a"]


async def test_a_row_written_without_it_sorts_by_its_records_label(
    tmp_path: Path, clock: ManualClock
) -> None:
    """Another program's insert names lash's columns and leaves `sort_label` NULL: the
    index and the page read that row's label from its JSON."""
    db = str(tmp_path / "r.db")
    async with open_registry(db, clock=clock) as registry:
        for pid, label in (("a", "mike"), ("b", "alpha")):
            identity = ProcessIdentity(kind="k", label=label)
            await registry.register_process(ext(pid, identity=identity))
    with raw_connection(db) as conn:
        conn.execute("UPDATE processes SET sort_label = NULL WHERE process_id = 'a'")
        conn.execute(
            "INSERT INTO processes (process_id, registration_hash, owner_scope_id, "
            "created_at_ms, updated_at_ms, change_seq, status, record_json) "
            "SELECT 'z', registration_hash, owner_scope_id, created_at_ms, updated_at_ms, "
            "change_seq + 10, status, json_set(json_set(record_json, '$.id', 'z'), "
            "'$.identity.label', 'lima') FROM processes WHERE process_id = 'b'"
        )
    async with open_registry(db, clock=clock) as registry:
        page = await registry.page_processes(ProcessPageQuery(order="label"))
        down = await registry.page_processes(ProcessPageQuery(order="label", descending=True))
    assert labels(db) == {"a": None, "b": "alpha", "z": None}
    assert ids(page) == ["b", "z", "a"]  # alpha, lima, mike
    assert ids(down) == ["a", "z", "b"]


async def test_a_label_page_seeks_by_the_label_index(tmp_path: Path, clock: ManualClock) -> None:
    db = str(tmp_path / "r.db")
    async with open_registry(db, clock=clock) as registry:
        await registry.register_process(ext("a"))
    query = ProcessPageQuery(order="label", states=frozenset({"running"}), after_id="a")
    (select, params), *_ = sorted_statements(
        query.model_copy(update={"after_key": "k"}), SQLITE_LABELLED
    )[0]
    with raw_connection(db) as conn:
        assert isinstance(conn, sqlite3.Connection)
        repeated.install(conn)  # (the function the running arm's waiting test asks)
        plan = " ".join(str(row) for row in conn.execute(f"EXPLAIN QUERY PLAN {select}", params))
    assert "processes_status_sort_label_idx" in plan and "TEMP B-TREE" not in plan
