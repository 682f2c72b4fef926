"""Rows whose `process_id` is NULL, through the registry, named as every reader lists them
(`NULL#4`, or `NULL##2` where a text row is `NULL#2`: registry/sql/blob_id.py), on a real
SQLite file seeded with raw SQL: three NULL rows, a text row `NULL`, a text row `NULL#2`
and ordinary rows.

Before, the text filter (`ProcessPageQuery.text`: the dashboard's `/`) tested the stored
column, which is NULL there: no text found such a row, while the dashboard's own test of a
row it holds (tui/window.py `matches`) matched it by the name it shows, so the two
disagreed. And the census keyed the NULL row at rowid 2 as the text row `NULL#2`."""

from __future__ import annotations

from pathlib import Path

import pytest

from lashtui.model import ObservedProcess, ProcessPageQuery
from lashtui.registry import open_registry
from lashtui.tui.window import matches
from tests.builders import ext
from tests.raw import copy_row, raw_connection

# rowids: good 1, the NULL rows 2 to 4, then `NULL`, `NULL#2` and `other`
EVERY = ["NULL##2", "NULL#3", "NULL#4", "NULL", "NULL#2", "good", "other"]


async def seeded(db: str) -> None:
    async with open_registry(db) as registry:
        await registry.register_process(ext("good"))
    for stored in (None, None, None, "NULL", "NULL#2", "other"):
        copy_row(db, "good", stored)


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("NULL#3", ["NULL#3"]),
        ("null##2", ["NULL##2"]),  # (case-insensitive, as every field)
        ("#2", ["NULL##2", "NULL#2"]),
        ("#", ["NULL##2", "NULL#3", "NULL#4", "NULL#2"]),
        ("null", EVERY[:5]),
    ],
)
async def test_a_text_finds_a_null_row_by_the_name_it_is_listed_by(
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
        # Paged one row at a time, from each row's id, it lists each once.
        query = ProcessPageQuery(states=None, text=text, limit=1)
        walked: list[str] = []
        while rows := await registry.page_processes(query):
            walked += [p.id for p in rows]
            query = query.model_copy(update={"after_id": rows[-1].id})
        assert walked == [pid for pid in EVERY if pid in found]


async def test_the_census_and_a_read_by_ids_name_each_row_as_it_is_listed(tmp_path: Path) -> None:
    # The census named the NULL row at rowid 2 `NULL#2`, the text row's id: the two were
    # keyed alike (one live row, the other counted apart as `unkeyed`), so the dashboard's
    # counts could not tell them apart; a read by ids keyed both `NULL#2`.
    db = str(tmp_path / "r.db")
    await seeded(db)
    with raw_connection(db) as conn:
        conn.execute("UPDATE processes SET status = 'zombie' WHERE rowid = 3")
    async with open_registry(db) as registry:
        census = await registry.process_census()
        assert sorted(census.live) == sorted(set(EVERY) - {"NULL#3"})
        assert census.no_state_ids == frozenset({"NULL#3"}) and not census.unkeyed
        read = await registry.get_processes(["NULL##2", "NULL#2", "NULL#3"])
        assert {pid: record.id for pid, record in read.items()} == {
            "NULL##2": "NULL##2", "NULL#2": "NULL#2", "NULL#3": "NULL#3",
        }  # fmt: skip
        assert read["NULL#2"].undecodable is None  # the text row, decoded
