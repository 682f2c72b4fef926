"""Unknown fields another program stored (issue 21): the models keep them, so they are
stored text that reaches the command line's output like any other (lashtui.model.wire).

Rows are patched in SQL, as a newer lash (or anything else) would have written them: fields
lashtui has no name for, at the top of a record, inside its input, provenance and cause, and
inside an event's invocation, named and valued with terminal escapes and markup. Every read
command still exits 0, shows no byte a terminal would obey, and the fields survive a write.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

from lashtui.model import ProcessEventAppendRequest, ProcessEventType
from lashtui.registry import open_registry
from tests.builders import ext
from tests.cli.test_cli_hostile import assert_nothing_obeyed, check_reads, run_cli
from tests.raw import patch_stored_json

RECORD_PATCH = {
    "\x1b[2J": "top \x1b]0;pwned\x07",
    "input": {"[@click=app.quit]x[/]": ["\u202eevil", {"\x9b31m": None}]},
    "provenance": {
        "caused_by": {"type": "effect", "session_id": "s\x1b[H", "effect_id": "e", "why\x08": 1},
        "note\u2028": "fake [green]completed[/]",
    },
}
EVENT_PATCH = {"invocation": {"scope": {"turn_id": "t\x1b[31m", "later\x07": [1]}, "x\r": True}}


async def _write(db: Path) -> None:
    async with open_registry(str(db), create=True) as registry:
        await registry.register_process(ext("p", event_types=[ProcessEventType.plain("note")]))
        await registry.append_event("p", ProcessEventAppendRequest.new("note", {"n": 1}))


def _patch(db: Path) -> None:
    patch_stored_json(str(db), RECORD_PATCH, EVENT_PATCH)


def _stored(db: Path) -> dict[str, object]:
    with sqlite3.connect(db) as conn:
        return dict(json.loads(conn.execute("SELECT record_json FROM processes").fetchone()[0]))


def test_unknown_hostile_fields_read_back_safely_and_survive_a_write(tmp_path: Path) -> None:
    db = tmp_path / "unknown.db"
    asyncio.run(_write(db))
    _patch(db)
    check_reads(db, ["p"])

    code, out, err = run_cli("--db", str(db), "show", "p")
    assert code == 0, err
    assert "undecodable" not in assert_nothing_obeyed(out)

    # A write (the cancel request's event, then the abandon request's record save) keeps them.
    assert run_cli("--db", str(db), "cancel", "p", "--reason", "r")[0] == 0
    assert run_cli("--db", str(db), "abandon", "p", "--by", "op", "--reason", "r")[0] == 0
    stored = _stored(db)
    assert stored["\x1b[2J"] == RECORD_PATCH["\x1b[2J"]
    assert stored["input"]["[@click=app.quit]x[/]"] == ["\u202eevil", {"\x9b31m": None}]  # type: ignore[index]
    assert stored["provenance"]["note\u2028"] == "fake [green]completed[/]"  # type: ignore[index]
    assert "abandon_request" in stored
