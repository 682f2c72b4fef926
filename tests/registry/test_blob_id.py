"""A row whose `process_id` another program stored as a BLOB (SQLite only: PostgreSQL's text
column holds no blob), on a real file: a worker's batch claim (run.py `_pick`) never hands
it over and claims every other free row, its drive lists it as an undecodable item, and it
is looked up as a read shows it (`b'zz'`), a row really named so first. Before, the pick
handed over its bytes as an id and the whole claim failed ("failed to decode process
registry row"), as did every worklist read: one row locked the worker out."""

from __future__ import annotations

from pathlib import Path

import pytest

from lashtui.errors import UnknownProcess
from lashtui.model import ProcessHandleDescriptor
from lashtui.registry import ProcessRegistry, open_registry
from tests.builders import own, rr, started
from tests.raw import copy_row, raw_connection
from tests.registry.rows import scope

LIVE = 60_000


def insert_blob_copy(db: str, of: str, blob: bytes) -> None:
    """A copy of row `of` keyed by `blob`, as another program would insert it."""
    copy_row(db, of, blob)


async def test_a_batch_claim_takes_every_other_row_and_never_the_blob(tmp_path: Path) -> None:
    db = str(tmp_path / "r.db")
    async with open_registry(db) as registry:
        for pid in ("a", "b", "c", "b'zz'"):
            await registry.register_process(rr(pid))
    insert_blob_copy(db, "a", b"zz")
    insert_blob_copy(db, "a", b"\xff")
    async with open_registry(db) as registry:
        items = await registry.list_work_items()
        # (SQLite sorts every blob after every text; the text row `b'zz'` and the blob
        # `zz` read alike, and only the blob's is undecodable.)
        assert [(item.process_id, item.undecodable) for item in items] == [
            ("a", False), ("b", False), ("b'zz'", False), ("c", False),
            ("b'zz'", True), ("b'\\xff'", True),
        ]  # fmt: skip
        drive = await registry.list_drive_work_items(0)
        assert all(isinstance(item.process_id, str) for item in drive)

        owners = [own(f"w:{n}") for n in range(8)]
        claims = await registry.claim_processes_for_run(owners, LIVE, started("w"))

        assert [pid for pid, _ in claims] == ["a", "b", "b'zz'", "c"]
        assert all(claimed is not None and claimed.started for _, claimed in claims)
        assert await registry.claim_processes_for_run(owners, LIVE, started("w")) == []
        # Exact match first: the text row named `b'zz'` is that row; `b'\xff'` the blob's.
        named = await registry.get_process("b'zz'")
        assert named is not None and named.undecodable is None
        blob = await registry.get_process("b'\\xff'")
        assert blob is not None and blob.id == "b'\\xff'"
        assert blob.undecodable is not None and "holds a blob" in blob.undecodable


async def test_a_grant_whose_session_is_a_blob_is_a_stand_in(tmp_path: Path) -> None:
    """A grant row whose session and scope ids are blobs failed every read of its process's
    grants (`show`: "failed to decode process registry row: session_id"); now it is shown
    as stored, marked undecodable, beside the good one."""
    db = str(tmp_path / "r.db")
    async with open_registry(db) as registry:
        await registry.register_process(rr("a"))
        await registry.grant_handle(scope("alice"), "a", ProcessHandleDescriptor(label="r"))
    with raw_connection(db) as conn:
        conn.execute(
            "INSERT INTO process_handle_grants (session_id, scope_id, process_id, "
            "descriptor_json) SELECT CAST(x'ff' AS BLOB), CAST(x'73ff' AS BLOB), process_id, "
            "descriptor_json FROM process_handle_grants"
        )
    async with open_registry(db) as registry:
        grants = await registry.handle_grants_for_process("a")
        scopes = await registry.handle_grant_scopes("a")
    by_session = {grant.session_id: grant for grant in grants}
    assert set(by_session) == {"alice", "b'\\xff'"}
    assert by_session["alice"].descriptor.undecodable is None
    blob = by_session["b'\\xff'"].descriptor.undecodable
    assert blob == "its session_id column holds a blob, not text"
    assert sorted(scope_id for scope_id, _ in scopes) == ["b's\\xff'", scope("alice").id()]


async def test_a_blob_shaped_id_no_row_has_is_unknown_on_every_store(
    registry: ProcessRegistry,
) -> None:
    """The lookup by a blob's shown text asks SQLite only: PostgreSQL's text column holds no
    blob, and a bytea bound against it is an error, not "unknown"."""
    await registry.register_process(rr("a"))
    assert await registry.get_process("b'zz'") is None
    with pytest.raises(UnknownProcess):
        await registry.claim_process_for_run("b'zz'", own("w"), LIVE, started("w"))
