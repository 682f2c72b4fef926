"""The text filter reads a row's label only from a record whose text may hold it
(registry/sql/label_sieve.py), and that changes nothing it matches: a label the record's
JSON spells with escapes (`\\u004eightly`, `zz\\/top`, `say \\"hi\\"`), one whose characters fold
to ASCII only in PostgreSQL's collation (Kelvin `K`, `İ`), one shown escaped (ESC, DEL, a
bidi override: `/1bb`, `/x7fq`), a kind shown for an absent or empty label, and records
that are not JSON or not an object, on both stores, in id order and label order.

Before, every row's record was read as JSON: 7.5 s over 100,000 rows on PostgreSQL for a
filter that matched nothing (README, the text filter). The last two tests fail where the
label is read from a record whose text cannot hold it."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from lashtui.model import ProcessIdentity, ProcessPageQuery
from lashtui.registry import open_registry
from lashtui.registry.sql import blob_id, repeated, shown_text
from lashtui.registry.sql.dialect import POSTGRES_TRY, SQLITE, TRY_JSONB
from lashtui.registry.sql.filter import id_page_statements
from tests.builders import ext
from tests.conftest import fresh_schema
from tests.raw import raw_connection, store_record_json

PLACE = "\x00label\x00"  # stands for the label while the record is written out again

# id -> (kind, label, how the record's JSON spells the label; None: as json.dumps does)
LABELLED: dict[str, tuple[str, str | None, str | None]] = {
    "row-00": ("external", "Nightly Deploy", '"\\u004eightly Deploy"'),
    "row-01": ("external", "pqr", '"\\u0070\\u0071\\u0072"'),
    "row-02": ("external", 'say "hi"', None),
    "row-03": ("external", "zz/top", '"zz\\/top"'),
    "row-04": ("external", "\u212aelvin", '"\u212aelvin"'),
    "row-05": ("external", "\u212aelvin2", '"\\u212aelvin2"'),
    "row-06": ("external", "\u0130stanbul", '"\u0130stanbul"'),
    "row-07": ("external", "RÉSUMÉ", '"RÉSUMÉ"'),
    "row-08": ("external", "RÉSUMÉ2", '"R\\u00c9SUM\\u00c92"'),
    "row-09": ("external", "a\x1bb", '"a\\u001bb"'),
    "row-10": ("external", "p\x7fq", '"p\x7fq"'),
    "row-11": ("external", "L\u202eR", '"L\u202eR"'),
    "row-12": ("external", "MiXeD CaSe", None),
    "row-13": ("Widget-Kind", None, None),
    "row-14": ("Widget-Kind2", None, None),  # its kind spelled `W\\u0069dget-Kind2`
    "row-15": ("Gadget", "", None),
}
# Records another program wrote that are not a JSON object: no label to match.
NOT_OBJECTS = {"r-notjson": "not json: Gizmo", "r-array": '["Gizmo"]', "r-string": '"Gizmo"'}

BOTH = ["sqlite", "postgres"]
# needle -> the ids it finds ("*": on each store; a store's own list where they differ)
CASES: list[tuple[str, dict[str, list[str]]]] = [
    ("nightly", {"*": ["row-00"]}),  # `\u`-escaped in the JSON
    ("NIGHTLY DEP", {"*": ["row-00"]}),  # any case
    ("deploy", {"*": ["row-00"]}),  # (`d` may begin an escape's end: shown_text.py)
    ("pqr", {"*": ["row-01"]}),
    ('"hi"', {"*": ["row-02"]}),  # `"`: written `\"`
    ('say "', {"*": ["row-02"]}),
    ("z/t", {"*": ["row-03"]}),  # `/`: written `\/`
    ("ZZ/TOP", {"*": ["row-03"]}),
    # Lowered as Python lowers (filter.py `_lowering`), on both stores: Kelvin K to k (where
    # SQLite's lower found neither row), İ to i and a dot above (PostgreSQL's: a plain i).
    ("kelvin", {"*": ["row-04", "row-05"]}),
    ("istanbul", {"*": []}),
    ("i\u0307stanbul", {"*": ["row-06"]}),
    ("stanbul", {"*": ["row-06"]}),
    ("résumé", {"*": ["row-07", "row-08"]}),  # not ASCII
    ("\\x1b", {"*": ["row-09"]}),  # a backslash: shown escaped
    ("1bb", {"*": ["row-09"]}),  # across the escape's end
    ("x7fq", {"*": ["row-10"]}),  # DEL, written as itself
    ("202er", {"*": ["row-11"]}),  # a bidi override, written as itself
    ("mixed case", {"*": ["row-12"]}),
    ("widget-kind", {"*": ["row-13", "row-14"]}),  # no label: the kind
    ("gadget", {"*": ["row-15"]}),  # an empty label: the kind
    ("gizmo", {"*": []}),  # in records that are not JSON objects
    ("r-notjson", {"*": ["r-notjson"]}),  # such a row, by its id
]


def respelled(text: str, label: str | None, spelling: str | None, kind: str) -> str:
    """The record JSON `text` with its label spelled `spelling` (and `Widget-Kind2` with an
    escape), the rest as json.dumps writes it."""
    record = json.loads(text)
    if spelling is not None:
        record["identity"]["label"] = PLACE
    out = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    if spelling is not None:
        out = out.replace(json.dumps(PLACE), spelling)
    if kind == "Widget-Kind2":
        out = out.replace('"Widget-Kind2"', '"W\\u0069dget-Kind2"')
    return out


async def seed(target: str) -> None:
    async with open_registry(target) as registry:
        for pid, (kind, label, _) in LABELLED.items():
            identity = ProcessIdentity(kind=kind, label=label)
            await registry.register_process(ext(pid, identity=identity))
        for pid in NOT_OBJECTS:
            await registry.register_process(ext(pid))
    with raw_connection(target) as conn:
        rows = conn.execute("SELECT process_id, record_json FROM processes").fetchall()
    for pid, text in rows:
        if pid in NOT_OBJECTS:
            store_record_json(target, pid, NOT_OBJECTS[pid])
        else:
            kind, label, spelling = LABELLED[pid]
            store_record_json(target, pid, respelled(text, label, spelling, kind))


@pytest.fixture(scope="module", params=BOTH)
def seeded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    """(backend, target): one registry of the rows above on each store, for the module."""
    if request.param == "sqlite":
        target = str(tmp_path_factory.mktemp("sieve") / "r.db")
        asyncio.run(seed(target))
        yield "sqlite", target
        return
    with fresh_schema() as url:
        asyncio.run(seed(url))
        yield "postgres", url


def test_the_records_spell_labels_as_written(seeded: tuple[str, str]) -> None:
    """(The fixture's own check: the escapes the cases rely on are in the stored text.)"""
    _, target = seeded
    with raw_connection(target) as conn:
        stored = dict(conn.execute("SELECT process_id, record_json FROM processes").fetchall())
    assert '"\\u004eightly Deploy"' in stored["row-00"]
    assert '"zz\\/top"' in stored["row-03"] and '"p\x7fq"' in stored["row-10"]
    assert '"W\\u0069dget-Kind2"' in stored["row-14"] and stored["r-array"] == '["Gizmo"]'


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[text for text, _ in CASES])
async def test_the_filter_finds_every_label_it_shows(
    seeded: tuple[str, str], text: str, expected: dict[str, list[str]]
) -> None:
    backend, target = seeded
    wanted = sorted(expected.get(backend, expected.get("*", [])))
    async with open_registry(target, read_only=True) as registry:
        for order in ("id", "label"):
            query = ProcessPageQuery(states=None, text=text, order=order, limit=100)
            found = sorted(p.id for p in await registry.page_processes(query))
            assert found == wanted, order


def sqlite_reads(db: Path, text: str) -> int:
    """How many records the SQLite filter for `text` reads as JSON: `json_valid`, which
    guards every read of the label (dialect.py `json_text`), counted."""
    calls = 0

    def counted(value: object) -> int:
        nonlocal calls
        calls += 1
        try:
            json.loads(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return 0
        return 1

    conn = sqlite3.connect(db)
    try:
        repeated.install(conn)
        blob_id.install(conn)
        shown_text.install(conn)
        # (In place of SQLite's own, counting its calls.)
        conn.create_function("json_valid", 1, counted, deterministic=True)
        query = ProcessPageQuery(states=None, text=text, limit=100)
        for select, params in id_page_statements(query, False, SQLITE):
            conn.execute(select, params).fetchall()
    finally:
        conn.close()
    return calls


async def test_sqlite_reads_no_record_whose_text_lacks_the_text(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    async with open_registry(str(db)) as registry:
        for n in range(20):
            await registry.register_process(ext(f"row-{n}"))
        await registry.register_process(ext("x", identity=ProcessIdentity(kind="k", label="Zzq")))
    assert sqlite_reads(db, "nowhere") == 0  # (each of the 21 records, read before)
    assert sqlite_reads(db, "zzq") > 0  # the one record that holds it (the count works)


async def test_postgres_reads_no_record_whose_text_lacks_the_text(postgres_schema: str) -> None:
    """The tolerant form's try-cast, replaced by one that fails on a record holding TRAP:
    a filter whose text that record lacks passes over it, so the statement runs."""
    async with open_registry(postgres_schema) as registry:
        await registry.register_process(ext("trap", identity=ProcessIdentity(kind="TRAP")))
        await registry.register_process(ext("x", identity=ProcessIdentity(kind="k", label="Zzq")))
    with raw_connection(postgres_schema) as conn:
        conn.execute(
            f"CREATE OR REPLACE FUNCTION {TRY_JSONB}(value text) RETURNS jsonb LANGUAGE plpgsql "
            "AS $$ BEGIN IF strpos(value, 'TRAP') > 0 THEN RAISE EXCEPTION 'read TRAP'; END IF; "
            "RETURN value::jsonb; END $$"
        )
    with raw_connection(postgres_schema) as conn:
        query = ProcessPageQuery(states=None, text="zzq", limit=100)
        (select, params), = id_page_statements(query, False, POSTGRES_TRY)
        assert [row[0] for row in conn.execute(select, params).fetchall()] == ["x"]
