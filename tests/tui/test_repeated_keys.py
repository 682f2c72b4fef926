"""The real dashboard and `ls --json` over a record another program wrote with `wait`
twice (`"wait": {...}, "wait": null`). SQLite's JSON functions read the first, Python the
last: the row showed `● running` while the status line and the Health view counted it
waiting ("waiting 3" over two waiting rows), and the `waiting` filter listed it. Such a
record now reads as undecodable everywhere (lashtui/state.py `repeated_key`), and every
count agrees with the rows shown."""

from __future__ import annotations

import json
from pathlib import Path

from lashtui.admin import Processes
from lashtui.registry import open_registry
from lashtui.tui.app import make_app
from lashtui.tui.screens.processes import ProcessesScreen
from tests.builders import ext
from tests.cli.test_cli_hostile import run_cli
from tests.raw import raw_connection
from tests.registry.rows import park
from tests.tui.test_hostile_app import screen_text
from tests.tui.test_processes_view import loaded, until


async def _registry(db: str) -> None:
    """`a-waits`, `b-waits` and `twin-wait` parked; `twin-wait`'s record then names `wait`
    twice, the wait first and null last, as another program could write it."""
    async with open_registry(db) as registry:
        for pid in ("a-waits", "b-waits", "twin-wait", "d-runs"):
            await registry.register_process(ext(pid))
        for pid in ("a-waits", "b-waits", "twin-wait"):
            await park(registry, pid, 1_780_000_000_000)
    with raw_connection(db) as conn:
        (text,) = conn.execute(
            "SELECT record_json FROM processes WHERE process_id = 'twin-wait'"
        ).fetchone()
        record = json.loads(text)
        wait = json.dumps(record.pop("wait"))
        text = f'{json.dumps(record)[:-1]}, "wait": {wait}, "wait": null}}'
        conn.execute("UPDATE processes SET record_json = ? WHERE process_id = 'twin-wait'", (text,))


def _waiting_rows(shown: str) -> int:
    return sum("◐ waiting" in line for line in shown.splitlines()[3:])


async def test_the_counts_agree_with_the_rows_when_a_record_names_wait_twice(
    tmp_path: Path,
) -> None:
    db = str(tmp_path / "r.db")
    await _registry(db)
    async with open_registry(db, create=False) as registry:
        app = make_app(Processes(registry), refresh_s=0.1)
        async with app.run_test(size=(160, 30)) as pilot:
            await loaded(pilot)
            home = app.screen
            assert isinstance(home, ProcessesScreen)
            await until(pilot, lambda: "twin-wait" in screen_text(app))
            shown = screen_text(app)
            assert _waiting_rows(shown) == 2, shown
            assert "waiting 2" in home.status_line, home.status_line
            assert "running 2" in home.status_line, home.status_line
            (twin,) = [line for line in shown.splitlines() if "twin-wait" in line]
            assert "undecodable" in twin, twin

    code, out, err = run_cli("ls", "--db", db, "--json")
    assert code == 0, err
    rows = {row["process_id"]: row for row in json.loads(out)}
    assert "names `wait` twice" in rows["twin-wait"]["undecodable"]
    assert "wait" not in rows["twin-wait"]
    assert [pid for pid, row in rows.items() if "wait" in row] == ["a-waits", "b-waits"]
    code, out, err = run_cli("ls", "--db", db, "--json", "--waiting")
    assert code == 0, err
    assert [row["process_id"] for row in json.loads(out)] == ["a-waits", "b-waits"]
