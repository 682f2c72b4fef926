"""The text filter (`ProcessPageQuery.text`: the dashboard's `/`) and rows whose
`process_id` another program stored as a blob, on a real SQLite file seeded with raw SQL.

Every reader lists such a row by the bytes as Python writes them (`b'zz'`, `b'r\\xffw'`:
registry/sql/blob_id.py `shown_id`), and the dashboard's own test of the rows it holds
(tui/window.py `matches`) matched that; the SQL matched the raw bytes, so `/b'zz'` or
`/xff` found nothing, and the two disagreed about the same row. PostgreSQL's text key holds
no blob."""

from __future__ import annotations

from pathlib import Path

import pytest

from lashtui.model import ObservedProcess, ProcessPageQuery
from lashtui.registry import open_registry
from lashtui.tui.window import matches
from tests.builders import ext
from tests.raw import copy_row

# Text ids first, then the blobs (SQLite sorts a blob after every text), by their bytes.
EVERY = ["good", "zz-text", "b\"it's\"", "b'r\\xffw'", "b'zz'"]


async def seeded(db: str) -> None:
    async with open_registry(db) as registry:
        await registry.register_process(ext("good"))
    for stored in ("zz-text", b"zz", b"r\xffw", b"it's"):
        copy_row(db, "good", stored)


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("b'zz'", ["b'zz'"]),  # as listed; the bytes are `zz`
        ("B'ZZ", ["b'zz'"]),  # (case-insensitive, as every field)
        ("xff", ["b'r\\xffw'"]),  # an escape, as shown
        ("\\x", ["b'r\\xffw'"]),
        ('b"it', ["b\"it's\""]),  # Python quotes bytes holding `'` with `"`
        ("zz", ["zz-text", "b'zz'"]),
        ("b'", ["b'r\\xffw'", "b'zz'"]),
    ],
)
async def test_a_text_finds_a_blob_row_by_the_id_it_is_listed_by(
    tmp_path: Path, text: str, found: list[str]
) -> None:
    db = str(tmp_path / "r.db")
    await seeded(db)
    async with open_registry(db) as registry:
        every = await registry.page_processes(ProcessPageQuery(states=None, limit=100))
        assert [p.id for p in every] == EVERY
        for order in ("id", "label", "updated"):
            for descending in (False, True):
                query = ProcessPageQuery(
                    states=None, text=text, order=order, descending=descending, limit=100
                )
                page = [p.id for p in await registry.page_processes(query)]
                assert sorted(page) == sorted(found), (order, descending, page)
                # ...as the dashboard tests a row it holds.
                held = [
                    p.id for p in every if matches(query, ObservedProcess.from_record(p, None))
                ]
                assert sorted(held) == sorted(found), (order, held)
    # The same through a read-only open (the dashboard's `--read-only`, a lash registry's).
    async with open_registry(db, read_only=True) as registry:
        query = ProcessPageQuery(states=None, text=text, limit=100)
        assert sorted(p.id for p in await registry.page_processes(query)) == sorted(found)
