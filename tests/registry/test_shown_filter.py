"""The text filter (`ProcessPageQuery.text`: the dashboard's `/`) matches what a row shows:
its id, scope id and label as every reader shows them (registry/sql/shown_text.py), escaped
(`visible`: ESC as `\\x1b`) and cut where a reader cuts them (an id past 4,096 characters is
held cut), on both stores, and so does the dashboard's own test of the rows it holds
(tui/window.py `matches`).

Before, the SQL matched the stored text: `/\\x1b`, typed as the row showed it, found
nothing, nor did `/x1bb` (of `a\\x1bb`); and text past a cut id's 4,096 characters, which no
view shows, found the row."""

from __future__ import annotations

from pathlib import Path

import pytest

from lashtui.model import ObservedProcess, ProcessIdentity, ProcessPageQuery
from lashtui.registry import open_registry
from lashtui.tui.window import matches
from lashtui.untrusted import SHOWN_CHARS
from tests.builders import ext
from tests.raw import raw_connection

LONG = "k" * SHOWN_CHARS + "TAIL"  # held cut: its first 4,096 characters and a mark

TEXTS = [
    ("\\x1b", ["a\x1bb"]),  # typed as shown
    ("X1BB", ["a\x1bb"]),  # across the escape's end, any case
    ("\x1b", ["a\x1bb"]),  # pasted: matched as it would be shown
    ("bb", ["a\x1bb"]),  # the escape's last digit and the next character
    ("a\x1bbz", []),  # pasted, with more than the row shows
    ("\\u202e", ["lab"]),  # a label's bidi override, as shown
    ("202ex", ["lab"]),
    ("goo", ["good"]),
    ("b\\", ["lab"]),  # a backslash stored, shown as itself
    # Lowered as Python lowers (as `matches` does): Kelvin K to k, İ to i and a dot above
    # (U+0307), where SQLite's lower folded neither and PostgreSQL's wrote İ as a plain i.
    ("kel", ["t1"]),
    ("\u212a", ["t1"]),
    ("vin", ["t1"]),
    ("i", ["t1", "c2"]),
    ("ist", []),
    ("\u0130st", ["c2"]),
    ("i\u0307st", ["c2"]),
]


async def seeded(target: str) -> None:
    async with open_registry(target) as registry:
        for process_id in ("good", "a\x1bb"):
            await registry.register_process(ext(process_id))
        label = ProcessIdentity(kind="external", label="L\u202eX b\\")
        await registry.register_process(ext("lab", identity=label))
        for process_id, text in (("t1", "\u212aelvin"), ("c2", "\u0130stanbul")):
            identity = ProcessIdentity(kind="external", label=text)
            await registry.register_process(ext(process_id, identity=identity))


def found(page: list[str], held: list[str]) -> tuple[list[str], list[str]]:
    return sorted(page), sorted(held)


@pytest.mark.parametrize(("text", "expected"), TEXTS, ids=repr)
async def test_a_text_finds_what_a_row_shows(
    registry_target: str, text: str, expected: list[str]
) -> None:
    await seeded(registry_target)
    async with open_registry(registry_target) as registry:
        every = await registry.page_processes(ProcessPageQuery(states=None, limit=100))
        for order in ("id", "label"):
            query = ProcessPageQuery(states=None, text=text, order=order, limit=100)
            page = [p.id for p in await registry.page_processes(query)]
            held = [p.id for p in every if matches(query, ObservedProcess.from_record(p, None))]
            assert found(page, held) == (sorted(expected), sorted(expected)), order


async def test_text_past_a_cut_id_is_not_matched(tmp_path: Path) -> None:
    """SQLite only: PostgreSQL's key refuses an id so long (its btree's ~2.7 kB)."""
    db = str(tmp_path / "r.db")
    async with open_registry(db) as registry:
        await registry.register_process(ext("long"))
    with raw_connection(db) as conn:
        conn.execute("UPDATE processes SET process_id = ? WHERE process_id = 'long'", (LONG,))
    async with open_registry(db) as registry:
        (row,) = await registry.page_processes(ProcessPageQuery(states=None, limit=10))
        for text, expected in (("tail", 0), ("kkkk", 1), ("k" * SHOWN_CHARS, 1)):
            query = ProcessPageQuery(states=None, text=text, limit=10)
            page = await registry.page_processes(query)
            held = matches(query, ObservedProcess.from_record(row, None))
            assert (len(page), int(bool(held))) == (expected, expected), text
